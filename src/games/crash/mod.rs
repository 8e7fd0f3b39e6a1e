//! The crash game (Aviator/bustabit style): one round actor per room, bets and cashouts judged by the
//! server's clock, outcomes from the room's hash chain.

pub mod bet_writer;
pub mod chain;
pub mod forward;
pub mod leadership;
pub mod messages;
pub mod pause;
pub mod recovery;
pub mod room;
pub mod store;
pub mod view;

use crate::fair::crash::{format_multiplier, MULTIPLIER_MIN};
use crate::wallet::ledger::TransferError;
use actix_web::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// A multiplier in hundredths as players write it: a JSON number with at most two decimals, above 1.00.
pub fn parse_auto_cashout(number: &serde_json::Number, max: u32) -> Result<u32, GameError> {
    let invalid = || GameError::InvalidAutoCashout(format!("auto_cashout must be 1.01 to {}", format_multiplier(max)));
    let hundredths = crate::fair::parse_hundredths(number).ok_or_else(invalid)?;
    if hundredths <= MULTIPLIER_MIN || hundredths > max {
        return Err(invalid());
    }
    Ok(hundredths)
}

/// A multiplier as a JSON number for clients (`208` becomes `2.08`). Display only: payouts use hundredths.
pub fn multiplier_json(hundredths: u32) -> serde_json::Value {
    serde_json::Value::from(f64::from(hundredths) / 100.0)
}

/// The lifecycle of a bet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BetStatus {
    /// The stake is being debited.
    Pending,
    Open,
    /// The cashout is decided; the win is being credited.
    CashingOut,
    CashedOut,
    Lost,
    Refunded,
    /// The stake never moved (for example: insufficient funds).
    Void,
}

impl BetStatus {
    /// The status as stored in `crash_bets.status`.
    pub fn stored(self) -> &'static str {
        match self {
            BetStatus::Pending => "pending",
            BetStatus::Open => "open",
            BetStatus::CashingOut => "cashing_out",
            BetStatus::CashedOut => "cashed_out",
            BetStatus::Lost => "lost",
            BetStatus::Refunded => "refunded",
            BetStatus::Void => "void",
        }
    }

    pub fn from_stored(text: &str) -> Option<BetStatus> {
        Some(match text {
            "pending" => BetStatus::Pending,
            "open" => BetStatus::Open,
            "cashing_out" => BetStatus::CashingOut,
            "cashed_out" => BetStatus::CashedOut,
            "lost" => BetStatus::Lost,
            "refunded" => BetStatus::Refunded,
            "void" => BetStatus::Void,
            _ => return None,
        })
    }
}

/// A bet as its owner sees it (and as the leader answers a forwarding node).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BetView {
    pub bet_id: Uuid,
    pub round_id: i64,
    pub room: String,
    pub client_bet_id: String,
    pub amount: i64,
    #[serde(
        serialize_with = "serialize_optional_multiplier",
        deserialize_with = "deserialize_optional_multiplier"
    )]
    pub auto_cashout: Option<u32>,
    pub status: BetStatus,
    #[serde(
        serialize_with = "serialize_optional_multiplier",
        deserialize_with = "deserialize_optional_multiplier"
    )]
    pub cashout_multiplier: Option<u32>,
    pub payout: Option<i64>,
}

/// Reads a displayed multiplier (2.08) back into hundredths. Exact: every displayed value came from whole
/// hundredths far below 2^53, so rounding recovers them.
fn deserialize_optional_multiplier<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let value = Option::<f64>::deserialize(deserializer)?;
    Ok(value.map(|multiplier| (multiplier * 100.0).round() as u32))
}

fn serialize_optional_multiplier<S: serde::Serializer>(value: &Option<u32>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(hundredths) => multiplier_json(*hundredths).serialize(serializer),
        None => serializer.serialize_none(),
    }
}

/// Every way a bet or cashout can be refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GameError {
    #[error("no room is called {0:?}")]
    UnknownRoom(String),
    #[error("betting is closed; wait for the next round")]
    BettingClosed,
    #[error("betting in this room is paused by the operator")]
    BettingPaused,
    #[error("the round is not running")]
    RoundNotRunning,
    #[error("the round has crashed")]
    RoundCrashed,
    #[error("no such bet of yours in this round")]
    BetNotFound,
    #[error("this bet was already cashed out")]
    AlreadyCashedOut,
    #[error("this bet is not in play")]
    BetNotOpen,
    #[error("a bet with this client_bet_id is still being placed")]
    BetInProgress,
    #[error("{0}")]
    InvalidAmount(String),
    #[error("{0}")]
    InvalidAutoCashout(String),
    #[error("{0}")]
    InvalidClientBetId(String),
    #[error("at most {0} bets per player per round")]
    TooManyBets(u32),
    #[error("the room is not ready yet")]
    RoomUnavailable,
    #[error(transparent)]
    Wallet(#[from] TransferError),
    #[error("the game store failed")]
    Store,
    /// The room's leader changed before the request was decided; nothing was.
    #[error("the room's leader changed; try again")]
    LeaderChanged,
    /// The answer was lost (the leader stopped or did not answer in time): the request may have been
    /// decided. Retrying a bet with the same client_bet_id is safe; the player's bets show the outcome.
    #[error(
        "the outcome of this request is unknown; check your bets (a bet may be retried with the same client_bet_id)"
    )]
    OutcomeUnknown,
    /// An error answered by the room's leader on another node.
    #[error("{message}")]
    Forwarded {
        status: u16,
        code: &'static str,
        message: String,
    },
}

impl From<store::StoreError> for GameError {
    fn from(error: store::StoreError) -> GameError {
        match error {
            store::StoreError::Fenced { .. } => GameError::LeaderChanged,
            store::StoreError::Database(_) => GameError::Store,
        }
    }
}

impl GameError {
    pub fn code(&self) -> &'static str {
        match self {
            GameError::UnknownRoom(_) => "unknown_room",
            GameError::BettingClosed => "betting_closed",
            GameError::BettingPaused => "betting_paused",
            GameError::RoundNotRunning => "round_not_running",
            GameError::RoundCrashed => "round_crashed",
            GameError::BetNotFound => "bet_not_found",
            GameError::AlreadyCashedOut => "already_cashed_out",
            GameError::BetNotOpen => "bet_not_open",
            GameError::BetInProgress => "bet_in_progress",
            GameError::InvalidAmount(_) => "invalid_amount",
            GameError::InvalidAutoCashout(_) => "invalid_auto_cashout",
            GameError::InvalidClientBetId(_) => "invalid_client_bet_id",
            GameError::TooManyBets(_) => "too_many_bets",
            GameError::RoomUnavailable => "room_unavailable",
            GameError::Wallet(error) => error.code(),
            GameError::Store => "internal_error",
            GameError::LeaderChanged => "leader_changed",
            GameError::OutcomeUnknown => "outcome_unknown",
            GameError::Forwarded { code, .. } => code,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            GameError::UnknownRoom(_) | GameError::BetNotFound => StatusCode::NOT_FOUND,
            GameError::InvalidAmount(_) | GameError::InvalidAutoCashout(_) | GameError::InvalidClientBetId(_) => {
                StatusCode::BAD_REQUEST
            }
            GameError::RoomUnavailable | GameError::LeaderChanged | GameError::OutcomeUnknown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            GameError::Forwarded { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            GameError::Wallet(error) => error.status(),
            GameError::Store => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::CONFLICT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<u32, GameError> {
        parse_auto_cashout(&serde_json::from_str(text).unwrap(), 100_000)
    }

    #[test]
    fn auto_cashout_targets_have_at_most_two_decimals() {
        assert_eq!(parse("2"), Ok(200));
        assert_eq!(parse("2.5"), Ok(250));
        assert_eq!(parse("1.01"), Ok(101));
        assert_eq!(parse("1000"), Ok(100_000));
        assert_eq!(
            parse("1e3"),
            Ok(100_000),
            "an exponent that denotes an allowed value is fine"
        );
        for bad in ["1", "1.00", "0.5", "2.555", "-2", "1e4", "1000.01", "99999999999"] {
            assert!(parse(bad).is_err(), "{bad} is refused");
        }
    }
}
