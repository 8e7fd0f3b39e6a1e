//! `GET /api/v1/history`: a player's bets of every game merged newest first, its filters and its paging,
//! and a typed 400 for every bad query value.

use crate::helpers::{assert_error, spawn_app, TestApp, TestPlayer};
use crate::ws::{install_chain, WsClient};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

/// 1 unit.
const STAKE: i64 = 1_000_000;

async fn history(app: &TestApp, player: &TestPlayer, query: &[(&str, &str)]) -> Response {
    app.client
        .get(app.url("/api/v1/history"))
        .query(query)
        .bearer_auth(&player.token)
        .send()
        .await
        .expect("the request is sent")
}

async fn history_ok(app: &TestApp, player: &TestPlayer, query: &[(&str, &str)]) -> Value {
    let response = history(app, player, query).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{query:?}: {body}");
    body
}

/// The games of a page's entries, in order.
fn games_of(page: &Value) -> Vec<String> {
    page["bets"]
        .as_array()
        .expect("bets")
        .iter()
        .map(|bet| bet["game"].as_str().expect("every entry names its game").to_owned())
        .collect()
}

/// A bet's id: a crash bet's `bet_id`, another bet's `id`.
fn id_of(bet: &Value) -> &str {
    bet["bet_id"].as_str().or(bet["id"].as_str()).expect("an id")
}

async fn roll(app: &TestApp, player: &TestPlayer, key: &str) -> Value {
    let body = json!({"amount": STAKE, "target": 50, "direction": "over"});
    let response = app
        .post_json("/api/v1/dice/roll", Some(&player.token), Some(key), &body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["bet"].clone()
}

/// Without a filter the history lists the crash bet and the instant bets together, newest first, each
/// naming its game; `game`, `from_ts`, `to_ts`, `limit`, `offset` and the older `before` each narrow it.
#[actix_web::test]
async fn every_game_is_listed_newest_first_and_each_filter_narrows_it() {
    let app = spawn_app().await;
    let player = app.signup_funded("historian", 100 * STAKE).await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    socket.wait_for("initial_state", |_| true).await;
    install_chain(&app, "aviator", 150..300).await;
    socket.wait_for("round_start", |_| true).await;
    socket
        .send(json!({"type": "place_bet", "room": "aviator", "amount": STAKE, "client_bet_id": "h-1"}))
        .await;
    let crash_bet = socket.wait_for("bet_placed", |_| true).await["bet"].clone();
    let first_roll = roll(&app, &player, "roll-1").await;
    let second_roll = roll(&app, &player, "roll-2").await;
    let drop_body = json!({"amount": STAKE, "rows": 8, "risk": "low"});
    let response = app
        .post_json("/api/v1/plinko/drop", Some(&player.token), Some("drop-1"), &drop_body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let everything = history_ok(&app, &player, &[]).await;
    assert_eq!(
        games_of(&everything),
        ["plinko", "dice", "dice", "crash"],
        "{everything}"
    );
    assert_eq!(everything["game"], Value::Null);
    assert_eq!(
        everything["next_offset"],
        Value::Null,
        "a page that is not full is the last"
    );
    let bets = everything["bets"].as_array().unwrap();
    assert_eq!(id_of(&bets[3]), crash_bet["bet_id"].as_str().unwrap());
    assert_eq!(bets[3]["room"], "aviator");
    assert_eq!(bets[3]["amount"], STAKE);
    assert_eq!(id_of(&bets[1]), second_roll["id"].as_str().unwrap());
    assert_eq!(id_of(&bets[2]), first_roll["id"].as_str().unwrap());

    let crash = history_ok(&app, &player, &[("game", "crash")]).await;
    assert_eq!(games_of(&crash), ["crash"]);
    assert_eq!(crash["game"], "crash");
    assert_eq!(
        games_of(&history_ok(&app, &player, &[("game", "dice")]).await),
        ["dice", "dice"]
    );
    assert!(games_of(&history_ok(&app, &player, &[("game", "mines")]).await).is_empty());

    let first_page = history_ok(&app, &player, &[("limit", "2")]).await;
    assert_eq!(games_of(&first_page), ["plinko", "dice"]);
    assert_eq!(first_page["next_offset"], 2);
    let second_page = history_ok(&app, &player, &[("limit", "2"), ("offset", "2")]).await;
    assert_eq!(games_of(&second_page), ["dice", "crash"]);
    assert_eq!(id_of(&second_page["bets"][0]), first_roll["id"].as_str().unwrap());
    let past_the_end = history_ok(&app, &player, &[("limit", "2"), ("offset", "4")]).await;
    assert!(games_of(&past_the_end).is_empty());

    // from_ts is inclusive and to_ts exclusive, so one timestamp splits the list in two.
    let split = second_roll["created_at"].as_str().unwrap();
    let newer = history_ok(&app, &player, &[("from_ts", split)]).await;
    assert_eq!(games_of(&newer), ["plinko", "dice"]);
    let older = history_ok(&app, &player, &[("to_ts", split)]).await;
    assert_eq!(games_of(&older), ["dice", "crash"]);
    let window = history_ok(&app, &player, &[("from_ts", split), ("to_ts", split), ("game", "dice")]).await;
    assert!(games_of(&window).is_empty(), "an empty window lists nothing");
    let far_future = history_ok(&app, &player, &[("from_ts", "2999-01-01T00:00:00+00:00")]).await;
    assert!(games_of(&far_future).is_empty());

    // The per-game paging of earlier clients still works: `before` a bet id lists the older bets.
    let legacy = history_ok(&app, &player, &[("game", "dice"), ("limit", "1")]).await;
    assert_eq!(id_of(&legacy["bets"][0]), second_roll["id"].as_str().unwrap());
    let before = legacy["next_before"]
        .as_str()
        .expect("a full page names where the next begins");
    let legacy_next = history_ok(&app, &player, &[("game", "dice"), ("limit", "1"), ("before", before)]).await;
    assert_eq!(id_of(&legacy_next["bets"][0]), first_roll["id"].as_str().unwrap());

    // Another player sees none of it.
    let stranger = app.signup("stranger").await;
    assert!(games_of(&history_ok(&app, &stranger, &[]).await).is_empty());
}

/// Every bad query value is a 400 with its code, and the history needs a player's token.
#[actix_web::test]
async fn bad_query_values_are_typed_errors() {
    let app = spawn_app().await;
    let player = app.signup("picky").await;
    let cases: [(&[(&str, &str)], &str); 14] = [
        (&[("limit", "0")], "invalid_query"),
        (&[("limit", "101")], "invalid_query"),
        (&[("limit", "ten")], "invalid_query"),
        (&[("limit", "-1")], "invalid_query"),
        (&[("offset", "-1")], "invalid_query"),
        (&[("offset", "10001")], "invalid_query"),
        (&[("offset", "1.5")], "invalid_query"),
        (&[("from_ts", "yesterday")], "invalid_query"),
        (&[("to_ts", "2026-11-22")], "invalid_query"),
        (
            &[("from_ts", "2026-11-22T10:00:00Z"), ("to_ts", "2026-11-22T09:00:00Z")],
            "invalid_query",
        ),
        (&[("before", "not-a-uuid")], "invalid_query"),
        (&[("game", "roulette")], "invalid_game"),
        (&[("game", "")], "invalid_game"),
        (&[("page", "2")], "invalid_query"),
    ];
    for (query, code) in cases {
        assert_error(history(&app, &player, query).await, StatusCode::BAD_REQUEST, code).await;
    }
    history_ok(&app, &player, &[("limit", "100"), ("offset", "10000")]).await;
    let anonymous = app.get("/api/v1/history", None).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
