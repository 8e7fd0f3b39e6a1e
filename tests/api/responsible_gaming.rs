//! Responsible gaming against the real services: every limit at its boundary (a movement reaching a
//! limit exactly passes, one micro-unit more is refused), cooling-off, the session limit, self-exclusion
//! across nodes and the WebSocket, blocking, open bets that still pay, provider bets, and bad input on
//! every new endpoint.

use crate::helpers::{assert_error, spawn_app, spawn_app_with, TestApp, TestPlayer};
use crate::ws::{install_chain, WsClient};
use game_cluster::providers::generic::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

const UNIT: i64 = 1_000_000;
const DICE: &str = "/api/v1/dice/roll";
const LIMITS: &str = "/api/v1/limits";
const EXCLUSION: &str = "/api/v1/self-exclusion";

async fn funded(app: &TestApp, name: &str) -> TestPlayer {
    app.signup_funded(name, 100 * UNIT).await
}

async fn put_limit(app: &TestApp, player: &TestPlayer, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(LIMITS))
        .bearer_auth(&player.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn set_limit(app: &TestApp, player: &TestPlayer, body: Value) -> Value {
    let response = put_limit(app, player, body.clone()).await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body} answered {answer}");
    answer
}

async fn limits(app: &TestApp, player: &TestPlayer) -> Value {
    let response = app.get(LIMITS, Some(&player.token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn limit<'a>(view: &'a Value, kind: &str, period: &str) -> &'a Value {
    view["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|limit| limit["kind"] == kind && limit["period"] == period)
        .unwrap()
}

async fn dice(app: &TestApp, player: &TestPlayer, key: &str, amount: i64) -> reqwest::Response {
    let body = json!({"amount": amount, "target": 50, "direction": "over"});
    app.post_json(DICE, Some(&player.token), Some(key), &body).await
}

async fn dice_ok(app: &TestApp, player: &TestPlayer, key: &str, amount: i64) {
    let response = dice(app, player, key, amount).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
}

async fn top_up(app: &TestApp, player: &TestPlayer, key: &str, amount: i64) -> reqwest::Response {
    let body = json!({ "amount": amount });
    app.post_json("/api/v1/wallet/top-up", Some(&player.token), Some(key), &body)
        .await
}

async fn login(app: &TestApp, username: &str) -> reqwest::Response {
    let body = json!({"username": username, "password": "s3cret-password"});
    app.post_json("/api/v1/auth/login", None, None, &body).await
}

async fn me(app: &TestApp, player: &TestPlayer) -> Value {
    app.get("/api/v1/me", Some(&player.token)).await.json().await.unwrap()
}

/// A limit-refused answer names the period in its message.
async fn assert_limit_refusal(response: reqwest::Response, code: &str, period_word: &str) {
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(period_word), "{message}");
}

/// Without any limit, the view lists all nine money limits unset, and a player's usage of today shows
/// as soon as they set one (seeded from the ledger).
#[actix_web::test]
async fn the_first_limit_counts_what_the_ledger_already_holds() {
    let app = spawn_app().await;
    let player = funded(&app, "rg_view").await;
    let view = limits(&app, &player).await;
    assert_eq!(view["limits"].as_array().unwrap().len(), 9);
    assert!(limit(&view, "wager", "day")["amount_micros"].is_null());
    assert_eq!(view["cooling_off_hours"], 24);
    assert!(view["session"]["limit_minutes"].is_null());
    let view = set_limit(
        &app,
        &player,
        json!({"kind": "deposit", "period": "day", "amount_micros": 150 * UNIT}),
    )
    .await;
    let deposit = limit(&view, "deposit", "day");
    assert_eq!(deposit["amount_micros"], 150 * UNIT);
    assert_eq!(deposit["used_micros"], 100 * UNIT, "the funding top-up counts");
    assert_limit_refusal(
        top_up(&app, &player, "over", 50 * UNIT + 1).await,
        "deposit_limit_reached",
        "daily",
    )
    .await;
    let exact = top_up(&app, &player, "exact", 50 * UNIT).await;
    assert_eq!(exact.status(), StatusCode::OK);
    let admin = app.admin_token().await;
    let more = app.deposit(&admin, player.id, 1, "one-more").await;
    assert_limit_refusal(more, "deposit_limit_reached", "daily").await;
    assert_eq!(app.balance(&player).await, 150 * UNIT);
    assert!(app.audit_ok().await);
}

/// A first limit set while stakes are in flight counts every one of them: those posted before it through
/// the ledger sums, those after through the guard, none twice and none lost.
#[actix_web::test]
async fn a_first_limit_set_amid_concurrent_stakes_counts_each_stake_once() {
    let app = spawn_app().await;
    let player = funded(&app, "rg_race").await;
    let stakes = (0..24).map(|index| {
        let (app, player) = (&app, &player);
        async move { dice(app, player, &format!("race-{index}"), UNIT).await.status() }
    });
    let wager_limit = json!({"kind": "wager", "period": "day", "amount_micros": 1_000 * UNIT});
    let (statuses, _) = futures_util::future::join(
        futures_util::future::join_all(stakes),
        set_limit(&app, &player, wager_limit),
    )
    .await;
    assert!(statuses.iter().all(|status| *status == StatusCode::OK), "{statuses:?}");
    let staked: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(amount), 0)::int8 FROM transfers
         WHERE debit_account_id = $1 AND kind = 'bet' AND status = 'posted'",
    )
    .bind(player.account)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(staked, 24 * UNIT);
    let view = limits(&app, &player).await;
    assert_eq!(limit(&view, "wager", "day")["used_micros"], staked);
}

/// A stake that brings the wager to the limit exactly is taken, one micro-unit more is refused, and a
/// refused key stays refused on retry.
#[actix_web::test]
async fn a_wager_limit_takes_a_stake_reaching_it_and_refuses_one_micro_more() {
    let app = spawn_app().await;
    let player = funded(&app, "rg_wager").await;
    set_limit(
        &app,
        &player,
        json!({"kind": "wager", "period": "week", "amount_micros": 3 * UNIT}),
    )
    .await;
    dice_ok(&app, &player, "w1", UNIT).await;
    assert_limit_refusal(
        dice(&app, &player, "w2", 2 * UNIT + 1).await,
        "wager_limit_reached",
        "weekly",
    )
    .await;
    let balance = app.balance(&player).await;
    dice_ok(&app, &player, "w3", 2 * UNIT).await;
    assert_limit_refusal(dice(&app, &player, "w4", UNIT).await, "wager_limit_reached", "weekly").await;
    assert_limit_refusal(
        dice(&app, &player, "w2", 2 * UNIT + 1).await,
        "wager_limit_reached",
        "weekly",
    )
    .await;
    let view = limits(&app, &player).await;
    assert_eq!(limit(&view, "wager", "week")["used_micros"], 3 * UNIT);
    assert_ne!(app.balance(&player).await, balance, "the exact stake was taken");
    assert!(app.audit_ok().await);
}

/// The same boundary over the WebSocket: a crash bet one micro-unit over the limit is an `error` with
/// the limit's code, the bet that reaches it exactly is placed.
#[actix_web::test]
async fn a_crash_bet_over_the_websocket_meets_the_same_limit() {
    let app = spawn_app().await;
    let player = funded(&app, "rg_ws_limit").await;
    let wager = json!({"kind": "wager", "period": "day", "amount_micros": UNIT});
    set_limit(&app, &player, wager).await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    install_chain(&app, "aviator", 160..220).await;
    socket.wait_for("round_start", |_| true).await;
    let bet =
        |amount: i64, id: &str| json!({"type": "place_bet", "room": "aviator", "amount": amount, "client_bet_id": id});
    socket.send(bet(UNIT + 1, "over")).await;
    let refused = socket.next_json_of(&["error", "bet_placed"]).await;
    assert_eq!(refused["code"], "wager_limit_reached", "{refused}");
    socket.send(bet(UNIT, "exact")).await;
    let placed = socket.next_json_of(&["error", "bet_placed"]).await;
    assert_eq!(placed["type"], "bet_placed", "{placed}");
    assert_eq!(app.balance(&player).await, 99 * UNIT);
}

/// The loss limit counts stakes minus wins: a stake that could take the net loss past it is refused.
#[actix_web::test]
async fn a_loss_limit_refuses_a_stake_that_could_cross_it() {
    let app = spawn_app().await;
    let player = funded(&app, "rg_loss").await;
    set_limit(
        &app,
        &player,
        json!({"kind": "loss", "period": "month", "amount_micros": 5 * UNIT}),
    )
    .await;
    dice_ok(&app, &player, "l1", UNIT).await;
    let used = limit(&limits(&app, &player).await, "loss", "month")["used_micros"]
        .as_i64()
        .unwrap();
    assert_eq!(
        used,
        100 * UNIT - app.balance(&player).await,
        "net loss is stakes minus wins"
    );
    let room = 5 * UNIT - used;
    assert_limit_refusal(
        dice(&app, &player, "l2", room + 1).await,
        "loss_limit_reached",
        "monthly",
    )
    .await;
    dice_ok(&app, &player, "l3", room).await;
    assert!(app.audit_ok().await);
}

/// Raising waits the cooling-off period (shown as pending), lowering applies at once; once the pending
/// time has passed the raise is in force.
#[actix_web::test]
async fn raising_a_limit_waits_the_cooling_off_and_lowering_applies_at_once() {
    let app = spawn_app().await;
    let player = funded(&app, "rg_cool").await;
    let wager = |amount: i64| json!({"kind": "wager", "period": "day", "amount_micros": amount});
    set_limit(&app, &player, wager(2 * UNIT)).await;
    let before = chrono::Utc::now();
    let view = set_limit(&app, &player, wager(5 * UNIT)).await;
    let day = limit(&view, "wager", "day");
    assert_eq!(day["amount_micros"], 2 * UNIT);
    assert_eq!(day["pending"]["amount_micros"], 5 * UNIT);
    let effective: chrono::DateTime<chrono::Utc> = day["pending"]["effective_at"].as_str().unwrap().parse().unwrap();
    let minutes = (effective - before).num_minutes();
    assert!(
        (24 * 60 - 1..=24 * 60 + 1).contains(&minutes),
        "{effective} is a day after {before}"
    );
    assert_limit_refusal(
        dice(&app, &player, "c1", 3 * UNIT).await,
        "wager_limit_reached",
        "daily",
    )
    .await;

    sqlx::query(
        "UPDATE player_guards SET limits = jsonb_set(limits, '{wager_day,pending,effective_at}',
                                                     to_jsonb(now() - interval '1 second'))
         WHERE account_id = $1",
    )
    .bind(player.account)
    .execute(&app.pool)
    .await
    .unwrap();
    let day = limits(&app, &player).await;
    assert_eq!(limit(&day, "wager", "day")["amount_micros"], 5 * UNIT);
    assert!(limit(&day, "wager", "day")["pending"].is_null());
    dice_ok(&app, &player, "c2", 3 * UNIT).await;

    let view = set_limit(&app, &player, wager(4 * UNIT)).await;
    assert_eq!(limit(&view, "wager", "day")["amount_micros"], 4 * UNIT);
    assert_limit_refusal(
        dice(&app, &player, "c3", 2 * UNIT).await,
        "wager_limit_reached",
        "daily",
    )
    .await;
    let view = set_limit(&app, &player, wager_removed()).await;
    let day = limit(&view, "wager", "day");
    assert_eq!(day["amount_micros"], 4 * UNIT, "a removal waits too");
    assert!(day["pending"]["amount_micros"].is_null() && day["pending"]["effective_at"].is_string());
}

fn wager_removed() -> Value {
    json!({"kind": "wager", "period": "day", "amount_micros": null})
}

/// A session that lasted its limit refuses stakes (not wins) until the player has taken a break.
#[actix_web::test]
async fn a_session_limit_refuses_stakes_until_a_break() {
    let app = spawn_app().await;
    let player = funded(&app, "rg_session").await;
    let view = set_limit(&app, &player, json!({"kind": "session", "minutes": 30})).await;
    assert_eq!(view["session"]["limit_minutes"], 30);
    dice_ok(&app, &player, "s1", UNIT).await;
    let view = limits(&app, &player).await;
    assert!(view["session"]["started_at"].is_string(), "{view}");
    let shift = |sql: &'static str| {
        let pool = app.pool.clone();
        let account = player.account;
        async move { sqlx::query(sql).bind(account).execute(&pool).await.unwrap() }
    };
    // The session began 31 minutes ago and the last stake was a minute ago: no break yet.
    shift("UPDATE player_guards SET session_started_at = now() - interval '31 minutes', last_stake_at = now() - interval '1 minute' WHERE account_id = $1").await;
    let refused = dice(&app, &player, "s2", UNIT).await;
    assert_error(refused, StatusCode::UNPROCESSABLE_ENTITY, "session_time_limit_reached").await;
    // Sixteen minutes without a stake are a break (15 by default): the next stake starts a new session.
    shift("UPDATE player_guards SET session_started_at = now() - interval '50 minutes', last_stake_at = now() - interval '16 minutes' WHERE account_id = $1").await;
    dice_ok(&app, &player, "s3", UNIT).await;
    assert!(app.audit_ok().await);
}

/// Self-exclusion: it cannot be shortened; login, bets on any node (REST and WebSocket, on the leader
/// or forwarded to it) and deposits are refused with `self_excluded`; nothing moves.
#[actix_web::test]
async fn self_exclusion_holds_on_every_node_and_the_websocket_and_cannot_be_shortened() {
    let app = spawn_app().await;
    let second = spawn_app_with(app.settings.clone()).await;
    let player = funded(&app, "rg_excluded").await;
    let mut sockets = [
        WsClient::connect_player(&app, &player.token).await,
        WsClient::connect_player(&second, &player.token).await,
    ];
    let response = app
        .post_json(EXCLUSION, Some(&player.token), None, &json!({"days": 7}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let excluded: Value = response.json().await.unwrap();
    assert_eq!(excluded["status"], "self_excluded");
    let shorter = app
        .post_json(EXCLUSION, Some(&player.token), None, &json!({"days": 1}))
        .await;
    assert_error(shorter, StatusCode::CONFLICT, "self_exclusion_cannot_be_shortened").await;
    let longer = app
        .post_json(EXCLUSION, Some(&player.token), None, &json!({"days": 8}))
        .await;
    assert_eq!(longer.status(), StatusCode::OK);
    let status = me(&app, &player).await;
    assert_eq!(status["status"], "self_excluded");
    assert!(status["self_excluded_until"].is_string());

    assert_error(login(&app, "rg_excluded").await, StatusCode::FORBIDDEN, "self_excluded").await;
    assert_error(
        dice(&app, &player, "x1", UNIT).await,
        StatusCode::FORBIDDEN,
        "self_excluded",
    )
    .await;
    assert_error(
        dice(&second, &player, "x2", UNIT).await,
        StatusCode::FORBIDDEN,
        "self_excluded",
    )
    .await;
    assert_error(
        top_up(&second, &player, "x3", UNIT).await,
        StatusCode::FORBIDDEN,
        "self_excluded",
    )
    .await;

    install_chain(&app, "aviator", 160..220).await;
    for (index, socket) in sockets.iter_mut().enumerate() {
        socket.wait_for("round_start", |_| true).await;
        let bet =
            json!({"type": "place_bet", "room": "aviator", "amount": UNIT, "client_bet_id": format!("ws-{index}")});
        socket.send(bet).await;
        let answer = socket.next_json_of(&["error", "bet_placed"]).await;
        assert_eq!(answer["code"], "self_excluded", "node {index}: {answer}");
    }
    assert_eq!(app.balance(&player).await, 100 * UNIT);
    assert!(app.audit_ok().await);
}

/// An operator's block refuses login, stakes and deposits with `player_blocked` until it is lifted.
#[actix_web::test]
async fn a_blocked_player_is_refused_until_unblocked() {
    let app = spawn_app().await;
    let player = funded(&app, "rg_blocked").await;
    let admin = app.admin_token().await;
    let status = format!("/api/v1/admin/players/{}/status", player.id);
    let blocked = app
        .post_json(&status, Some(&admin), None, &json!({"status": "blocked"}))
        .await;
    assert_eq!(blocked.status(), StatusCode::OK);
    assert_eq!(me(&app, &player).await["status"], "blocked");
    assert_error(login(&app, "rg_blocked").await, StatusCode::FORBIDDEN, "player_blocked").await;
    assert_error(
        dice(&app, &player, "b1", UNIT).await,
        StatusCode::FORBIDDEN,
        "player_blocked",
    )
    .await;
    let deposit = app.deposit(&admin, player.id, UNIT, "b2").await;
    assert_error(deposit, StatusCode::FORBIDDEN, "player_blocked").await;
    let bad = app
        .post_json(&status, Some(&admin), None, &json!({"status": "disabled"}))
        .await;
    assert_error(bad, StatusCode::BAD_REQUEST, "invalid_status").await;

    let active = app
        .post_json(&status, Some(&admin), None, &json!({"status": "active"}))
        .await;
    assert_eq!(active.status(), StatusCode::OK);
    assert_eq!(me(&app, &player).await["status"], "active");
    assert_eq!(login(&app, "rg_blocked").await.status(), StatusCode::OK);
    dice_ok(&app, &player, "b3", UNIT).await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM player_guards")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "an unblocked player without limits has nothing left to guard");
    assert!(app.audit_ok().await);
}

/// A crash bet placed before its player self-excluded still pays its auto-cashout.
#[actix_web::test]
async fn an_open_crash_bet_still_pays_after_its_player_self_excludes() {
    let app = spawn_app().await;
    let player = funded(&app, "rg_open_bet").await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    install_chain(&app, "aviator", 160..220).await;
    socket.wait_for("round_start", |_| true).await;
    let bet =
        json!({"type": "place_bet", "room": "aviator", "amount": UNIT, "auto_cashout": 1.2, "client_bet_id": "open"});
    socket.send(bet).await;
    socket.wait_for("bet_placed", |_| true).await;
    let excluded = app
        .post_json(EXCLUSION, Some(&player.token), None, &json!({"days": 30}))
        .await;
    assert_eq!(excluded.status(), StatusCode::OK);
    let paid = socket.wait_for("cashed_out", |_| true).await;
    assert_eq!(paid["payout"], 1_200_000);
    assert_eq!(app.balance(&player).await, 100 * UNIT - UNIT + 1_200_000);
    assert!(app.audit_ok().await);
}

/// A provider's bet over the player's limit is refused in its protocol's terms; one that reaches the
/// limit exactly is taken, and a win is always paid.
#[actix_web::test]
async fn a_provider_bet_over_a_limit_is_refused() {
    let app = spawn_app().await;
    let player = funded(&app, "rg_provider").await;
    let token = open_provider_session(&app, &player).await;
    set_limit(
        &app,
        &player,
        json!({"kind": "wager", "period": "day", "amount_micros": 2 * UNIT}),
    )
    .await;
    let bet = |transaction: &str, amount: i64| {
        json!({
            "player_id": player.id, "token": token, "game_code": "rg_slot", "round_id": "r1",
            "transaction_id": transaction, "amount": amount, "currency": "USD", "request_id": Uuid::new_v4(),
        })
    };
    let (status, answer) = provider_call(&app, "bet", &bet("p1", 2 * UNIT + 1)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["status"], "player_limit_reached");
    let (status, answer) = provider_call(&app, "bet", &bet("p2", 2 * UNIT)).await;
    assert_eq!((status, &answer["status"]), (StatusCode::OK, &json!("ok")), "{answer}");
    let win = json!({
        "player_id": player.id, "token": token, "game_code": "rg_slot", "round_id": "r1",
        "transaction_id": "p3", "amount": UNIT, "currency": "USD",
    });
    let (status, answer) = provider_call(&app, "win", &win).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = provider_call(&app, "bet", &bet("p4", 1)).await;
    assert_eq!(
        (status, &answer["status"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("player_limit_reached"))
    );
    let view = limits(&app, &player).await;
    assert_eq!(limit(&view, "wager", "day")["used_micros"], 2 * UNIT);
    assert_eq!(limit(&view, "loss", "day")["used_micros"], UNIT);
    assert_eq!(app.balance(&player).await, 99 * UNIT);
    assert!(app.audit_ok().await);
}

const PROVIDER_SECRET: &str = "rg-studio-secret-for-tests-0123456";

/// Registers a generic-protocol studio with one game and opens a session of it for `player`.
async fn open_provider_session(app: &TestApp, player: &TestPlayer) -> String {
    sqlx::query(
        "INSERT INTO providers (id, name, protocol, secret, currencies, launch_url)
         VALUES ('rgstudio', 'RG Studio', 'generic', $1, '{USD}', 'https://studio.test/?t={token}')",
    )
    .bind(PROVIDER_SECRET)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO games (provider_id, code, name, category, rtp_bps, volatility, bet_min_micros, bet_max_micros)
         VALUES ('rgstudio', 'rg_slot', 'RG Slot', 'slots', 9600, 'low', 1, 1000000000000)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    sqlx::query(
        "INSERT INTO game_sessions (id, player_id, game_id, provider_id, currency, token, url, expires_at)
         SELECT $1, $2, id, provider_id, 'USD', $3, 'https://studio.test', now() + interval '1 hour'
         FROM games WHERE provider_id = 'rgstudio' AND code = 'rg_slot'",
    )
    .bind(Uuid::new_v4())
    .bind(player.id)
    .bind(&token)
    .execute(&app.pool)
    .await
    .unwrap();
    token
}

async fn provider_call(app: &TestApp, operation: &str, body: &Value) -> (StatusCode, Value) {
    let body = serde_json::to_vec(body).unwrap();
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(PROVIDER_SECRET.as_bytes(), timestamp, &body);
    let response = app
        .client
        .post(app.url(&format!("/rgs/rgstudio/{operation}")))
        .header("Content-Type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Every new endpoint refuses bad input with a typed 4xx and changes nothing.
#[actix_web::test]
async fn bad_input_on_every_new_endpoint_is_a_typed_error() {
    let app = spawn_app().await;
    let player = app.signup("rg_bad").await;
    let cases = [
        (
            json!({"kind": "bets", "period": "day", "amount_micros": UNIT}),
            "invalid_limit_kind",
        ),
        (json!({"period": "day", "amount_micros": UNIT}), "invalid_limit_kind"),
        (
            json!({"kind": "wager", "period": "year", "amount_micros": UNIT}),
            "invalid_period",
        ),
        (json!({"kind": "wager", "amount_micros": UNIT}), "invalid_period"),
        (
            json!({"kind": "wager", "period": "day", "amount_micros": -5}),
            "invalid_amount",
        ),
        (
            json!({"kind": "wager", "period": "day", "amount_micros": 0}),
            "invalid_amount",
        ),
        (
            json!({"kind": "wager", "period": "day", "amount_micros": 1.5}),
            "invalid_amount",
        ),
        (
            json!({"kind": "wager", "period": "day", "amount_micros": "10"}),
            "invalid_amount",
        ),
        (
            json!({"kind": "wager", "period": "day", "amount_micros": 1e300}),
            "invalid_amount",
        ),
        (
            json!({"kind": "wager", "period": "day", "amount_micros": i64::MAX}),
            "invalid_amount",
        ),
        (json!({"kind": "wager", "period": "day"}), "invalid_amount"),
        (
            json!({"kind": "wager", "period": "day", "amount_micros": UNIT, "x": 1}),
            "invalid_json",
        ),
        (json!({"kind": "session", "minutes": 0}), "invalid_minutes"),
        (json!({"kind": "session", "minutes": 100_000}), "invalid_minutes"),
        (json!({"kind": "session", "minutes": 2.5}), "invalid_minutes"),
        (
            json!({"kind": "session", "period": "day", "minutes": 5}),
            "invalid_json",
        ),
    ];
    for (body, code) in cases {
        assert_error(put_limit(&app, &player, body).await, StatusCode::BAD_REQUEST, code).await;
    }
    for days in [json!(0), json!(3651), json!(-1), json!(1.5), json!("7"), json!(null)] {
        let response = app
            .post_json(EXCLUSION, Some(&player.token), None, &json!({ "days": days }))
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_days").await;
    }
    let response = app.post_json(EXCLUSION, Some(&player.token), None, &json!({})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_days").await;
    let no_auth = app.client.put(app.url(LIMITS)).json(&json!({})).send().await.unwrap();
    assert_eq!(no_auth.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(LIMITS, None).await.status(), StatusCode::UNAUTHORIZED);
    let response = app.post_json(EXCLUSION, None, None, &json!({"days": 1})).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM player_guards")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "no refused change wrote anything");
    assert_eq!(me(&app, &player).await["status"], "active");
}
