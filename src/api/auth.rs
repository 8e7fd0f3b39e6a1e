//! Sign-up, log-in and the current player.

use super::json::BoundedJson;
use super::rate_limit::LoginGuard;
use crate::auth::extract::AuthenticatedPlayer;
use crate::auth::revocation::{Revoked, TokenRevocations};
use crate::auth::{PasswordHasherConfig, TokenKeys};
use crate::cluster::push::PlayerPush;
use crate::cluster::rate_limit::policy::RateLimitPolicy;
use crate::cluster::rate_limit::RateLimiter;
use crate::configuration::Settings;
use crate::db::Database;
use crate::economy::referrals::{self, ReferralCode, ReferralPolicy, ReferralView, Referrer};
use crate::error::ApiError;
use crate::players::protection::{self, Status};
use crate::players::{self, SignupError, Username};
use crate::session::players::announce_revocation;
use crate::wallet::{history, Wallet};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    username: String,
    password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupBody {
    /// 3 to 32 letters, digits, '_', '.' or '-'.
    #[schema(pattern = "^[A-Za-z0-9_.-]{3,32}$", example = "player_one")]
    username: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128, example = "correct horse battery")]
    password: String,
    /// Another player's code: both get a referral bonus (docs/ECONOMY.md).
    referral_code: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/signup",
    operation_id = "auth_signup",
    tag = "auth",
    summary = "Creates a player and returns a token",
    request_body(content = SignupBody, content_type = "application/json"),
    responses(
        (status = 201, description = "the player, a bearer token and the referral it used", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_username`, `invalid_password`", body = crate::error::Envelope),
        (status = 409, description = "`username_taken`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 422, description = "`unknown_referral_code`", body = crate::error::Envelope),
        (status = 503, description = "`auth_busy`: retry later", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
pub async fn signup(
    body: BoundedJson<SignupBody>,
    database: web::Data<Database>,
    hasher: web::Data<PasswordHasherConfig>,
    keys: web::Data<TokenKeys>,
    wallet: web::Data<Wallet>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let SignupBody {
        username,
        password,
        referral_code,
    } = body.0;
    let username = Username::parse(&username).map_err(|message| ApiError::bad_request("invalid_username", message))?;
    let password =
        players::parse_new_password(&password).map_err(|message| ApiError::bad_request("invalid_password", message))?;
    // The code is checked before anything is created: an unknown code creates nothing.
    let referrer = match referral_code {
        Some(text) => Some(find_referrer(&database, &text).await?),
        None => None,
    };
    let hash = hasher.hash(password).await.map_err(hashing_failed)?;
    let new_referral = referrer.as_ref().map(|referrer| players::NewReferral {
        referrer: referrer.player_id,
        per_day_max: settings.referral.referrals_per_day_max,
    });
    let (player, status) = players::create(&database.writer, &username, &hash, wallet.currency(), new_referral)
        .await
        .map_err(|error| match error {
            SignupError::UsernameTaken => {
                ApiError::new(StatusCode::CONFLICT, "username_taken", "the username is already taken")
            }
            SignupError::Database(error) => ApiError::internal(error),
        })?;
    let referral = match (referrer, status) {
        (Some(referrer), Some(status)) => {
            let policy = ReferralPolicy::new(&settings.referral, &settings.bonus);
            let status =
                referrals::pay_if_due_at_sign_up(&database.writer, &wallet, &policy, player.id, status).await?;
            Some(ReferralView {
                status,
                code: referrer.code,
            })
        }
        _ => None,
    };
    let token = keys
        .issue_player(player.id, player.account, &player.username, player.token_version)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Created().json(json!({
        "player": player,
        "token": token,
        "token_type": "Bearer",
        "referral": referral,
    })))
}

/// The player a sign-up's code names; 422 `unknown_referral_code` for a code nobody has.
async fn find_referrer(database: &Database, text: &str) -> Result<Referrer, ApiError> {
    let unknown = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_referral_code",
            "no player has this referral code",
        )
    };
    let code = ReferralCode::parse(text).ok_or_else(unknown)?;
    referrals::find_referrer(&database.writer, &code)
        .await?
        .ok_or_else(unknown)
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "auth_login",
    tag = "auth",
    summary = "Logs a player in",
    request_body(content = Credentials, content_type = "application/json"),
    responses(
        (status = 200, description = "the player and a bearer token", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request", body = crate::error::Envelope),
        (status = 401, description = "`invalid_credentials`", body = crate::error::Envelope),
        (status = 403, description = "`player_blocked`, `self_excluded`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 503, description = "`auth_busy`: retry later", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
pub async fn login(
    body: BoundedJson<Credentials>,
    database: web::Data<Database>,
    hasher: web::Data<PasswordHasherConfig>,
    keys: web::Data<TokenKeys>,
    limiter: web::Data<RateLimiter>,
    limits: web::Data<RateLimitPolicy>,
) -> Result<HttpResponse, ApiError> {
    let Credentials { username, password } = body.0;
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "unknown username or wrong password",
        )
    };
    if username.len() > *players::USERNAME_LENGTH.end() || password.len() > 4 * players::PASSWORD_LENGTH.end() {
        return Err(invalid());
    }
    let guard = LoginGuard::new(&limiter, &limits, &username);
    guard.admit().await?;
    let found = players::find_credentials(&database.writer, &username).await?;
    let (player, stored_hash) = match found {
        Some((player, hash)) => (Some(player), Some(hash)),
        None => (None, None),
    };
    let verified = hasher
        .verify(SecretString::from(password), stored_hash)
        .await
        .map_err(hashing_failed)?;
    guard.record(verified && player.is_some()).await;
    let player = player.filter(|_| verified).ok_or_else(invalid)?;
    refuse_unless_active(&database, &player).await?;
    let token = keys
        .issue_player(player.id, player.account, &player.username, player.token_version)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(json!({ "player": player, "token": token, "token_type": "Bearer" })))
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "auth_me",
    tag = "auth",
    summary = "The current player with balance and status",
    responses(
        (status = 200, description = "the player", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
pub async fn me(
    player: AuthenticatedPlayer,
    database: web::Data<Database>,
    wallet: web::Data<Wallet>,
) -> Result<HttpResponse, ApiError> {
    let found = players::find(&database.writer, player.player_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the player of this token no longer exists"))?;
    let balance = history::balance(&database.writer, found.account)
        .await?
        .unwrap_or_default();
    let standing = protection::standing(&database.writer, found.id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the player of this token no longer exists"))?;
    let now = Utc::now();
    Ok(HttpResponse::Ok().json(json!({
        "id": found.id,
        "username": found.username,
        "created_at": found.created_at,
        "balance": balance,
        "currency": wallet.currency(),
        "status": standing.status(now),
        "self_excluded_until": standing.excluded_until(now),
        "referral_code": found.referral_code,
    })))
}

/// A blocked or self-excluded player gets no token to play with (403, the same codes a stake gets).
async fn refuse_unless_active(database: &Database, player: &players::Player) -> Result<(), ApiError> {
    let now = Utc::now();
    let standing = protection::standing(&database.writer, player.id).await?;
    match standing.map(|standing| (standing.status(now), standing)) {
        Some((Status::Blocked, _)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "player_blocked",
            "the player is blocked by the operator",
        )),
        Some((Status::SelfExcluded, standing)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "self_excluded",
            format!(
                "the player is self-excluded until {}",
                standing.self_excluded_until.unwrap_or(now).to_rfc3339()
            ),
        )),
        _ => Ok(()),
    }
}

/// A full hashing queue is the client's cue to come back (503 `auth_busy`); anything else is ours.
fn hashing_failed(error: anyhow::Error) -> ApiError {
    match error.downcast_ref::<crate::auth::HasherBusy>() {
        Some(busy) => ApiError::unavailable("auth_busy", busy.to_string()),
        None => ApiError::internal(error),
    }
}

/// `POST /api/v1/auth/logout`: revokes the token presented (its id is refused until it expires) and
/// closes the sockets it opened, on every node. A token from before logout existed has no id: logging
/// it out revokes all the player's tokens (`"scope": "all_tokens"`), as does one more logout than
/// `auth.revoked_tokens_per_player_max` within a token's lifetime.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    operation_id = "auth_logout",
    tag = "auth",
    summary = "Revokes the presented token and closes the sockets it opened, on every node",
    responses(
        (status = 200, description = "`{\"logged_out\": true, \"scope\": \"token\" | \"all_tokens\"}`", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`, `token_revoked`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 503, description = "`auth_unavailable`: the token's standing cannot be read now", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
pub async fn logout(
    player: AuthenticatedPlayer,
    revocations: web::Data<TokenRevocations>,
    push: web::Data<PlayerPush>,
) -> Result<HttpResponse, ApiError> {
    let revoked = revocations
        .revoke_token(player.player_id, player.token.jti, player.token.expires_at)
        .await
        .map_err(ApiError::internal)?;
    announce_revocation(&push, player.player_id, revoked);
    let scope = match revoked {
        Revoked::Token { .. } => "token",
        Revoked::AllBefore { .. } => "all_tokens",
    };
    tracing::info!(player_id = %player.player_id, scope, "player logged out");
    Ok(HttpResponse::Ok().json(json!({ "logged_out": true, "scope": scope })))
}
