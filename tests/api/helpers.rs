//! `spawn_app()` starts a node on port 0 against a fresh UUID-named database and returns a `TestApp`
//! with typed helpers for the calls the tests make.

use game_cluster::configuration::Settings;
use game_cluster::startup::Application;
use game_cluster::wallet::Wallet;
use reqwest::{Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use std::path::Path;
use uuid::Uuid;

pub struct TestApp {
    pub address: String,
    pub rooms: game_cluster::session::relay::CrashRooms,
    pub settings: Settings,
    pub pool: PgPool,
    pub wallet: Wallet,
    /// The node's publisher of pushes to single players.
    pub push: game_cluster::cluster::push::PlayerPush,
    pub client: reqwest::Client,
}

/// A player created through the API.
pub struct TestPlayer {
    pub id: Uuid,
    pub token: String,
    pub account: i64,
}

/// The test configuration with the servers `make test` started. Fails loudly when they are missing,
/// because a silently skipped integration test proves nothing.
pub fn test_settings() -> Settings {
    assert!(
        std::env::var("APP__DATABASE__PORT").is_ok(),
        "integration tests need Postgres and Redis: run them with `make test`"
    );
    let mut settings =
        Settings::load_from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config"), "test").expect("test settings");
    settings.application.port = 0;
    settings
}

/// Creates an empty, migrated database and points `settings` at it.
pub async fn create_database(settings: &mut Settings) {
    let name = format!("test_{}", Uuid::new_v4().simple());
    let mut connection = PgConnection::connect_with(&settings.database.server_options().database("postgres"))
        .await
        .expect("connect to Postgres");
    connection
        .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
        .await
        .expect("create the test database");
    // The test's nodes share a Redis with every other test: their keys and channels get their own prefix.
    settings.cluster.namespace = name.clone();
    settings.database.database_name = name;
}

pub async fn spawn_app() -> TestApp {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    spawn_app_with(settings).await
}

/// Starts another node with exactly these settings (for example a second node on the same database).
pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let application = Application::build(settings.clone())
        .await
        .expect("build the application");
    let address = format!("http://127.0.0.1:{}", application.port());
    let pool = application.database().writer.clone();
    let wallet = application.wallet().clone();
    let rooms = application.rooms().clone();
    let push = application.player_push().clone();
    actix_web::rt::spawn(application.run_until_stopped());
    TestApp {
        address,
        rooms,
        settings,
        pool,
        wallet,
        push,
        client: reqwest::Client::new(),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, key: Option<&str>, body: &Value) -> Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.expect("the request is sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("the request is sent")
    }

    pub async fn signup(&self, username: &str) -> TestPlayer {
        let response = self
            .post_json(
                "/api/v1/auth/signup",
                None,
                None,
                &json!({"username": username, "password": "s3cret-password"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        let id: Uuid = body["player"]["id"].as_str().unwrap().parse().unwrap();
        let account: i64 = sqlx::query_scalar("SELECT account_id FROM players WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        TestPlayer {
            id,
            token: body["token"].as_str().unwrap().to_owned(),
            account,
        }
    }

    pub async fn admin_token(&self) -> String {
        let credential = json!({
            "username": self.settings.admin.username,
            "password": self.settings.admin.password.expose_secret(),
        });
        let response = self.post_json("/api/v1/admin/login", None, None, &credential).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn deposit(&self, admin_token: &str, player: Uuid, amount: i64, key: &str) -> Response {
        let path = format!("/api/v1/admin/players/{player}/deposit");
        self.post_json(&path, Some(admin_token), Some(key), &json!({ "amount": amount }))
            .await
    }

    /// A new player who topped up `micros` through the dev top-up route.
    pub async fn signup_funded(&self, username: &str, micros: i64) -> TestPlayer {
        let player = self.signup(username).await;
        let body = json!({ "amount": micros });
        let response = self
            .post_json("/api/v1/wallet/top-up", Some(&player.token), Some("fund"), &body)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        player
    }

    pub async fn balance(&self, player: &TestPlayer) -> i64 {
        let response = self.get("/api/v1/wallet/balance", Some(&player.token)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["balance"].as_i64().unwrap()
    }

    pub async fn audit_ok(&self) -> bool {
        game_cluster::wallet::audit::run(&self.pool).await.unwrap().ok
    }
}

/// Asserts an error response: its status and the envelope's code, with a non-empty message.
/// Asserts that a statement was refused by the database with `sqlstate` (`what` names it in the message).
pub fn assert_sqlstate(refused: &sqlx::Error, sqlstate: &str, what: &str) {
    let code = refused
        .as_database_error()
        .and_then(|error| error.code())
        .map(|code| code.into_owned());
    assert_eq!(code.as_deref(), Some(sqlstate), "{what}: {refused}");
}

pub async fn assert_error(response: Response, status: StatusCode, code: &str) {
    let actual_status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual_status, status, "unexpected status; body: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("error body is JSON: {text}"));
    assert_eq!(body["error"]["code"], code, "unexpected code; body: {text}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "error has a message: {text}"
    );
}

/// The real `game-cluster` binary, configured for the test servers and the database in `settings`.
pub fn binary(settings: &Settings) -> std::process::Command {
    let database = &settings.database;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_game-cluster"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("APP_ENV", "test")
        .env("APP__APPLICATION__PORT", "0")
        .env("APP__DATABASE__HOST", &database.host)
        .env("APP__DATABASE__PORT", database.port.to_string())
        .env("APP__DATABASE__USERNAME", &database.username)
        .env("APP__DATABASE__PASSWORD", database.password.expose_secret())
        .env("APP__DATABASE__DATABASE_NAME", &database.database_name)
        .env("APP__REDIS__HOST", &settings.redis.host)
        .env("APP__REDIS__PORT", settings.redis.port.to_string())
        // Each test's nodes keep their leases and channels apart from every other test's in the shared Redis.
        .env("APP__CLUSTER__NAMESPACE", &settings.cluster.namespace)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info");
    command
}
