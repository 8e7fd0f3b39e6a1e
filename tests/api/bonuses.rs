//! Referrals and bonus money over HTTP: a referral is paid exactly once (and the daily cap exactly)
//! under concurrent sign-ups, codes are checked before anything is created, an empty treasury pool
//! refuses bonuses, and bonus money is staked, paid back in proportion and converted once wagered.

use crate::helpers::{assert_error, spawn_app, spawn_app_with, test_settings, TestApp, TestPlayer};
use futures_util::future::join_all;
use game_cluster::money::Amount;
use game_cluster::wallet::ledger::{IdempotencyKey, TransferKind, TransferRequest};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

const PASSWORD: &str = "s3cret-password";
/// The referral bonus of each side in the test configuration (the default: 10 units).
const REFERRAL_BONUS: i64 = 10_000_000;

/// Funds every treasury pool with `micros_each` from the root treasury, the way an operator does.
async fn fund_pools(app: &TestApp, micros_each: i64) {
    for (index, pool) in app.wallet.treasury_pools().iter().enumerate() {
        let request = TransferRequest {
            key: IdempotencyKey::parse(&format!("test-pool-funding:{index}")).unwrap(),
            debit: app.wallet.treasury(),
            credit: *pool,
            amount: Amount::parse(micros_each).unwrap(),
            kind: TransferKind::TreasuryFunding,
            reference: "test funding".into(),
            settles: None,
        };
        app.wallet.transfer(request).await.unwrap();
    }
}

async fn referral_code(app: &TestApp, player: &TestPlayer) -> String {
    let me: Value = app.get("/api/v1/me", Some(&player.token)).await.json().await.unwrap();
    let code = me["referral_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8, "{me}");
    code
}

async fn signup_with_code(app: &TestApp, username: &str, code: &str) -> reqwest::Response {
    let body = json!({"username": username, "password": PASSWORD, "referral_code": code});
    app.post_json("/api/v1/auth/signup", None, None, &body).await
}

async fn wallet_balance(app: &TestApp, token: &str) -> Value {
    let response = app.get("/api/v1/wallet/balance", Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn bonus_balance_of(app: &TestApp, player: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce((SELECT a.balance FROM accounts a JOIN player_bonus b ON b.bonus_account_id = a.id
                          JOIN players p ON p.account_id = b.player_account_id WHERE p.id = $1), 0)",
    )
    .bind(player)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

/// Twenty racing sign-ups of one username with one code create one player and pay each side once.
#[actix_web::test]
async fn a_referral_is_paid_once_under_racing_signups_of_one_username() {
    let app = spawn_app().await;
    fund_pools(&app, 1_000_000_000).await;
    let referrer = app.signup("referrer").await;
    let code = referral_code(&app, &referrer).await;
    let attempts = (0..20).map(|_| signup_with_code(&app, "newcomer", &code));
    let responses = join_all(attempts).await;
    let mut created = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::CREATED => created.push(response.json::<Value>().await.unwrap()),
            status => assert_eq!(status, StatusCode::CONFLICT),
        }
    }
    assert_eq!(created.len(), 1, "one sign-up wins");
    assert_eq!(created[0]["referral"], json!({"status": "paid", "code": code}));
    let referee: Uuid = created[0]["player"]["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        count(&app, "SELECT count(*) FROM players WHERE username = 'newcomer'").await,
        1
    );
    assert_eq!(count(&app, "SELECT count(*) FROM bonus_grants").await, 2);
    assert_eq!(bonus_balance_of(&app, referee).await, REFERRAL_BONUS);
    assert_eq!(bonus_balance_of(&app, referrer.id).await, REFERRAL_BONUS);
    let balance = wallet_balance(&app, created[0]["token"].as_str().unwrap()).await;
    assert_eq!(balance["cash_micros"], 0);
    assert_eq!(balance["bonus_micros"], REFERRAL_BONUS);
    assert_eq!(balance["wagering"]["required_micros"], REFERRAL_BONUS * 10);
    assert_eq!(balance["wagering"]["remaining_micros"], REFERRAL_BONUS * 10);
    // The sweep finds nothing left to pay.
    let policy = game_cluster::economy::referrals::ReferralPolicy::new(&app.settings.referral, &app.settings.bonus);
    game_cluster::economy::referrals::sweep(&app.pool, &app.wallet, &policy)
        .await
        .unwrap();
    assert_eq!(count(&app, "SELECT count(*) FROM bonus_grants").await, 2);
    assert!(app.audit_ok().await);
}

/// Racing sign-ups of different players with one code beyond the daily cap: exactly the cap is paid.
#[actix_web::test]
async fn the_daily_cap_pays_exactly_the_cap_under_racing_signups() {
    let mut settings = test_settings();
    crate::helpers::create_database(&mut settings).await;
    settings.referral.referrals_per_day_max = 3;
    let app = spawn_app_with(settings).await;
    fund_pools(&app, 1_000_000_000).await;
    let referrer = app.signup("popular").await;
    let code = referral_code(&app, &referrer).await;
    let names: Vec<String> = (0..8).map(|index| format!("friend{index}")).collect();
    let responses = join_all(names.iter().map(|name| signup_with_code(&app, name, &code))).await;
    let mut statuses = Vec::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        statuses.push(body["referral"]["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        statuses.iter().filter(|status| *status == "paid").count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|status| *status == "capped").count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(bonus_balance_of(&app, referrer.id).await, 3 * REFERRAL_BONUS);
    assert_eq!(count(&app, "SELECT count(*) FROM bonus_grants").await, 6);
    assert!(app.audit_ok().await);
}

/// An unknown or malformed code at sign-up is a 422 and creates no player.
#[actix_web::test]
async fn an_unknown_code_at_signup_creates_nothing() {
    let app = spawn_app().await;
    for code in ["ZZZZZZZZ", "short", "ABCDEFGU", ""] {
        assert_error(
            signup_with_code(&app, "hopeful", code).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_referral_code",
        )
        .await;
    }
    assert_eq!(count(&app, "SELECT count(*) FROM players").await, 0);
    assert_eq!(
        count(&app, "SELECT count(*) FROM accounts WHERE kind = 'player'").await,
        0
    );
    let body = json!({"username": "hopeful", "password": PASSWORD, "referral_code": 12345678});
    let response = app.post_json("/api/v1/auth/signup", None, None, &body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// A claim pays like a sign-up with a code; it refuses one's own code, unknown codes, a second claim and
/// a claim after the first deposit.
#[actix_web::test]
async fn a_claim_is_refused_for_oneself_unknown_codes_twice_and_too_late() {
    let app = spawn_app().await;
    fund_pools(&app, 1_000_000_000).await;
    let referrer = app.signup("host").await;
    let code = referral_code(&app, &referrer).await;
    let player = app.signup("guest").await;
    let own = referral_code(&app, &player).await;
    let claim = |token: String, code: Value| {
        let app = &app;
        async move {
            app.post_json("/api/v1/referrals/claim", Some(&token), None, &json!({ "code": code }))
                .await
        }
    };
    let self_claim = claim(player.token.clone(), json!(own.to_lowercase())).await;
    assert_error(self_claim, StatusCode::UNPROCESSABLE_ENTITY, "self_referral").await;
    let unknown = claim(player.token.clone(), json!("ZZZZZZZZ")).await;
    assert_error(unknown, StatusCode::UNPROCESSABLE_ENTITY, "unknown_referral_code").await;
    let wrong_type = claim(player.token.clone(), json!(7)).await;
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    let anonymous = app
        .post_json("/api/v1/referrals/claim", None, None, &json!({ "code": code }))
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let paid = claim(player.token.clone(), json!(code)).await;
    assert_eq!(paid.status(), StatusCode::OK);
    let paid: Value = paid.json().await.unwrap();
    assert_eq!(paid["referral"], json!({"status": "paid", "code": code}));
    let again = claim(player.token.clone(), json!(code)).await;
    assert_error(again, StatusCode::CONFLICT, "referral_already_claimed").await;
    assert_eq!(bonus_balance_of(&app, player.id).await, REFERRAL_BONUS);

    let depositor = app.signup_funded("depositor", 5_000_000).await;
    let late = claim(depositor.token.clone(), json!(code)).await;
    assert_error(late, StatusCode::CONFLICT, "referral_too_late").await;
    assert_eq!(bonus_balance_of(&app, depositor.id).await, 0);
    assert!(app.audit_ok().await);
}

/// With the treasury pools empty, a grant is refused with `treasury_exhausted` and nothing is paid; a
/// referral is recorded as refused.
#[actix_web::test]
async fn an_empty_treasury_pool_refuses_bonuses() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let player = app.signup("unlucky").await;
    let path = format!("/api/v1/admin/players/{}/bonus", player.id);
    let response = app
        .post_json(&path, Some(&admin), Some("g1"), &json!({"amount_micros": 5_000_000}))
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "treasury_exhausted").await;
    // A failed key stays failed even once the pools are funded.
    fund_pools(&app, 1_000_000_000).await;
    let response = app
        .post_json(&path, Some(&admin), Some("g1"), &json!({"amount_micros": 5_000_000}))
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "treasury_exhausted").await;
    assert_eq!(bonus_balance_of(&app, player.id).await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM bonus_grants").await, 0);

    let empty = spawn_app().await;
    let referrer = empty.signup("broke-host").await;
    let code = referral_code(&empty, &referrer).await;
    let response = signup_with_code(&empty, "broke-guest", &code).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["referral"]["status"], "refused");
    assert_eq!(count(&empty, "SELECT count(*) FROM bonus_grants").await, 0);
    assert!(app.audit_ok().await);
    assert!(empty.audit_ok().await);
}

/// Every new endpoint refuses bad input with a typed error and moves nothing.
#[actix_web::test]
async fn the_bonus_grant_refuses_bad_input() {
    let app = spawn_app().await;
    fund_pools(&app, 1_000_000_000).await;
    let admin = app.admin_token().await;
    let player = app.signup("target").await;
    let path = format!("/api/v1/admin/players/{}/bonus", player.id);
    let cases = [
        (json!({"amount_micros": 0}), "invalid_amount"),
        (json!({"amount_micros": -5}), "invalid_amount"),
        (json!({"amount_micros": 1.5}), "invalid_amount"),
        (
            json!({"amount_micros": 5, "wagering_multiplier": 0}),
            "invalid_wagering_multiplier",
        ),
        (
            json!({"amount_micros": 5, "wagering_multiplier": 100_000}),
            "invalid_wagering_multiplier",
        ),
    ];
    for (body, code) in cases {
        let response = app.post_json(&path, Some(&admin), Some("bad"), &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, code).await;
    }
    let body = json!({"amount_micros": 5_000_000});
    let missing_key = app.post_json(&path, Some(&admin), None, &body).await;
    assert_error(missing_key, StatusCode::BAD_REQUEST, "missing_idempotency_key").await;
    let unknown_field = app
        .post_json(&path, Some(&admin), Some("k"), &json!({"amount_micros": 5, "extra": 1}))
        .await;
    assert_eq!(unknown_field.status(), StatusCode::BAD_REQUEST);
    let nobody = format!("/api/v1/admin/players/{}/bonus", Uuid::now_v7());
    let response = app.post_json(&nobody, Some(&admin), Some("k"), &body).await;
    assert_error(response, StatusCode::NOT_FOUND, "player_not_found").await;
    let as_player = app.post_json(&path, Some(&player.token), Some("k"), &body).await;
    assert!(as_player.status() == StatusCode::FORBIDDEN || as_player.status() == StatusCode::UNAUTHORIZED);

    let granted = app.post_json(&path, Some(&admin), Some("k"), &body).await;
    assert_eq!(granted.status(), StatusCode::OK);
    let replay = app.post_json(&path, Some(&admin), Some("k"), &body).await;
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["replayed"], true);
    let other = app
        .post_json(&path, Some(&admin), Some("k"), &json!({"amount_micros": 6_000_000}))
        .await;
    assert_error(other, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_conflict").await;
    assert_eq!(bonus_balance_of(&app, player.id).await, 5_000_000);
    assert_eq!(count(&app, "SELECT count(*) FROM bonus_grants").await, 1);
    let actions = count(&app, "SELECT count(*) FROM admin_actions WHERE action = 'bonus_grant'").await;
    assert_eq!(actions, 1);
    assert!(app.audit_ok().await);
}

/// A Dice stake mixes cash and bonus money (two legs), a win pays back in proportion, and once the
/// stakes reach the requirement the bonus balance becomes cash.
#[actix_web::test]
async fn bonus_money_is_staked_paid_back_in_proportion_and_converted() {
    let app = spawn_app().await;
    fund_pools(&app, 1_000_000_000).await;
    let admin = app.admin_token().await;
    let player = app.signup("wagerer").await;
    let response = app.deposit(&admin, player.id, 1_000_000, "cash").await;
    assert_eq!(response.status(), StatusCode::OK);
    let path = format!("/api/v1/admin/players/{}/bonus", player.id);
    let body = json!({"amount_micros": 3_000_000, "wagering_multiplier": 2});
    let granted = app.post_json(&path, Some(&admin), Some("welcome"), &body).await;
    assert_eq!(granted.status(), StatusCode::OK);
    let balance = wallet_balance(&app, &player.token).await;
    assert_eq!(
        (balance["cash_micros"].as_i64(), balance["bonus_micros"].as_i64()),
        (Some(1_000_000), Some(3_000_000))
    );
    assert_eq!(balance["wagering"]["required_micros"], 6_000_000);

    // 2 units: all the cash (1) and 1 of bonus money.
    let roll = json!({"amount": 2_000_000, "target": 2, "direction": "over"});
    let response = app
        .post_json("/api/v1/dice/roll", Some(&player.token), Some("r0"), &roll)
        .await;
    let text = response.text().await.unwrap();
    let first: Value = serde_json::from_str(&text).unwrap();
    let bet_id = first["bet"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a bet: {text}"))
        .to_owned();
    let legs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT a.kind, t.amount FROM transfers t JOIN accounts a ON a.id = t.debit_account_id
         WHERE t.idempotency_key IN ($1, bonus_leg_key($1)) ORDER BY a.kind",
    )
    .bind(format!("instant:stake:{bet_id}"))
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        legs,
        vec![("bonus".to_owned(), 1_000_000), ("player".to_owned(), 1_000_000)]
    );
    let payout = first["bet"]["payout"].as_i64().unwrap();
    let (cash, bonus) = (payout - payout / 2, payout / 2);
    let after = wallet_balance(&app, &player.token).await;
    assert_eq!(after["cash_micros"].as_i64(), Some(cash));
    assert_eq!(after["bonus_micros"].as_i64(), Some(2_000_000 + bonus));
    assert_eq!(after["wagering"]["wagered_micros"], 2_000_000);

    // Four more units of stakes meet the requirement of 6: the bonus balance becomes cash.
    for round in 1..=4 {
        let roll = json!({"amount": 1_000_000, "target": 2, "direction": "over"});
        let key = format!("r{round}");
        let response = app
            .post_json("/api/v1/dice/roll", Some(&player.token), Some(&key), &roll)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    }
    // One conversion when the requirement is met; a win settling a stake that was partly bonus money
    // after that returns its bonus share, which (with no requirement left) converts at once: a second one.
    let conversions = count(&app, "SELECT count(*) FROM transfers WHERE kind = 'bonus_conversion'").await;
    assert!((1..=2).contains(&conversions), "{conversions} conversions");
    let done = wallet_balance(&app, &player.token).await;
    assert_eq!(done["bonus_micros"], 0);
    assert!(done["wagering"].is_null(), "{done}");
    assert_eq!(done["balance"], done["cash_micros"]);
    let ledger_total: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(player.account)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(done["cash_micros"].as_i64(), Some(ledger_total));
    // The conversion is a cash movement: it shows in the player's history as a credit.
    let history: Value = app
        .get("/api/v1/wallet/transactions", Some(&player.token))
        .await
        .json()
        .await
        .unwrap();
    let entries = history["entries"].as_array().unwrap();
    let conversion = entries.iter().find(|entry| entry["kind"] == "bonus_conversion");
    assert!(
        conversion.is_some_and(|entry| entry["amount"].as_i64() > Some(0)),
        "{history}"
    );
    let report = game_cluster::wallet::audit::run(&app.pool).await.unwrap();
    assert!(report.ok, "{:?}", report.breaches);
}

/// Paying on the first deposit: the referral stays pending through the sign-up and is paid once the
/// referee's deposit posts; a referral left pending by a crash is paid by the sweep, once.
#[actix_web::test]
async fn a_first_deposit_referral_is_paid_at_the_deposit_and_the_sweep_pays_leftovers_once() {
    let mut settings = test_settings();
    crate::helpers::create_database(&mut settings).await;
    settings.referral.pay_on = game_cluster::configuration::ReferralPayOn::FirstDeposit;
    settings.referral.sweep_age_ms = 0;
    let app = spawn_app_with(settings).await;
    fund_pools(&app, 1_000_000_000).await;
    let referrer = app.signup("patient").await;
    let code = referral_code(&app, &referrer).await;
    let response = signup_with_code(&app, "saver", &code).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["referral"]["status"], "pending");
    let referee: Uuid = body["player"]["id"].as_str().unwrap().parse().unwrap();
    let policy = game_cluster::economy::referrals::ReferralPolicy::new(&app.settings.referral, &app.settings.bonus);
    game_cluster::economy::referrals::sweep(&app.pool, &app.wallet, &policy)
        .await
        .unwrap();
    assert_eq!(
        bonus_balance_of(&app, referee).await,
        0,
        "no deposit yet: nothing is due"
    );
    let admin = app.admin_token().await;
    assert_eq!(
        app.deposit(&admin, referee, 2_000_000, "first").await.status(),
        StatusCode::OK
    );
    assert_eq!(bonus_balance_of(&app, referee).await, REFERRAL_BONUS);
    assert_eq!(bonus_balance_of(&app, referrer.id).await, REFERRAL_BONUS);

    // A crash between the commit and the payment: the referral is pending although its deposit posted.
    let response = signup_with_code(&app, "crashed", &code).await;
    let body: Value = response.json().await.unwrap();
    let crashed: Uuid = body["player"]["id"].as_str().unwrap().parse().unwrap();
    let account: i64 = sqlx::query_scalar("SELECT account_id FROM players WHERE id = $1")
        .bind(crashed)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    app.wallet
        .credit_from_treasury(
            game_cluster::wallet::ledger::AccountId(account),
            Amount::parse(1_000_000).unwrap(),
            TransferKind::Deposit,
            IdempotencyKey::parse("deposit-without-hook").unwrap(),
            "test".into(),
        )
        .await
        .unwrap();
    for _ in 0..2 {
        game_cluster::economy::referrals::sweep(&app.pool, &app.wallet, &policy)
            .await
            .unwrap();
    }
    assert_eq!(bonus_balance_of(&app, crashed).await, REFERRAL_BONUS);
    assert_eq!(bonus_balance_of(&app, referrer.id).await, 2 * REFERRAL_BONUS);
    assert_eq!(
        count(&app, "SELECT count(*) FROM referrals WHERE status = 'paid'").await,
        2
    );
    assert_eq!(count(&app, "SELECT count(*) FROM bonus_grants").await, 4);
    assert!(app.audit_ok().await);
}
