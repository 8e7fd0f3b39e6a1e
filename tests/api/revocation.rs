//! Logout and token revocation: a logged-out or revoked token is refused on every route and every node
//! (401 `token_revoked`), and the sockets it opened are closed with 4003 on every node; other tokens and
//! new logins keep working.

use crate::helpers::{assert_error, spawn_app, spawn_app_with, TestApp, TestPlayer};
use crate::ws::{Ended, WsClient};
use game_cluster::auth::{Role, TokenKeys};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

/// The close code of a socket whose token was revoked.
const TOKEN_REVOKED: u16 = 4003;

/// How long a revocation may take to reach a socket through Redis.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

async fn connected(app: &TestApp, token: &str) -> WsClient {
    let mut socket = WsClient::connect_player(app, token).await;
    socket.wait_for("initial_state", |_| true).await;
    socket
}

async fn login(app: &TestApp, username: &str) -> String {
    let response = app
        .post_json(
            "/api/v1/auth/login",
            None,
            None,
            &json!({"username": username, "password": "s3cret-password"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn logout(app: &TestApp, token: &str) -> Value {
    let response = app
        .post_json("/api/v1/auth/logout", Some(token), None, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v1/me", Some(token)).await.status()
}

/// The socket still answers: a ping gets its pong.
async fn still_open(socket: &mut WsClient) {
    socket.send(json!({"type": "ping", "request_id": "alive"})).await;
    socket
        .wait_for("pong", |message| message["request_id"] == "alive")
        .await;
}

/// Logging out one token refuses that token everywhere (REST with the 401 envelope, a new socket by query
/// or by `auth` message) and closes its socket with 4003, while the player's other token, its socket and a
/// new login keep working.
#[actix_web::test]
async fn logout_refuses_only_the_presented_token_and_closes_its_sockets() {
    let app = spawn_app().await;
    let player = app.signup("leaver").await;
    let other_token = login(&app, "leaver").await;
    let mut first_socket = connected(&app, &player.token).await;
    let mut other_socket = connected(&app, &other_token).await;

    let answer = logout(&app, &player.token).await;
    assert_eq!(answer, json!({"logged_out": true, "scope": "token"}));

    assert_eq!(
        first_socket.wait_for_close(CLOSE_WAIT).await,
        Ended::Closed(Some(TOKEN_REVOKED))
    );
    assert_error(
        app.get("/api/v1/me", Some(&player.token)).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    assert_error(
        app.get("/api/v1/wallet/balance", Some(&player.token)).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    assert_error(
        app.post_json("/api/v1/auth/logout", Some(&player.token), None, &json!({}))
            .await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    let url = format!(
        "{}/ws?token={}&room=aviator",
        app.address.replace("http://", "ws://"),
        player.token
    );
    assert!(
        tokio_tungstenite::connect_async(url).await.is_err(),
        "the upgrade is refused"
    );
    let mut by_message = WsClient::connect(&app, "room=aviator").await;
    by_message.send(json!({"type": "auth", "token": player.token})).await;
    assert_eq!(
        by_message.wait_for_close(CLOSE_WAIT).await,
        Ended::Closed(Some(TOKEN_REVOKED))
    );

    still_open(&mut other_socket).await;
    assert_eq!(me_status(&app, &other_token).await, StatusCode::OK);
    let fresh = login(&app, "leaver").await;
    assert_eq!(me_status(&app, &fresh).await, StatusCode::OK);
    connected(&app, &fresh).await;
}

/// The operator's revocation, made through one node, closes the player's sockets on both nodes with 4003
/// and refuses the old token on both; it is audited; a new login plays again. Another player is untouched.
/// Unknown players are 404 and players cannot revoke.
#[actix_web::test]
async fn an_operator_revocation_closes_the_players_sockets_on_every_node() {
    let node_a = spawn_app().await;
    let node_b = spawn_app_with(node_a.settings.clone()).await;
    let player = node_a.signup("stolen").await;
    let bystander = node_a.signup("bystander").await;
    let mut on_a = connected(&node_a, &player.token).await;
    let mut on_b = connected(&node_b, &player.token).await;
    let mut other = connected(&node_a, &bystander.token).await;
    // Both nodes read (and cache) the token's standing before the revocation.
    assert_eq!(me_status(&node_a, &player.token).await, StatusCode::OK);
    assert_eq!(me_status(&node_b, &player.token).await, StatusCode::OK);

    let admin = node_b.admin_token().await;
    let path = format!("/api/v1/admin/players/{}/revoke-tokens", player.id);
    let response = node_b.post_json(&path, Some(&admin), None, &json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_version"], 1);

    assert_eq!(
        on_a.wait_for_close(CLOSE_WAIT).await,
        Ended::Closed(Some(TOKEN_REVOKED))
    );
    assert_eq!(
        on_b.wait_for_close(CLOSE_WAIT).await,
        Ended::Closed(Some(TOKEN_REVOKED))
    );
    for node in [&node_a, &node_b] {
        assert_error(
            node.get("/api/v1/me", Some(&player.token)).await,
            StatusCode::UNAUTHORIZED,
            "token_revoked",
        )
        .await;
    }
    still_open(&mut other).await;
    assert_eq!(me_status(&node_b, &bystander.token).await, StatusCode::OK);

    let actions: Value = node_a
        .get("/api/v1/admin/actions", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let recorded = actions["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|action| action["action"] == "revoke_tokens" && action["target"] == player.id.to_string());
    assert!(recorded, "the revocation is audited: {actions:#}");

    let fresh = login(&node_a, "stolen").await;
    assert_eq!(me_status(&node_b, &fresh).await, StatusCode::OK);
    connected(&node_b, &fresh).await;

    let unknown = format!("/api/v1/admin/players/{}/revoke-tokens", Uuid::new_v4());
    assert_error(
        node_a.post_json(&unknown, Some(&admin), None, &json!({})).await,
        StatusCode::NOT_FOUND,
        "player_not_found",
    )
    .await;
    assert_error(
        node_a.post_json(&path, Some(&fresh), None, &json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        node_a
            .post_json(
                "/api/v1/admin/players/not-a-uuid/revoke-tokens",
                Some(&admin),
                None,
                &json!({}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    )
    .await;
}

/// A token issued before logout existed (no `jti`, no `ver`) still works; logging it out revokes all the
/// player's tokens, since it cannot be named alone. Past `revoked_tokens_per_player_max` single logouts,
/// one more revokes everything too.
#[actix_web::test]
async fn tokens_that_cannot_be_denylisted_alone_are_revoked_with_all_the_others() {
    let mut settings = crate::helpers::test_settings();
    crate::helpers::create_database(&mut settings).await;
    settings.auth.revoked_tokens_per_player_max = 1;
    let app = spawn_app_with(settings).await;
    let player: TestPlayer = app.signup("veteran").await;
    let keys = TokenKeys::new(&app.settings.auth);
    let old_token = keys
        .issue(player.id.to_string(), Role::Player, Some(player.account), 600)
        .unwrap();
    assert_eq!(
        me_status(&app, &old_token).await,
        StatusCode::OK,
        "an old token still works"
    );

    assert_eq!(logout(&app, &old_token).await["scope"], "all_tokens");
    assert_eq!(me_status(&app, &old_token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&app, &player.token).await, StatusCode::UNAUTHORIZED);

    let (first, second, third) = (
        login(&app, "veteran").await,
        login(&app, "veteran").await,
        login(&app, "veteran").await,
    );
    assert_eq!(logout(&app, &first).await["scope"], "token");
    assert_eq!(me_status(&app, &second).await, StatusCode::OK);
    assert_eq!(
        logout(&app, &second).await["scope"],
        "all_tokens",
        "the denylist is full"
    );
    assert_eq!(me_status(&app, &third).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&app, &login(&app, "veteran").await).await, StatusCode::OK);
}

/// `game-cluster admin revoke-tokens PLAYER_ID` calls the same action through the admin API.
#[actix_web::test]
async fn the_admin_cli_revokes_a_players_tokens() {
    let app = spawn_app().await;
    let player = app.signup("shelled").await;
    let mut command = tokio::process::Command::from(crate::helpers::binary(&app.settings));
    command
        .args(["admin", "--url", &app.address, "revoke-tokens"])
        .arg(player.id.to_string());
    let output = command.output().await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["token_version"], 1);
    assert_error(
        app.get("/api/v1/me", Some(&player.token)).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
}
