//! The reality check's interval: how often a player's sockets are reminded of their time and result.
//!
//! Temporary home: the responsible-gaming settings will carry `reality_check_interval_s`; until they do,
//! this section holds the same value.

use super::ConfigError;
use serde::Deserialize;

/// The longest interval: a day of play between two reminders.
pub const REALITY_CHECK_INTERVAL_MAX_S: u64 = 86_400;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealityCheckSettings {
    /// Every this many seconds of a socket's life, a player who staked since it connected gets a
    /// `reality_check` message.
    pub interval_s: u64,
}

impl RealityCheckSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=REALITY_CHECK_INTERVAL_MAX_S).contains(&self.interval_s) {
            return Err(ConfigError {
                field: "reality_check.interval_s",
                reason: format!("must be 1 to {REALITY_CHECK_INTERVAL_MAX_S}"),
            });
        }
        Ok(())
    }

    pub fn interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.interval_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_one_second_to_one_day() {
        let valid = |interval_s| RealityCheckSettings { interval_s }.validate().is_ok();
        assert!(!valid(0));
        assert!(valid(1));
        assert!(valid(3_600));
        assert!(valid(REALITY_CHECK_INTERVAL_MAX_S));
        assert!(!valid(REALITY_CHECK_INTERVAL_MAX_S + 1));
    }
}
