//! Every kind of bad input gets a clear 4xx with the error envelope, and moves no money.

use crate::helpers::{assert_error, spawn_app};
use game_cluster::auth::{Role, TokenKeys};
use reqwest::StatusCode;
use serde_json::json;

/// Amounts must be positive integers within range; anything else is `invalid_amount` and moves nothing.
#[actix_web::test]
async fn bad_amounts_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let player = app.signup("amounts").await;
    let path = format!("/api/v1/admin/players/{}/deposit", player.id);
    for amount in [
        json!(-5),
        json!(0),
        json!(1.5),
        json!(1e3),
        json!(9_223_372_036_854_775_807_i64),
        json!(u64::MAX),
    ] {
        let response = app
            .post_json(&path, Some(&admin), Some("k"), &json!({ "amount": amount }))
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_amount").await;
    }
    let response = app
        .post_json(&path, Some(&admin), Some("k"), &json!({ "amount": "100" }))
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app
        .post_json(
            "/api/v1/wallet/top-up",
            Some(&player.token),
            Some("k"),
            &json!({ "amount": -1 }),
        )
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_amount").await;
    assert_eq!(app.balance(&player).await, 0);
    assert!(app.audit_ok().await);
}

/// Malformed JSON, unknown fields, missing fields, wrong content types, oversized and deeply nested
/// bodies each have their own code.
#[actix_web::test]
async fn malformed_bodies_are_refused() {
    let app = spawn_app().await;
    let signup = app.url("/api/v1/auth/signup");
    let send = |body: String, content_type: &'static str| {
        app.client
            .post(&signup)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    assert_error(
        send("{\"username\":".into(), "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    let unknown = json!({"username": "zed", "password": "long-enough", "admin": true}).to_string();
    assert_error(
        send(unknown, "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let missing = json!({"username": "zed"}).to_string();
    assert_error(
        send(missing, "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let form = "username=zed&password=long-enough".to_owned();
    assert_error(
        send(form, "application/x-www-form-urlencoded").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let huge = json!({"username": "x".repeat(100_000), "password": "long-enough"}).to_string();
    assert_error(
        send(huge, "application/json").await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    let deep = format!("{{\"username\":{}1{}}}", "[".repeat(100), "]".repeat(100));
    assert_error(
        send(deep, "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "json_too_deep",
    )
    .await;
}

/// Usernames and passwords outside their rules are refused with specific codes.
#[actix_web::test]
async fn bad_credentials_are_refused_at_signup() {
    let app = spawn_app().await;
    for username in ["ab", "has space", "x".repeat(33).as_str(), "semi;colon"] {
        let body = json!({"username": username, "password": "long-enough"});
        assert_error(
            app.post_json("/api/v1/auth/signup", None, None, &body).await,
            StatusCode::BAD_REQUEST,
            "invalid_username",
        )
        .await;
    }
    let body = json!({"username": "shorty", "password": "short"});
    assert_error(
        app.post_json("/api/v1/auth/signup", None, None, &body).await,
        StatusCode::BAD_REQUEST,
        "invalid_password",
    )
    .await;
}

/// Missing, malformed, forged and expired tokens are all 401 with the envelope.
#[actix_web::test]
async fn missing_and_expired_tokens_are_refused() {
    let app = spawn_app().await;
    let player = app.signup("tokens").await;
    assert_error(
        app.get("/api/v1/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_error(
        app.get("/api/v1/me", Some("garbage")).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let keys = TokenKeys::new(&app.settings.auth);
    let expired = keys
        .issue(player.id.to_string(), Role::Player, Some(player.account), -60)
        .unwrap();
    assert_error(
        app.get("/api/v1/me", Some(&expired)).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
    let response = app
        .post_json(
            "/api/v1/wallet/top-up",
            Some(&expired),
            Some("k"),
            &json!({"amount": 1}),
        )
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "token_expired").await;
    assert_eq!(app.balance(&player).await, 0);
}

/// Money-moving calls need a valid Idempotency-Key; paths, queries and routes are checked too.
#[actix_web::test]
async fn bad_keys_paths_queries_and_routes_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let player = app.signup("keys").await;
    let body = json!({ "amount": 1_000 });
    let path = format!("/api/v1/admin/players/{}/deposit", player.id);
    assert_error(
        app.post_json(&path, Some(&admin), None, &body).await,
        StatusCode::BAD_REQUEST,
        "missing_idempotency_key",
    )
    .await;
    let long_key = "k".repeat(65);
    assert_error(
        app.post_json(&path, Some(&admin), Some(&long_key), &body).await,
        StatusCode::BAD_REQUEST,
        "invalid_idempotency_key",
    )
    .await;
    let unknown_player = format!("/api/v1/admin/players/{}/deposit", uuid::Uuid::new_v4());
    assert_error(
        app.post_json(&unknown_player, Some(&admin), Some("k"), &body).await,
        StatusCode::NOT_FOUND,
        "player_not_found",
    )
    .await;
    let bad_path = "/api/v1/admin/players/not-a-uuid/deposit";
    assert_error(
        app.post_json(bad_path, Some(&admin), Some("k"), &body).await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    )
    .await;
    for query in ["limit=0", "limit=101", "limit=abc", "before=nope", "unknown=1"] {
        let response = app
            .get(&format!("/api/v1/wallet/transactions?{query}"), Some(&player.token))
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
    assert_error(
        app.get("/api/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(app.balance(&player).await, 0);
}
