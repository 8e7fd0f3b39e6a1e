//! Leaderboards: a crash room's and an instant game's boards rank exactly the settled bets played, bad
//! queries are typed 400s, and a node serves a board from its cache until the board's TTL passes.

use crate::helpers::{assert_error, spawn_app, spawn_app_with, test_settings, TestApp, TestPlayer};
use crate::ws::{hundredths, install_chain, WsClient};
use game_cluster::games::leaderboard::{BoardKey, Leaderboards, Period, Ranking, Source};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use std::sync::Arc;
use std::time::Duration;

const UNIT: i64 = 1_000_000;

async fn funded(app: &TestApp, name: &str) -> TestPlayer {
    app.signup_funded(name, 100 * UNIT).await
}

async fn board(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/api/v1/leaderboard?{query}"), None).await;
    assert_eq!(response.status(), StatusCode::OK, "leaderboard?{query}");
    response.json().await.unwrap()
}

fn usernames(board: &Value) -> Vec<&str> {
    entries(board)
        .iter()
        .map(|entry| entry["username"].as_str().unwrap())
        .collect()
}

fn entries(board: &Value) -> &Vec<Value> {
    board["entries"].as_array().expect("a board has entries")
}

fn bet_ids(board: &Value) -> Vec<&str> {
    entries(board)
        .iter()
        .map(|entry| entry["bet_id"].as_str().unwrap())
        .collect()
}

/// One crash round with known results: bob wins 2.5 units at 1.5x, alice 0.2 at 1.2x, carol loses. The
/// boards rank exactly those bets, and the other room's board stays empty.
#[actix_web::test]
async fn a_crash_rooms_boards_rank_its_settled_bets() {
    let app = spawn_app().await;
    let names = ["alice", "bob", "carol"];
    let mut clients = Vec::new();
    for name in names {
        let player = funded(&app, name).await;
        let mut client = WsClient::connect_player(&app, &player.token).await;
        client.wait_for("initial_state", |_| true).await;
        clients.push(client);
    }
    // Every crash point of this chain is 1.60x or more, so both auto-cashouts pay.
    install_chain(&app, "aviator", 160..220).await;
    let mut round = 0;
    for client in &mut clients {
        round = client.wait_for("round_start", |_| true).await["round_id"]
            .as_i64()
            .unwrap();
    }
    let bets = [(UNIT, 1.2), (5 * UNIT, 1.5), (UNIT, 50.0)];
    for ((client, (amount, auto)), name) in clients.iter_mut().zip(bets).zip(names) {
        let bet = json!({"type": "place_bet", "room": "aviator", "amount": amount, "auto_cashout": auto,
                         "client_bet_id": name});
        client.send(bet).await;
        client.wait_for("bet_placed", |_| true).await;
    }
    for client in &mut clients[..2] {
        client.wait_for("cashed_out", |_| true).await;
    }
    clients[2].wait_for("crash", |_| true).await;
    // The next round starts only once the crashed one is settled.
    clients[2].wait_for("round_start", |_| true).await;

    let profit = board(&app, "").await;
    assert_eq!(profit["game"], "crash");
    assert_eq!(profit["room"], "aviator");
    assert_eq!(profit["period"], "day");
    assert_eq!(profit["by"], "profit");
    assert_eq!(
        usernames(&profit),
        ["bob", "alice"],
        "winners only, best first: {profit}"
    );
    assert_eq!(
        entries(&profit)[0],
        json!({"rank": 1, "username": "bob", "bets": 1, "wagered": 5 * UNIT, "paid": 7_500_000,
               "profit": 2_500_000})
    );
    assert_eq!(entries(&profit)[1]["profit"], 200_000);

    let wins = board(&app, "game=crash&room=aviator&by=win&period=hour").await;
    assert_eq!(usernames(&wins), ["bob", "alice"]);
    let best = &entries(&wins)[0];
    assert_eq!(best["round_id"], round);
    assert_eq!(
        (best["amount"].clone(), best["payout"].clone()),
        (json!(5 * UNIT), json!(7_500_000))
    );
    assert_eq!(hundredths(&best["multiplier"]), 150);

    let multipliers = board(&app, "by=multiplier&period=week").await;
    let shown: Vec<u32> = entries(&multipliers)
        .iter()
        .map(|entry| hundredths(&entry["multiplier"]))
        .collect();
    assert_eq!(shown, [150, 120]);
    assert_eq!(usernames(&board(&app, "by=win&limit=1").await), ["bob"]);
    assert!(entries(&board(&app, "room=jetx").await).is_empty(), "jetx had no bets");
}

/// Dice bets at two odds: every board equals the one computed from the answers of the bets themselves.
#[actix_web::test]
async fn an_instant_games_boards_match_the_bets_played() {
    let app = spawn_app().await;
    let mut played = Vec::new();
    for (name, target) in [("steady", 5), ("bold", 50)] {
        let player = funded(&app, name).await;
        for roll in 0..12 {
            let body = json!({"amount": UNIT, "target": target, "direction": "over"});
            let key = format!("{name}-{roll}");
            let response = app
                .post_json("/api/v1/dice/roll", Some(&player.token), Some(&key), &body)
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            let answer: Value = response.json().await.unwrap();
            let bet = &answer["bet"];
            played.push((
                name,
                bet["id"].as_str().unwrap().to_owned(),
                bet["payout"].as_i64().unwrap(),
            ));
        }
    }

    let mut profits: Vec<(&str, i64)> = ["steady", "bold"]
        .into_iter()
        .map(|name| {
            (
                name,
                played.iter().filter(|bet| bet.0 == name).map(|bet| bet.2 - UNIT).sum(),
            )
        })
        .filter(|(_, profit)| *profit > 0)
        .collect();
    profits.sort_by_key(|(_, profit)| std::cmp::Reverse(*profit));
    let profit = board(&app, "game=dice&limit=50").await;
    assert_eq!(profit["room"], Value::Null);
    let shown: Vec<(&str, i64)> = entries(&profit)
        .iter()
        .map(|entry| (entry["username"].as_str().unwrap(), entry["profit"].as_i64().unwrap()))
        .collect();
    assert_eq!(shown, profits, "{profit}");

    // Placed one after another, so the order of `played` is the order of creation (the tie-break).
    let mut wins: Vec<&(&str, String, i64)> = played.iter().filter(|bet| bet.2 > UNIT).collect();
    wins.sort_by_key(|bet| std::cmp::Reverse(bet.2));
    let expected: Vec<&str> = wins.iter().map(|bet| bet.1.as_str()).collect();
    assert_eq!(bet_ids(&board(&app, "game=dice&by=win&limit=50").await), expected);
    // With one stake for every bet, the multiplier order is the payout order.
    assert_eq!(
        bet_ids(&board(&app, "game=dice&by=multiplier&limit=50").await),
        expected
    );
    assert!(entries(&board(&app, "game=plinko").await).is_empty());
}

#[actix_web::test]
async fn bad_leaderboard_queries_are_typed_errors() {
    let app = spawn_app().await;
    for (query, status, code) in [
        ("game=poker", StatusCode::BAD_REQUEST, "invalid_game"),
        ("game=dice&room=aviator", StatusCode::BAD_REQUEST, "invalid_query"),
        ("room=nowhere", StatusCode::NOT_FOUND, "unknown_room"),
        ("period=year", StatusCode::BAD_REQUEST, "invalid_query"),
        ("by=luck", StatusCode::BAD_REQUEST, "invalid_query"),
        ("limit=0", StatusCode::BAD_REQUEST, "invalid_query"),
        ("limit=51", StatusCode::BAD_REQUEST, "invalid_query"),
        ("limit=-1", StatusCode::BAD_REQUEST, "invalid_query"),
        ("sort=desc", StatusCode::BAD_REQUEST, "invalid_query"),
    ] {
        let response = app.get(&format!("/api/v1/leaderboard?{query}"), None).await;
        assert_error(response, status, code).await;
    }
}

/// Within its TTL a node answers a board from its cache, even after new bets; another board is read
/// afresh.
#[actix_web::test]
async fn a_board_is_served_from_the_cache_until_its_ttl_passes() {
    let mut settings = test_settings();
    settings.games.leaderboard_cache_ttl_ms = 600_000;
    let app = spawn_app_with(settings).await;
    let before = board(&app, "game=dice&by=win").await;
    assert!(entries(&before).is_empty());
    let player = funded(&app, "lucky").await;
    // A 98% chance each: ten losses in a row happen about once in 10^17 runs.
    for roll in 0..10 {
        let body = json!({"amount": UNIT, "target": 2, "direction": "over"});
        let key = format!("roll-{roll}");
        let response = app
            .post_json("/api/v1/dice/roll", Some(&player.token), Some(&key), &body)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let cached = board(&app, "game=dice&by=win").await;
    assert_eq!(cached, before, "the cached board is served within its TTL");
    let fresh = board(&app, "game=dice&by=win&period=week").await;
    assert!(!entries(&fresh).is_empty(), "another board is read afresh: {fresh}");
}

/// A node whose reads fail serves the last board it read, however old, rather than none.
#[actix_web::test]
async fn a_board_that_cannot_be_read_again_is_served_as_last_read() {
    let app = spawn_app().await;
    let options = (*app.pool.connect_options()).clone();
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(options)
        .await
        .unwrap();
    // A zero TTL: every request reads again.
    let boards = Leaderboards::new(pool.clone(), Duration::ZERO);
    let key = BoardKey {
        source: Source::CrashRoom("aviator".into()),
        period: Period::Day,
        ranking: Ranking::Profit,
    };
    let first = boards.board(&key).await.expect("the board is read");
    pool.close().await;
    let served = boards.board(&key).await.expect("the last board is served");
    assert!(Arc::ptr_eq(&first, &served), "the board read before the failure");
    let never_read = BoardKey {
        period: Period::Week,
        ..key
    };
    assert!(boards.board(&never_read).await.is_err(), "no board to fall back on");
}
