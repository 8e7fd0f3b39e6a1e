//! The operator surface: admin-only access, the cluster registry, pausing a room, maintenance
//! broadcasts, spectator sockets, statistics and draining a node through another.

use crate::helpers::{assert_error, create_database, spawn_app, spawn_app_with, test_settings, TestApp, TestPlayer};
use crate::ws::{install_chain, WsClient};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const UNIT: i64 = 1_000_000;

async fn funded(app: &TestApp, name: &str) -> TestPlayer {
    app.signup_funded(name, 100 * UNIT).await
}

/// `POST /api/v1/admin/{path}` with the admin's token.
async fn admin_post(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.post_json(&format!("/api/v1/admin/{path}"), Some(token), None, body)
        .await
}

/// Two nodes, `node-a` and `node-b`, of one cluster (one database, one Redis namespace).
async fn two_nodes() -> (TestApp, TestApp) {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    settings.application.node_id = "node-a".into();
    let first = spawn_app_with(settings.clone()).await;
    settings.application.node_id = "node-b".into();
    (first, spawn_app_with(settings).await)
}

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Polls `GET /api/v1/admin/cluster` until `accept` holds (the registry is written every second).
async fn cluster_until(app: &TestApp, token: &str, accept: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let cluster = json_of(app.get("/api/v1/admin/cluster", Some(token)).await).await;
        if accept(&cluster) {
            return cluster;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cluster never looked right: {cluster:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn every_admin_route_needs_an_admin_token() {
    let app = spawn_app().await;
    let player = app.signup("curious").await;
    let gets = ["cluster", "stats", "rtp", "rounds", "actions", "audit", "audit/last"];
    let posts = [
        "rooms/aviator/pause",
        "rooms/aviator/resume",
        "broadcast",
        "nodes/node-1/drain",
    ];
    let requests = gets
        .iter()
        .map(|path| (reqwest::Method::GET, path))
        .chain(posts.iter().map(|path| (reqwest::Method::POST, path)));
    for (method, path) in requests {
        let url = app.url(&format!("/api/v1/admin/{path}"));
        let anonymous = app
            .client
            .request(method.clone(), &url)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let as_player = app
            .client
            .request(method, &url)
            .bearer_auth(&player.token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(as_player, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let wrong = json!({ "username": "admin", "password": "not-the-password" });
    let refused = app.post_json("/api/v1/admin/login", None, None, &wrong).await;
    assert_error(refused, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[actix_web::test]
async fn the_cluster_view_lists_the_node_its_rooms_and_its_dependencies() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let node_id = app.settings.application.node_id.clone();
    let player = funded(&app, "watcher").await;
    let _socket = WsClient::connect_player(&app, &player.token).await;
    let cluster = cluster_until(&app, &token, |cluster| {
        cluster["nodes"].as_array().is_some_and(|nodes| {
            nodes
                .iter()
                .any(|node| node["node_id"] == node_id.as_str() && node["connections"] == 1)
        })
    })
    .await;
    let node = &cluster["nodes"][0];
    assert_eq!(node["healthy"], true, "{cluster:#}");
    assert_eq!(node["draining"], false);
    assert!(node["load"]["rss_bytes"].as_u64().unwrap() > 0, "{cluster:#}");
    assert_eq!(cluster["redis"]["mode"], "standalone");
    assert_eq!(cluster["redis"]["ok"], true);
    assert_eq!(cluster["postgres"]["primary_ok"], true);
    let rooms: Vec<&str> = cluster["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|room| room["room"].as_str().unwrap())
        .collect();
    assert_eq!(rooms, ["aviator", "jetx"]);
    assert_eq!(cluster["rooms"][0]["betting_paused"], false);
}

#[actix_web::test]
async fn a_paused_room_refuses_bets_finishes_its_round_and_resumes_on_request() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    install_chain(&app, "aviator", 150..300).await;
    let player = funded(&app, "paused").await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    let round = socket.wait_for("round_start", |_| true).await;

    let paused = admin_post(&app, &token, "rooms/aviator/pause", &json!({"reason": "checks"})).await;
    let paused = json_of(paused).await;
    assert_eq!(paused["betting_paused"], true);
    assert_eq!(paused["applied_by_leader"], true, "{paused}");
    let event = socket.wait_for("betting_paused", |_| true).await;
    assert_eq!(event["reason"], "checks");
    let bet = json!({"room": "aviator", "amount": UNIT, "client_bet_id": "while-paused"});
    let refused = app.post_json("/api/v1/game/bet", Some(&player.token), None, &bet).await;
    assert_error(refused, StatusCode::CONFLICT, "betting_paused").await;
    socket
        .send(json!({"type": "place_bet", "room": "aviator", "amount": UNIT, "client_bet_id": "ws-paused"}))
        .await;
    let error = socket.wait_for("error", |_| true).await;
    assert_eq!(error["code"], "betting_paused");

    // The round under way finishes; no new one starts while paused.
    let crash = socket.wait_for("crash", |_| true).await;
    assert_eq!(crash["round_id"], round["round_id"]);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let state = json_of(app.get("/api/v1/game/state?room=aviator", None).await).await;
    assert_eq!(state["phase"], "crashed", "{state}");
    assert_eq!(state["betting_paused"], true, "{state}");

    let resumed = json_of(admin_post(&app, &token, "rooms/aviator/resume", &json!({})).await).await;
    assert_eq!(resumed["betting_paused"], false);
    socket.wait_for("betting_resumed", |_| true).await;
    socket.wait_for("round_start", |_| true).await;
    let accepted = app.post_json("/api/v1/game/bet", Some(&player.token), None, &bet).await;
    assert_eq!(accepted.status(), StatusCode::OK, "{}", accepted.text().await.unwrap());

    let actions = json_of(app.get("/api/v1/admin/actions?limit=5", Some(&token)).await).await;
    let kinds: Vec<&str> = actions["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| action["action"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["resume_betting", "pause_betting"], "{actions:#}");
    assert_eq!(actions["actions"][1]["target"], "aviator");
    assert_eq!(actions["actions"][1]["details"]["reason"], "checks");
    let unknown = admin_post(&app, &token, "rooms/nowhere/pause", &json!({})).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "unknown_room").await;
}

#[actix_web::test]
async fn a_maintenance_broadcast_reaches_players_and_spectators_who_cannot_bet() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let (alice, bob) = (funded(&app, "alice").await, funded(&app, "bob").await);
    let mut in_aviator = WsClient::connect_player(&app, &alice.token).await;
    let mut in_jetx = WsClient::connect(&app, &format!("token={}&room=jetx", bob.token)).await;
    let mut spectator = WsClient::connect(&app, &format!("token={token}&room=aviator")).await;
    let initial = spectator.wait_for("initial_state", |_| true).await;
    assert_eq!(initial["room"], "aviator");
    assert_eq!(initial["balance"], Value::Null);
    in_aviator.wait_for("initial_state", |_| true).await;
    in_jetx.wait_for("initial_state", |_| true).await;
    spectator
        .send(json!({"type": "place_bet", "room": "aviator", "amount": UNIT, "client_bet_id": "x", "request_id": "r1"}))
        .await;
    let refused = spectator.wait_for("error", |_| true).await;
    assert_eq!(
        (refused["code"].as_str(), refused["request_id"].as_str()),
        (Some("forbidden"), Some("r1"))
    );

    let sent = admin_post(&app, &token, "broadcast", &json!({"message": "back in 5 minutes"})).await;
    assert_eq!(json_of(sent).await["sent"], true);
    for socket in [&mut in_aviator, &mut in_jetx, &mut spectator] {
        let message = socket.wait_for("maintenance", |_| true).await;
        assert_eq!(message["message"], "back in 5 minutes");
    }
    for bad in [
        json!({"message": ""}),
        json!({"message": "x".repeat(501)}),
        json!({"text": "hi"}),
    ] {
        let response = admin_post(&app, &token, "broadcast", &bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[actix_web::test]
async fn statistics_rounds_and_the_audit_reflect_play() {
    let app = spawn_app().await;
    crate::rtp::insert_house_games(&app).await;
    let token = app.admin_token().await;
    install_chain(&app, "aviator", 101..200).await;
    let player = funded(&app, "gambler").await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    for nonce in 0..3 {
        let roll = json!({"amount": UNIT, "target": 50, "direction": "over"});
        let response = app
            .post_json(
                "/api/v1/dice/roll",
                Some(&player.token),
                Some(&format!("roll-{nonce}")),
                &roll,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let crash = socket.wait_for("crash", |_| true).await;

    let stats = json_of(app.get("/api/v1/admin/stats", Some(&token)).await).await;
    assert_eq!(stats["per_minute"].as_array().unwrap().len(), 60);
    let bets_charted: i64 = stats["per_minute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["bets"].as_i64().unwrap())
        .sum();
    assert!(bets_charted >= 3, "{stats:#}");
    let dice = stats["games"]
        .as_array()
        .unwrap()
        .iter()
        .find(|game| game["provider"] == "house" && game["code"] == "dice")
        .unwrap();
    assert_eq!(dice["hour"]["rounds"], 3, "{stats:#}");
    assert_eq!(dice["hour"]["staked_micros"], 3 * UNIT);
    let paid = dice["hour"]["won_micros"].as_i64().unwrap();
    assert_eq!(dice["hour"]["house_profit_micros"], 3 * UNIT - paid);
    let declared = dice["declared_rtp_bps"].as_i64().unwrap();
    assert!((9_850..9_950).contains(&declared), "{declared}");

    // The crash is published at its millisecond and recorded just after.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let rounds = loop {
        let rounds = json_of(app.get("/api/v1/admin/rounds?room=aviator&limit=5", Some(&token)).await).await;
        if !rounds["rounds"].as_array().unwrap().is_empty() || tokio::time::Instant::now() > deadline {
            break rounds;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let newest = &rounds["rounds"][0];
    assert_eq!(newest["round_id"], crash["round_id"], "{rounds:#}");
    assert_eq!(newest["hash"], crash["hash"]);
    assert_eq!(newest["crash_point"], crash["crash_point"]);
    let bad_limit = app.get("/api/v1/admin/rounds?limit=0", Some(&token)).await;
    assert_error(bad_limit, StatusCode::BAD_REQUEST, "invalid_limit").await;

    let none_yet = json_of(app.get("/api/v1/admin/audit/last", Some(&token)).await).await;
    assert_eq!(none_yet["last"], Value::Null);
    let report = json_of(app.get("/api/v1/admin/audit", Some(&token)).await).await;
    assert_eq!(report["ok"], true, "{report:#}");
    let last = json_of(app.get("/api/v1/admin/audit/last", Some(&token)).await).await;
    assert_eq!(last["last"]["ok"], true);
    assert_eq!(last["last"]["breaches"], 0);
}

#[actix_web::test]
async fn an_operator_drains_another_node_which_leaves_the_registry() {
    let (first, second) = two_nodes().await;
    let token = first.admin_token().await;
    let both = |cluster: &Value| cluster["nodes"].as_array().is_some_and(|nodes| nodes.len() == 2);
    cluster_until(&first, &token, both).await;

    let drained = admin_post(&first, &token, "nodes/node-b/drain", &json!({})).await;
    assert_eq!(drained.status(), StatusCode::ACCEPTED);
    let only_first = |cluster: &Value| {
        cluster["nodes"]
            .as_array()
            .is_some_and(|nodes| nodes.len() == 1 && nodes[0]["node_id"] == "node-a")
    };
    cluster_until(&first, &token, only_first).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while second.client.get(second.url("/health")).send().await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "the drained node still answers");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let unknown = admin_post(&first, &token, "nodes/node-z/drain", &json!({})).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "node_not_found").await;
    let actions = json_of(first.get("/api/v1/admin/actions", Some(&token)).await).await;
    assert_eq!(actions["actions"][0]["action"], "drain_node");
    assert_eq!(actions["actions"][0]["target"], "node-b");
}

#[actix_web::test]
async fn the_admin_cli_pauses_and_resumes_a_room_through_the_api() {
    let app = spawn_app().await;
    let run = |args: &[&str]| {
        let mut command = tokio::process::Command::from(crate::helpers::binary(&app.settings));
        command.args(["admin", "--url", &app.address]).args(args);
        command.output()
    };
    let paused = run(&["pause", "jetx", "--reason", "from the shell"]).await.unwrap();
    assert!(paused.status.success(), "{}", String::from_utf8_lossy(&paused.stderr));
    let answer: Value = serde_json::from_slice(&paused.stdout).unwrap();
    assert_eq!(answer["betting_paused"], true);
    let resumed = run(&["resume", "jetx"]).await.unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let unknown = run(&["pause", "nowhere"]).await.unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown_room"));
    let actions = run(&["actions", "--limit", "2"]).await.unwrap();
    let actions: Value = serde_json::from_slice(&actions.stdout).unwrap();
    assert_eq!(actions["actions"][0]["action"], "resume_betting");
    assert_eq!(actions["actions"][1]["details"]["reason"], "from the shell");
}

/// The pause is kept in Postgres: the next leader of a paused room (after the first drains) starts paused.
#[actix_web::test]
async fn a_pause_outlives_its_leader() {
    let (first, second) = two_nodes().await;
    install_chain(&first, "aviator", 150..300).await;
    let token = first.admin_token().await;
    let led =
        |cluster: &Value| cluster["rooms"][0]["leader"].is_string() && cluster["nodes"].as_array().unwrap().len() == 2;
    let cluster = cluster_until(&first, &token, led).await;
    let leader = cluster["rooms"][0]["leader"].as_str().unwrap().to_owned();
    let (survivor, survivor_id) = if leader == "node-a" {
        (&second, "node-b")
    } else {
        (&first, "node-a")
    };

    let paused = admin_post(survivor, &token, "rooms/aviator/pause", &json!({"reason": "incident"})).await;
    assert_eq!(json_of(paused).await["betting_paused"], true);
    let drained = admin_post(survivor, &token, &format!("nodes/{leader}/drain"), &json!({})).await;
    assert_eq!(drained.status(), StatusCode::ACCEPTED);
    let taken_over = |cluster: &Value| cluster["rooms"][0]["leader"] == survivor_id;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let cluster = json_of(survivor.get("/api/v1/admin/cluster", Some(&token)).await).await;
        if taken_over(&cluster) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the survivor never took the room: {cluster:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let player = funded(survivor, "after-handover").await;
    let bet = json!({"room": "aviator", "amount": UNIT, "client_bet_id": "after-handover"});
    let refused = survivor
        .post_json("/api/v1/game/bet", Some(&player.token), None, &bet)
        .await;
    assert_error(refused, StatusCode::CONFLICT, "betting_paused").await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let state = json_of(survivor.get("/api/v1/game/state?room=aviator", None).await).await;
    assert_ne!(state["phase"], "betting", "no round opens while paused: {state}");
    assert_eq!(state["betting_paused"], true, "{state}");
}
