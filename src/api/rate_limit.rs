//! Rate limits at the HTTP edge: every request is put in one class (login, sign-up, admin, a player's
//! state-changing call, an unauthenticated request, ...) and counted against that class's cluster-wide
//! limit (`cluster::rate_limit`) before its handler runs. Over the limit: 429 `rate_limited` with
//! `Retry-After`, in the envelope (or in Stake Engine's shape on its paths). Provider wallet calls are
//! limited per provider in `rgs`, where their own protocols answer; failed logins in `auth`.

use crate::auth::extract::{player_from_claims, verify_token};
use crate::auth::TokenKeys;
use crate::cluster::rate_limit::gcra::retry_after_s;
use crate::cluster::rate_limit::policy::RateLimitPolicy;
use crate::cluster::rate_limit::{Limited, RateLimiter};
use crate::configuration::{edge::canonical, IpRange};
use crate::error::ApiError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use std::net::IpAddr;
use std::time::Duration;

/// The cluster-wide rate limiter (counted in this cluster's Redis namespace) and the limits it applies.
pub fn from_settings(
    settings: &crate::configuration::Settings,
    redis: &fred::prelude::Client,
) -> anyhow::Result<(RateLimiter, RateLimitPolicy)> {
    let limits = &settings.rate_limits;
    let limiter = RateLimiter::new(
        redis.clone(),
        &settings.cluster.namespace,
        limits.local_keys_max as usize,
        Duration::from_millis(limits.redis_timeout_ms),
    );
    Ok((limiter, RateLimitPolicy::from_settings(limits)?))
}

/// The client's address: the peer, unless the peer is one of our proxies, which put the client's
/// address in `X-Forwarded-For` (the last entry is the one our proxy wrote; entries a client wrote
/// itself come before it and are ignored).
pub fn client_address(request: &HttpRequest, trusted: &[IpRange]) -> Option<IpAddr> {
    let peer = canonical(request.peer_addr()?.ip());
    if !trusted.iter().any(|range| range.contains(peer)) {
        return Some(peer);
    }
    let forwarded = request
        .headers()
        .get("X-Forwarded-For")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    Some(forwarded.map_or(peer, canonical))
}

/// Which limit a request counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Class {
    /// Health checks, node-to-node calls, preflights, provider calls (limited in `rgs`), authenticated reads.
    Exempt,
    Login,
    Signup,
    Admin,
    StakeRgs,
    WsConnect,
    PlayerWrite(uuid::Uuid),
    Unauthenticated,
}

impl Class {
    fn of(request: &HttpRequest, keys: &TokenKeys) -> Class {
        let path = request.path();
        let method = request.method();
        let exempt_prefixes = ["/internal/", "/rgs/", "/hub88/"];
        if *method == Method::OPTIONS
            || matches!(path, "/health" | "/ready" | "/metrics")
            || exempt_prefixes.iter().any(|prefix| path.starts_with(prefix))
        {
            return Class::Exempt;
        }
        if path.starts_with("/wallet/") || path.starts_with("/bet/") {
            return Class::StakeRgs;
        }
        match path {
            "/api/v1/auth/login" => return Class::Login,
            "/api/v1/auth/signup" => return Class::Signup,
            "/ws" => return Class::WsConnect,
            _ if path.starts_with("/api/v1/admin/") || path == "/api/v1/admin" => return Class::Admin,
            _ => {}
        }
        let player = bearer_token(request)
            .and_then(|token| verify_token(keys, token).ok())
            .and_then(|claims| player_from_claims(claims).ok());
        match player {
            Some(player) if !matches!(*method, Method::GET | Method::HEAD) => Class::PlayerWrite(player.player_id),
            Some(_) => Class::Exempt,
            None => Class::Unauthenticated,
        }
    }
}

fn bearer_token(request: &HttpRequest) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))
}

/// Counts the request against its class's limit, answering 429 itself when it is over.
pub async fn limit_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (Some(limiter), Some(policy), Some(keys)) = (
        request.app_data::<web::Data<RateLimiter>>().cloned(),
        request.app_data::<web::Data<RateLimitPolicy>>().cloned(),
        request.app_data::<web::Data<TokenKeys>>().cloned(),
    ) else {
        return next.call(request).await.map(ServiceResponse::map_into_boxed_body);
    };
    let class = Class::of(request.request(), &keys);
    let address = client_address(request.request(), &policy.trusted_proxies)
        .map_or_else(|| "unknown".to_owned(), |address| address.to_string());
    let verdict = match &class {
        Class::Exempt => Ok(()),
        Class::Login => limiter.check("login_ip", &address, policy.login_per_ip).await,
        Class::Signup => limiter.check("signup_ip", &address, policy.signup_per_ip).await,
        Class::Admin => limiter.check("admin_ip", &address, policy.admin_per_ip).await,
        Class::StakeRgs => limiter.check("stake_ip", &address, policy.stake_rgs_per_ip).await,
        Class::WsConnect => limiter.check("ws_ip", &address, policy.ws_connects_per_ip).await,
        Class::PlayerWrite(player) => limiter.check("player", &player.to_string(), policy.player_writes).await,
        Class::Unauthenticated => limiter.check("anon_ip", &address, policy.unauthenticated_per_ip).await,
    };
    match verdict {
        Ok(()) => next.call(request).await.map(ServiceResponse::map_into_boxed_body),
        Err(limited) => {
            let response = refusal(&class, limited);
            Ok(request.into_response(response))
        }
    }
}

fn refusal(class: &Class, limited: Limited) -> HttpResponse {
    if *class == Class::StakeRgs {
        return stake_refusal(limited);
    }
    let what = match class {
        Class::Login => "logins from this address",
        Class::Signup => "sign-ups from this address",
        Class::WsConnect => "connections from this address",
        Class::PlayerWrite(_) => "requests by this player",
        _ => "requests from this address",
    };
    ApiError::rate_limited(limited.retry_after, what).to_response()
}

/// Stake Engine's clients read `{"error": code, "message"}`; its general error code is the closest.
fn stake_refusal(limited: Limited) -> HttpResponse {
    let seconds = retry_after_s(limited.retry_after);
    HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)
        .insert_header((header::RETRY_AFTER, seconds.to_string()))
        .json(serde_json::json!({
            "error": "ERR_GEN",
            "message": format!("too many requests; retry after {seconds} s"),
        }))
}

/// The account side of a login: a per-account limit and the lockout after failed logins. The account is
/// named by the username as typed (lower-cased), whether or not it exists, so an attacker learns nothing.
pub struct LoginGuard<'a> {
    limiter: &'a RateLimiter,
    policy: &'a RateLimitPolicy,
    account: String,
}

impl<'a> LoginGuard<'a> {
    pub fn new(limiter: &'a RateLimiter, policy: &'a RateLimitPolicy, username: &str) -> LoginGuard<'a> {
        LoginGuard {
            limiter,
            policy,
            account: username.trim().to_lowercase(),
        }
    }

    /// Refuses the attempt while the account is locked or over its own limit.
    pub async fn admit(&self) -> Result<(), ApiError> {
        if let Err(locked) = self.limiter.check_login_lock(&self.account).await {
            return Err(ApiError::rate_limited(
                locked.retry_after,
                "failed logins for this account",
            ));
        }
        self.limiter
            .check("login_account", &self.account, self.policy.login_per_account)
            .await
            .map_err(|limited| ApiError::rate_limited(limited.retry_after, "logins for this account"))
    }

    pub async fn record(&self, succeeded: bool) {
        if succeeded {
            self.limiter.forget_login_failures(&self.account).await;
        } else {
            self.limiter
                .record_login_failure(&self.account, &self.policy.lockout)
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn loopback() -> Vec<IpRange> {
        vec![IpRange::parse("127.0.0.1/32").unwrap()]
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_others_cannot() {
        let through_proxy = TestRequest::default()
            .peer_addr("127.0.0.1:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "6.6.6.6, 203.0.113.7"))
            .to_http_request();
        assert_eq!(
            client_address(&through_proxy, &loopback()),
            Some("203.0.113.7".parse().unwrap())
        );
        let direct = TestRequest::default()
            .peer_addr("198.51.100.2:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "6.6.6.6"))
            .to_http_request();
        assert_eq!(
            client_address(&direct, &loopback()),
            Some("198.51.100.2".parse().unwrap())
        );
        let garbage = TestRequest::default()
            .peer_addr("127.0.0.1:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "not an address"))
            .to_http_request();
        assert_eq!(
            client_address(&garbage, &loopback()),
            Some("127.0.0.1".parse().unwrap())
        );
    }
}
