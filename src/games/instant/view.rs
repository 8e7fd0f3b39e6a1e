//! A bet as its player sees it, with everything needed to verify it: the options, the public state (a
//! stepwise game's secrets only once it is finished), and the seed pair's public data (the server seed
//! only once the player rotated the pair).

use super::store::{BetRow, BetStatus};
use crate::games::contract::RuleError;
use crate::games::registry::Registered;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct BetView {
    pub id: Uuid,
    pub game: String,
    pub status: BetStatus,
    pub amount: i64,
    /// What the bet paid (0 for a loss); absent while a game is open.
    pub payout: Option<i64>,
    /// What cashing out now would pay (open stepwise games).
    pub cashout_payout: Option<i64>,
    pub options: Value,
    pub result: Value,
    pub fairness: Fairness,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fairness {
    pub server_seed_hash: String,
    /// Revealed by rotating the seed pair; until then the bet can be checked against the hash only.
    pub server_seed: Option<String>,
    pub client_seed: String,
    pub nonce: i64,
}

impl BetView {
    pub fn of(registered: &Registered, bet: &BetRow) -> Result<BetView, RuleError> {
        let game = &registered.game;
        let finished = !matches!(bet.status, BetStatus::Pending | BetStatus::Open);
        let terms = crate::games::contract::BetTerms {
            amount: bet.amount,
            payout_max: bet.payout_max,
        };
        let cashout_payout = match bet.status {
            BetStatus::Open => Some(game.payout(terms, &bet.options, &bet.state)?),
            _ => None,
        };
        Ok(BetView {
            id: bet.id,
            game: bet.game.clone(),
            status: bet.status,
            amount: bet.amount,
            payout: if finished { bet.payout } else { None },
            cashout_payout,
            options: bet.options.clone(),
            result: game.public_state(&bet.options, &bet.state, finished)?,
            fairness: Fairness {
                server_seed_hash: bet.server_seed_hash.clone(),
                server_seed: bet.revealed_server_seed.clone(),
                client_seed: bet.client_seed.clone(),
                nonce: bet.nonce,
            },
            created_at: bet.created_at,
            settled_at: bet.settled_at,
        })
    }
}
