use crate::helpers::{assert_error, spawn_app};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A player signs up, logs in with any letter case of the username, and sees themselves at /me.
#[actix_web::test]
async fn signup_login_and_me() {
    let app = spawn_app().await;
    let player = app.signup("alice").await;
    let response = app
        .post_json(
            "/api/v1/auth/login",
            None,
            None,
            &json!({"username": "ALICE", "password": "s3cret-password"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let login: Value = response.json().await.unwrap();
    let token = login["token"].as_str().unwrap();
    let me: Value = app.get("/api/v1/me", Some(token)).await.json().await.unwrap();
    assert_eq!(me["id"], player.id.to_string());
    assert_eq!(me["username"], "alice");
    assert_eq!(me["balance"], 0);
    assert_eq!(me["currency"], "USD");
    assert!(me.get("password_hash").is_none());
}

/// Usernames are unique regardless of case; wrong passwords and unknown users look the same.
#[actix_web::test]
async fn duplicate_usernames_and_wrong_passwords_are_refused() {
    let app = spawn_app().await;
    app.signup("bob").await;
    let duplicate = json!({"username": "BOB", "password": "another-password"});
    assert_error(
        app.post_json("/api/v1/auth/signup", None, None, &duplicate).await,
        StatusCode::CONFLICT,
        "username_taken",
    )
    .await;
    let wrong = json!({"username": "bob", "password": "wrong-password"});
    assert_error(
        app.post_json("/api/v1/auth/login", None, None, &wrong).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let unknown = json!({"username": "nobody", "password": "wrong-password"});
    assert_error(
        app.post_json("/api/v1/auth/login", None, None, &unknown).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

/// The admin credential gives an admin token; a wrong one does not; player tokens are not admin tokens.
#[actix_web::test]
async fn admin_login_and_roles() {
    let app = spawn_app().await;
    let wrong = json!({"username": "admin", "password": "not-the-password"});
    assert_error(
        app.post_json("/api/v1/admin/login", None, None, &wrong).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let admin = app.admin_token().await;
    let player = app.signup("carol").await;
    assert_error(
        app.get("/api/v1/admin/audit", Some(&player.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get("/api/v1/me", Some(&admin)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.get("/api/v1/admin/audit", Some(&admin)).await.status(),
        StatusCode::OK
    );
}

/// Health reports both dependencies and the node; readiness is up while the node runs.
#[actix_web::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let response = app.get("/health", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["checks"]["postgres"]["ok"], true);
    assert_eq!(health["checks"]["redis"]["ok"], true);
    assert_eq!(health["node_id"], app.settings.application.node_id);
    assert_eq!(app.get("/ready", None).await.status(), StatusCode::OK);
}

/// With Redis unreachable the node still serves, but /health answers 503 naming Redis as down.
#[actix_web::test]
async fn health_is_503_when_a_dependency_is_down() {
    let mut settings = crate::helpers::test_settings();
    // A port nothing listens on: bind one, note it, free it.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    settings.redis.port = closed_port;
    settings.redis.connect_timeout_ms = 200;
    crate::helpers::create_database(&mut settings).await;
    let app = crate::helpers::spawn_app_with(settings).await;
    let response = app.get("/health", None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "unhealthy");
    assert_eq!(health["checks"]["redis"]["ok"], false);
    assert_eq!(health["checks"]["postgres"]["ok"], true);
}
