//! A fake studio speaking Hub88's operator wallet API to a real node: a provider row with protocol `hub88`
//! and the test public key, one catalog game, players with launched sessions, and every call signed with
//! the test private key (tests/fixtures).

use crate::helpers::{spawn_app, TestApp, TestPlayer};
use game_cluster::providers::hub88::{Hub88Signer, SIGNATURE_HEADER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

pub const PROVIDER: &str = "hubstudio";
pub const GAME: &str = "hub88_slot";
/// One unit in Hub88's amounts (they count 1/100,000).
pub const UNIT: i64 = 100_000;
/// One unit in our micro-units.
pub const UNIT_MICROS: i64 = 1_000_000;
/// The catalog game's largest bet.
pub const GAME_BET_MAX_UNITS: i64 = 500;
const PUBLIC_KEY: &str = include_str!("../../fixtures/hub88_test_public.pem");
const PRIVATE_KEY: &str = include_str!("../../fixtures/hub88_test_private.pem");
const OTHER_PRIVATE_KEY: &str = include_str!("../../fixtures/hub88_other_private.pem");

pub struct Studio {
    pub app: TestApp,
    signer: Hub88Signer,
    other_signer: Hub88Signer,
}

/// A player with an open session of the studio's game.
pub struct Gamer {
    pub player: TestPlayer,
    pub token: String,
}

impl Gamer {
    pub fn id(&self) -> String {
        self.player.id.to_string()
    }
}

impl Studio {
    pub async fn start() -> Studio {
        let app = spawn_app().await;
        sqlx::query(
            "INSERT INTO providers (id, name, protocol, public_key, currencies)
             VALUES ($1, 'Hub88 studio', 'hub88', $2, '{USD}')",
        )
        .bind(PROVIDER)
        .bind(PUBLIC_KEY)
        .execute(&app.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO games (provider_id, code, name, category, rtp_bps, bet_min_micros, bet_max_micros)
             VALUES ($1, $2, 'Hub88 slot', 'slots', 9600, 10, $3)",
        )
        .bind(PROVIDER)
        .bind(GAME)
        .bind(GAME_BET_MAX_UNITS * UNIT_MICROS)
        .execute(&app.pool)
        .await
        .unwrap();
        Studio {
            app,
            signer: Hub88Signer::from_pem(PRIVATE_KEY).unwrap(),
            other_signer: Hub88Signer::from_pem(OTHER_PRIVATE_KEY).unwrap(),
        }
    }

    /// A new player holding `units` (at most 1,000: the top-up's limit) with a session open for an hour.
    pub async fn gamer(&self, username: &str, units: i64) -> Gamer {
        let player = self.app.signup_funded(username, units * UNIT_MICROS).await;
        let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        sqlx::query(
            "INSERT INTO game_sessions (id, player_id, game_id, provider_id, currency, token, url, expires_at)
             SELECT $1, $2, id, provider_id, 'USD', $3, 'https://studio.test/play', now() + interval '1 hour'
             FROM games WHERE provider_id = $4 AND code = $5",
        )
        .bind(Uuid::new_v4())
        .bind(player.id)
        .bind(&token)
        .bind(PROVIDER)
        .bind(GAME)
        .execute(&self.app.pool)
        .await
        .unwrap();
        Gamer { player, token }
    }

    pub fn sign(&self, body: &[u8]) -> String {
        self.signer.sign(body)
    }

    pub fn sign_with_another_key(&self, body: &[u8]) -> String {
        self.other_signer.sign(body)
    }

    /// A signed call to this studio's endpoint.
    pub async fn call(&self, path: &str, body: &Value) -> Value {
        let bytes = serde_json::to_vec(body).unwrap();
        let signature = self.sign(&bytes);
        self.send(&format!("/hub88/{PROVIDER}/{path}"), bytes, Some(signature))
            .await
    }

    /// Posts raw bytes with the given signature; every Hub88 answer is HTTP 200 with JSON.
    pub async fn send(&self, url_path: &str, body: Vec<u8>, signature: Option<String>) -> Value {
        let mut request = self
            .app
            .client
            .post(self.app.url(url_path))
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{url_path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{url_path} answers JSON: {text}"))
    }

    pub fn bet(&self, gamer: &Gamer, transaction: &str, round: &str, amount: i64) -> Value {
        json!({
            "user": gamer.id(), "transaction_uuid": transaction, "supplier_transaction_id": transaction,
            "token": gamer.token, "supplier_user": "studio-user", "round_closed": false, "round": round,
            "reward_uuid": null, "request_uuid": Uuid::new_v4(), "is_free": false, "is_aggregated": false,
            "game_code": GAME, "currency": "USD", "bet": "zero", "amount": amount, "meta": {}
        })
    }

    pub fn win(&self, gamer: &Gamer, transaction: &str, bet: &str, round: &str, amount: i64) -> Value {
        json!({
            "user": gamer.id(), "transaction_uuid": transaction, "supplier_transaction_id": transaction,
            "token": gamer.token, "supplier_user": "studio-user", "round_closed": true, "round": round,
            "reward_uuid": null, "request_uuid": Uuid::new_v4(), "reference_transaction_uuid": bet,
            "is_free": false, "is_aggregated": false, "game_code": GAME, "currency": "USD", "bet": "zero",
            "amount": amount, "meta": {}
        })
    }

    pub fn rollback(&self, gamer: &Gamer, transaction: &str, bet: &str, round: &str) -> Value {
        json!({
            "user": gamer.id(), "transaction_uuid": transaction, "supplier_transaction_id": transaction,
            "token": gamer.token, "round_closed": false, "round": round, "request_uuid": Uuid::new_v4(),
            "reference_transaction_uuid": bet, "game_code": GAME, "meta": {}
        })
    }

    /// A call that must succeed; returns the balance it answered, in Hub88 units.
    pub async fn ok(&self, path: &str, body: &Value) -> i64 {
        let answer = self.call(path, body).await;
        assert_eq!(answer["status"], "RS_OK", "{path} {body}: {answer}");
        assert_eq!(answer["request_uuid"], body["request_uuid"], "{answer}");
        assert_eq!(answer["user"], body["user"], "{answer}");
        assert_eq!(answer["currency"], "USD", "{answer}");
        answer["balance"].as_i64().unwrap()
    }

    /// A call that must be refused with `status`; returns the answer.
    pub async fn refused(&self, path: &str, body: &Value, status: &str) -> Value {
        let answer = self.call(path, body).await;
        assert_eq!(answer["status"], status, "{path} {body}: {answer}");
        answer
    }

    /// The player's balance in micro-units, as the wallet itself reports it.
    pub async fn micros(&self, gamer: &Gamer) -> i64 {
        self.app.balance(&gamer.player).await
    }

    /// The journal row of a transaction: (status, status code, amount in micro-units).
    pub async fn journal(&self, transaction: &str) -> Option<(String, String, Option<i64>)> {
        sqlx::query_as(
            "SELECT status, status_code, amount_micros FROM provider_transactions
             WHERE provider_id = $1 AND transaction_id = $2",
        )
        .bind(PROVIDER)
        .bind(transaction)
        .fetch_optional(&self.app.pool)
        .await
        .unwrap()
    }

    /// How many journal rows name this player.
    pub async fn journal_rows(&self, gamer: &Gamer) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM provider_transactions WHERE player_id = $1")
            .bind(gamer.player.id)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    pub async fn execute(&self, sql: &str, gamer: &Gamer) {
        sqlx::query(sql)
            .bind(gamer.player.id)
            .execute(&self.app.pool)
            .await
            .unwrap();
    }
}
