//! The admin API: log-in with the configured credential, deposits to players, the ledger audit, and the
//! operator surface of the dashboard (cluster state, statistics, controls).

pub mod actions;
pub mod bonuses;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod economy;
pub mod provider_rounds;
pub mod rtp;
pub mod stats;
pub mod tokens;

use crate::api::json::BoundedJson;
use crate::api::rate_limit::LoginGuard;
use crate::api::{idempotency_key, parse_amount};
use crate::auth::extract::AdminUser;
use crate::auth::TokenKeys;
use crate::cluster::rate_limit::policy::RateLimitPolicy;
use crate::cluster::rate_limit::RateLimiter;
use crate::db::Database;
use crate::economy::referrals::{self, ReferralPolicy};
use crate::error::ApiError;
use crate::players;
use crate::wallet::ledger::{TransferKind, REFERENCE_LENGTH_MAX};
use crate::wallet::Wallet;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The configured admin credential.
#[derive(Clone)]
pub struct AdminCredential {
    pub username: String,
    pub password: SecretString,
}

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/admin")
            .route("/login", web::post().to(login))
            .route("/players/{player_id}/deposit", web::post().to(deposit))
            .route(
                "/players/{player_id}/revoke-tokens",
                web::post().to(tokens::revoke_tokens),
            )
            .route("/audit", web::get().to(run_audit))
            .route("/audit/last", web::get().to(stats::last_audit))
            .route("/cluster", web::get().to(cluster::cluster))
            .route("/stats", web::get().to(stats::stats))
            .route("/rtp", web::get().to(rtp::rtp_report))
            .route("/rounds", web::get().to(stats::rounds))
            .route("/actions", web::get().to(cluster::latest_actions))
            .route("/rooms/{room}/pause", web::post().to(cluster::pause))
            .route("/rooms/{room}/resume", web::post().to(cluster::resume))
            .route("/broadcast", web::post().to(cluster::broadcast))
            .route("/nodes/{node_id}/drain", web::post().to(cluster::drain))
            .configure(provider_rounds::configure)
            .configure(catalog::configure)
            .configure(economy::configure)
            .configure(bonuses::configure),
    );
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminLogin {
    username: String,
    password: String,
}

/// Compares two secrets in time independent of where they differ (by comparing their digests).
fn secrets_equal(given: &str, expected: &str) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    given
        .iter()
        .zip(expected.iter())
        .fold(0u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/login",
    operation_id = "admin_login",
    tag = "admin",
    summary = "Logs the operator in",
    request_body(content = AdminLogin, content_type = "application/json"),
    responses(
        (status = 200, description = "an admin bearer token", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request", body = crate::error::Envelope),
        (status = 401, description = "`invalid_credentials`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
pub async fn login(
    body: BoundedJson<AdminLogin>,
    credential: web::Data<AdminCredential>,
    keys: web::Data<TokenKeys>,
    limiter: web::Data<RateLimiter>,
    limits: web::Data<RateLimitPolicy>,
) -> Result<HttpResponse, ApiError> {
    // The operator's credential gets the players' lockout after failed logins, under its own keys.
    let guard = LoginGuard::new(&limiter, &limits, &format!("admin:{}", body.0.username));
    guard.admit().await?;
    let username_ok = secrets_equal(&body.0.username, &credential.username);
    let password_ok = secrets_equal(&body.0.password, credential.password.expose_secret());
    guard.record(username_ok && password_ok).await;
    if !(username_ok && password_ok) {
        tracing::warn!("admin login refused");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong admin credential",
        ));
    }
    tracing::info!(admin = %credential.username, "admin logged in");
    let token = keys.issue_admin(&credential.username).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(json!({ "token": token, "token_type": "Bearer" })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositBody {
    /// Micro-units (1,000,000 = 1.00), a positive integer.
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64, example = 1_000_000)]
    amount: serde_json::Number,
    reference: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/players/{player_id}/deposit",
    operation_id = "admin_deposit",
    tag = "admin",
    summary = "Credits a player from the treasury",
    params(("player_id" = uuid::Uuid, Path, description = "the player"), ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,64}$", description = "1 to 64 printable ASCII characters; a retry with the same key returns the first result")),
    request_body(content = DepositBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the transfer", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `missing_idempotency_key`, `invalid_idempotency_key`; `invalid_amount`, `invalid_reference`, `invalid_path`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`player_not_found`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 422, description = "`insufficient_funds`, a responsible-gaming limit, `idempotency_conflict`", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn deposit(
    request: HttpRequest,
    admin: AdminUser,
    path: web::Path<Uuid>,
    body: BoundedJson<DepositBody>,
    database: web::Data<Database>,
    wallet: web::Data<Wallet>,
    settings: web::Data<crate::configuration::Settings>,
) -> Result<HttpResponse, ApiError> {
    let player_id = path.into_inner();
    let key = idempotency_key(&request, &format!("deposit:{player_id}"))?;
    let amount = parse_amount(&body.0.amount)?;
    let reference = body.0.reference.unwrap_or_else(|| "admin deposit".into());
    if reference.len() > REFERENCE_LENGTH_MAX {
        return Err(ApiError::bad_request(
            "invalid_reference",
            format!("reference must be at most {REFERENCE_LENGTH_MAX} bytes"),
        ));
    }
    let player = players::find(&database.writer, player_id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "player_not_found", "no player has this id"))?;
    let receipt = wallet
        .credit_from_treasury(player.account, amount, TransferKind::Deposit, key, reference)
        .await?;
    tracing::info!(admin = %admin.subject, %player_id, amount = amount.micros(), replayed = receipt.replayed, "admin deposit");
    let policy = ReferralPolicy::new(&settings.referral, &settings.bonus);
    referrals::on_deposit(&database.writer, &wallet, &policy, player_id).await;
    Ok(HttpResponse::Ok().json(json!({
        "transfer_id": receipt.transfer_id,
        "amount": amount,
        "balance": receipt.credit_balance_after,
        "replayed": receipt.replayed,
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    operation_id = "admin_run_audit",
    tag = "admin",
    summary = "Runs the ledger audit now",
    responses(
        (status = 200, description = "the audit report", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn run_audit(admin: AdminUser, database: web::Data<Database>) -> Result<HttpResponse, ApiError> {
    let report = stats::run_and_record(&database.writer, &admin.subject)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(admin = %admin.subject, ok = report.ok, breaches = report.breaches.len(), "ledger audit");
    Ok(HttpResponse::Ok().json(report))
}
