//! The player economy: bonus money and referrals.

pub mod bonuses;
pub mod referrals;
