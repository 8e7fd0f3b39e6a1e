//! Verification of per-player bets from revealed seeds: recompute the outcome with the public formulas
//! (`fair`) and compare it with what the server recorded. The API and `game-cluster verify` share it.

use super::store::BetRow;
use super::InstantError;
use crate::fair::seeds::SeedInput;
use crate::games::contract::{BetTerms, RuleError};
use crate::games::registry::Registry;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// The verdict on a recorded bet.
#[derive(Debug, Serialize)]
pub struct BetVerdict {
    pub bet_id: Uuid,
    pub game: String,
    pub server_seed: String,
    pub server_seed_hash: String,
    /// SHA-256 of the revealed server seed equals the hash shown before the bet.
    pub server_seed_hash_matches: bool,
    pub client_seed: String,
    pub nonce: i64,
    pub options: Value,
    /// The outcome recomputed from the seeds...
    pub outcome: Value,
    /// ...and the one the server recorded.
    pub recorded_outcome: Value,
    pub outcome_matches: bool,
    /// The payout recomputed from the outcome and the player's recorded moves, and the one paid.
    pub payout: Option<i64>,
    pub recorded_payout: Option<i64>,
    pub payout_matches: bool,
    pub verified: bool,
}

/// Checks a recorded bet whose seed pair has been revealed.
pub fn verify_bet(registry: &Registry, bet: &BetRow) -> Result<BetVerdict, InstantError> {
    let registered = registry.per_player(&bet.game)?;
    let game = &registered.game;
    let server_seed = bet.revealed_server_seed.clone().ok_or_else(|| {
        RuleError::conflict(
            "seed_not_revealed",
            "this bet's server seed is still secret; rotate your seed pair to reveal it",
        )
    })?;
    let seeds = SeedInput {
        server_seed: &server_seed,
        client_seed: &bet.client_seed,
        nonce: bet.nonce as u64,
    };
    let recomputed_state = game.start(&bet.options, seeds)?;
    let outcome = game.outcome(&recomputed_state)?;
    let recorded_outcome = game.outcome(&bet.state)?;
    let outcome_matches = outcome == recorded_outcome;
    let terms = BetTerms {
        amount: bet.amount,
        payout_max: bet.payout_max,
    };
    // The recorded moves played on the recomputed outcome: the outcome part of the state is what the seeds
    // decide, so equal outcomes make the recorded state the one to pay.
    let payout = match bet.payout {
        Some(_) if outcome_matches => Some(game.payout(terms, &bet.options, &bet.state)?),
        _ => None,
    };
    let server_seed_hash_matches = super::seeds::sha256_hex(&server_seed) == bet.server_seed_hash;
    let payout_matches = payout == bet.payout;
    Ok(BetVerdict {
        bet_id: bet.id,
        game: bet.game.clone(),
        server_seed_hash: bet.server_seed_hash.clone(),
        server_seed,
        server_seed_hash_matches,
        client_seed: bet.client_seed.clone(),
        nonce: bet.nonce,
        options: bet.options.clone(),
        outcome,
        recorded_outcome,
        outcome_matches,
        payout,
        recorded_payout: bet.payout,
        payout_matches,
        verified: server_seed_hash_matches && outcome_matches && payout_matches,
    })
}

/// Computes a result from seeds and options the caller supplies (options as a bet request writes them).
pub fn verify_inputs(
    registry: &Registry,
    game: &str,
    seeds: SeedInput<'_>,
    options: Value,
) -> Result<Value, InstantError> {
    let registered = registry.per_player(game)?;
    let options = registered.game.options(options)?;
    let state = registered.game.start(&options, seeds)?;
    Ok(serde_json::json!({
        "game": game,
        "server_seed_hash": super::seeds::sha256_hex(seeds.server_seed),
        "client_seed": seeds.client_seed,
        "nonce": seeds.nonce,
        "options": options,
        "outcome": registered.game.outcome(&state)?,
        "result": registered.game.public_state(&options, &state, true)?,
    }))
}
