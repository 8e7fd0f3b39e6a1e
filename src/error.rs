//! The error envelope every failure uses: `{"error":{"code":"snake_case","message":"..."}}` with a
//! fitting HTTP status. Infrastructure failures are logged with their cause chain and reach the client
//! as an opaque `internal_error`. It sits below the HTTP API, the admin API, the sessions and `auth`,
//! which all answer with it; how the games' own errors map onto it is in `api::error`.

use crate::wallet::ledger::TransferError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds a refused client should wait (`Retry-After`), for 429 and some 503 answers.
    pub retry_after_s: Option<u64>,
}

/// The body of every error answer of the API (the OpenAPI document's `ErrorEnvelope`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorEnvelope, example = json!({"error": {"code": "invalid_amount", "message": "amount must be a positive integer of micro-units"}}))]
pub struct Envelope<'a> {
    error: Body<'a>,
}

/// What went wrong: a stable snake_case `code` for programs and a `message` for people.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody)]
pub struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// 429 `rate_limited`, telling the client when to come back.
    pub fn rate_limited(retry_after: std::time::Duration, what: &str) -> ApiError {
        let seconds = crate::cluster::rate_limit::gcra::retry_after_s(retry_after);
        ApiError {
            retry_after_s: Some(seconds),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many {what}; retry after {seconds} s"),
            )
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// Logs an unexpected failure with its whole cause chain and hides it from the client.
    pub fn internal(error: impl Into<anyhow::Error>) -> ApiError {
        let error = error.into();
        tracing::error!(error = format!("{error:#}"), "request failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error")
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    pub fn to_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after_s {
            response.insert_header((actix_web::http::header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
            },
        })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status.as_u16(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.to_response()
    }
}

impl From<sqlx::Error> for ApiError {
    /// A database out of reach (a failover under way) is 503 `database_unavailable`, which clients retry;
    /// anything else is an opaque 500.
    fn from(error: sqlx::Error) -> ApiError {
        if crate::db::is_out_of_reach(&error) {
            tracing::warn!(%error, "the database is out of reach");
            return ApiError::unavailable("database_unavailable", "the database is unavailable; retry shortly");
        }
        ApiError::internal(error)
    }
}

impl From<TransferError> for ApiError {
    fn from(error: TransferError) -> ApiError {
        ApiError::new(error.status(), error.code(), error.to_string())
    }
}
