//! The real binary as operators run it: configuration errors name their field, and SIGTERM stops a
//! serving node cleanly after draining its wallet.

use crate::helpers::{binary, create_database, test_settings};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the binary may take to start or stop before the test fails.
const PROCESS_WAIT_S: u64 = 30;

/// A bad configuration value stops start-up with exit code 2 and a message naming the field.
#[test]
fn a_bad_setting_names_its_field() {
    let settings = test_settings();
    let output = binary(&settings)
        .arg("serve")
        .env("APP__WALLET__SHARD_COUNT", "0")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("wallet.shard_count"),
        "stderr names the field: {stderr}"
    );
}

/// Reads stderr lines on a thread so the test can wait for one with a timeout.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(PROCESS_WAIT_S);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    panic!("the node never logged {needle:?}");
}

/// SIGTERM: the node stops accepting, drains the wallet, logs it and exits 0.
#[actix_web::test]
async fn sigterm_drains_and_exits_cleanly() {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    let (mut child, lines, port) = start_node(&settings);
    let health = reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .expect("health answers");
    assert_eq!(health.status(), reqwest::StatusCode::OK);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_line(&lines, "wallet drained");
    let exit = wait_for_exit(&mut child);
    assert_eq!(exit.code(), Some(0));
}

/// Sends SIGTERM and expects a clean exit (code 0) within the wait below.
fn stop_with_sigterm(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(wait_for_exit(child).code(), Some(0));
}

/// Waits for a stopping node. A leader first finishes its round (bounded by the handover timeout) and then
/// closes its connections (the shutdown timeout), so the wait covers both on top of the usual margin.
fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    let application = &test_settings().application;
    let exit_wait_s = PROCESS_WAIT_S + application.handover_timeout_s + application.shutdown_timeout_s;
    for _ in 0..exit_wait_s * 10 {
        if let Some(status) = child.try_wait().expect("the node can be waited for") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the node did not exit within {exit_wait_s} s of SIGTERM");
}

/// Starts `game-cluster serve` and returns it with its stderr lines and port.
fn start_node(settings: &game_cluster::configuration::Settings) -> (Child, mpsc::Receiver<String>, u16) {
    let mut child = binary(settings)
        .arg("serve")
        .stderr(Stdio::piped())
        .spawn()
        .expect("the node starts");
    let lines = stderr_lines(&mut child);
    let listening = wait_for_line(&lines, "node listening");
    let port = listening
        .split("port=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("the listening line carries the port: {listening}"));
    (child, lines, port)
}

/// A node killed with SIGKILL in the middle of a round: on restart, recovery refunds the open bet of the
/// unfinished round exactly once, no bet stays open, the audit passes, and play goes on. The aborted round
/// is listed with its hash and crash point, one hash apart from the round after it and from the chain's
/// terminating hash, and verifies through the API and the CLI.
#[actix_web::test]
async fn a_killed_node_recovers_every_open_bet_on_restart() {
    use futures_util::SinkExt;
    use serde_json::{json, Value};
    use tokio_tungstenite::tungstenite::Message;

    let mut settings = test_settings();
    create_database(&mut settings).await;
    let (mut node, _lines, port) = start_node(&settings);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let signup: Value = client
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({ "username": "survivor", "password": "s3cret-password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["token"].as_str().unwrap().to_owned();
    let top_up = client
        .post(format!("{base}/api/v1/wallet/top-up"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "fund")
        .json(&json!({ "amount": 5_000_000 }))
        .send()
        .await
        .unwrap();
    assert_eq!(top_up.status(), reqwest::StatusCode::OK);

    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws?token={token}&room=aviator"))
            .await
            .unwrap();
    let pool = sqlx::PgPool::connect_with(settings.database.primary_options())
        .await
        .unwrap();
    let room = &settings.crash.rooms["aviator"];
    let crash_point = |link: &game_cluster::fair::crash::GameHash| {
        game_cluster::fair::crash::crash_point(&room.salt, link, room.house_edge_bps)
    };
    let chain = loop {
        // A first game that runs long enough (at least 3x, about 18 s) to be killed in the middle, and a
        // second one short enough (at most 2x, about 12 s) to wait for.
        let chain = game_cluster::fair::crash::generate_chain(3);
        if crash_point(&chain[1]) >= 300 && crash_point(&chain[0]) <= 200 {
            break chain;
        }
    };
    game_cluster::games::crash::store::insert_chain(&pool, "aviator", &room.salt, &chain)
        .await
        .unwrap();
    while next_message(&mut socket).await["type"] != "round_start" {}
    let bet = json!({ "type": "place_bet", "room": "aviator", "amount": 2_000_000, "client_bet_id": "doomed" });
    socket.send(Message::Text(bet.to_string())).await.unwrap();
    while next_message(&mut socket).await["type"] != "bet_placed" {}
    while next_message(&mut socket).await["type"] != "round_running" {}

    let status = Command::new("kill")
        .args(["-KILL", &node.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_exit(&mut node);
    let balance = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT a.balance FROM accounts a JOIN players p ON p.account_id = a.id")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(
        balance(pool.clone()).await,
        3_000_000,
        "the stake was taken before the kill"
    );

    let (mut restarted, _lines, restarted_port) = start_node(&settings);
    // The dead process's lease expires first (its TTL), then the restarted node leads and recovers.
    let deadline = std::time::Instant::now() + Duration::from_millis(settings.cluster.lease_ttl_ms + 5_000);
    let statuses = loop {
        let statuses: Vec<(String, String)> =
            sqlx::query_as("SELECT b.status, r.phase FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id")
                .fetch_all(&pool)
                .await
                .unwrap();
        // Recovery refunds the bet, then marks the round aborted: the check waits for both.
        let (bet, round) = &statuses[0];
        if (bet != "open" && round != "running") || std::time::Instant::now() > deadline {
            break statuses;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(statuses, vec![("refunded".to_owned(), "aborted".to_owned())]);
    assert_eq!(
        balance(pool.clone()).await,
        5_000_000,
        "the stake came back exactly once"
    );
    let report = game_cluster::wallet::audit::run(&pool).await.unwrap();
    assert!(report.ok, "{:?}", report.breaches);

    let base = format!("http://127.0.0.1:{restarted_port}");
    let rounds = wait_for_rounds(&client, &base, 2).await;
    let expected = [(&chain[0], "crashed"), (&chain[1], "aborted")];
    for (round, (link, status)) in rounds.iter().zip(expected) {
        assert_eq!(round["status"], status, "{round}");
        assert_eq!(round["hash"], hex::encode(link), "{round}");
        let hundredths = (round["crash_point"].as_f64().unwrap() * 100.0).round() as u32;
        assert_eq!(hundredths, crash_point(link), "{round}");
    }
    assert!(rounds[1]["crashed_at"].is_null(), "an aborted round never crashed");
    let sha256 = |text: &Value| {
        let bytes = hex::decode(text.as_str().unwrap()).unwrap();
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
    };
    assert_eq!(sha256(&rounds[0]["hash"]), rounds[1]["hash"], "no game skipped");
    assert_eq!(
        sha256(&rounds[1]["hash"]),
        hex::encode(chain[2]),
        "the aborted game was the first"
    );

    let aborted = rounds[1]["round_id"].as_i64().unwrap();
    let verdict: Value = client
        .post(format!("{base}/api/v1/game/verify"))
        .json(&json!({ "round_id": aborted }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            &verdict["status"],
            &verdict["previous_hash_matches"],
            &verdict["crash_point_matches"]
        ),
        (&json!("aborted"), &json!(true), &json!(true)),
        "{verdict}"
    );
    let cli = binary(&settings)
        .args(["verify", "--round", &aborted.to_string()])
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    assert!(String::from_utf8_lossy(&cli.stdout).contains("\"aborted\""));

    stop_with_sigterm(&mut restarted);
}

/// The room's listed rounds once there are `count` of them (newest first).
async fn wait_for_rounds(client: &reqwest::Client, base: &str, count: usize) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(PROCESS_WAIT_S);
    loop {
        let listed: serde_json::Value = client
            .get(format!("{base}/api/v1/game/rounds?room=aviator"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let rounds = listed["rounds"].as_array().cloned().unwrap_or_default();
        if rounds.len() >= count {
            return rounds;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{count} rounds were never listed: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The next JSON text message on a raw test socket.
async fn next_message(socket: &mut crate::ws::Socket) -> serde_json::Value {
    use futures_util::StreamExt;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(PROCESS_WAIT_S), socket.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .expect("a valid frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            return serde_json::from_str(&text).expect("JSON");
        }
    }
}

/// Anyone can verify a revealed round offline with the CLI: the reference vector gives 2.08x, and a
/// wrong previous hash is reported as a failed check (exit 1).
#[test]
fn offline_verification_with_the_cli() {
    let settings = test_settings();
    let salt = "0000000000000000000301e2801a9a9598bfb114e574a91a887f2132f33047e6";
    let hash = "4f2db4ab02306aec0ed87dfffae25d5f4fcad1b9b425ba3d075f58d3dccec29a";
    let output = binary(&settings)
        .args(["verify", "--hash", hash, "--salt", salt])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verdict["crash_point"], 2.08);
    let wrong_previous = "00".repeat(32);
    let output = binary(&settings)
        .args(["verify", "--hash", hash, "--salt", salt, "--previous", &wrong_previous])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
}

/// A Mines game lives in Postgres, not in the node: a node killed with SIGKILL in the middle of a game
/// comes back (as any other node would) with the same board, the revealed tiles and the stake, and the
/// player finishes the game there.
#[actix_web::test]
async fn a_mines_game_continues_across_a_node_restart() {
    use serde_json::{json, Value};
    let mut settings = test_settings();
    create_database(&mut settings).await;
    let (mut node, _lines, port) = start_node(&settings);
    let client = reqwest::Client::new();
    let post = |port: u16, path: &str, token: Option<&str>, key: Option<&str>, body: Value| {
        let mut request = client.post(format!("http://127.0.0.1:{port}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let path = path.to_owned();
        async move {
            let response = request.send().await.expect("the node answers");
            assert!(response.status().is_success(), "{path}: {}", response.status());
            response.json::<Value>().await.unwrap()
        }
    };
    let signup = post(
        port,
        "/api/v1/auth/signup",
        None,
        None,
        json!({"username": "miner", "password": "s3cret-password"}),
    )
    .await;
    let token = signup["token"].as_str().unwrap().to_owned();
    post(
        port,
        "/api/v1/wallet/top-up",
        Some(&token),
        Some("fund"),
        json!({"amount": 10_000_000}),
    )
    .await;
    let bet = post(
        port,
        "/api/v1/mines/bet",
        Some(&token),
        Some("restart"),
        json!({"amount": 1_000_000, "mines": 3}),
    )
    .await;
    let game_id = bet["bet"]["id"].as_str().unwrap().to_owned();
    let pool = sqlx::PgPool::connect_with(settings.database.primary_options())
        .await
        .unwrap();
    let server_seed: String = sqlx::query_scalar("SELECT server_seed FROM player_seeds WHERE revealed_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mines = game_cluster::fair::mines::mine_positions(
        game_cluster::fair::seeds::SeedInput {
            server_seed: &server_seed,
            client_seed: bet["bet"]["fairness"]["client_seed"].as_str().unwrap(),
            nonce: 0,
        },
        3,
    );
    let safe: Vec<u32> = (0..25).filter(|tile| !mines.contains(tile)).collect();
    post(
        port,
        "/api/v1/mines/click",
        Some(&token),
        None,
        json!({"game_id": game_id, "tile": safe[0]}),
    )
    .await;

    let status = Command::new("kill")
        .args(["-KILL", &node.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_exit(&mut node);
    let (mut restarted, _lines, port) = start_node(&settings);
    let active: Value = client
        .get(format!("http://127.0.0.1:{port}/api/v1/mines/active"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(active["bet"]["id"], game_id.as_str(), "the game survived: {active}");
    assert_eq!(active["bet"]["result"]["revealed"], json!([safe[0]]));
    post(
        port,
        "/api/v1/mines/click",
        Some(&token),
        None,
        json!({"game_id": game_id, "tile": safe[1]}),
    )
    .await;
    let cashout = post(
        port,
        "/api/v1/mines/cashout",
        Some(&token),
        None,
        json!({"game_id": game_id}),
    )
    .await;
    // 2 safe reveals with 3 mines: 0.99 * C(25,2) / C(22,2) of the stake.
    assert_eq!(cashout["bet"]["payout"], 1_285_714);
    assert_eq!(
        cashout["bet"]["result"]["mines"],
        json!(mines),
        "the same board as dealt before the restart"
    );
    assert_eq!(cashout["balance"], 10_000_000 - 1_000_000 + 1_285_714);
    let report = game_cluster::wallet::audit::run(&pool).await.unwrap();
    assert!(report.ok, "{:?}", report.breaches);

    stop_with_sigterm(&mut restarted);
}

/// A bought slot bonus survives a SIGKILL of the node that started it: after the restart the same round
/// goes on from the next free spin, its win is credited once at its end, and the audit passes.
#[actix_web::test]
async fn a_slot_bonus_continues_after_the_node_that_started_it_is_killed() {
    use serde_json::{json, Value};
    let mut settings = test_settings();
    create_database(&mut settings).await;
    let (mut node, _lines, port) = start_node(&settings);
    let client = reqwest::Client::new();
    let post = |port: u16, path: &str, token: Option<&str>, key: Option<&str>, body: Value| {
        let mut request = client.post(format!("http://127.0.0.1:{port}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let path = path.to_owned();
        async move {
            let response = request.send().await.expect("the node answers");
            let status = response.status();
            let body = response.json::<Value>().await.unwrap();
            assert!(status.is_success(), "{path}: {status} {body}");
            body
        }
    };
    let signup = post(
        port,
        "/api/v1/auth/signup",
        None,
        None,
        json!({"username": "slotter", "password": "s3cret-password"}),
    )
    .await;
    let token = signup["token"].as_str().unwrap().to_owned();
    post(
        port,
        "/api/v1/wallet/top-up",
        Some(&token),
        Some("fund"),
        json!({"amount": 100_000_000}),
    )
    .await;
    let init = json!({"game_id": "fortune-lines", "platform": "desktop", "locale": "en", "client_version": "1.0.0"});
    let session = post(port, "/api/v1/game/init", Some(&token), None, init).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let buy = json!({"session_id": session, "game_id": "fortune-lines", "action": "buy_feature", "feature_id": "bonus",
                     "bet": {"amount": 100_000}});
    let bought = post(port, "/api/v1/bonus/trigger", Some(&token), Some("buy"), buy).await;
    let round = bought["spin_id"].as_str().unwrap().to_owned();
    let stake = bought["stake"].as_i64().unwrap();
    let reveal = json!({"session_id": session, "game_id": "fortune-lines", "action": "spin", "bonus_round_id": round});
    let first = post(
        port,
        "/api/v1/bonus/trigger",
        Some(&token),
        Some("free-1"),
        reveal.clone(),
    )
    .await;
    assert_eq!(first["outcome"]["step"], 1);

    let status = Command::new("kill")
        .args(["-KILL", &node.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_exit(&mut node);
    let (mut restarted, _lines, port) = start_node(&settings);
    // A retry of the reveal the killed node answered shows the same step; the next one goes on.
    let retried = post(
        port,
        "/api/v1/bonus/trigger",
        Some(&token),
        Some("free-1"),
        reveal.clone(),
    )
    .await;
    assert_eq!(retried["outcome"], first["outcome"]);
    let mut answer = retried;
    let mut step = 1;
    while answer["next_state"] == "free_spins" {
        step += 1;
        answer = post(
            port,
            "/api/v1/bonus/trigger",
            Some(&token),
            Some(&format!("free-{step}")),
            reveal.clone(),
        )
        .await;
        assert_eq!(answer["outcome"]["step"], step);
    }
    let payout = answer["round"]["total_win"].as_i64().unwrap();
    assert_eq!(answer["balance"], 100_000_000 - stake + payout);
    let pool = sqlx::PgPool::connect_with(settings.database.primary_options())
        .await
        .unwrap();
    let report = game_cluster::wallet::audit::run(&pool).await.unwrap();
    assert!(report.ok, "{:?}", report.breaches);
    // Once the seed is revealed, the CLI replays the round from the database and agrees.
    post(port, "/api/v1/fair/seeds/rotate", Some(&token), None, json!({})).await;
    let output = binary(&settings).args(["verify", "--spin", &round]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("\"verified\": true"), "{stdout}");
    stop_with_sigterm(&mut restarted);
}

/// Anyone can recompute a Dice, Plinko or Mines result offline with the CLI: the reference vectors of
/// docs/FAIRNESS.md come out, and bad inputs are refused before anything runs (exit 2).
#[test]
fn offline_verification_of_the_instant_games_with_the_cli() {
    let settings = test_settings();
    let verify = |game: &str, nonce: &str, options: &str| {
        let output = binary(&settings)
            .args([
                "verify",
                "--game",
                game,
                "--server-seed",
                "server seed",
                "--client-seed",
                "client seed",
            ])
            .args(["--nonce", nonce, "--options", options])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let dice = verify("dice", "1", r#"{"target":50,"direction":"over"}"#);
    assert_eq!(dice["outcome"]["roll"], 74.67);
    assert_eq!(dice["result"]["won"], true);
    let mines = verify("mines", "1", r#"{"mines":3}"#);
    assert_eq!(mines["outcome"]["mines"], serde_json::json!([18, 15, 5]));
    let plinko = verify("plinko", "2", r#"{"rows":8,"risk":"low"}"#);
    assert_eq!(plinko["outcome"]["path"], serde_json::json!([1, 1, 0, 0, 0, 0, 0, 0]));
    assert_eq!(plinko["outcome"]["slot"], 2);

    let missing_direction = r#"{"target":50}"#;
    for (args, expected) in [
        (vec!["verify", "--game", "crash"], "--round"),
        (vec!["verify", "--game", "dice", "--server-seed", "s"], "--client-seed"),
        (
            vec![
                "verify",
                "--game",
                "dice",
                "--server-seed",
                "s",
                "--client-seed",
                "c",
                "--nonce",
                "1",
                "--options",
                missing_direction,
            ],
            "direction",
        ),
        (vec!["verify", "--bet", "not-a-uuid"], "--bet"),
    ] {
        let output = binary(&settings).args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
