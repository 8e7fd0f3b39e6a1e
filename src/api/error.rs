//! How the games' errors answer over HTTP: each names its own status and code; the envelope is
//! `crate::error::ApiError`.

use crate::error::ApiError;
use crate::games::contract::RuleErrorKind;
use crate::games::crash::GameError;
use crate::games::instant::InstantError;
use actix_web::http::StatusCode;

impl From<GameError> for ApiError {
    fn from(error: GameError) -> ApiError {
        ApiError::new(error.status(), error.code(), error.to_string())
    }
}

impl From<InstantError> for ApiError {
    fn from(error: InstantError) -> ApiError {
        let message = error.to_string();
        let (status, code) = match &error {
            InstantError::UnknownGame(_) => (StatusCode::NOT_FOUND, "unknown_game"),
            InstantError::Rule(rule) => match rule.kind {
                RuleErrorKind::Invalid => (StatusCode::BAD_REQUEST, rule.code),
                RuleErrorKind::Conflict => (StatusCode::CONFLICT, rule.code),
                RuleErrorKind::Corrupt => return ApiError::internal(error),
            },
            InstantError::InvalidAmount(_) => (StatusCode::BAD_REQUEST, "invalid_amount"),
            InstantError::PayoutLimit(_) => (StatusCode::BAD_REQUEST, "payout_limit_exceeded"),
            InstantError::GameInProgress(_) => (StatusCode::CONFLICT, "game_in_progress"),
            InstantError::GameNotFound => (StatusCode::NOT_FOUND, "game_not_found"),
            InstantError::GameFinished => (StatusCode::CONFLICT, "game_finished"),
            InstantError::BetInProgress => (StatusCode::CONFLICT, "bet_in_progress"),
            InstantError::IdempotencyConflict => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_conflict"),
            InstantError::Wallet(transfer) => return ApiError::from(transfer.clone()),
            InstantError::Store(_) => return ApiError::internal(error),
        };
        ApiError::new(status, code, message)
    }
}
