//! The games. Each game decides outcomes only from committed seeds and moves money only through the
//! wallet.

pub mod crash;
