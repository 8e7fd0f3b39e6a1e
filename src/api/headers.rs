//! Headers of every answer: the security headers (`X-Content-Type-Options`, `Referrer-Policy` and the CSP
//! `frame-ancestors` that decides who may embed our pages) and CORS for the origins an operator allows
//! (none by default). Stake Engine's paths keep their own CORS (`stake`), which its spec fixes.

use crate::configuration::HttpHeadersSettings;
use crate::error::ApiError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

/// How long a browser may cache a preflight's answer.
const PREFLIGHT_MAX_AGE_S: u32 = 600;
const ALLOWED_METHODS: &str = "GET, POST, PUT, DELETE, OPTIONS";
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Idempotency-Key";
const EXPOSED_HEADERS: &str = "Retry-After";

#[derive(Debug, Clone)]
pub struct HeaderPolicy {
    allowed_origins: Vec<String>,
    frame_ancestors: HeaderValue,
    referrer_policy: HeaderValue,
}

impl HeaderPolicy {
    /// The settings are validated at start-up (printable ASCII), so the values are valid headers.
    pub fn from_settings(settings: &HttpHeadersSettings) -> anyhow::Result<HeaderPolicy> {
        Ok(HeaderPolicy {
            allowed_origins: settings.allowed_origins(),
            frame_ancestors: HeaderValue::from_str(&format!("frame-ancestors {}", settings.frame_ancestors))?,
            referrer_policy: HeaderValue::from_str(&settings.referrer_policy)?,
        })
    }

    fn allows(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }
}

/// Answers preflights, adds CORS headers for allowed origins and the security headers to everything.
pub async fn add_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(policy) = request.app_data::<web::Data<HeaderPolicy>>().cloned() else {
        return next.call(request).await.map(ServiceResponse::map_into_boxed_body);
    };
    let own_cors = request.path().starts_with("/wallet/") || request.path().starts_with("/bet/");
    let origin = (!own_cors)
        .then(|| {
            request
                .headers()
                .get(header::ORIGIN)
                .and_then(|value| value.to_str().ok())
        })
        .flatten()
        .map(str::to_owned);
    let is_preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = match (&origin, is_preflight) {
        (Some(origin), true) => request.into_response(preflight(&policy, origin)),
        _ => next.call(request).await?.map_into_boxed_body(),
    };
    let headers = response.headers_mut();
    if let Some(origin) = origin.filter(|origin| policy.allows(origin)) {
        allow_origin(headers, &origin);
    }
    add_security_headers(headers, &policy);
    Ok(response)
}

fn preflight(policy: &HeaderPolicy, origin: &str) -> HttpResponse {
    if !policy.allows(origin) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this origin may not call the API from a browser",
        )
        .to_response();
    }
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE_S.to_string()))
        .finish()
}

fn allow_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// A page's own policy keeps its directives; its `frame-ancestors` is the configured one everywhere.
fn add_security_headers(headers: &mut HeaderMap, policy: &HeaderPolicy) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, policy.referrer_policy.clone());
    let csp = match headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|value| value.to_str().ok())
    {
        Some(existing) => with_frame_ancestors(existing, &policy.frame_ancestors),
        None => Some(policy.frame_ancestors.clone()),
    };
    if let Some(csp) = csp {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
}

fn with_frame_ancestors(existing: &str, frame_ancestors: &HeaderValue) -> Option<HeaderValue> {
    let mut directives: Vec<&str> = existing
        .split(';')
        .map(str::trim)
        .filter(|directive| !directive.is_empty() && !directive.starts_with("frame-ancestors"))
        .collect();
    directives.push(frame_ancestors.to_str().ok()?);
    HeaderValue::from_str(&directives.join("; ")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_policy_gets_the_configured_frame_ancestors() {
        let configured = HeaderValue::from_static("frame-ancestors https://casino.example");
        let merged = with_frame_ancestors(
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
            &configured,
        );
        assert_eq!(
            merged.unwrap(),
            "default-src 'self'; base-uri 'none'; frame-ancestors https://casino.example"
        );
    }
}
