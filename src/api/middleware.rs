//! Cross-cutting request handling: a caught panic becomes a 500 envelope instead of a dead worker, and
//! unknown routes and rejected query strings or paths answer with the envelope too.

use super::error::ApiError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

/// Runs the rest of the chain and turns a panic into `internal_error`, so one failing request never
/// takes its worker (and the other connections on it) down.
pub async fn catch_panics(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let http_request = request.request().clone();
    match AssertUnwindSafe(next.call(request)).catch_unwind().await {
        Ok(result) => result.map(ServiceResponse::map_into_boxed_body),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(
                panic = message,
                path = http_request.path(),
                "a request handler panicked"
            );
            let response =
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error").to_response();
            Ok(ServiceResponse::new(http_request, response))
        }
    }
}

/// The answer for any route that does not exist.
pub async fn not_found(request: HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("no route for {} {}", request.method(), request.path())).to_response()
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _| {
        ApiError::bad_request("invalid_query", format!("the query string is not valid: {error}")).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _| {
        ApiError::bad_request("invalid_path", format!("the path is not valid: {error}")).into()
    })
}
