//! The provider calls and answers every protocol maps to: what a studio asks of our wallet, and what we
//! answer. Adapters (the generic protocol, Hub88) parse their wire format into a [`WalletCall`] and render
//! an [`Answer`] back; the rules and the journal only ever see these types.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// The longest id a provider may send (transaction, round, game code, token).
pub const PROVIDER_ID_LENGTH_MAX: usize = 128;

/// What a call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Who the player is (Hub88 `/user/info`); moves nothing.
    UserInfo,
    /// The player's balance; moves nothing.
    Balance,
    /// A stake: the player pays the provider's house account.
    Bet,
    /// A payout: the provider's house account pays the player (zero is a loss).
    Win,
    /// Takes back an earlier bet, which `reference_id` names.
    Rollback,
    /// Closes the player's round; moves nothing.
    EndRound,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::UserInfo => "user_info",
            Operation::Balance => "balance",
            Operation::Bet => "bet",
            Operation::Win => "win",
            Operation::Rollback => "rollback",
            Operation::EndRound => "end_round",
        }
    }

    /// Whether the call names a transaction of its own and is journaled.
    pub fn moves_money(self) -> bool {
        matches!(self, Operation::Bet | Operation::Win | Operation::Rollback)
    }
}

/// A provider's call, parsed and checked for shape (lengths, types, non-negative amounts), not yet for
/// meaning (that is the rules' job, against the journal and the ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletCall {
    pub operation: Operation,
    /// The player as the provider names them: our player id.
    pub player: String,
    /// The launched session's token. Bets need it valid and unexpired; wins and rollbacks never check
    /// its expiry.
    pub token: Option<String>,
    pub game_code: Option<String>,
    pub round_id: Option<String>,
    /// The provider's id of this money movement (required for bets, wins and rollbacks).
    pub transaction_id: Option<String>,
    /// The bet a win or a rollback refers to.
    pub reference_id: Option<String>,
    /// Micro-units (1 unit = 1,000,000); never negative. Bets need more than zero; a zero win is a loss.
    pub amount_micros: Option<i64>,
    pub currency: Option<String>,
    /// A free round or a promotion payout: a win that needs no bet.
    pub free: bool,
    /// The provider says this call closes the round.
    pub round_closed: bool,
    /// The provider's id of this HTTP request, echoed in the answer (Hub88 `request_uuid`).
    pub request_id: Option<String>,
}

/// How a call ended, as every protocol knows it (Hub88's `RS_*` names in parentheses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// (`RS_OK`)
    Ok,
    /// Anything without a code of its own (`RS_ERROR_UNKNOWN`).
    Unknown,
    /// The provider is unknown or disabled (`RS_ERROR_INVALID_PARTNER`).
    InvalidPartner,
    /// The session token is unknown or belongs to someone else (`RS_ERROR_INVALID_TOKEN`).
    InvalidToken,
    /// The game is unknown or disabled (`RS_ERROR_INVALID_GAME`).
    InvalidGame,
    /// (`RS_ERROR_WRONG_CURRENCY`)
    WrongCurrency,
    /// Answered with the player's real balance (`RS_ERROR_NOT_ENOUGH_MONEY`).
    NotEnoughMoney,
    /// Disabled or self-excluded: no bets (`RS_ERROR_USER_DISABLED`).
    UserDisabled,
    /// The bet would cross one of the player's own limits (loss, wager, session time); Hub88 knows no
    /// closer code than `RS_ERROR_USER_DISABLED`.
    PlayerLimitReached,
    /// (`RS_ERROR_INVALID_SIGNATURE`)
    InvalidSignature,
    /// A bet on an expired session (`RS_ERROR_TOKEN_EXPIRED`).
    TokenExpired,
    /// The body is not the protocol's shape (`RS_ERROR_WRONG_SYNTAX`).
    WrongSyntax,
    /// A field has the wrong type or an impossible value (`RS_ERROR_WRONG_TYPES`).
    WrongTypes,
    /// The transaction id was used for another call (`RS_ERROR_DUPLICATE_TRANSACTION`).
    DuplicateTransaction,
    /// A win with no bet, a rollback's bet unknown where that matters (`RS_ERROR_TRANSACTION_DOES_NOT_EXIST`).
    TransactionDoesNotExist,
    /// A win for a rolled-back bet, or a bet whose id was rolled back first (`RS_ERROR_TRANSACTION_ROLLED_BACK`).
    TransactionRolledBack,
    /// Over the game's maximum bet (`RS_ERROR_BET_LIMIT_EXCEEDED`).
    BetLimitExceeded,
    /// A bet in a closed round, or a rollback of a settled bet (Hub88: `RS_ERROR_UNKNOWN`).
    RoundClosed,
    /// A rollback of a bet that a win already settled (Hub88: `RS_ERROR_UNKNOWN`).
    BetAlreadySettled,
    /// The player does not exist (Hub88: `RS_ERROR_INVALID_TOKEN`).
    UnknownPlayer,
    /// The wallet could not take the call now; the provider retries with the same transaction id
    /// (Hub88: `RS_ERROR_UNKNOWN`). Never journaled, so the retry decides afresh.
    Unavailable,
}

impl Status {
    /// The snake_case code our generic protocol sends and the journal stores.
    pub fn code(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unknown => "unknown",
            Status::InvalidPartner => "invalid_partner",
            Status::InvalidToken => "invalid_token",
            Status::InvalidGame => "invalid_game",
            Status::WrongCurrency => "wrong_currency",
            Status::NotEnoughMoney => "not_enough_money",
            Status::UserDisabled => "user_disabled",
            Status::PlayerLimitReached => "player_limit_reached",
            Status::InvalidSignature => "invalid_signature",
            Status::TokenExpired => "token_expired",
            Status::WrongSyntax => "wrong_syntax",
            Status::WrongTypes => "wrong_types",
            Status::DuplicateTransaction => "duplicate_transaction",
            Status::TransactionDoesNotExist => "transaction_does_not_exist",
            Status::TransactionRolledBack => "transaction_rolled_back",
            Status::BetLimitExceeded => "bet_limit_exceeded",
            Status::RoundClosed => "round_closed",
            Status::BetAlreadySettled => "bet_already_settled",
            Status::UnknownPlayer => "unknown_player",
            Status::Unavailable => "unavailable",
        }
    }

    pub const ALL: [Status; 21] = [
        Status::Ok,
        Status::Unknown,
        Status::InvalidPartner,
        Status::InvalidToken,
        Status::InvalidGame,
        Status::WrongCurrency,
        Status::NotEnoughMoney,
        Status::UserDisabled,
        Status::PlayerLimitReached,
        Status::InvalidSignature,
        Status::TokenExpired,
        Status::WrongSyntax,
        Status::WrongTypes,
        Status::DuplicateTransaction,
        Status::TransactionDoesNotExist,
        Status::TransactionRolledBack,
        Status::BetLimitExceeded,
        Status::RoundClosed,
        Status::BetAlreadySettled,
        Status::UnknownPlayer,
        Status::Unavailable,
    ];

    pub fn parse(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.code() == code)
    }
}

/// Who the player is, for `UserInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlayerInfo {
    pub player_id: Uuid,
    pub username: String,
    pub registered_at: DateTime<Utc>,
}

/// Our answer to one call, before an adapter renders it in its protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: Status,
    /// The player as the call named them (echoed back).
    pub player: String,
    pub currency: Option<String>,
    /// The balance after the call, or the real balance with a refusal; none when the player is unknown.
    pub balance_micros: Option<i64>,
    /// The call's own transaction id (echoed back).
    pub transaction_id: Option<String>,
    /// Our id of the call's journal row's ledger transfer, when money moved.
    pub ledger_transfer_id: Option<Uuid>,
    /// True when this answer repeats the stored answer of an earlier identical call.
    pub replayed: bool,
    /// For people reading logs or the generic protocol's error; never parsed.
    pub message: String,
    pub info: Option<PlayerInfo>,
}

impl Answer {
    /// An answer that did not reach the rules (bad signature, bad body, overload).
    pub fn refused(status: Status, call: Option<&WalletCall>, message: impl Into<String>) -> Answer {
        Answer {
            status,
            player: call.map(|call| call.player.clone()).unwrap_or_default(),
            currency: call.and_then(|call| call.currency.clone()),
            balance_micros: None,
            transaction_id: call.and_then(|call| call.transaction_id.clone()),
            ledger_transfer_id: None,
            replayed: false,
            message: message.into(),
            info: None,
        }
    }
}
