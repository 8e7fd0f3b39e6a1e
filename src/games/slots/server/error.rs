//! Why a slot request fails.

use super::catalog;
use crate::wallet::ledger::TransferError;

/// Why a slot request failed: each a client error but `Wallet` (per its kind), `Store` and `Corrupt`.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error("no slot game {0:?}")]
    UnknownGame(String),
    #[error("{0} is not open for play right now")]
    GameDisabled(String),
    #[error("this client is too old: version {min} or newer is required")]
    ClientVersionTooOld { min: String },
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidBet(String),
    #[error("{0}")]
    InvalidMode(String),
    #[error("no such game session of yours")]
    SessionNotFound,
    #[error("this game session expired; open a new one with game/init")]
    SessionExpired,
    #[error("this game session is closed")]
    SessionClosed,
    #[error("this game session is for {0}")]
    SessionGameMismatch(String),
    #[error("you have an unfinished round of {0}; finish it first")]
    RoundInProgress(String),
    #[error("no such round of yours")]
    RoundNotFound,
    #[error("no round of yours is in progress")]
    NoRoundInProgress,
    #[error("this round is finished")]
    RoundFinished,
    #[error("this round's stake is still being taken; try again")]
    RoundPending,
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyConflict,
    #[error("this round's server seed is still secret; rotate your seed pair to reveal it")]
    SeedNotRevealed,
    #[error("math version {0} of this game was never served")]
    UnknownVersion(String),
    #[error(transparent)]
    Wallet(#[from] TransferError),
    #[error("the slot store failed: {0}")]
    Store(#[from] sqlx::Error),
    #[error("{0}")]
    Corrupt(String),
}

impl From<catalog::VersionError> for SlotError {
    fn from(error: catalog::VersionError) -> SlotError {
        match error {
            catalog::VersionError::Store(error) => SlotError::Store(error),
            other => SlotError::Corrupt(other.to_string()),
        }
    }
}
