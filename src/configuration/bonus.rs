//! Settings of bonus money (`[bonus]`) and of referrals (`[referral]`).

use super::ConfigError;
use serde::Deserialize;

/// Which part of a player's money a stake takes first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StakeOrder {
    /// Cash up to its balance, the rest from bonus money.
    #[default]
    CashFirst,
    /// Bonus money up to its balance, the rest from cash.
    BonusFirst,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BonusSettings {
    /// Which part of a bonus player's money a stake takes first.
    pub stake_order: StakeOrder,
    /// A grant adds its amount times this to the player's wagering requirement, unless the grant names
    /// its own multiplier.
    pub wagering_multiplier: u32,
}

/// When a referral's two bonuses are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralPayOn {
    SignUp,
    FirstDeposit,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralSettings {
    pub pay_on: ReferralPayOn,
    /// The bonus the new player gets.
    pub referee_bonus_micros: i64,
    /// The bonus the player whose code was used gets.
    pub referrer_bonus_micros: i64,
    /// Referrals one referrer is paid for per UTC day; later ones are recorded as `capped`.
    pub referrals_per_day_max: u32,
    /// A player who signed up without a code may claim one this long after signing up.
    pub claim_window_hours: u32,
    /// How often each node pays referrals a crash left `pending` after their sign-up committed.
    pub sweep_interval_ms: u64,
    /// A pending referral is only swept once it is this old, so live sign-ups pay their own.
    pub sweep_age_ms: u64,
    /// The most referrals one sweep pass pays.
    pub sweep_batch_max: u32,
}

/// The highest wagering multiplier a grant may carry.
pub const WAGERING_MULTIPLIER_MAX: u32 = 1_000;

impl BonusSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=WAGERING_MULTIPLIER_MAX).contains(&self.wagering_multiplier) {
            return Err(ConfigError {
                field: "bonus.wagering_multiplier",
                reason: format!("must be 1 to {WAGERING_MULTIPLIER_MAX}"),
            });
        }
        Ok(())
    }
}

impl ReferralSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        if crate::money::Amount::parse(self.referee_bonus_micros).is_err() {
            return invalid("referral.referee_bonus_micros", "must be a valid positive amount");
        }
        if crate::money::Amount::parse(self.referrer_bonus_micros).is_err() {
            return invalid("referral.referrer_bonus_micros", "must be a valid positive amount");
        }
        if !(1..=100_000).contains(&self.referrals_per_day_max) {
            return invalid("referral.referrals_per_day_max", "must be 1 to 100000");
        }
        if !(1..=24 * 365).contains(&self.claim_window_hours) {
            return invalid("referral.claim_window_hours", "must be 1 to 8760");
        }
        if !(100..=3_600_000).contains(&self.sweep_interval_ms) {
            return invalid("referral.sweep_interval_ms", "must be 100 to 3600000");
        }
        if self.sweep_age_ms > 86_400_000 {
            return invalid("referral.sweep_age_ms", "must be at most one day");
        }
        if !(1..=10_000).contains(&self.sweep_batch_max) {
            return invalid("referral.sweep_batch_max", "must be 1 to 10000");
        }
        Ok(())
    }
}
