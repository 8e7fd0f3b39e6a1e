//! The player economy: the item catalog, purchases and inventories, and the treasury that funds them.

pub mod items;
pub mod purchases;
pub mod treasury;
