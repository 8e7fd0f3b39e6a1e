//! Provably fair outcomes, exactly as in the public schemes (see the README's fairness section): anyone can
//! recompute a result from published data with any third-party verifier.

pub mod crash;
pub mod dice;
pub mod mines;
pub mod plinko;
pub mod seeds;
