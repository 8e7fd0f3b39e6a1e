//! Request extractors: a request handler that takes `AuthenticatedPlayer` or `AdminUser` only runs for
//! a valid bearer token of that role.

use super::{Claims, Role, TokenError, TokenKeys};
use crate::api::error::ApiError;
use crate::wallet::ledger::AccountId;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use std::future::{ready, Ready};
use uuid::Uuid;

/// A player identified by a valid token.
#[derive(Debug, Clone)]
pub struct AuthenticatedPlayer {
    pub player_id: Uuid,
    pub account: AccountId,
    pub username: String,
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
    })
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
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(player_from(request))
    }
}

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(admin_from(request))
    }
}
