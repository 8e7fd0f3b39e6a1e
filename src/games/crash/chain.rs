//! Operator and player tools for chains: generate one for a room, and verify a revealed round.

use super::store;
use crate::fair::crash::{self as fair, GameHash};
use serde::Serialize;
use sqlx::PgPool;

/// Generates a chain of `length` links for `room` under `salt`, stores it, and returns the terminating
/// hash to publish.
pub async fn generate(pool: &PgPool, room: &str, salt: &str, length: u32) -> anyhow::Result<String> {
    anyhow::ensure!(
        (2..=10_000_000).contains(&length),
        "the chain length must be 2 to 10,000,000"
    );
    let chain = fair::generate_chain(length as usize);
    store::insert_chain(pool, room, salt, &chain).await?;
    Ok(hex::encode(chain.last().expect("a chain has links")))
}

/// The verdict on a revealed game hash.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub hash: String,
    pub crash_point: serde_json::Value,
    /// SHA-256 of this hash: the hash of the game played just before it in the chain (or, for the first
    /// game, the chain's terminating hash).
    pub previous_hash: String,
    /// Whether `previous_hash` equals the one given or stored; absent when there was nothing to compare.
    pub previous_hash_matches: Option<bool>,
    /// Whether the recomputed crash point equals the one recorded; absent when nothing was recorded.
    pub crash_point_matches: Option<bool>,
}

/// Recomputes a game's crash point from its hash and salt, and hashes it forward one link.
pub fn verify(
    hash: &GameHash,
    salt: &str,
    house_edge_bps: u32,
    expected_previous: Option<&GameHash>,
    recorded_crash: Option<u32>,
) -> Verification {
    let crash_point = fair::crash_point(salt, hash, house_edge_bps);
    let previous = fair::next_link(hash);
    Verification {
        hash: hex::encode(hash),
        crash_point: super::multiplier_json(crash_point),
        previous_hash: hex::encode(previous),
        previous_hash_matches: expected_previous.map(|expected| *expected == previous),
        crash_point_matches: recorded_crash.map(|recorded| recorded == crash_point),
    }
}
