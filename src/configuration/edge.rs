//! Settings of the node's edge: rate limits (`[rate_limits]`) and the headers of every answer
//! (`[http_headers]`: CORS and the security headers).

use super::ConfigError;
use serde::Deserialize;
use std::net::IpAddr;

/// The largest count any rate limit may have.
pub const RATE_LIMIT_COUNT_MAX: u32 = 10_000_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Comma-separated addresses or CIDR ranges of the proxies whose `X-Forwarded-For` is believed (our
    /// nginx); any other peer is itself the client.
    pub trusted_proxies: String,
    /// A Redis answer slower than this is no answer: the node decides with its own limits.
    pub redis_timeout_ms: u64,
    /// Keys the node's own fallback limits hold at most.
    pub local_keys_max: u32,
    pub login_per_ip_per_min: u32,
    pub login_per_account_per_min: u32,
    pub signup_per_ip_per_min: u32,
    /// The failed login (in a row, per account) that first locks the account.
    pub login_failures_before_lockout: u32,
    /// The first lock's length; each further failure doubles it, up to the maximum.
    pub login_lockout_initial_s: u64,
    pub login_lockout_max_s: u64,
    /// Failures are remembered this long after the last one.
    pub login_failures_window_s: u64,
    /// State-changing calls (bets, plays, spins, purchases, wallet calls) per player, REST and WebSocket.
    pub player_writes_per_player_per_min: u32,
    /// Requests without a valid token, per client address.
    pub unauthenticated_per_ip_per_min: u32,
    pub ws_connects_per_ip_per_min: u32,
    pub ws_messages_per_socket_per_s: u32,
    /// Messages refused with `rate_limited` on one socket before it is closed (4029).
    pub ws_rate_limited_messages_max: u32,
    /// The operator's admin API, per client address.
    pub admin_per_ip_per_min: u32,
    /// Seamless-wallet calls of one outside provider (`/rgs/...`, `/hub88/...`).
    pub provider_calls_per_provider_per_min: u32,
    /// Stake Engine RGS calls (`/wallet/...`, `/bet/...`) per client address.
    pub stake_rgs_per_ip_per_min: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpHeadersSettings {
    /// Comma-separated origins (`https://casino.example`) whose pages may call the API; empty: CORS off.
    pub cors_allowed_origins: String,
    /// The CSP `frame-ancestors` sources of every answer: `'none'`, or the operators' sites that embed us.
    pub frame_ancestors: String,
    pub referrer_policy: String,
}

/// One trusted proxy: an address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix_bits: u8,
}

impl IpRange {
    pub fn parse(text: &str) -> Result<IpRange, String> {
        let (address, bits) = match text.split_once('/') {
            Some((address, bits)) => (address, Some(bits)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().map_err(|_| format!("{text:?} is not an address"))?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix_bits = match bits {
            Some(bits) => bits
                .parse::<u8>()
                .ok()
                .filter(|bits| *bits <= width)
                .ok_or_else(|| format!("{text:?} has no valid prefix length"))?,
            None => width,
        };
        Ok(IpRange { network, prefix_bits })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => same_prefix(
                u32::from(network).into(),
                u32::from(address).into(),
                self.prefix_bits,
                32,
            ),
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                same_prefix(u128::from(network), u128::from(address), self.prefix_bits, 128)
            }
            _ => false,
        }
    }
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) is the IPv4 address.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

fn same_prefix(network: u128, address: u128, prefix_bits: u8, width: u32) -> bool {
    let host_bits = width - u32::from(prefix_bits);
    if host_bits >= width {
        return true;
    }
    (network >> host_bits) == (address >> host_bits)
}

/// Splits a comma-separated setting into its trimmed, non-empty entries.
pub fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|entry| !entry.is_empty())
}

impl RateLimitSettings {
    pub fn trusted_proxy_ranges(&self) -> Result<Vec<IpRange>, String> {
        list(&self.trusted_proxies).map(IpRange::parse).collect()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: String| Err(ConfigError { field, reason });
        if let Err(reason) = self.trusted_proxy_ranges() {
            return invalid("rate_limits.trusted_proxies", reason);
        }
        if !(10..=5_000).contains(&self.redis_timeout_ms) {
            return invalid("rate_limits.redis_timeout_ms", "must be 10 to 5000".into());
        }
        if !(16..=10_000_000).contains(&self.local_keys_max) {
            return invalid("rate_limits.local_keys_max", "must be 16 to 10000000".into());
        }
        for (field, count) in [
            ("rate_limits.login_per_ip_per_min", self.login_per_ip_per_min),
            ("rate_limits.login_per_account_per_min", self.login_per_account_per_min),
            ("rate_limits.signup_per_ip_per_min", self.signup_per_ip_per_min),
            (
                "rate_limits.player_writes_per_player_per_min",
                self.player_writes_per_player_per_min,
            ),
            (
                "rate_limits.unauthenticated_per_ip_per_min",
                self.unauthenticated_per_ip_per_min,
            ),
            (
                "rate_limits.ws_connects_per_ip_per_min",
                self.ws_connects_per_ip_per_min,
            ),
            (
                "rate_limits.ws_messages_per_socket_per_s",
                self.ws_messages_per_socket_per_s,
            ),
            (
                "rate_limits.ws_rate_limited_messages_max",
                self.ws_rate_limited_messages_max,
            ),
            ("rate_limits.admin_per_ip_per_min", self.admin_per_ip_per_min),
            (
                "rate_limits.provider_calls_per_provider_per_min",
                self.provider_calls_per_provider_per_min,
            ),
            ("rate_limits.stake_rgs_per_ip_per_min", self.stake_rgs_per_ip_per_min),
            (
                "rate_limits.login_failures_before_lockout",
                self.login_failures_before_lockout,
            ),
        ] {
            if !(1..=RATE_LIMIT_COUNT_MAX).contains(&count) {
                return invalid(field, format!("must be 1 to {RATE_LIMIT_COUNT_MAX}"));
            }
        }
        if !(1..=86_400).contains(&self.login_lockout_initial_s) {
            return invalid("rate_limits.login_lockout_initial_s", "must be 1 to 86400".into());
        }
        if self.login_lockout_max_s < self.login_lockout_initial_s || self.login_lockout_max_s > 7 * 86_400 {
            return invalid(
                "rate_limits.login_lockout_max_s",
                "must be at least rate_limits.login_lockout_initial_s and at most 604800".into(),
            );
        }
        if self.login_failures_window_s < self.login_lockout_max_s || self.login_failures_window_s > 30 * 86_400 {
            return invalid(
                "rate_limits.login_failures_window_s",
                "must be at least rate_limits.login_lockout_max_s and at most 2592000".into(),
            );
        }
        Ok(())
    }
}

impl HttpHeadersSettings {
    pub fn allowed_origins(&self) -> Vec<String> {
        list(&self.cors_allowed_origins)
            .map(|origin| origin.trim_end_matches('/').to_owned())
            .collect()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        let origin_ok = |origin: &String| {
            (origin.starts_with("https://") || origin.starts_with("http://"))
                && origin.is_ascii()
                && !origin.contains(|c: char| c.is_whitespace() || c == '*' || c == ';')
        };
        if !self.allowed_origins().iter().all(origin_ok) {
            return invalid(
                "http_headers.cors_allowed_origins",
                "must be comma-separated origins such as https://casino.example (no wildcards)",
            );
        }
        let header_safe = |text: &str| !text.is_empty() && text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';');
        if !header_safe(&self.frame_ancestors) {
            return invalid(
                "http_headers.frame_ancestors",
                "must be CSP sources such as 'none', 'self' or https://casino.example",
            );
        }
        if !header_safe(&self.referrer_policy) {
            return invalid("http_headers.referrer_policy", "must be a Referrer-Policy value");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_their_addresses_only() {
        let loopback = IpRange::parse("127.0.0.0/8").unwrap();
        assert!(loopback.contains("127.1.2.3".parse().unwrap()));
        assert!(loopback.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!loopback.contains("128.0.0.1".parse().unwrap()));
        let single = IpRange::parse("::1").unwrap();
        assert!(single.contains("::1".parse().unwrap()));
        assert!(!single.contains("::2".parse().unwrap()));
        assert!(IpRange::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(IpRange::parse("10.0.0.0/33").is_err());
        assert!(IpRange::parse("nginx").is_err());
    }
}
