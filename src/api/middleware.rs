//! Cross-cutting request handling: a caught panic becomes a 500 envelope instead of a dead worker, and
//! unknown routes and rejected query strings or paths answer with the envelope too.

use crate::error::ApiError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

/// Runs the rest of the chain and turns a panic into `internal_error`, so one failing request never
/// takes its worker (and the other connections on it) down. The error is returned rather than built into
/// a response because the request itself is gone with the panic; actix renders it with our envelope.
pub async fn catch_panics(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = request.path().to_owned();
    match AssertUnwindSafe(next.call(request)).catch_unwind().await {
        Ok(result) => result.map(ServiceResponse::map_into_boxed_body),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = message, path, "a request handler panicked");
            Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error").into())
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

/// Refuses a percent-encoded NUL (`%00`) in the query string or the path before any handler runs: no text
/// column can store it, so a filter or name carrying one could only fail in the database (a 500).
pub async fn refuse_nul_characters(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let refusal = if request.query_string().contains("%00") {
        Some(ApiError::bad_request(
            "invalid_query",
            "the query string must not contain %00",
        ))
    } else if request.uri().path().contains("%00") {
        Some(ApiError::bad_request("invalid_path", "the path must not contain %00"))
    } else {
        None
    };
    match refusal {
        Some(error) => Ok(request.into_response(error.to_response())),
        None => next.call(request).await.map(ServiceResponse::map_into_boxed_body),
    }
}

/// Counts every request by route pattern and status, and records its latency by route (the pattern, not the
/// path, so that ids do not make a series each).
pub async fn record_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let route = request.match_pattern().unwrap_or_else(|| "unmatched".into());
    let response = next.call(request).await?;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route).record(started.elapsed().as_secs_f64());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{test, App};

    /// A `%00` in the query string or the path is refused with the envelope before the handler runs.
    #[actix_web::test]
    async fn a_nul_character_in_the_query_or_path_is_refused() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(refuse_nul_characters))
                .route("/items/{code}", web::get().to(|| async { HttpResponse::Ok().finish() })),
        )
        .await;
        for (uri, code) in [("/items/a?q=x%00y", "invalid_query"), ("/items/a%00b", "invalid_path")] {
            let response = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
            let body: serde_json::Value = test::read_body_json(response).await;
            assert_eq!(body["error"]["code"], code, "{uri}");
        }
        let response = test::call_service(&app, test::TestRequest::get().uri("/items/a?q=x%0Ay").to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// A panicking handler answers a 500 envelope and the service keeps answering afterwards.
    #[actix_web::test]
    async fn a_panicking_handler_becomes_an_internal_error() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(catch_panics))
                .route("/boom", web::get().to(|| async { panic!("boom") as HttpResponse }))
                .route("/fine", web::get().to(|| async { HttpResponse::Ok().finish() })),
        )
        .await;
        let request = test::TestRequest::get().uri("/boom").to_request();
        let error = test::try_call_service(&app, request).await.unwrap_err();
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = actix_web::body::to_bytes(response.into_body()).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["code"], "internal_error");
        let response = test::call_service(&app, test::TestRequest::get().uri("/fine").to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}
