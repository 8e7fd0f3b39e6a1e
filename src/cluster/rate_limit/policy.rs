//! The limits of every request class, from `[rate_limits]`: the HTTP edge (`api::rate_limit`), the admin
//! login and the sessions' own message limits all read them.

use super::gcra::Limit;
use super::lockout::LockoutPolicy;
use crate::configuration::{IpRange, RateLimitSettings};
use std::time::Duration;

/// The limits of every class, parsed once at start-up.
#[derive(Debug, Clone)]
pub struct RateLimitPolicy {
    pub trusted_proxies: Vec<IpRange>,
    pub login_per_ip: Limit,
    pub login_per_account: Limit,
    pub signup_per_ip: Limit,
    pub lockout: LockoutPolicy,
    pub player_writes: Limit,
    pub unauthenticated_per_ip: Limit,
    pub ws_connects_per_ip: Limit,
    pub ws_messages_per_socket: Limit,
    pub ws_rate_limited_messages_max: u32,
    pub admin_per_ip: Limit,
    pub provider_calls: Limit,
    pub stake_rgs_per_ip: Limit,
}

impl RateLimitPolicy {
    /// Settings are validated at start-up, so every count is positive and every range parses.
    pub fn from_settings(settings: &RateLimitSettings) -> anyhow::Result<RateLimitPolicy> {
        let per_minute = |count: u32| Limit::per_minute(count).ok_or_else(|| anyhow::anyhow!("a rate limit of 0"));
        Ok(RateLimitPolicy {
            trusted_proxies: settings.trusted_proxy_ranges().map_err(anyhow::Error::msg)?,
            login_per_ip: per_minute(settings.login_per_ip_per_min)?,
            login_per_account: per_minute(settings.login_per_account_per_min)?,
            signup_per_ip: per_minute(settings.signup_per_ip_per_min)?,
            lockout: LockoutPolicy {
                failures_before_lockout: settings.login_failures_before_lockout,
                initial: Duration::from_secs(settings.login_lockout_initial_s),
                max: Duration::from_secs(settings.login_lockout_max_s),
                failures_window: Duration::from_secs(settings.login_failures_window_s),
            },
            player_writes: per_minute(settings.player_writes_per_player_per_min)?,
            unauthenticated_per_ip: per_minute(settings.unauthenticated_per_ip_per_min)?,
            ws_connects_per_ip: per_minute(settings.ws_connects_per_ip_per_min)?,
            ws_messages_per_socket: Limit::per_second(settings.ws_messages_per_socket_per_s)
                .ok_or_else(|| anyhow::anyhow!("a rate limit of 0"))?,
            ws_rate_limited_messages_max: settings.ws_rate_limited_messages_max,
            admin_per_ip: per_minute(settings.admin_per_ip_per_min)?,
            provider_calls: per_minute(settings.provider_calls_per_provider_per_min)?,
            stake_rgs_per_ip: per_minute(settings.stake_rgs_per_ip_per_min)?,
        })
    }
}
