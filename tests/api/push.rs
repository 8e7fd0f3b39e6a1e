//! Pushes to single players across nodes: every movement of a player's money reaches each of their
//! sockets, on any node, as `balance_updated`, and a game can push its own message to a player. Two nodes
//! share one database and one Redis namespace, as in a cluster.

use crate::helpers::{spawn_app, spawn_app_with, TestApp, TestPlayer};
use crate::ws::{install_chain, WsClient};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// 1 unit.
const UNIT: i64 = 1_000_000;

async fn connected(app: &TestApp, player: &TestPlayer) -> WsClient {
    let mut socket = WsClient::connect_player(app, &player.token).await;
    socket.wait_for("initial_state", |_| true).await;
    socket
}

/// The next `balance_updated` that carries `balance`, checking its timestamp on the way.
async fn balance_pushed(socket: &mut WsClient, balance: i64) -> Value {
    let pushed = socket
        .wait_for("balance_updated", |message| message["balance"] == balance)
        .await;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let ts = pushed["ts"].as_i64().expect("ts in ms since the epoch");
    assert!((now_ms - 60_000..=now_ms).contains(&ts), "{pushed}");
    pushed
}

/// A player watching on node A sees every movement made through node B, and on both of their sockets: a
/// Dice bet (stake and win), an operator's deposit, a crash stake and its auto-cashout's win. Another
/// player's socket gets none of it.
#[actix_web::test]
async fn money_moved_through_one_node_is_pushed_to_the_players_sockets_on_every_node() {
    let node_a = spawn_app().await;
    let node_b = spawn_app_with(node_a.settings.clone()).await;
    let player = node_a.signup_funded("watcher", 50 * UNIT).await;
    let bystander = node_a.signup_funded("bystander", 50 * UNIT).await;
    let mut on_a = connected(&node_a, &player).await;
    let mut on_b = connected(&node_b, &player).await;
    let mut other = connected(&node_a, &bystander).await;

    let body = json!({"amount": UNIT, "target": 50, "direction": "over"});
    let rolled = node_b
        .post_json("/api/v1/dice/roll", Some(&player.token), Some("push-roll"), &body)
        .await;
    assert_eq!(rolled.status(), StatusCode::OK);
    let after_roll = rolled.json::<Value>().await.unwrap()["balance"].as_i64().unwrap();
    balance_pushed(&mut on_a, after_roll).await;
    balance_pushed(&mut on_b, after_roll).await;

    let admin = node_b.admin_token().await;
    let deposited = node_b.deposit(&admin, player.id, 5 * UNIT, "push-deposit").await;
    assert_eq!(deposited.status(), StatusCode::OK);
    let after_deposit = after_roll + 5 * UNIT;
    balance_pushed(&mut on_a, after_deposit).await;

    install_chain(&node_a, "aviator", 150..400).await;
    on_a.wait_for("round_start", |_| true).await;
    let bet = json!({"room": "aviator", "amount": UNIT, "auto_cashout": 1.1, "client_bet_id": "push-crash"});
    let placed = node_b
        .post_json("/api/v1/game/bet", Some(&player.token), None, &bet)
        .await;
    assert_eq!(placed.status(), StatusCode::OK, "{}", placed.text().await.unwrap());
    balance_pushed(&mut on_a, after_deposit - UNIT).await;
    balance_pushed(&mut on_a, after_deposit - UNIT + 1_100_000).await;
    assert_eq!(node_a.balance(&player).await, after_deposit + 100_000);

    // The bystander's socket, on the same node, saw none of those pushes before answering a ping (only,
    // perhaps, the push of its own top-up, if that came after the socket opened).
    other.send(json!({"type": "ping", "request_id": "last"})).await;
    loop {
        let message = other.next_json().await;
        if message["type"] == "balance_updated" {
            assert_eq!(
                message["balance"],
                50 * UNIT,
                "only the bystander's own balance: {message}"
            );
        }
        if message["type"] == "pong" {
            break;
        }
    }
}

/// A game's own message (a slot bonus's `game_event`, later) pushed from one node reaches each socket of
/// the player on every node, unchanged.
#[actix_web::test]
async fn a_message_pushed_to_a_player_reaches_each_of_their_sockets() {
    let node_a = spawn_app().await;
    let node_b = spawn_app_with(node_a.settings.clone()).await;
    let player = node_a.signup("bonus-player").await;
    let mut on_a = connected(&node_a, &player).await;
    let mut on_b = connected(&node_b, &player).await;

    let event = json!({"type": "game_event", "event": "bonus_completed", "win": 1_234});
    node_b.push.to_player(player.id, &event);
    assert_eq!(on_a.wait_for("game_event", |_| true).await, event);
    assert_eq!(on_b.wait_for("game_event", |_| true).await, event);
}
