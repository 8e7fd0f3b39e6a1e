//! The seamless-wallet endpoints outside game providers call: our generic protocol at
//! `POST /rgs/{provider_id}/{operation}` and Hub88's operator wallet API at
//! `POST /hub88/{provider_id}/{path}` (`user/info`, `user/balance`, `transaction/bet`, ...).
//!
//! Every call is checked before anything else, in this order: the provider exists and speaks this
//! protocol, the path names an operation, the body fits its limit, the signature (and timestamp) hold,
//! the provider is active; only then is the body parsed and the call decided. A call that fails a check
//! changes nothing, is answered in the protocol's own format, logged and counted
//! (`provider_calls_refused_total{provider,reason}`).

use crate::catalog::Protocol;
use crate::cluster::rate_limit::gcra::retry_after_s;
use crate::cluster::rate_limit::policy::RateLimitPolicy;
use crate::cluster::rate_limit::RateLimiter;
use crate::providers::adapter::ProviderAdapter;
use crate::providers::adapter_for;
use crate::providers::model::{Answer, Operation, Status};
use crate::providers::service::ProviderWallet;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use std::time::Duration;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route(
            "/rgs/{provider_id}/{operation}",
            web::post().to(|request, path, payload, wallet| call(request, path, payload, wallet, Protocol::Generic)),
        )
        .route(
            "/hub88/{provider_id}/{operation:.*}",
            web::post().to(|request, path, payload, wallet| call(request, path, payload, wallet, Protocol::Hub88)),
        );
}

async fn call(
    request: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    wallet: web::Data<ProviderWallet>,
    protocol: Protocol,
) -> HttpResponse {
    let (provider_id, path) = path.into_inner();
    let adapter = adapter_for(protocol).expect("the routes are for provider protocols only");
    let refuse = |reason: &'static str, status: Status, message: String| {
        metrics::counter!("provider_calls_refused_total", "provider" => provider_id.clone(), "reason" => reason)
            .increment(1);
        tracing::warn!(provider = %provider_id, path = %path, reason, %message, "a provider call was refused");
        respond(
            adapter.as_ref(),
            Operation::Balance,
            Answer::refused(status, None, message),
        )
    };
    if let Some(wait) = over_provider_limit(&request, &provider_id).await {
        let seconds = retry_after_s(wait);
        let mut answer = refuse(
            "rate_limited",
            Status::Unavailable,
            format!("rate limited; retry after {seconds} s"),
        );
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        return answer;
    }
    let provider = match wallet.provider(&provider_id).await {
        Ok(Some(provider)) if provider.protocol == protocol => provider,
        Ok(_) => return refuse("unknown_provider", Status::InvalidPartner, "no such provider".into()),
        Err(error) => {
            tracing::warn!(%error, "reading a provider failed");
            return respond(
                adapter.as_ref(),
                Operation::Balance,
                Answer::refused(Status::Unavailable, None, "the wallet is unavailable; retry"),
            );
        }
    };
    let Some(operation) = adapter.operation(&path) else {
        return refuse("unknown_path", Status::WrongSyntax, format!("no operation at {path}"));
    };
    let body = match read_body(payload, wallet.settings().request_body_limit_bytes).await {
        Ok(body) => body,
        Err(message) => return refuse("body", Status::WrongSyntax, message),
    };
    // A refused call still echoes what the protocol wants echoed (Hub88's `request_uuid` and `user`),
    // when its body reads as a call; nothing else of it is used.
    let refuse_echoing = |reason: &'static str, status: Status, message: String| {
        metrics::counter!("provider_calls_refused_total", "provider" => provider_id.clone(), "reason" => reason)
            .increment(1);
        tracing::warn!(provider = %provider_id, path = %path, reason, %message, "a provider call was refused");
        let echo = adapter.parse(operation, &body).ok();
        let answer = Answer::refused(status, echo.as_ref(), message);
        let rendered = adapter.render(operation, echo.as_ref(), &answer);
        with_status(rendered.http_status, rendered.body)
    };
    let window = Duration::from_secs(wallet.settings().signature_window_s);
    if let Err(failure) = adapter.authenticate(&provider, request.headers(), &body, chrono::Utc::now(), window) {
        return refuse_echoing(failure.reason(), Status::InvalidSignature, failure.to_string());
    }
    if !provider.active {
        return refuse_echoing(
            "inactive_provider",
            Status::InvalidPartner,
            "the provider is disabled".into(),
        );
    }
    let call = match adapter.parse(operation, &body) {
        Ok(call) => call,
        Err(bad) => return refuse("bad_call", bad.status, bad.message),
    };
    let decided = wallet.handle(provider, adapter.clone(), call).await;
    with_status(decided.http_status, decided.body)
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, String> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| "the request body could not be read".to_owned())?;
        if body.len() + chunk.len() > limit {
            return Err(format!("the request body must not exceed {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn respond(adapter: &dyn ProviderAdapter, operation: Operation, answer: Answer) -> HttpResponse {
    let rendered = adapter.render(operation, None, &answer);
    with_status(rendered.http_status, rendered.body)
}

/// Counts the call against its provider's own limit (`rate_limits.provider_calls_per_provider_per_min`);
/// the wait when it is over.
async fn over_provider_limit(request: &HttpRequest, provider_id: &str) -> Option<Duration> {
    let limiter = request.app_data::<web::Data<RateLimiter>>()?;
    let policy = request.app_data::<web::Data<RateLimitPolicy>>()?;
    let verdict = limiter.check("provider", provider_id, policy.provider_calls).await;
    verdict.err().map(|limited| limited.retry_after)
}

fn with_status(status: u16, body: serde_json::Value) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    HttpResponse::build(status).json(body)
}
