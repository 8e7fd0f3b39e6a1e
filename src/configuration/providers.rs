//! Settings of outside game providers (seamless wallet, launch sessions) and of RTP tracking.

use super::ConfigError;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersSettings {
    /// How long a launched game session (its token) takes bets.
    pub session_ttl_s: u64,
    /// A signed call whose timestamp is further than this from our clock is refused, so a captured
    /// request cannot be replayed later.
    pub signature_window_s: u64,
    /// Journal rows are kept at least this long (Hub88 asks for 4 months); nothing younger is deleted.
    pub journal_retention_days: u32,
    /// A round with bets and no win or end for this long is listed for operators to close.
    pub open_round_after_s: u64,
    /// Where launch URLs of our own games point (the address players reach nginx at).
    pub public_base_url: String,
    /// The largest body a provider's call may carry.
    pub request_body_limit_bytes: usize,
    /// Provider call shards per node: each commits its batches on its own connection.
    pub shard_count: u32,
    /// Calls admitted to one shard and not yet answered; past it a call is answered as unavailable.
    pub mailbox_capacity: u32,
    pub batch_size_max: u32,
    /// How long the first call of a batch waits for company before the batch is committed.
    pub batch_delay_ms: u64,
    /// How long a call waits for room in a full shard before it is refused.
    pub admission_timeout_ms: u64,
    /// Attempts to commit one batch before its calls are answered as unavailable.
    pub commit_attempts_max: u32,
    /// A provider's game list imported at once holds at most this many games.
    pub import_games_max: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtpSettings {
    /// The band a game's measured RTP may leave only by chance once in a long while, in standard
    /// deviations of the mean of its rounds (hundredths: 300 = 3 sigma).
    pub band_sigma_hundredths: u32,
    /// Fewer rounds than this in a window say nothing: the game is not flagged.
    pub flag_rounds_min: u64,
    /// How often each node refreshes the RTP gauges from the rollups.
    pub refresh_interval_ms: u64,
}

impl ProvidersSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        if !(60..=7 * 86_400).contains(&self.session_ttl_s) {
            return invalid("providers.session_ttl_s", "must be 60 s to 7 days");
        }
        if !(5..=3_600).contains(&self.signature_window_s) {
            return invalid("providers.signature_window_s", "must be 5 to 3600");
        }
        if self.journal_retention_days < 122 {
            return invalid("providers.journal_retention_days", "must be at least 122 (4 months)");
        }
        if !(60..=30 * 86_400).contains(&self.open_round_after_s) {
            return invalid("providers.open_round_after_s", "must be 60 s to 30 days");
        }
        let url = &self.public_base_url;
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/') {
            return invalid(
                "providers.public_base_url",
                "must be an http:// or https:// URL without a trailing '/'",
            );
        }
        if !(1024..=1_048_576).contains(&self.request_body_limit_bytes) {
            return invalid("providers.request_body_limit_bytes", "must be 1 KiB to 1 MiB");
        }
        if !(1..=64).contains(&self.shard_count) {
            return invalid("providers.shard_count", "must be 1 to 64");
        }
        if !(1..=65_536).contains(&self.mailbox_capacity) {
            return invalid("providers.mailbox_capacity", "must be 1 to 65536");
        }
        if !(1..=4096).contains(&self.batch_size_max) {
            return invalid("providers.batch_size_max", "must be 1 to 4096");
        }
        if self.batch_delay_ms > 1000 {
            return invalid("providers.batch_delay_ms", "must be at most 1000");
        }
        if !(1..=60_000).contains(&self.admission_timeout_ms) {
            return invalid("providers.admission_timeout_ms", "must be 1 to 60000");
        }
        if !(1..=10).contains(&self.commit_attempts_max) {
            return invalid("providers.commit_attempts_max", "must be 1 to 10");
        }
        if !(1..=100_000).contains(&self.import_games_max) {
            return invalid("providers.import_games_max", "must be 1 to 100000");
        }
        Ok(())
    }
}

impl RtpSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        if !(100..=1_000).contains(&self.band_sigma_hundredths) {
            return invalid("rtp.band_sigma_hundredths", "must be 100 to 1000 (1 to 10 sigma)");
        }
        if self.flag_rounds_min == 0 {
            return invalid("rtp.flag_rounds_min", "must be positive");
        }
        if !(100..=600_000).contains(&self.refresh_interval_ms) {
            return invalid("rtp.refresh_interval_ms", "must be 100 to 600000");
        }
        Ok(())
    }
}
