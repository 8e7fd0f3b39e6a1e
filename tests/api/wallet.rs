use crate::helpers::{assert_error, spawn_app};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An admin deposit credits the player once; a retry with the same key replays the first answer and
/// the same key with another amount is an idempotency conflict.
#[actix_web::test]
async fn deposits_are_idempotent() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let player = app.signup("dave").await;
    let first: Value = app
        .deposit(&admin, player.id, 5_000_000, "d-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["balance"], 5_000_000);
    assert_eq!(first["replayed"], false);
    let retry: Value = app
        .deposit(&admin, player.id, 5_000_000, "d-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(retry["transfer_id"], first["transfer_id"]);
    assert_eq!(retry["replayed"], true);
    assert_error(
        app.deposit(&admin, player.id, 6_000_000, "d-1").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_conflict",
    )
    .await;
    assert_eq!(app.balance(&player).await, 5_000_000);
    assert!(app.audit_ok().await);
}

/// Top-ups work in development configurations, respect their limit, and keys are per player.
#[actix_web::test]
async fn top_ups_respect_their_limit_and_scope_keys_per_player() {
    let app = spawn_app().await;
    let erin = app.signup("erin").await;
    let frank = app.signup("frank").await;
    let body = json!({ "amount": 2_000_000 });
    let response = app
        .post_json("/api/v1/wallet/top-up", Some(&erin.token), Some("same-key"), &body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .post_json("/api/v1/wallet/top-up", Some(&frank.token), Some("same-key"), &body)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "another player's key does not collide"
    );
    let too_much = json!({ "amount": app.settings.wallet.top_up_max_micros + 1 });
    let response = app
        .post_json("/api/v1/wallet/top-up", Some(&erin.token), Some("k2"), &too_much)
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "top_up_limit_exceeded").await;
    assert_eq!(app.balance(&erin).await, 2_000_000);
    assert_eq!(app.balance(&frank).await, 2_000_000);
}

/// The top-up route does not exist when `wallet.dev_top_up_enabled` is off, as in production.
#[actix_web::test]
async fn top_up_does_not_exist_when_disabled() {
    let mut settings = crate::helpers::test_settings();
    settings.wallet.dev_top_up_enabled = false;
    crate::helpers::create_database(&mut settings).await;
    let app = crate::helpers::spawn_app_with(settings).await;
    let player = app.signup("grace").await;
    let response = app
        .post_json(
            "/api/v1/wallet/top-up",
            Some(&player.token),
            Some("k"),
            &json!({ "amount": 1 }),
        )
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

/// The history lists posted transfers newest first with the balance after each, page by page.
#[actix_web::test]
async fn transaction_history_paginates() {
    let app = spawn_app().await;
    let player = app.signup("heidi").await;
    for index in 1..=5 {
        let body = json!({ "amount": index * 1_000_000 });
        let key = format!("top-up-{index}");
        let response = app
            .post_json("/api/v1/wallet/top-up", Some(&player.token), Some(&key), &body)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let first: Value = app
        .get("/api/v1/wallet/transactions?limit=2", Some(&player.token))
        .await
        .json()
        .await
        .unwrap();
    let entries = first["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["amount"], 5_000_000);
    assert_eq!(entries[0]["balance_after"], 15_000_000);
    assert_eq!(entries[0]["kind"], "top_up");
    let before = first["next_before"].as_str().unwrap();
    let path = format!("/api/v1/wallet/transactions?limit=10&before={before}");
    let rest: Value = app.get(&path, Some(&player.token)).await.json().await.unwrap();
    let amounts: Vec<i64> = rest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![3_000_000, 2_000_000, 1_000_000]);
    assert!(rest["next_before"].is_null());
}
