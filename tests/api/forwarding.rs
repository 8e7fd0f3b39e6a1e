//! Bets placed on a node that does not lead the room travel to the leader in batches: many concurrent
//! bets cost a few calls, every bet gets its own answer once, a retry answers the first result, and the
//! ledger stays balanced.

use crate::helpers::{create_database, spawn_app_with, test_settings, TestApp, TestPlayer};
use crate::ws::install_chain;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

const UNIT: i64 = 1_000_000;
const BETTORS: usize = 200;

/// Two nodes of one cluster whose rounds give betting long enough for a few hundred bets in a debug build.
async fn two_nodes() -> (TestApp, TestApp) {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    let aviator = settings
        .crash
        .rooms
        .get_mut("aviator")
        .expect("the test config has aviator");
    aviator.betting_ms = 6_000;
    settings.application.node_id = "node-a".into();
    let first = spawn_app_with(settings.clone()).await;
    settings.application.node_id = "node-b".into();
    (first, spawn_app_with(settings).await)
}

/// The node that does not lead `aviator`, once one of the two does.
async fn follower<'a>(first: &'a TestApp, second: &'a TestApp) -> &'a TestApp {
    let token = first.admin_token().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let response = first.get("/api/v1/admin/cluster", Some(&token)).await;
        let cluster: Value = response.json().await.unwrap();
        match cluster["rooms"][0]["leader"].as_str() {
            Some("node-a") => return second,
            Some("node-b") => return first,
            _ => {}
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no node took the room: {cluster:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for a round's betting phase with most of its window still ahead.
async fn fresh_betting_round(app: &TestApp) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut seen_other_phase = false;
    loop {
        let state: Value = app
            .get("/api/v1/game/state?room=aviator", None)
            .await
            .json()
            .await
            .unwrap();
        if state["phase"] == "betting" && seen_other_phase {
            return state["round_id"].as_i64().unwrap();
        }
        seen_other_phase |= state["phase"] != "betting";
        assert!(tokio::time::Instant::now() < deadline, "no betting round: {state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn bet(app: &TestApp, player: &TestPlayer, client_bet_id: &str) -> (StatusCode, Value) {
    let body = json!({"room": "aviator", "amount": UNIT, "client_bet_id": client_bet_id});
    let response = app
        .post_json("/api/v1/game/bet", Some(&player.token), None, &body)
        .await;
    (response.status(), response.json().await.unwrap())
}

/// The batches bets were sent in so far, and the bets they carried (the metrics are the test process's,
/// shared with the tests running alongside, so a test compares its own before and after).
async fn forwarded_batches(app: &TestApp) -> (f64, f64) {
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    let value = |suffix: &str| {
        metrics
            .lines()
            .filter(|line| line.starts_with(&format!("crash_forward_batch_bets_{suffix}")))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    (value("count"), value("sum"))
}

/// 200 players of the follower bet at once: all are placed, each once, in fewer calls than bets; the same
/// client_bet_ids again answer the first results; after the round the ledger audit passes.
#[actix_web::test]
async fn concurrent_bets_on_a_follower_are_forwarded_in_batches_and_placed_once() {
    let (first, second) = two_nodes().await;
    let follower = follower(&first, &second).await;
    let names: Vec<String> = (0..BETTORS).map(|index| format!("fwd{index}")).collect();
    // Signups are admitted a few at a time (password hashing is bounded), so the players are made in chunks.
    let mut players = Vec::new();
    for chunk in names.chunks(8) {
        players.extend(join_all(chunk.iter().map(|name| follower.signup_funded(name, 10 * UNIT))).await);
    }
    // The chain's two games are installed only now: on a loaded machine the signups may outlast them.
    install_chain(&first, "aviator", 150..300).await;
    let round_id = fresh_betting_round(follower).await;

    let (batches_before, bets_before) = forwarded_batches(follower).await;
    let placed = join_all(players.iter().map(|player| bet(follower, player, "burst"))).await;
    let mut bet_ids = HashSet::new();
    for (status, body) in &placed {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(body["replayed"], false, "{body}");
        assert_eq!(body["bet"]["round_id"], round_id, "{body}");
        assert_eq!(body["balance"], 9 * UNIT, "{body}");
        bet_ids.insert(body["bet"]["bet_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(bet_ids.len(), BETTORS, "every bet has its own id");
    let (batches_after, bets_after) = forwarded_batches(follower).await;
    let batches = batches_after - batches_before;
    assert!(
        bets_after - bets_before >= BETTORS as f64,
        "every bet went through a batch"
    );
    assert!(batches < BETTORS as f64, "{batches} batches carried {BETTORS} bets");

    let retried = join_all(players.iter().map(|player| bet(follower, player, "burst"))).await;
    for ((status, body), (_, first_answer)) in retried.iter().zip(&placed) {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(body["replayed"], true, "{body}");
        assert_eq!(body["bet"]["bet_id"], first_answer["bet"]["bet_id"], "{body}");
    }
    for player in &players {
        assert_eq!(follower.balance(player).await, 9 * UNIT, "one stake per player");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM crash_bets WHERE round_id = $1")
        .bind(round_id)
        .fetch_one(&first.pool)
        .await
        .unwrap();
    assert_eq!(stored, BETTORS as i64);
    settled(&first, round_id).await;
    assert!(first.audit_ok().await, "the ledger audit passes");
}

/// Waits until the round is settled, so the audit sees every bet finished.
async fn settled(app: &TestApp, round_id: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let done: bool = sqlx::query_scalar("SELECT settled FROM crash_rounds WHERE id = $1")
            .bind(round_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        if done {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "round {round_id} never settled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
