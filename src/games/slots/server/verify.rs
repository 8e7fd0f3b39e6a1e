//! Verification of slot rounds from revealed seeds: the round is played again by the engine under the
//! math version it recorded, then compared event by event (the stored events hash and the stored steps)
//! and by payout. The API and `game-cluster verify` share it.

use super::catalog::Catalog;
use super::store::RoundRow;
use super::SlotError;
use crate::games::instant::seeds::sha256_hex;
use crate::games::slots::steps::{events_hash, split_steps};
use crate::games::slots::{payout_micros, play_round, Definition, FairDraws};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// The verdict on a recorded round.
#[derive(Debug, Serialize)]
pub struct RoundVerdict {
    pub spin_id: Uuid,
    pub game_id: String,
    pub math_version: String,
    pub mode: String,
    pub server_seed: String,
    pub server_seed_hash: String,
    /// SHA-256 of the revealed server seed equals the hash shown before the round.
    pub server_seed_hash_matches: bool,
    pub client_seed: String,
    pub nonce: i64,
    /// The events hash recomputed from the seeds, and the one stored when the round was played.
    pub events_hash: String,
    pub recorded_events_hash: String,
    /// The recomputed events equal the stored steps, event by event.
    pub events_match: bool,
    pub win_centibet: u64,
    pub recorded_win_centibet: i64,
    pub payout: i64,
    pub recorded_payout: i64,
    pub payout_matches: bool,
    pub verified: bool,
}

/// Replays a round from its seeds under `definition` (the round's math version).
pub fn verify_with(definition: &Definition, round: &RoundRow, server_seed: &str) -> Result<RoundVerdict, SlotError> {
    let mode = definition.mode(&round.mode).ok_or_else(|| {
        SlotError::Corrupt(format!(
            "math version {} has no mode {}",
            round.math_version, round.mode
        ))
    })?;
    let nonce = u64::try_from(round.nonce).map_err(|_| SlotError::Corrupt("a negative nonce".into()))?;
    let replayed = play_round(
        definition,
        mode,
        &mut FairDraws::new(server_seed, &round.client_seed, nonce),
    );
    let hash = events_hash(&replayed.events);
    let steps =
        serde_json::to_value(split_steps(&replayed.events)).map_err(|error| SlotError::Corrupt(error.to_string()))?;
    let events_match = steps == round.steps && hash == round.events_hash;
    let win = replayed.summary.win_centibet;
    let payout = payout_micros(round.bet_micros, win);
    let payout_matches = payout == round.payout_micros && i64::try_from(win).ok() == Some(round.win_centibet);
    let server_seed_hash_matches = sha256_hex(server_seed) == round.server_seed_hash;
    Ok(RoundVerdict {
        spin_id: round.id,
        game_id: round.game_id.clone(),
        math_version: round.math_version.clone(),
        mode: round.mode.clone(),
        server_seed: server_seed.to_owned(),
        server_seed_hash: round.server_seed_hash.clone(),
        server_seed_hash_matches,
        client_seed: round.client_seed.clone(),
        nonce: round.nonce,
        events_hash: hash,
        recorded_events_hash: round.events_hash.clone(),
        events_match,
        win_centibet: win,
        recorded_win_centibet: round.win_centibet,
        payout,
        recorded_payout: round.payout_micros,
        payout_matches,
        verified: server_seed_hash_matches && events_match && payout_matches,
    })
}

/// Verifies a recorded round whose seed pair has been revealed.
pub async fn verify_round(catalog: &Catalog, pool: &PgPool, round: &RoundRow) -> Result<RoundVerdict, SlotError> {
    let server_seed = round.revealed_server_seed.clone().ok_or(SlotError::SeedNotRevealed)?;
    let definition = catalog
        .definition_at(pool, &round.game_id, &round.math_version)
        .await?
        .ok_or_else(|| SlotError::UnknownVersion(round.math_version.clone()))?;
    verify_with(&definition, round, &server_seed)
}
