//! Settings of responsible gaming: player limits, self-exclusion and the reality check.

use super::ConfigError;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsibleGamingSettings {
    /// How long a raised or removed limit waits before it applies (lowering applies at once).
    pub cooling_off_hours: u32,
    /// Minutes without a stake that end a session (for the session time limit).
    pub session_break_minutes: u32,
    /// The longest self-exclusion a player may choose.
    pub self_exclusion_days_max: u32,
    /// How often a playing player's sockets get a reality check message.
    pub reality_check_interval_s: u64,
}

impl ResponsibleGamingSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        if !(1..=24 * 90).contains(&self.cooling_off_hours) {
            return invalid("responsible_gaming.cooling_off_hours", "must be 1 to 2160 (90 days)");
        }
        if !(1..=24 * 60).contains(&self.session_break_minutes) {
            return invalid("responsible_gaming.session_break_minutes", "must be 1 to 1440");
        }
        if !(1..=36_500).contains(&self.self_exclusion_days_max) {
            return invalid("responsible_gaming.self_exclusion_days_max", "must be 1 to 36500");
        }
        // Tests use intervals of a second or two; production keeps an hour.
        if !(1..=86_400).contains(&self.reality_check_interval_s) {
            return invalid("responsible_gaming.reality_check_interval_s", "must be 1 to 86400");
        }
        Ok(())
    }
}
