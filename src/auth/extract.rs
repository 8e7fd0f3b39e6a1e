//! Request extractors: a request handler that takes `AuthenticatedPlayer` or `AdminUser` only runs for
//! a valid bearer token of that role. A player token must also not have been revoked (logout, or the
//! operator's revocation; see `revocation`).

use super::revocation::TokenRevocations;
use super::{Claims, Role, TokenError, TokenKeys};
use crate::error::ApiError;
use crate::wallet::ledger::AccountId;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use std::future::{ready, Ready};
use uuid::Uuid;

/// A player identified by a valid token.
#[derive(Debug, Clone)]
pub struct AuthenticatedPlayer {
    pub player_id: Uuid,
    pub account: AccountId,
    pub username: String,
    pub token: TokenIdentity,
}

/// Which token a player presented: what logout and revocation go by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenIdentity {
    /// Absent in tokens issued before logout existed.
    pub jti: Option<Uuid>,
    pub version: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The admin, identified by a valid admin token.
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub subject: String,
}

/// Verifies a raw token, mapping failures to the envelope codes.
pub fn verify_token(keys: &TokenKeys, token: &str) -> Result<Claims, ApiError> {
    keys.verify(token.trim()).map_err(|error| match error {
        TokenError::Expired => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "the token has expired; log in again",
        ),
        TokenError::Invalid => ApiError::unauthorized("the token is invalid"),
    })
}

fn claims_from(request: &HttpRequest) -> Result<Claims, ApiError> {
    let keys = request
        .app_data::<web::Data<TokenKeys>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("token keys are not registered")))?;
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be 'Bearer <token>'"))?;
    verify_token(keys, token)
}

fn player_from(request: &HttpRequest) -> Result<AuthenticatedPlayer, ApiError> {
    player_from_claims(claims_from(request)?)
}

/// The player a verified token speaks for (also used by WebSocket sessions authenticating later).
pub fn player_from_claims(claims: Claims) -> Result<AuthenticatedPlayer, ApiError> {
    if claims.role != Role::Player {
        return Err(ApiError::forbidden("this endpoint is for players"));
    }
    let player_id = Uuid::parse_str(&claims.sub).map_err(|_| ApiError::unauthorized("the token is invalid"))?;
    let account = claims
        .account
        .ok_or_else(|| ApiError::unauthorized("the token is invalid"))?;
    Ok(AuthenticatedPlayer {
        player_id,
        account: AccountId(account),
        username: claims.name.unwrap_or_default(),
        token: TokenIdentity {
            jti: claims.jti,
            version: claims.ver,
            expires_at: claims.exp,
        },
    })
}

/// Refuses a player token that was logged out or revoked (401 `token_revoked`). Postgres unreachable is
/// 503 `auth_unavailable`: the token can be neither admitted nor refused.
pub async fn refuse_if_revoked(revocations: &TokenRevocations, player: &AuthenticatedPlayer) -> Result<(), ApiError> {
    let token = player.token;
    let admitted = revocations
        .admits(player.player_id, token.version, token.jti)
        .await
        .map_err(|error| {
            tracing::warn!(
                error = format!("{error:#}"),
                "could not check a token against revocations"
            );
            ApiError::unavailable(
                "auth_unavailable",
                "the token cannot be checked right now; try again shortly",
            )
        })?;
    if admitted {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_revoked",
            "the token was revoked (logged out); log in again",
        ))
    }
}

async fn checked_player(request: HttpRequest) -> Result<AuthenticatedPlayer, ApiError> {
    let player = player_from(&request)?;
    let revocations = request
        .app_data::<web::Data<TokenRevocations>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("token revocations are not registered")))?;
    refuse_if_revoked(revocations, &player).await?;
    Ok(player)
}

fn admin_from(request: &HttpRequest) -> Result<AdminUser, ApiError> {
    let claims = claims_from(request)?;
    if claims.role != Role::Admin {
        return Err(ApiError::forbidden("this endpoint is for the admin"));
    }
    Ok(AdminUser { subject: claims.sub })
}

impl FromRequest for AuthenticatedPlayer {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(checked_player(request.clone()))
    }
}

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(admin_from(request))
    }
}
