//! Rate limits shared by every node: each key's state lives in Redis and is decided there by one Lua
//! script, so a client spreading its requests over the nodes still meets one limit. While Redis is
//! unreachable (or slow) each node falls back to its own bounded limits (`local`) rather than to none.

pub mod gcra;
mod local;
pub mod lockout;
pub mod policy;

use fred::prelude::*;
use gcra::Limit;
use local::LocalLimits;
use lockout::LockoutPolicy;
use std::sync::Arc;
use std::time::Duration;

/// What a refused request is told: how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after: Duration,
}

#[derive(Clone)]
pub struct RateLimiter {
    redis: Client,
    prefix: Arc<str>,
    local: Arc<LocalLimits>,
    /// A Redis answer slower than this counts as no answer (the local limit decides).
    redis_timeout: Duration,
}

impl RateLimiter {
    pub fn new(redis: Client, namespace: &str, local_keys_max: usize, redis_timeout: Duration) -> RateLimiter {
        RateLimiter {
            redis,
            prefix: format!("{namespace}:rl").into(),
            local: Arc::new(LocalLimits::new(local_keys_max)),
            redis_timeout,
        }
    }

    /// Counts one request of `class` by `subject` (an address, a player, a provider) against `limit`.
    pub async fn check(&self, class: &str, subject: &str, limit: Limit) -> Result<(), Limited> {
        let key = format!("{}:{class}:{subject}", self.prefix);
        let args = vec![
            limit.emission_interval_ms().to_string(),
            limit.tolerance_ms().to_string(),
        ];
        let wait = match self.shared::<i64>(gcra::REDIS_SCRIPT, vec![key.clone()], args).await {
            Some(wait_ms) => u64::try_from(wait_ms).unwrap_or(0),
            None => match self.local.check(&key, limit) {
                Ok(()) => 0,
                Err(wait) => wait.as_millis() as u64,
            },
        };
        if wait == 0 {
            return Ok(());
        }
        metrics::counter!("rate_limited_total", "class" => class.to_owned()).increment(1);
        Err(Limited {
            retry_after: Duration::from_millis(wait),
        })
    }

    /// Refuses a login for `account` while it is locked after failed logins.
    pub async fn check_login_lock(&self, account: &str) -> Result<(), Limited> {
        let lock_key = self.lock_key(account);
        let shared = match self.connected() {
            true => tokio::time::timeout(self.redis_timeout, self.redis.pttl::<i64, _>(lock_key)).await,
            false => Ok(Err(Error::new(ErrorKind::IO, "not connected"))),
        };
        let left_ms = match shared {
            Ok(Ok(ttl)) => u64::try_from(ttl).unwrap_or(0),
            _ => self.local.locked_for(account).map_or(0, |left| left.as_millis() as u64),
        };
        if left_ms == 0 {
            return Ok(());
        }
        metrics::counter!("rate_limited_total", "class" => "login_lockout").increment(1);
        Err(Limited {
            retry_after: Duration::from_millis(left_ms),
        })
    }

    /// Records a failed login for `account` (which may lock it).
    pub async fn record_login_failure(&self, account: &str, policy: &LockoutPolicy) {
        let keys = vec![self.failures_key(account), self.lock_key(account)];
        let args = vec![
            policy.failures_before_lockout.to_string(),
            (policy.initial.as_millis() as u64).to_string(),
            (policy.max.as_millis() as u64).to_string(),
            (policy.failures_window.as_millis() as u64).to_string(),
        ];
        if self
            .shared::<i64>(lockout::RECORD_FAILURE_SCRIPT, keys, args)
            .await
            .is_none()
        {
            self.local.record_failure(account, policy);
        }
    }

    /// A successful login forgets the account's failures (here and in the fallback).
    pub async fn forget_login_failures(&self, account: &str) {
        self.local.forget_failures(account);
        if self.connected() {
            let keys = vec![self.failures_key(account), self.lock_key(account)];
            let deleted = tokio::time::timeout(self.redis_timeout, self.redis.del::<i64, _>(keys)).await;
            if !matches!(deleted, Ok(Ok(_))) {
                tracing::warn!("could not clear an account's failed logins in Redis");
            }
        }
    }

    fn failures_key(&self, account: &str) -> String {
        format!("{}:login_failures:{account}", self.prefix)
    }

    fn lock_key(&self, account: &str) -> String {
        format!("{}:login_lock:{account}", self.prefix)
    }

    fn connected(&self) -> bool {
        self.redis.is_connected()
    }

    /// Runs a script in Redis; `None` when Redis did not answer in time (the caller decides locally).
    async fn shared<R: FromValue>(&self, script: &str, keys: Vec<String>, args: Vec<String>) -> Option<R> {
        if !self.connected() {
            metrics::counter!("rate_limit_local_decisions_total").increment(1);
            return None;
        }
        match tokio::time::timeout(self.redis_timeout, self.redis.eval::<R, _, _, _>(script, keys, args)).await {
            Ok(Ok(reply)) => Some(reply),
            Ok(Err(error)) => {
                tracing::warn!(%error, "a rate limit script failed; deciding locally");
                metrics::counter!("rate_limit_local_decisions_total").increment(1);
                None
            }
            Err(_) => {
                metrics::counter!("rate_limit_local_decisions_total").increment(1);
                None
            }
        }
    }
}
