//! Sign-up, log-in and the current player.

use super::error::ApiError;
use super::json::BoundedJson;
use crate::auth::extract::AuthenticatedPlayer;
use crate::auth::{PasswordHasherConfig, TokenKeys};
use crate::db::Database;
use crate::players::protection::{self, Status};
use crate::players::{self, SignupError, Username};
use crate::wallet::{history, Wallet};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    username: String,
    password: String,
}

pub async fn signup(
    body: BoundedJson<Credentials>,
    database: web::Data<Database>,
    hasher: web::Data<PasswordHasherConfig>,
    keys: web::Data<TokenKeys>,
    wallet: web::Data<Wallet>,
) -> Result<HttpResponse, ApiError> {
    let username =
        Username::parse(&body.0.username).map_err(|message| ApiError::bad_request("invalid_username", message))?;
    let password = players::parse_new_password(&body.0.password)
        .map_err(|message| ApiError::bad_request("invalid_password", message))?;
    let hash = hasher.hash(password).await.map_err(hashing_failed)?;
    let player = players::create(&database.writer, &username, &hash, wallet.currency())
        .await
        .map_err(|error| match error {
            SignupError::UsernameTaken => {
                ApiError::new(StatusCode::CONFLICT, "username_taken", "the username is already taken")
            }
            SignupError::Database(error) => ApiError::internal(error),
        })?;
    let token = keys
        .issue_player(player.id, player.account, &player.username)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Created().json(json!({ "player": player, "token": token, "token_type": "Bearer" })))
}

pub async fn login(
    body: BoundedJson<Credentials>,
    database: web::Data<Database>,
    hasher: web::Data<PasswordHasherConfig>,
    keys: web::Data<TokenKeys>,
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
    let found = players::find_credentials(&database.writer, &username).await?;
    let (player, stored_hash) = match found {
        Some((player, hash)) => (Some(player), Some(hash)),
        None => (None, None),
    };
    let verified = hasher
        .verify(SecretString::from(password), stored_hash)
        .await
        .map_err(hashing_failed)?;
    let player = player.filter(|_| verified).ok_or_else(invalid)?;
    refuse_unless_active(&database, &player).await?;
    let token = keys
        .issue_player(player.id, player.account, &player.username)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(json!({ "player": player, "token": token, "token_type": "Bearer" })))
}

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
