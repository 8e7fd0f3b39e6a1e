//! The seamless wallet through our generic protocol, over HTTP against the real services: every check of
//! the certification list in `../shared/reference/seamless-wallet.md`, signature attacks, concurrency, a
//! second node, and the audit after all of it.

use crate::helpers::{spawn_app, spawn_app_with, TestApp, TestPlayer};
use game_cluster::providers::generic::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

const SECRET: &str = "studio-secret-for-tests-0123456789";
const GAME: &str = "fruit_party";
/// 10 units.
const TEN: i64 = 10_000_000;

struct Studio {
    app: TestApp,
    provider: String,
}

struct Seat {
    player: TestPlayer,
    token: String,
}

impl Studio {
    /// A generic-protocol provider with one game (bets of 0.10 to 1,000 units) on a fresh node.
    async fn open() -> Studio {
        let app = spawn_app().await;
        let studio = Studio {
            app,
            provider: "studio".into(),
        };
        studio.register().await;
        studio
    }

    async fn register(&self) {
        sqlx::query(
            "INSERT INTO providers (id, name, protocol, secret, currencies, launch_url)
             VALUES ($1, 'Test Studio', 'generic', $2, '{USD}', 'https://studio.test/play?token={token}')
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&self.provider)
        .bind(SECRET)
        .execute(&self.app.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO games (provider_id, code, name, category, rtp_bps, volatility, bet_min_micros, bet_max_micros)
             VALUES ($1, $2, 'Fruit Party', 'slots', 9650, 'high', 100000, 1000000000000)
             ON CONFLICT (provider_id, code) DO NOTHING",
        )
        .bind(&self.provider)
        .bind(GAME)
        .execute(&self.app.pool)
        .await
        .unwrap();
    }

    /// A funded player with an open game session of this studio's game.
    async fn seat(&self, name: &str, micros: i64) -> Seat {
        let player = self.app.signup_funded(name, micros).await;
        let token = self.session(&player, chrono::Duration::hours(4)).await;
        Seat { player, token }
    }

    async fn session(&self, player: &TestPlayer, valid_for: chrono::Duration) -> String {
        let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let now = chrono::Utc::now();
        sqlx::query(
            "INSERT INTO game_sessions (id, player_id, game_id, provider_id, currency, token, url, created_at, expires_at)
             SELECT $1, $2, id, provider_id, 'USD', $3, 'https://studio.test', $4, $5
             FROM games WHERE provider_id = $6 AND code = $7",
        )
        .bind(Uuid::new_v4())
        .bind(player.id)
        .bind(&token)
        .bind(now - chrono::Duration::hours(5))
        .bind(now + valid_for)
        .bind(&self.provider)
        .bind(GAME)
        .execute(&self.app.pool)
        .await
        .unwrap();
        token
    }

    /// A call signed now with the studio's secret.
    async fn call(&self, operation: &str, body: &Value) -> (StatusCode, Value) {
        let body = serde_json::to_vec(body).unwrap();
        self.signed(operation, body, chrono::Utc::now().timestamp(), SECRET)
            .await
    }

    async fn signed(&self, operation: &str, body: Vec<u8>, timestamp: i64, secret: &str) -> (StatusCode, Value) {
        let signature = sign(secret.as_bytes(), timestamp, &body);
        self.raw(operation, body, &signature, timestamp).await
    }

    async fn raw(&self, operation: &str, body: Vec<u8>, signature: &str, timestamp: i64) -> (StatusCode, Value) {
        let response = self
            .app
            .client
            .post(self.app.url(&format!("/rgs/{}/{operation}", self.provider)))
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("the answer is JSON: {text}"));
        (status, body)
    }

    async fn bet(&self, seat: &Seat, transaction: &str, round: &str, amount: i64) -> (StatusCode, Value) {
        self.call("bet", &bet_body(seat, transaction, round, amount)).await
    }

    async fn win(&self, seat: &Seat, transaction: &str, round: &str, amount: i64) -> (StatusCode, Value) {
        self.call("win", &win_body(seat, transaction, round, amount)).await
    }

    async fn rollback(&self, seat: &Seat, transaction: &str, bet: &str) -> (StatusCode, Value) {
        let body = json!({
            "player_id": seat.player.id, "transaction_id": transaction, "bet_transaction_id": bet,
            "game_code": GAME,
        });
        self.call("rollback", &body).await
    }

    async fn balance(&self, seat: &Seat) -> i64 {
        self.app.balance(&seat.player).await
    }

    async fn journal_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM provider_transactions")
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }
}

fn bet_body(seat: &Seat, transaction: &str, round: &str, amount: i64) -> Value {
    json!({
        "player_id": seat.player.id, "token": seat.token, "game_code": GAME, "round_id": round,
        "transaction_id": transaction, "amount": amount, "currency": "USD", "request_id": Uuid::new_v4(),
    })
}

fn win_body(seat: &Seat, transaction: &str, round: &str, amount: i64) -> Value {
    json!({
        "player_id": seat.player.id, "token": seat.token, "game_code": GAME, "round_id": round,
        "transaction_id": transaction, "amount": amount, "currency": "USD",
    })
}

fn assert_status(answer: &(StatusCode, Value), http: StatusCode, status: &str) {
    assert_eq!(answer.0, http, "unexpected HTTP status: {}", answer.1);
    assert_eq!(answer.1["status"], status, "unexpected status: {}", answer.1);
    if status != "ok" {
        assert_eq!(answer.1["error"]["code"], status, "{}", answer.1);
        assert!(answer.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[actix_web::test]
async fn a_bet_then_a_win_move_the_money_and_exact_retries_move_nothing() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_debit_credit", 100 * 1_000_000).await;
    let bet = studio.bet(&seat, "b1", "r1", TEN).await;
    assert_status(&bet, StatusCode::OK, "ok");
    assert_eq!(bet.1["balance"], 90 * 1_000_000);
    // Duplicate debit: the first answer again, nothing moves.
    let retry = studio.bet(&seat, "b1", "r1", TEN).await;
    assert_status(&retry, StatusCode::OK, "ok");
    assert_eq!(retry.1["balance"], 90 * 1_000_000);
    assert_eq!(retry.1["replayed"], true);
    let win = studio.win(&seat, "w1", "r1", 25 * 1_000_000).await;
    assert_status(&win, StatusCode::OK, "ok");
    assert_eq!(win.1["balance"], 115 * 1_000_000);
    // Duplicate credit.
    let retry = studio.win(&seat, "w1", "r1", 25 * 1_000_000).await;
    assert_eq!(retry.1["balance"], 115 * 1_000_000);
    assert_eq!(studio.balance(&seat).await, 115 * 1_000_000);
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT transaction_id, status, balance_before, balance_after FROM provider_transactions ORDER BY created_at",
    )
    .fetch_all(&studio.app.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            ("b1".into(), "ok".into(), 100_000_000, 90_000_000),
            ("w1".into(), "ok".into(), 90_000_000, 115_000_000)
        ]
    );
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn the_same_transaction_id_with_other_fields_is_a_duplicate_and_moves_nothing() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_duplicate", 100 * 1_000_000).await;
    assert_status(&studio.bet(&seat, "b1", "r1", TEN).await, StatusCode::OK, "ok");
    let other_amount = studio.bet(&seat, "b1", "r1", 2 * TEN).await;
    assert_status(&other_amount, StatusCode::CONFLICT, "duplicate_transaction");
    let other_round = studio.bet(&seat, "b1", "r2", TEN).await;
    assert_status(&other_round, StatusCode::CONFLICT, "duplicate_transaction");
    let as_a_win = studio.win(&seat, "b1", "r1", TEN).await;
    assert_status(&as_a_win, StatusCode::CONFLICT, "duplicate_transaction");
    let other_player = studio.seat("prov_duplicate_2", 100 * 1_000_000).await;
    let stolen = studio.bet(&other_player, "b1", "r1", TEN).await;
    assert_status(&stolen, StatusCode::CONFLICT, "duplicate_transaction");
    assert_eq!(studio.balance(&seat).await, 90 * 1_000_000);
    assert_eq!(studio.balance(&other_player).await, 100 * 1_000_000);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn rollbacks_return_the_stake_once_and_a_rollback_before_its_bet_blocks_the_bet() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_rollback", 100 * 1_000_000).await;
    studio.bet(&seat, "b1", "r1", TEN).await;
    // Cancel once, then twice (the same rollback id, then another one).
    let first = studio.rollback(&seat, "x1", "b1").await;
    assert_status(&first, StatusCode::OK, "ok");
    assert_eq!(first.1["balance"], 100 * 1_000_000);
    assert_status(&studio.rollback(&seat, "x1", "b1").await, StatusCode::OK, "ok");
    assert_status(&studio.rollback(&seat, "x2", "b1").await, StatusCode::OK, "ok");
    assert_eq!(studio.balance(&seat).await, 100 * 1_000_000);
    // Win after rollback: refused.
    let win = studio.win(&seat, "w1", "r1", TEN).await;
    assert_status(&win, StatusCode::CONFLICT, "transaction_rolled_back");
    let win_naming_it = studio
        .call(
            "win",
            &json!({"player_id": seat.player.id, "round_id": "r1", "transaction_id": "w2",
                             "bet_transaction_id": "b1", "amount": TEN, "currency": "USD"}),
        )
        .await;
    assert_status(&win_naming_it, StatusCode::CONFLICT, "transaction_rolled_back");
    // Rollback of an unknown id: success, remembered; the bet arriving later is refused, never debited.
    let early = studio.rollback(&seat, "x3", "b-late").await;
    assert_status(&early, StatusCode::OK, "ok");
    let late = studio.bet(&seat, "b-late", "r2", TEN).await;
    assert_status(&late, StatusCode::CONFLICT, "transaction_rolled_back");
    assert_eq!(studio.balance(&seat).await, 100 * 1_000_000);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn a_settled_bet_cannot_be_rolled_back_and_a_win_needs_a_bet_unless_it_is_free() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_settled", 100 * 1_000_000).await;
    studio.bet(&seat, "b1", "r1", TEN).await;
    studio.win(&seat, "w1", "r1", 0).await;
    let late_rollback = studio.rollback(&seat, "x1", "b1").await;
    assert_status(&late_rollback, StatusCode::CONFLICT, "bet_already_settled");
    // Credit with an unknown reference / no bet in the round.
    let orphan = studio
        .call(
            "win",
            &json!({"player_id": seat.player.id, "round_id": "r9", "transaction_id": "w9",
                             "bet_transaction_id": "nope", "amount": TEN, "currency": "USD"}),
        )
        .await;
    assert_status(&orphan, StatusCode::NOT_FOUND, "transaction_does_not_exist");
    let unknown_in_a_live_round = studio
        .call(
            "win",
            &json!({"player_id": seat.player.id, "round_id": "r1", "transaction_id": "w8",
                             "bet_transaction_id": "never-seen", "amount": TEN, "currency": "USD"}),
        )
        .await;
    assert_status(
        &unknown_in_a_live_round,
        StatusCode::NOT_FOUND,
        "transaction_does_not_exist",
    );
    let no_bet = studio.win(&seat, "w10", "r10", TEN).await;
    assert_status(&no_bet, StatusCode::NOT_FOUND, "transaction_does_not_exist");
    // A refused key stays refused.
    studio.bet(&seat, "b11", "r10", TEN).await;
    let still = studio.win(&seat, "w10", "r10", TEN).await;
    assert_status(&still, StatusCode::NOT_FOUND, "transaction_does_not_exist");
    // A promotion payout without a bet, repeated: counted once.
    let promo = json!({"player_id": seat.player.id, "game_code": GAME, "round_id": "promo-1",
                       "transaction_id": "p1", "amount": 5 * 1_000_000, "currency": "USD", "free_round": true});
    assert_status(&studio.call("win", &promo).await, StatusCode::OK, "ok");
    assert_status(&studio.call("win", &promo).await, StatusCode::OK, "ok");
    assert_eq!(studio.balance(&seat).await, (100 - 10 - 10 + 5) * 1_000_000);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn zero_wins_large_payouts_and_not_enough_money_with_the_real_balance() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_amounts", 50 * 1_000_000).await;
    studio.bet(&seat, "b1", "r1", TEN).await;
    let zero = studio.win(&seat, "w1", "r1", 0).await;
    assert_status(&zero, StatusCode::OK, "ok");
    assert_eq!(zero.1["balance"], 40 * 1_000_000);
    studio.bet(&seat, "b2", "r2", TEN).await;
    let jackpot = 500_000_000 * 1_000_000;
    let large = studio.win(&seat, "w2", "r2", jackpot).await;
    assert_status(&large, StatusCode::OK, "ok");
    assert_eq!(studio.balance(&seat).await, 30 * 1_000_000 + jackpot);
    let poor = studio.seat("prov_poor", 5 * 1_000_000).await;
    let refused = studio.bet(&poor, "b3", "r3", TEN).await;
    assert_status(&refused, StatusCode::UNPROCESSABLE_ENTITY, "not_enough_money");
    assert_eq!(refused.1["balance"], 5 * 1_000_000);
    assert_eq!(studio.balance(&poor).await, 5 * 1_000_000);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn bad_amounts_ids_and_unknown_players_are_refused_without_a_trace() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_bad_input", 50 * 1_000_000).await;
    for amount in [json!(-1), json!(0), json!(1.5), json!("100"), json!(1e300)] {
        let mut body = bet_body(&seat, "b1", "r1", 1);
        body["amount"] = amount.clone();
        let answer = studio.call("bet", &body).await;
        assert_status(&answer, StatusCode::BAD_REQUEST, "wrong_types");
    }
    for currency in ["usd", "schmeckles", "U"] {
        let mut body = bet_body(&seat, "b1", "r1", TEN);
        body["currency"] = json!(currency);
        assert_status(&studio.call("bet", &body).await, StatusCode::BAD_REQUEST, "wrong_types");
    }
    let long = studio.bet(&seat, &"x".repeat(129), "r1", TEN).await;
    assert_status(&long, StatusCode::BAD_REQUEST, "wrong_types");
    let missing = studio.call("bet", &json!({"player_id": seat.player.id})).await;
    assert_status(&missing, StatusCode::BAD_REQUEST, "wrong_syntax");
    let unknown = studio
        .call(
            "win",
            &json!({"player_id": Uuid::new_v4(), "round_id": "r", "transaction_id": "w", "amount": 1,
                             "currency": "USD"}),
        )
        .await;
    assert_status(&unknown, StatusCode::NOT_FOUND, "unknown_player");
    assert_eq!(studio.journal_rows().await, 0);
    // Unicode and 128-character ids are fine.
    let unicode = studio.bet(&seat, "ставка-🎰-1", &"раунд".repeat(25), TEN).await;
    assert_status(&unicode, StatusCode::OK, "ok");
    assert_status(
        &studio.bet(&seat, &"y".repeat(128), "r2", TEN).await,
        StatusCode::OK,
        "ok",
    );
    assert_eq!(studio.balance(&seat).await, 30 * 1_000_000);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn tampered_foreign_stale_and_unsigned_calls_change_nothing_and_a_replay_is_only_a_retry() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_signatures", 50 * 1_000_000).await;
    let body = serde_json::to_vec(&bet_body(&seat, "b1", "r1", TEN)).unwrap();
    let now = chrono::Utc::now().timestamp();
    let signature = sign(SECRET.as_bytes(), now, &body);
    let tampered = serde_json::to_vec(&bet_body(&seat, "b1", "r1", 40 * 1_000_000)).unwrap();
    let answer = studio.raw("bet", tampered, &signature, now).await;
    assert_status(&answer, StatusCode::UNAUTHORIZED, "invalid_signature");
    let foreign = studio
        .signed("bet", body.clone(), now, "a-different-secret-entirely-000")
        .await;
    assert_status(&foreign, StatusCode::UNAUTHORIZED, "invalid_signature");
    let stale = studio.signed("bet", body.clone(), now - 3600, SECRET).await;
    assert_status(&stale, StatusCode::UNAUTHORIZED, "invalid_signature");
    let moved_timestamp = studio.raw("bet", body.clone(), &signature, now + 5).await;
    assert_status(&moved_timestamp, StatusCode::UNAUTHORIZED, "invalid_signature");
    assert_eq!(studio.journal_rows().await, 0);
    assert_eq!(studio.balance(&seat).await, 50 * 1_000_000);
    // The genuine call, then the captured one replayed: the first answer, nothing more moves.
    let genuine = studio.raw("bet", body.clone(), &signature, now).await;
    assert_status(&genuine, StatusCode::OK, "ok");
    let replayed = studio.raw("bet", body, &signature, now).await;
    assert_eq!(replayed.1["replayed"], true);
    assert_eq!(studio.balance(&seat).await, 40 * 1_000_000);
    // Unknown and disabled providers.
    let response = studio
        .app
        .client
        .post(studio.app.url("/rgs/nobody/bet"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    sqlx::query("UPDATE providers SET active = false WHERE id = $1")
        .bind(&studio.provider)
        .execute(&studio.app.pool)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let disabled = studio.bet(&seat, "b2", "r2", TEN).await;
    assert_status(&disabled, StatusCode::FORBIDDEN, "invalid_partner");
    assert_eq!(studio.balance(&seat).await, 40 * 1_000_000);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn rounds_with_two_players_parallel_rounds_and_a_hundred_bets_settle_exactly() {
    let studio = Studio::open().await;
    let alice = studio.seat("prov_alice", 200 * 1_000_000).await;
    let bob = studio.seat("prov_bob", 200 * 1_000_000).await;
    // Two players in one round.
    studio.bet(&alice, "a1", "shared", TEN).await;
    studio.bet(&bob, "b1", "shared", TEN).await;
    assert_status(
        &studio.win(&alice, "aw1", "shared", 3 * TEN).await,
        StatusCode::OK,
        "ok",
    );
    assert_status(&studio.win(&bob, "bw1", "shared", 0).await, StatusCode::OK, "ok");
    // Parallel rounds of one player.
    studio.bet(&alice, "a2", "p1", TEN).await;
    studio.bet(&alice, "a3", "p2", TEN).await;
    studio.win(&alice, "aw3", "p2", 2 * TEN).await;
    studio.win(&alice, "aw2", "p1", TEN).await;
    // 100 bets in one round, a mix of settled and cancelled: cancel every tenth, then one win.
    for index in 0..100 {
        studio.bet(&bob, &format!("m{index}"), "many", 1_000_000).await;
    }
    for index in (0..100).step_by(10) {
        assert_status(
            &studio.rollback(&bob, &format!("mx{index}"), &format!("m{index}")).await,
            StatusCode::OK,
            "ok",
        );
    }
    assert_status(
        &studio.win(&bob, "mw", "many", 50 * 1_000_000).await,
        StatusCode::OK,
        "ok",
    );
    let cancel_after_win = studio.rollback(&bob, "mx1", "m1").await;
    assert_status(&cancel_after_win, StatusCode::CONFLICT, "bet_already_settled");
    assert_eq!(studio.balance(&alice).await, (200 - 10 + 30 - 20 + 20 + 10) * 1_000_000);
    assert_eq!(studio.balance(&bob).await, (200 - 10 - 90 + 50) * 1_000_000);
    let round: (i32, i32, i32, i64) =
        sqlx::query_as("SELECT live_bets, bets, wins, staked_micros FROM provider_rounds WHERE round_id = 'many'")
            .fetch_one(&studio.app.pool)
            .await
            .unwrap();
    assert_eq!(round, (90, 100, 1, 90 * 1_000_000));
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn concurrent_calls_for_one_player_end_in_one_sequential_order() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_concurrent", 100 * 1_000_000).await;
    studio.bet(&seat, "b0", "r0", TEN).await;
    let calls = (0..10).map(|index| {
        let body = if index % 2 == 0 {
            bet_body(&seat, &format!("cb{index}"), &format!("cr{index}"), TEN)
        } else {
            win_body(&seat, &format!("cw{index}"), "r0", TEN)
        };
        let operation = if index % 2 == 0 { "bet" } else { "win" };
        let studio = &studio;
        async move { studio.call(operation, &body).await }
    });
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().all(|answer| answer.1["status"] == "ok"), "{answers:?}");
    // Five bets and five wins of ten: the balance is where it started after b0.
    assert_eq!(studio.balance(&seat).await, 90 * 1_000_000);
    // Two copies of one win at once: one credit.
    let copies = (0..2).map(|_| studio.win(&seat, "dup-win", "r0", TEN));
    let answers = futures_util::future::join_all(copies).await;
    assert!(answers.iter().all(|answer| answer.0 == StatusCode::OK));
    assert_eq!(studio.balance(&seat).await, 100 * 1_000_000);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn expired_tokens_disabled_players_and_wrong_currencies_stop_bets_but_not_wins() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_rules", 100 * 1_000_000).await;
    studio.bet(&seat, "b1", "r1", TEN).await;
    let expired = Seat {
        token: studio.session(&seat.player, chrono::Duration::seconds(-1)).await,
        player: TestPlayer {
            id: seat.player.id,
            token: seat.player.token.clone(),
            account: seat.player.account,
        },
    };
    assert_status(
        &studio.bet(&expired, "b2", "r2", TEN).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    );
    assert_status(&studio.win(&expired, "w1", "r1", TEN).await, StatusCode::OK, "ok");
    let mut foreign_token = bet_body(&seat, "b3", "r3", TEN);
    foreign_token["token"] = json!("f".repeat(64));
    assert_status(
        &studio.call("bet", &foreign_token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    );
    let mut euros = bet_body(&seat, "b4", "r4", TEN);
    euros["currency"] = json!("EUR");
    assert_status(
        &studio.call("bet", &euros).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "wrong_currency",
    );
    // A closed round takes no bet; a repeated end answers success.
    studio.bet(&seat, "b5", "r5", TEN).await;
    let end = json!({"player_id": seat.player.id, "round_id": "r5"});
    assert_status(&studio.call("end_round", &end).await, StatusCode::OK, "ok");
    assert_status(&studio.call("end_round", &end).await, StatusCode::OK, "ok");
    assert_status(
        &studio.bet(&seat, "b6", "r5", TEN).await,
        StatusCode::CONFLICT,
        "round_closed",
    );
    assert_status(&studio.win(&seat, "w5", "r5", 2 * TEN).await, StatusCode::OK, "ok");
    // Disabled, then self-excluded: bets refused, wins and rollbacks accepted.
    studio.bet(&seat, "b7", "r7", TEN).await;
    sqlx::query("UPDATE players SET status = 'blocked' WHERE id = $1")
        .bind(seat.player.id)
        .execute(&studio.app.pool)
        .await
        .unwrap();
    assert_status(
        &studio.bet(&seat, "b8", "r8", TEN).await,
        StatusCode::FORBIDDEN,
        "user_disabled",
    );
    assert_status(&studio.rollback(&seat, "x7", "b7").await, StatusCode::OK, "ok");
    sqlx::query("UPDATE players SET status = 'active', self_excluded_until = now() + interval '1 day' WHERE id = $1")
        .bind(seat.player.id)
        .execute(&studio.app.pool)
        .await
        .unwrap();
    assert_status(
        &studio.bet(&seat, "b9", "r9", TEN).await,
        StatusCode::FORBIDDEN,
        "user_disabled",
    );
    // 100 - 10 (b1) + 10 (w1) - 10 (b5) + 20 (w5) - 10 (b7) + 10 (x7)
    assert_eq!(studio.balance(&seat).await, 110 * 1_000_000);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn calls_landing_on_two_nodes_decide_as_one_wallet() {
    let studio = Studio::open().await;
    let second = spawn_app_with(studio.app.settings.clone()).await;
    let other = Studio {
        app: second,
        provider: studio.provider.clone(),
    };
    let seat = studio.seat("prov_two_nodes", 100 * 1_000_000).await;
    studio.bet(&seat, "b1", "r1", TEN).await;
    // The retry lands on the other node: the first answer.
    let retry = other.bet(&seat, "b1", "r1", TEN).await;
    assert_eq!(retry.1["replayed"], true);
    let copies = futures_util::future::join_all([
        studio.win(&seat, "w1", "r1", 3 * TEN),
        other.win(&seat, "w1", "r1", 3 * TEN),
    ])
    .await;
    assert!(copies.iter().all(|answer| answer.0 == StatusCode::OK), "{copies:?}");
    assert_status(
        &other.rollback(&seat, "x1", "b1").await,
        StatusCode::CONFLICT,
        "bet_already_settled",
    );
    assert_eq!(studio.balance(&seat).await, 120 * 1_000_000);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn operators_see_rounds_left_open_and_close_them_through_the_same_rules() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_open_rounds", 100 * 1_000_000).await;
    studio.bet(&seat, "b1", "left-open", TEN).await;
    studio.bet(&seat, "b2", "left-open", TEN).await;
    studio.bet(&seat, "b3", "lost-open", TEN).await;
    studio.bet(&seat, "b4", "recent", TEN).await;
    sqlx::query("UPDATE provider_rounds SET last_call_at = now() - interval '2 hours' WHERE round_id <> 'recent'")
        .execute(&studio.app.pool)
        .await
        .unwrap();
    let admin = studio.app.admin_token().await;
    let listed: Value = studio
        .app
        .get("/api/v1/admin/provider-rounds/open", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let rounds: Vec<&str> = listed["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|round| round["round_id"].as_str().unwrap())
        .collect();
    assert_eq!(rounds.len(), 2, "{listed}");
    assert!(rounds.contains(&"left-open") && rounds.contains(&"lost-open"));
    let close = |round: &str, action: &str| json!({"provider_id": studio.provider, "round_id": round, "player_id": seat.player.id, "action": action});
    let refund = studio
        .app
        .post_json(
            "/api/v1/admin/provider-rounds/close",
            Some(&admin),
            None,
            &close("left-open", "refund"),
        )
        .await;
    assert_eq!(refund.status(), StatusCode::OK);
    let settle = studio
        .app
        .post_json(
            "/api/v1/admin/provider-rounds/close",
            Some(&admin),
            None,
            &close("lost-open", "settle"),
        )
        .await;
    assert_eq!(settle.status(), StatusCode::OK);
    let again = studio
        .app
        .post_json(
            "/api/v1/admin/provider-rounds/close",
            Some(&admin),
            None,
            &close("lost-open", "refund"),
        )
        .await;
    crate::helpers::assert_error(again, StatusCode::CONFLICT, "round_already_closed").await;
    // The refunded stakes came back; the settled one is lost and can no longer be rolled back.
    assert_eq!(studio.balance(&seat).await, (100 - 10 - 10) * 1_000_000);
    assert_status(
        &studio.rollback(&seat, "x3", "b3").await,
        StatusCode::CONFLICT,
        "bet_already_settled",
    );
    assert_status(
        &studio.bet(&seat, "b5", "left-open", TEN).await,
        StatusCode::CONFLICT,
        "round_closed",
    );
    let closed_by: Vec<String> =
        sqlx::query_scalar("SELECT closed_by FROM provider_rounds WHERE closed_at IS NOT NULL ORDER BY round_id")
            .fetch_all(&studio.app.pool)
            .await
            .unwrap();
    assert_eq!(closed_by, vec!["operator", "operator"]);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn the_database_keeps_journal_rows_and_what_they_recorded() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_retention", 100 * 1_000_000).await;
    studio.bet(&seat, "b1", "r1", TEN).await;
    let deleted = sqlx::query("DELETE FROM provider_transactions WHERE transaction_id = 'b1'")
        .execute(&studio.app.pool)
        .await;
    assert!(deleted.is_err(), "a young journal row cannot be deleted");
    let rewritten = sqlx::query("UPDATE provider_transactions SET amount_micros = 1 WHERE transaction_id = 'b1'")
        .execute(&studio.app.pool)
        .await;
    assert!(rewritten.is_err(), "what a journal row recorded cannot change");
    let reopened = sqlx::query("UPDATE provider_transactions SET status = 'refused' WHERE transaction_id = 'b1'")
        .execute(&studio.app.pool)
        .await;
    assert!(reopened.is_err(), "a row only moves from ok to rolled_back");
    assert_status(&studio.rollback(&seat, "x1", "b1").await, StatusCode::OK, "ok");
    assert_eq!(studio.balance(&seat).await, 100 * 1_000_000);
}

#[actix_web::test]
async fn the_provider_simulator_plays_against_a_node_and_every_balance_agrees() {
    let app = spawn_app().await;
    let options = game_cluster::providers::sim::ProviderSimOptions {
        provider: "sim-studio".into(),
        players: 6,
        duration_s: 3,
        url: app.address.clone(),
        secret: "provider-sim-secret-for-tests-0123".into(),
        call_timeout_ms: 5_000,
        seed: 3,
        player_prefix: "simtest".into(),
        run_id: "test-run".into(),
    };
    let passed = game_cluster::providers::sim::run(&app.settings, options).await.unwrap();
    assert!(passed, "the simulator found a mismatch (its report is on stdout)");
    let calls: i64 = sqlx::query_scalar("SELECT count(*) FROM provider_transactions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(calls > 20, "the simulator played ({calls} journal rows)");
    assert!(app.audit_ok().await);
}

#[actix_web::test]
async fn provider_rounds_roll_up_into_rtp_exactly_as_their_journal_adds_up() {
    let studio = Studio::open().await;
    let seat = studio.seat("prov_rtp", 500 * 1_000_000).await;
    studio.bet(&seat, "b1", "r1", TEN).await;
    studio.win(&seat, "w1", "r1", 3 * TEN).await;
    studio.bet(&seat, "b2", "r2", TEN).await;
    studio.bet(&seat, "b3", "r2", 2 * TEN).await;
    studio.rollback(&seat, "x3", "b3").await;
    studio.win(&seat, "w2", "r2", 0).await;
    studio.bet(&seat, "b4", "r3", TEN).await;
    studio.rollback(&seat, "x4", "b4").await;
    studio.rollback(&seat, "x5", "b-never").await;
    studio.bet(&seat, "b5", "r4", TEN).await;
    let rollup: (i64, i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(staked_micros), 0)::int8, coalesce(sum(won_micros), 0)::int8, coalesce(sum(rounds), 0)::int8
         FROM rtp_tracking WHERE game_id = (SELECT id FROM games WHERE provider_id = $1 AND code = $2)",
    )
    .bind(&studio.provider)
    .bind(GAME)
    .fetch_one(&studio.app.pool)
    .await
    .unwrap();
    // The same figures from the journal: stakes standing, wins paid, rounds with a standing bet or a win.
    let recomputed: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT coalesce(sum(amount_micros), 0) FROM provider_transactions WHERE kind = 'bet' AND status = 'ok')::int8,
                (SELECT coalesce(sum(amount_micros), 0) FROM provider_transactions WHERE kind = 'win' AND status = 'ok')::int8,
                (SELECT count(*) FROM provider_rounds WHERE live_bets > 0 OR wins > 0)::int8",
    )
    .fetch_one(&studio.app.pool)
    .await
    .unwrap();
    assert_eq!(rollup, recomputed);
    assert_eq!(rollup, (3 * TEN, 3 * TEN, 3));
}
