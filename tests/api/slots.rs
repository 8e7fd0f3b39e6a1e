//! Slots over HTTP against the real services: a spin's money matches its events, retries move money
//! once, bonus rounds are revealed in order on any node, abandoned rounds are completed once by the
//! sweep, every round can be recalled and verified, and bad input is a typed 4xx that moves nothing.

use crate::helpers::{assert_error, create_database, spawn_app_with, test_settings, TestApp, TestPlayer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const GAME: &str = "fortune-lines";
const WAYS_GAME: &str = "gem-cascade";
/// 1,000 units.
const FUNDS: i64 = 1_000_000_000;
/// The smallest bet level: 0.10.
const BET: i64 = 100_000;

async fn spawn() -> TestApp {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    spawn_app_with(settings).await
}

async fn call(app: &TestApp, player: &TestPlayer, path: &str, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    let response = app.post_json(path, Some(&player.token), key, &body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path} answers JSON: {text}"));
    (status, body)
}

async fn ok(app: &TestApp, player: &TestPlayer, path: &str, key: Option<&str>, body: Value) -> Value {
    let (status, body) = call(app, player, path, key, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn get_ok(app: &TestApp, player: &TestPlayer, path: &str) -> Value {
    let response = app.get(path, Some(&player.token)).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn init(app: &TestApp, player: &TestPlayer, game: &str) -> String {
    let body = json!({ "game_id": game, "platform": "desktop", "locale": "en", "client_version": "1.0.0" });
    let answer = ok(app, player, "/api/v1/game/init", None, body).await;
    answer["session_id"].as_str().unwrap().to_owned()
}

fn spin_body(session: &str, game: &str, bet: i64) -> Value {
    json!({ "session_id": session, "game_id": game, "bet": { "amount": bet } })
}

fn buy_body(session: &str, game: &str, bet: i64) -> Value {
    json!({ "session_id": session, "game_id": game, "action": "buy_feature", "feature_id": "bonus",
            "bet": { "amount": bet } })
}

fn reveal_body(session: &str, game: &str, round: &str) -> Value {
    json!({ "session_id": session, "game_id": game, "action": "spin", "bonus_round_id": round })
}

/// Reveals every remaining step of a round, each with its own key, checking each retry returns the same
/// step; returns the last answer.
async fn play_to_end(app: &TestApp, player: &TestPlayer, session: &str, game: &str, first: Value) -> Value {
    let round = first["spin_id"].as_str().unwrap().to_owned();
    let mut answer = first;
    let mut step = 0;
    while answer["next_state"] == "free_spins" {
        step += 1;
        let key = format!("reveal-{round}-{step}");
        answer = ok(
            app,
            player,
            "/api/v1/bonus/trigger",
            Some(&key),
            reveal_body(session, game, &round),
        )
        .await;
        assert_eq!(answer["outcome"]["step"], step, "{answer}");
        let retry = ok(
            app,
            player,
            "/api/v1/bonus/trigger",
            Some(&key),
            reveal_body(session, game, &round),
        )
        .await;
        assert_eq!(
            retry["outcome"], answer["outcome"],
            "a retried reveal shows the same step"
        );
        assert_eq!(retry["replayed"], true);
        assert!(step <= 1_000, "a round never has more than 1,000 steps");
    }
    answer
}

/// The sum of the win events of every step, as the round's recall shows them.
fn total_of_steps(recall: &Value) -> i64 {
    recall["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["win"].as_i64().unwrap())
        .sum()
}

#[actix_web::test]
async fn init_describes_the_game_and_refuses_bad_requests() {
    let app = spawn().await;
    let player = app.signup_funded("slots-init", FUNDS).await;
    let body = json!({ "game_id": GAME, "platform": "desktop", "locale": "en", "client_version": "1.2.0" });
    let answer = ok(&app, &player, "/api/v1/game/init", None, body).await;
    assert_eq!(answer["balance"], FUNDS);
    assert!(answer["unfinished_round"].is_null());
    let game = &answer["game"];
    assert_eq!(game["grid"], json!({ "reels": 5, "rows": 3 }));
    assert_eq!(game["paylines"].as_array().unwrap().len(), 20);
    assert_eq!(game["min_bet"], BET);
    assert_eq!(game["math_version"].as_str().unwrap().len(), 64);
    assert!(game["modes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|mode| mode["bonus_buy"] == true));
    assert!(game["paytable"].as_array().unwrap().len() >= 5);

    let unauthenticated = app
        .post_json("/api/v1/game/init", None, None, &json!({ "game_id": GAME }))
        .await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let cases = [
        (json!({ "game_id": GAME }), StatusCode::BAD_REQUEST, "invalid_request"),
        (
            json!({ "game_id": "no-such-game", "platform": "web", "locale": "en", "client_version": "1.0" }),
            StatusCode::NOT_FOUND,
            "unknown_game",
        ),
        (
            json!({ "game_id": GAME, "platform": "web", "locale": "en", "client_version": "0.9.9" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "client_version_too_old",
        ),
        (
            json!({ "game_id": GAME, "platform": "web", "locale": "en", "client_version": "one" }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({ "game_id": GAME, "platform": "", "locale": "en", "client_version": "1.0" }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let response = app
            .post_json("/api/v1/game/init", Some(&player.token), None, &body)
            .await;
        assert_error(response, status, code).await;
    }
}

#[actix_web::test]
async fn a_disabled_game_opens_no_session() {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    settings.games.slots.games_disabled = vec![WAYS_GAME.to_owned()];
    let app = spawn_app_with(settings).await;
    let player = app.signup_funded("slots-disabled", FUNDS).await;
    let body = json!({ "game_id": WAYS_GAME, "platform": "web", "locale": "en", "client_version": "1.0" });
    let response = app
        .post_json("/api/v1/game/init", Some(&player.token), None, &body)
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "game_disabled").await;
    init(&app, &player, GAME).await;
}

#[actix_web::test]
async fn a_spin_moves_exactly_the_money_its_events_show_and_a_retry_moves_nothing() {
    let app = spawn().await;
    let player = app.signup_funded("slots-spin", FUNDS).await;
    let session = init(&app, &player, WAYS_GAME).await;
    let mut balance = FUNDS;
    for spin in 0..40 {
        let key = format!("spin-{spin}");
        let first = ok(
            &app,
            &player,
            "/api/v1/spin",
            Some(&key),
            spin_body(&session, WAYS_GAME, BET),
        )
        .await;
        let last = play_to_end(&app, &player, &session, WAYS_GAME, first.clone()).await;
        let round = &last["round"];
        assert_eq!(round["finished"], true, "{last}");
        let recall = get_ok(
            &app,
            &player,
            &format!("/api/v1/slots/rounds/{}", first["spin_id"].as_str().unwrap()),
        )
        .await;
        let won = total_of_steps(&recall);
        assert_eq!(
            won,
            round["total_win"].as_i64().unwrap(),
            "the steps add up to the round's win"
        );
        balance += won - BET;
        assert_eq!(last["balance"], balance, "spin {spin}: {last}");
        assert_eq!(app.balance(&player).await, balance);

        let retry = ok(
            &app,
            &player,
            "/api/v1/spin",
            Some(&key),
            spin_body(&session, WAYS_GAME, BET),
        )
        .await;
        assert_eq!(retry["spin_id"], first["spin_id"]);
        assert_eq!(retry["replayed"], true);
        assert_eq!(app.balance(&player).await, balance, "a retry moves no money");
    }
    let conflict = app
        .post_json(
            "/api/v1/spin",
            Some(&player.token),
            Some("spin-0"),
            &spin_body(&session, WAYS_GAME, 200_000),
        )
        .await;
    assert_error(conflict, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_conflict").await;
    assert!(app.audit_ok().await);
}

#[actix_web::test]
async fn a_bought_bonus_plays_to_its_end_on_two_nodes_and_pays_once() {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    let first_node = spawn_app_with(settings.clone()).await;
    let second_node = spawn_app_with(settings).await;
    let player = first_node.signup_funded("slots-bonus", FUNDS).await;
    let session = init(&first_node, &player, GAME).await;
    let bought = ok(
        &first_node,
        &player,
        "/api/v1/bonus/trigger",
        Some("buy-1"),
        buy_body(&session, GAME, BET),
    )
    .await;
    let stake = bought["stake"].as_i64().unwrap();
    assert_eq!(stake, 100 * BET, "the bonus costs 100 bets");
    assert_eq!(bought["next_state"], "free_spins");
    let round = bought["spin_id"].as_str().unwrap().to_owned();
    assert_eq!(bought["outcome"]["bonus_triggered"]["bonus_round_id"], round.as_str());
    assert_eq!(
        bought["balance"],
        FUNDS - stake,
        "the stake is taken, nothing is paid yet"
    );

    // A second spin while the bonus is open is refused, and so is a rotation of the seeds it came from.
    let second = first_node
        .post_json(
            "/api/v1/spin",
            Some(&player.token),
            Some("spin-while-open"),
            &spin_body(&session, GAME, BET),
        )
        .await;
    assert_error(second, StatusCode::CONFLICT, "round_in_progress").await;
    let rotate = first_node
        .post_json("/api/v1/fair/seeds/rotate", Some(&player.token), None, &json!({}))
        .await;
    assert_error(rotate, StatusCode::CONFLICT, "game_in_progress").await;
    // A re-opened session finds the round.
    let again = json!({ "game_id": GAME, "platform": "web", "locale": "en", "client_version": "1.0" });
    let reopened = ok(&second_node, &player, "/api/v1/game/init", None, again).await;
    assert_eq!(reopened["unfinished_round"]["spin_id"], round.as_str());

    // Free spins alternate between the nodes.
    let mut answer = bought;
    let mut step = 0;
    while answer["next_state"] == "free_spins" {
        step += 1;
        let node = if step % 2 == 0 { &first_node } else { &second_node };
        let key = format!("free-{step}");
        answer = ok(
            node,
            &player,
            "/api/v1/bonus/trigger",
            Some(&key),
            reveal_body(&session, GAME, &round),
        )
        .await;
        assert_eq!(answer["outcome"]["step"], step);
        if answer["next_state"] == "free_spins" {
            assert_eq!(
                answer["balance"],
                FUNDS - stake,
                "nothing is paid before the round ends"
            );
        }
    }
    let payout = answer["round"]["total_win"].as_i64().unwrap();
    assert_eq!(answer["balance"], FUNDS - stake + payout);
    assert!(answer["bonus_summary"].is_object(), "{answer}");
    let late = first_node
        .post_json(
            "/api/v1/bonus/trigger",
            Some(&player.token),
            Some("late"),
            &reveal_body(&session, GAME, &round),
        )
        .await;
    assert_error(late, StatusCode::CONFLICT, "round_finished").await;
    assert_eq!(first_node.balance(&player).await, FUNDS - stake + payout);
    let recall = get_ok(&first_node, &player, &format!("/api/v1/slots/rounds/{round}")).await;
    assert_eq!(recall["steps"].as_array().unwrap().len(), step + 1);
    assert_eq!(total_of_steps(&recall), payout);
    assert!(first_node.audit_ok().await);
}

#[actix_web::test]
async fn ending_a_round_reveals_the_rest_and_pays_once() {
    let app = spawn().await;
    let player = app.signup_funded("slots-end", FUNDS).await;
    let session = init(&app, &player, GAME).await;
    let bought = ok(
        &app,
        &player,
        "/api/v1/bonus/trigger",
        Some("buy"),
        buy_body(&session, GAME, BET),
    )
    .await;
    let stake = bought["stake"].as_i64().unwrap();
    let end = json!({ "session_id": session, "game_id": GAME });
    let ended = ok(&app, &player, "/api/v1/round/end", Some("end-1"), end.clone()).await;
    let payout = ended["round"]["total_win"].as_i64().unwrap();
    assert_eq!(ended["round"]["finished"], true);
    assert_eq!(ended["balance"], FUNDS - stake + payout);
    let retry = ok(&app, &player, "/api/v1/round/end", Some("end-1"), end.clone()).await;
    assert_eq!(retry["spin_id"], ended["spin_id"]);
    assert_eq!(
        app.balance(&player).await,
        FUNDS - stake + payout,
        "a retried end pays nothing more"
    );
    let nothing = app
        .post_json("/api/v1/round/end", Some(&player.token), Some("end-2"), &end)
        .await;
    assert_error(nothing, StatusCode::CONFLICT, "no_round_in_progress").await;
    assert!(app.audit_ok().await);
}

#[actix_web::test]
async fn an_abandoned_round_is_completed_by_the_sweep_exactly_once() {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    settings.games.slots.abandoned_round_after_s = 1;
    settings.games.recovery_interval_ms = 200;
    // Two nodes sweep the same rounds.
    let first_node = spawn_app_with(settings.clone()).await;
    let _second_node = spawn_app_with(settings).await;
    let player = first_node.signup_funded("slots-abandon", FUNDS).await;
    let session = init(&first_node, &player, GAME).await;
    let bought = ok(
        &first_node,
        &player,
        "/api/v1/bonus/trigger",
        Some("buy"),
        buy_body(&session, GAME, BET),
    )
    .await;
    let round = bought["spin_id"].as_str().unwrap().to_owned();
    let stake = bought["stake"].as_i64().unwrap();
    let mut recall = Value::Null;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        recall = get_ok(&first_node, &player, &format!("/api/v1/slots/rounds/{round}")).await;
        if recall["status"] == "settled" {
            break;
        }
    }
    assert_eq!(recall["status"], "settled", "{recall}");
    assert_eq!(recall["ended_by"], "sweep");
    let payout = recall["round"]["total_win"].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(first_node.balance(&player).await, FUNDS - stake + payout);
    let wins: i64 = sqlx::query_scalar("SELECT count(*) FROM transfers WHERE idempotency_key = $1")
        .bind(format!("slots:win:{round}"))
        .fetch_one(&first_node.pool)
        .await
        .unwrap();
    assert_eq!(wins, i64::from(payout > 0), "the win is credited once");
    assert!(first_node.audit_ok().await);
}

#[actix_web::test]
async fn every_round_replays_from_its_revealed_seeds_and_the_last_ten_are_recalled_whole() {
    let app = spawn().await;
    let player = app.signup_funded("slots-verify", FUNDS).await;
    let session = init(&app, &player, GAME).await;
    let mut served = Vec::new();
    for spin in 0..200 {
        let first = ok(
            &app,
            &player,
            "/api/v1/spin",
            Some(&format!("v-{spin}")),
            spin_body(&session, GAME, BET),
        )
        .await;
        let last = play_to_end(&app, &player, &session, GAME, first.clone()).await;
        served.push((
            first["spin_id"].as_str().unwrap().to_owned(),
            last["round"]["total_win"].clone(),
        ));
    }
    let bought = ok(
        &app,
        &player,
        "/api/v1/bonus/trigger",
        Some("v-buy"),
        buy_body(&session, GAME, BET),
    )
    .await;
    let last = play_to_end(&app, &player, &session, GAME, bought.clone()).await;
    served.push((
        bought["spin_id"].as_str().unwrap().to_owned(),
        last["round"]["total_win"].clone(),
    ));

    let listed = get_ok(&app, &player, &format!("/api/v1/slots/rounds?game_id={GAME}&limit=10")).await;
    let listed = listed["rounds"].as_array().unwrap();
    assert_eq!(listed.len(), 10);
    assert_eq!(listed[0]["spin_id"], bought["spin_id"], "newest first");
    for round in listed {
        assert_eq!(
            round["steps"].as_array().unwrap().len() as i64,
            round["round"]["step_count"].as_i64().unwrap()
        );
        assert_eq!(total_of_steps(round), round["round"]["total_win"].as_i64().unwrap());
    }

    let before = get_ok(&app, &player, &format!("/api/v1/slots/rounds/{}", served[0].0)).await;
    assert!(
        before["fairness"]["server_seed"].is_null(),
        "the seed stays secret until rotated"
    );
    let secret = app
        .post_json(
            "/api/v1/fair/verify",
            Some(&player.token),
            None,
            &json!({ "spin_id": served[0].0 }),
        )
        .await;
    assert_error(secret, StatusCode::CONFLICT, "seed_not_revealed").await;
    ok(&app, &player, "/api/v1/fair/seeds/rotate", None, json!({})).await;
    for (spin_id, total_win) in &served {
        let verdict = ok(
            &app,
            &player,
            "/api/v1/fair/verify",
            None,
            json!({ "spin_id": spin_id }),
        )
        .await;
        assert_eq!(verdict["verified"], true, "{verdict}");
        assert_eq!(&verdict["payout"], total_win);
    }
    // Anyone can replay a round from its inputs and the published definition.
    let recall = get_ok(&app, &player, &format!("/api/v1/slots/rounds/{}", served[0].0)).await;
    let fairness = &recall["fairness"];
    let inputs = json!({ "game": "slots", "game_id": GAME, "version": recall["math_version"],
        "server_seed": fairness["server_seed"], "client_seed": fairness["client_seed"], "nonce": fairness["nonce"],
        "bet": BET });
    let replay = app.post_json("/api/v1/fair/verify", None, None, &inputs).await;
    assert_eq!(replay.status(), StatusCode::OK);
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["events_hash"], fairness["events_hash"]);
    let definition = app
        .get(
            &format!(
                "/api/v1/slots/games/{GAME}/definition?version={}",
                recall["math_version"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(definition.status(), StatusCode::OK);
    let definition: Value = definition.json().await.unwrap();
    assert!(definition["files"]["game.toml"]
        .as_str()
        .unwrap()
        .contains("Fortune Lines"));
}

#[actix_web::test]
async fn bad_slot_requests_get_typed_errors_and_move_nothing() {
    let app = spawn().await;
    let player = app.signup_funded("slots-bad", FUNDS).await;
    let poor = app.signup_funded("slots-poor", 5 * BET).await;
    let session = init(&app, &player, GAME).await;
    let poor_session = init(&app, &poor, GAME).await;
    let other_session = init(&app, &player, WAYS_GAME).await;
    let no_key = app
        .post_json(
            "/api/v1/spin",
            Some(&player.token),
            None,
            &spin_body(&session, GAME, BET),
        )
        .await;
    assert_error(no_key, StatusCode::BAD_REQUEST, "missing_idempotency_key").await;
    let unknown_session = "0190f5f2-0000-7000-8000-000000000000";
    let spins = [
        (spin_body(&session, GAME, 123), StatusCode::BAD_REQUEST, "invalid_bet"),
        (spin_body(&session, GAME, -5), StatusCode::BAD_REQUEST, "invalid_amount"),
        (
            json!({ "session_id": session, "game_id": GAME, "bet": { "amount": BET, "lines": 7 } }),
            StatusCode::BAD_REQUEST,
            "invalid_bet",
        ),
        (
            json!({ "session_id": session, "game_id": GAME, "bet": { "amount": BET }, "mode": "turbo" }),
            StatusCode::BAD_REQUEST,
            "invalid_mode",
        ),
        (
            spin_body(unknown_session, GAME, BET),
            StatusCode::NOT_FOUND,
            "session_not_found",
        ),
        (
            spin_body("not-a-uuid", GAME, BET),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            spin_body(&other_session, GAME, BET),
            StatusCode::BAD_REQUEST,
            "session_game_mismatch",
        ),
        (
            spin_body(&session, "no-such-game", BET),
            StatusCode::NOT_FOUND,
            "unknown_game",
        ),
        (
            json!({ "session_id": session, "game_id": GAME }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({ "session_id": session, "game_id": GAME, "bet": { "amount": BET }, "extra": 1 }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (index, (body, status, code)) in spins.into_iter().enumerate() {
        let response = app
            .post_json(
                "/api/v1/spin",
                Some(&player.token),
                Some(&format!("bad-{index}")),
                &body,
            )
            .await;
        assert_error(response, status, code).await;
    }
    // Insufficient funds: the bonus costs 100 bets, the player has 5.
    let broke = app
        .post_json(
            "/api/v1/bonus/trigger",
            Some(&poor.token),
            Some("broke"),
            &buy_body(&poor_session, GAME, BET),
        )
        .await;
    assert_error(broke, StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds").await;
    let broke_again = app
        .post_json(
            "/api/v1/bonus/trigger",
            Some(&poor.token),
            Some("broke"),
            &buy_body(&poor_session, GAME, BET),
        )
        .await;
    assert_error(broke_again, StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds").await;
    assert_eq!(app.balance(&poor).await, 5 * BET, "a refused stake moves nothing");
    // The poor player can still spin: a void round blocks nothing.
    ok(
        &app,
        &poor,
        "/api/v1/spin",
        Some("after-broke"),
        spin_body(&poor_session, GAME, BET),
    )
    .await;

    let triggers = [
        (
            json!({ "session_id": session, "game_id": GAME, "action": "dance" }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({ "session_id": session, "game_id": GAME, "action": "spin" }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            reveal_body(&session, GAME, unknown_session),
            StatusCode::NOT_FOUND,
            "round_not_found",
        ),
        (
            json!({ "session_id": session, "game_id": GAME, "action": "buy_feature", "feature_id": "base" }),
            StatusCode::BAD_REQUEST,
            "invalid_mode",
        ),
        (
            json!({ "session_id": session, "game_id": GAME, "action": "buy_feature" }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (index, (body, status, code)) in triggers.into_iter().enumerate() {
        let response = app
            .post_json(
                "/api/v1/bonus/trigger",
                Some(&player.token),
                Some(&format!("bad-trigger-{index}")),
                &body,
            )
            .await;
        assert_error(response, status, code).await;
    }
    // An expired session takes no spin.
    sqlx::query("UPDATE slot_sessions SET created_at = now() - interval '5 hours', expires_at = now() - interval '1 hour' WHERE id = $1::uuid")
        .bind(&session)
        .execute(&app.pool)
        .await
        .unwrap();
    let expired = app
        .post_json(
            "/api/v1/spin",
            Some(&player.token),
            Some("expired"),
            &spin_body(&session, GAME, BET),
        )
        .await;
    assert_error(expired, StatusCode::GONE, "session_expired").await;
    let reads = [
        (
            "/api/v1/slots/rounds/not-a-uuid",
            StatusCode::NOT_FOUND,
            "round_not_found",
        ),
        ("/api/v1/slots/rounds?limit=0", StatusCode::BAD_REQUEST, "invalid_query"),
        (
            "/api/v1/slots/rounds?game_id=nope",
            StatusCode::NOT_FOUND,
            "unknown_game",
        ),
        ("/api/v1/slots/games/nope", StatusCode::NOT_FOUND, "unknown_game"),
        (
            "/api/v1/slots/games/fortune-lines/definition?version=abc",
            StatusCode::BAD_REQUEST,
            "invalid_version",
        ),
    ];
    for (path, status, code) in reads {
        assert_error(app.get(path, Some(&player.token)).await, status, code).await;
    }
    let unknown_version = format!("/api/v1/slots/games/{GAME}/definition?version={}", "0".repeat(64));
    assert_error(
        app.get(&unknown_version, None).await,
        StatusCode::NOT_FOUND,
        "unknown_version",
    )
    .await;
    assert_eq!(app.balance(&player).await, FUNDS, "no bad request moved money");
    assert!(app.audit_ok().await);
}

#[actix_web::test]
async fn the_dashboard_and_the_audit_see_every_slot_round() {
    let app = spawn().await;
    crate::rtp::insert_house_games(&app).await;
    let player = app.signup_funded("slots-stats", FUNDS).await;
    let session = init(&app, &player, GAME).await;
    for spin in 0..20 {
        let first = ok(
            &app,
            &player,
            "/api/v1/spin",
            Some(&format!("s-{spin}")),
            spin_body(&session, GAME, BET),
        )
        .await;
        play_to_end(&app, &player, &session, GAME, first).await;
    }
    ok(
        &app,
        &player,
        "/api/v1/bonus/trigger",
        Some("open-bonus"),
        buy_body(&session, GAME, BET),
    )
    .await;
    let admin = app.admin_token().await;
    let stats: Value = app.get("/api/v1/admin/stats", Some(&admin)).await.json().await.unwrap();
    let slot = stats["games"]
        .as_array()
        .unwrap()
        .iter()
        .find(|game| game["provider"] == "house" && game["code"] == GAME)
        .unwrap_or_else(|| panic!("the dashboard lists {GAME}: {stats}"))
        .clone();
    assert_eq!(slot["open_bonus_rounds"], 1, "{slot}");
    assert!(
        slot["rounds_per_minute"].as_f64().unwrap() >= 4.0,
        "21 rounds in 5 minutes: {slot}"
    );
    let declared = slot["declared_rtp_bps"].as_i64().unwrap();
    assert!((9_000..9_800).contains(&declared), "the definition's RTP: {slot}");
    assert_eq!(slot["day"]["rounds"], 20, "the open bonus is not settled yet: {slot}");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("slot_spins_total"), "spins are counted");

    assert!(app.audit_ok().await);
    // A round whose recorded win no longer matches its steps is a breach.
    sqlx::query(
        "UPDATE slot_rounds SET win_centibet = win_centibet + 100, payout_micros = payout_micros + 100000
         WHERE id = (SELECT id FROM slot_rounds WHERE status = 'settled' ORDER BY id LIMIT 1)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let report = game_cluster::wallet::audit::run(&app.pool).await.unwrap();
    let checks: Vec<&str> = report.breaches.iter().map(|breach| breach.check).collect();
    assert!(checks.contains(&"slot_win_equals_its_steps"), "{checks:?}");
    assert!(checks.contains(&"slot_win_paid_once"), "{checks:?}");
}

#[actix_web::test]
async fn the_history_lists_slot_rounds_with_every_game_and_sockets_hear_of_their_money() {
    use crate::ws::WsClient;
    let app = spawn().await;
    let player = app.signup_funded("slots-history", FUNDS).await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    socket.wait_for("initial_state", |_| true).await;
    let session = init(&app, &player, GAME).await;
    let first = ok(
        &app,
        &player,
        "/api/v1/spin",
        Some("h-1"),
        spin_body(&session, GAME, BET),
    )
    .await;
    let first = play_to_end(&app, &player, &session, GAME, first).await;
    let balance = first["balance"].as_i64().unwrap();
    socket
        .wait_for("balance_updated", |message| message["balance"] == balance)
        .await;
    let dice = json!({ "amount": BET, "target": 50.0, "direction": "over" });
    ok(&app, &player, "/api/v1/dice/roll", Some("h-dice"), dice).await;
    let bought = ok(
        &app,
        &player,
        "/api/v1/bonus/trigger",
        Some("h-buy"),
        buy_body(&session, GAME, BET),
    )
    .await;
    let ended = ok(
        &app,
        &player,
        "/api/v1/round/end",
        Some("h-end"),
        json!({ "session_id": session, "game_id": GAME }),
    )
    .await;
    // The event and the last balance may come in either order, and a bonus that won nothing moves no
    // money at the end: its last balance is the one the purchase left, which may come before the event.
    let balance = ended["balance"].as_i64().unwrap();
    let (mut event, mut balance_seen) = (None, false);
    while event.is_none() || !balance_seen {
        let message = socket
            .wait_for_any(&["game_event".to_owned(), "balance_updated".to_owned()])
            .await;
        if message["type"] == "game_event" && message["event"] == "bonus_completed" {
            event = Some(message);
        } else if message["type"] == "balance_updated" && message["balance"] == balance {
            balance_seen = true;
        }
    }
    let event = event.expect("the bonus completed");
    assert_eq!(event["spin_id"], bought["spin_id"]);
    assert_eq!(event["total_win"], ended["round"]["total_win"]);

    let all = get_ok(&app, &player, "/api/v1/history").await;
    let games: Vec<&str> = all["bets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bet| bet["game"].as_str().unwrap())
        .collect();
    assert_eq!(games, [GAME, "dice", GAME], "newest first: {all}");
    assert_eq!(all["bets"][0]["spin_id"], bought["spin_id"]);
    assert!(
        all["bets"][0]["steps"].as_array().unwrap().len() > 1,
        "a bonus round with every step"
    );
    for filter in ["slots", GAME] {
        let only = get_ok(&app, &player, &format!("/api/v1/history?game={filter}")).await;
        assert_eq!(only["bets"].as_array().unwrap().len(), 2, "{filter}: {only}");
    }
    let other = get_ok(&app, &player, &format!("/api/v1/history?game={WAYS_GAME}")).await;
    assert!(other["bets"].as_array().unwrap().is_empty());
    let unknown = app.get("/api/v1/history?game=no-such-slot", Some(&player.token)).await;
    assert_error(unknown, StatusCode::BAD_REQUEST, "invalid_game").await;
}

/// Copies the shipped games into a directory of the test's own, so that it can change one.
fn copy_games(to: &std::path::Path) {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("games/slots");
    for game in std::fs::read_dir(&from).unwrap() {
        let game = game.unwrap();
        if !game.path().is_dir() {
            continue;
        }
        let target = to.join(game.file_name());
        std::fs::create_dir_all(&target).unwrap();
        for file in std::fs::read_dir(game.path()).unwrap() {
            let file = file.unwrap();
            std::fs::copy(file.path(), target.join(file.file_name())).unwrap();
        }
    }
}

#[actix_web::test]
async fn a_round_replays_under_its_own_math_version_after_the_game_changes() {
    let games_dir = std::env::temp_dir().join(format!("slots-versions-{}", uuid::Uuid::new_v4().simple()));
    copy_games(&games_dir);
    let mut settings = test_settings();
    create_database(&mut settings).await;
    settings.games.slots.dir = games_dir.to_string_lossy().into_owned();
    let before = spawn_app_with(settings.clone()).await;
    let player = before.signup_funded("slots-versions", FUNDS).await;
    let session = init(&before, &player, GAME).await;
    let first = ok(
        &before,
        &player,
        "/api/v1/spin",
        Some("old-maths"),
        spin_body(&session, GAME, BET),
    )
    .await;
    let first = play_to_end(&before, &player, &session, GAME, first).await;
    let old_version = first["math_version"].as_str().unwrap().to_owned();

    // The game's maths change (a pay), and a node serves the new version from the same database.
    let game_toml = games_dir.join(GAME).join("game.toml");
    let text = std::fs::read_to_string(&game_toml).unwrap();
    let changed = text.replacen(
        "pays = { 3 = 100, 4 = 250, 5 = 750 }",
        "pays = { 3 = 110, 4 = 250, 5 = 750 }",
        1,
    );
    assert_ne!(changed, text, "the test changes a pay");
    std::fs::write(&game_toml, changed).unwrap();
    let after = spawn_app_with(settings).await;
    let config = get_ok(&after, &player, &format!("/api/v1/slots/games/{GAME}")).await;
    let new_version = config["math_version"].as_str().unwrap().to_owned();
    assert_ne!(new_version, old_version);

    ok(&after, &player, "/api/v1/fair/seeds/rotate", None, json!({})).await;
    let verdict = ok(
        &after,
        &player,
        "/api/v1/fair/verify",
        None,
        json!({ "spin_id": first["spin_id"] }),
    )
    .await;
    assert_eq!(verdict["verified"], true, "{verdict}");
    assert_eq!(verdict["math_version"], old_version.as_str());
    let definition = get_ok(
        &after,
        &player,
        &format!("/api/v1/slots/games/{GAME}/definition?version={old_version}"),
    )
    .await;
    assert_eq!(definition["current"], false);
    assert!(definition["files"]["game.toml"]
        .as_str()
        .unwrap()
        .contains("3 = 100, 4 = 250"));
    assert_eq!(definition["versions"].as_array().unwrap().len(), 2, "{definition}");
    std::fs::remove_dir_all(&games_dir).ok();
}
