//! The games. Each game decides outcomes only from committed seeds and moves money only through the
//! wallet.

pub mod contract;
pub mod crash;
pub mod dice;
pub mod history;
pub mod house;
pub mod instant;
pub mod leaderboard;
pub mod mines;
pub mod plinko;
pub mod registry;
pub mod slots;
pub mod wire;
