//! The reality check: every interval of a socket's life, a player who staked since it connected gets a
//! `reality_check` with the time played and their stakes and net result since then; a player who staked
//! nothing on this socket gets none.

use crate::helpers::{create_database, spawn_app_with, test_settings, TestApp, TestPlayer};
use crate::ws::WsClient;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// 1 unit.
const UNIT: i64 = 1_000_000;
const STAKE: i64 = 2 * UNIT;
const INTERVAL_S: u64 = 1;

async fn spawn_app_checking_every_second() -> TestApp {
    let mut settings = test_settings();
    settings.responsible_gaming.reality_check_interval_s = INTERVAL_S;
    create_database(&mut settings).await;
    spawn_app_with(settings).await
}

async fn connected(app: &TestApp, player: &TestPlayer) -> WsClient {
    let mut socket = WsClient::connect_player(app, &player.token).await;
    socket.wait_for("initial_state", |_| true).await;
    socket
}

/// Rolls a Dice bet of `STAKE` through REST and returns its payout.
async fn roll_dice(app: &TestApp, player: &TestPlayer, key: &str) -> i64 {
    let body = json!({"amount": STAKE, "target": 50, "direction": "over"});
    let response = app
        .post_json("/api/v1/dice/roll", Some(&player.token), Some(key), &body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let rolled: Value = response.json().await.unwrap();
    rolled["bet"]["payout"].as_i64().expect("a settled bet has a payout")
}

/// A player who rolls Dice while connected is told, at the next interval, what they staked and their net
/// result on this socket (the stake and win are posted apart, so a check may first see only the stake).
/// Another player, whose only bet came before their socket connected, is told nothing.
#[actix_web::test]
async fn a_player_who_staked_since_connecting_gets_a_reality_check_and_an_idle_one_none() {
    let app = spawn_app_checking_every_second().await;
    let idle = app.signup_funded("idle", 50 * UNIT).await;
    roll_dice(&app, &idle, "before-connecting").await;
    let player = app.signup_funded("player", 50 * UNIT).await;
    let mut idle_socket = connected(&app, &idle).await;
    let mut socket = connected(&app, &player).await;

    let payout = roll_dice(&app, &player, "while-connected").await;
    let check = socket
        .wait_for("reality_check", |check| check["net_micros"] == payout - STAKE)
        .await;
    assert_eq!(check["staked_micros"], STAKE, "{check}");
    assert_eq!(check["interval_seconds"], INTERVAL_S, "{check}");
    let played = check["played_seconds"].as_u64().expect("whole seconds");
    assert!(played >= INTERVAL_S, "{check}");

    // The next interval reminds the player again, with the same totals and more time played; by then the
    // idle socket, opened earlier, has passed at least two intervals of its own.
    let again = socket.wait_for("reality_check", |_| true).await;
    assert_eq!(again["staked_micros"], STAKE, "{again}");
    assert!(again["played_seconds"].as_u64().unwrap() > played, "{again}");
    idle_socket.send(json!({"type": "ping", "request_id": "last"})).await;
    loop {
        let message = idle_socket.next_json().await;
        assert_ne!(
            message["type"], "reality_check",
            "the idle player staked nothing here: {message}"
        );
        if message["type"] == "pong" {
            break;
        }
    }
}
