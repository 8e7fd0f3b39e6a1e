//! Checks a player could make from the outside after a fault: the public round list hides no game of
//! the chain, and every aborted round verifies.

use super::harness::Cluster;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

fn sha256_hex(hex_text: &Value) -> String {
    let bytes = hex::decode(hex_text.as_str().expect("a hash")).expect("hex");
    hex::encode(Sha256::digest(bytes))
}

/// `GET /api/v1/game/rounds` through nginx, polled until every round in `aborted` is listed (the list
/// is read from the replica, which may lag a little).
async fn rounds_listing(cluster: &Cluster, aborted: &[i64]) -> Value {
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/game/rounds?room=aviator&limit=100", cluster.public_url());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let listing: Value = client
            .get(&url)
            .send()
            .await
            .expect("the round list answers")
            .json()
            .await
            .expect("JSON");
        let listed_aborted: Vec<i64> = listing["rounds"]
            .as_array()
            .expect("rounds")
            .iter()
            .filter(|round| round["status"] == "aborted")
            .filter_map(|round| round["round_id"].as_i64())
            .collect();
        if aborted.iter().all(|id| listed_aborted.contains(id)) {
            return listing;
        }
        assert!(
            Instant::now() < deadline,
            "aborted rounds {aborted:?} are not all listed: {listing:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The rounds the players saw aborted (at least one) are listed with status `aborted`, a hash and a crash
/// point; every listed round is one hash from the next (the test's one chain, from its first game, so the
/// oldest hashes to the terminating hash); each aborted round verifies through the API and the CLI.
pub async fn assert_rounds_chain_unbroken(cluster: &Cluster, aborted: &[i64]) {
    assert!(!aborted.is_empty(), "the fault aborted a round");
    let listing = rounds_listing(cluster, aborted).await;
    let rounds = listing["rounds"].as_array().expect("rounds");
    for pair in rounds.windows(2) {
        assert_eq!(
            sha256_hex(&pair[0]["hash"]),
            pair[1]["hash"],
            "round {} follows round {} in the chain: nothing was skipped",
            pair[0]["round_id"],
            pair[1]["round_id"]
        );
    }
    let oldest = rounds.last().expect("rounds were played");
    assert_eq!(sha256_hex(&oldest["hash"]), listing["terminating_hash"], "{oldest}");
    let client = reqwest::Client::new();
    for round_id in aborted {
        let round = rounds
            .iter()
            .find(|round| round["round_id"] == *round_id)
            .expect("listed");
        assert!(
            round["crash_point"].as_f64().is_some_and(|point| point >= 1.0),
            "{round}"
        );
        let verdict: Value = client
            .post(format!("{}/api/v1/game/verify", cluster.public_url()))
            .json(&json!({ "round_id": round_id }))
            .send()
            .await
            .expect("verify answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(verdict["status"], "aborted", "{verdict}");
        assert_eq!(verdict["previous_hash_matches"], true, "{verdict}");
        assert_eq!(verdict["crash_point_matches"], true, "{verdict}");
        assert_eq!(verdict["crash_point"], round["crash_point"], "{verdict}");
        let cli = cluster.cli(&["verify", "--round", &round_id.to_string()]);
        assert!(
            cli.status.success(),
            "verify --round {round_id}: {}{}",
            String::from_utf8_lossy(&cli.stdout),
            String::from_utf8_lossy(&cli.stderr)
        );
    }
    println!(
        "{} rounds listed one hash apart, aborted {aborted:?} verified",
        rounds.len()
    );
}
