//! Operator and player tools for chains: generate one for a room, and verify a revealed round.

use super::store::{self, RoundOutcome};
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
    /// How a stored round ended (`crashed`, or `aborted`: cut short, its bets refunded, its game used up
    /// all the same); absent when verifying a hash given by the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RoundOutcome>,
}

/// Verifies a stored round (crashed or aborted) from its evidence.
pub fn verify_stored(evidence: &store::RoundEvidence, house_edge_bps: u32) -> Verification {
    Verification {
        status: Some(evidence.status),
        ..verify(
            &evidence.hash,
            &evidence.salt,
            house_edge_bps,
            evidence.previous_hash.as_ref(),
            Some(evidence.crash_point),
        )
    }
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
        status: None,
    }
}

/// How many attempts a short chain may take on average: chains are as long as keeps this expectation.
const SHORT_CHAIN_ATTEMPTS_EXPECTED: f64 = 100.0;
/// Attempts after which one short chain is given up on (a thousand times the expectation).
const SHORT_CHAIN_ATTEMPTS_MAX: u32 = 100_000;
/// Games installed by one call of [`generate_short`] at most.
pub const SHORT_CHAIN_GAMES_MAX: u32 = 100_000;

/// The number of games of one short chain: the longest whose every game crashes at or below
/// `crash_point_max` with a chance of at least `1 / SHORT_CHAIN_ATTEMPTS_EXPECTED`, since a game crashes
/// above `x` with probability `(1 - edge) / x` (here `(10000 - bps) / 10000 / (hundredths / 100)`). This
/// sizes a search, not money, hence the floats.
fn short_chain_games(crash_point_max: u32, house_edge_bps: u32) -> u32 {
    let above = f64::from(10_000 - house_edge_bps) / (100.0 * f64::from(crash_point_max));
    let per_game = (1.0 - above).max(f64::MIN_POSITIVE).ln();
    let games = (-SHORT_CHAIN_ATTEMPTS_EXPECTED.ln() / per_game).floor();
    games.clamp(1.0, f64::from(SHORT_CHAIN_GAMES_MAX)) as u32
}

/// A chain of `games + 1` links whose every game crashes at or below `crash_point_max` (hundredths),
/// drawn by rejection from fresh random seeds; `None` after `SHORT_CHAIN_ATTEMPTS_MAX` draws. Each game's
/// result still follows the published formula: only the choice among chains is made for the tests.
pub fn short_chain(salt: &str, house_edge_bps: u32, games: u32, crash_point_max: u32) -> Option<Vec<GameHash>> {
    let games = games as usize;
    (0..SHORT_CHAIN_ATTEMPTS_MAX).find_map(|_| {
        let chain = fair::generate_chain(games + 1);
        // Game g (from 1) uses link `length - 1 - g`: every link but the terminating one is a game.
        let short = chain[..games]
            .iter()
            .all(|link| fair::crash_point(salt, link, house_edge_bps) <= crash_point_max);
        short.then_some(chain)
    })
}

/// Development and tests only: stores as many short chains for `room` as `games` needs, each game
/// crashing at or below `crash_point_max`, so that no round of these games outlasts
/// `ln(crash_point_max) / 0.00006` ms. Returns the terminating hashes.
pub async fn generate_short(
    pool: &PgPool,
    room: &str,
    salt: &str,
    house_edge_bps: u32,
    games: u32,
    crash_point_max: u32,
) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(
        (1..=SHORT_CHAIN_GAMES_MAX).contains(&games),
        "the number of games must be 1 to {SHORT_CHAIN_GAMES_MAX}"
    );
    anyhow::ensure!(
        crash_point_max >= 2 * fair::MULTIPLIER_MIN,
        "the highest crash point must be at least 2.00x"
    );
    let per_chain = short_chain_games(crash_point_max, house_edge_bps);
    let mut terminating = Vec::new();
    let mut remaining = games;
    while remaining > 0 {
        let length = remaining.min(per_chain);
        let chain = short_chain(salt, house_edge_bps, length, crash_point_max)
            .ok_or_else(|| anyhow::anyhow!("no chain of {length} games at or below {crash_point_max} was found"))?;
        store::insert_chain(pool, room, salt, &chain).await?;
        terminating.push(hex::encode(chain.last().expect("a chain has links")));
        remaining -= length;
    }
    Ok(terminating)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: &str = "test salt";

    #[test]
    fn a_short_chain_keeps_every_game_at_or_below_its_bound() {
        let games = short_chain_games(500, 100);
        assert!(
            (15..=30).contains(&games),
            "about 20 games of at most 5x per chain, got {games}"
        );
        let chain = short_chain(SALT, 100, games, 500).expect("found within the attempt limit");
        assert_eq!(chain.len(), games as usize + 1);
        assert!(chain[..games as usize]
            .iter()
            .all(|link| fair::crash_point(SALT, link, 100) <= 500));
        for pair in chain.windows(2) {
            assert_eq!(fair::next_link(&pair[0]), pair[1], "still a hash chain");
        }
    }

    #[test]
    fn a_looser_bound_allows_longer_chains() {
        assert!(short_chain_games(3_000, 100) > short_chain_games(500, 100));
        assert_eq!(short_chain_games(101, 100), 1, "at least one game per chain");
    }
}
