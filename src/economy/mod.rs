//! The player economy: the item catalog, purchases and inventories, the treasury that funds them, bonus
//! money and referrals.

pub mod bonuses;
pub mod items;
pub mod purchases;
pub mod referrals;
pub mod treasury;
