//! Ledger vocabulary: accounts, transfer requests, their stored form, receipts and errors.

use super::guard::Period;
use crate::money::{Amount, Balance};
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;
use uuid::Uuid;

/// The database id of a ledger account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub i64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What an account belongs to. The root treasury (where money from outside comes in) and the house
/// sub-accounts may go below zero; every other account must stay at or above zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A player's cash.
    Player,
    House,
    /// The root treasury: deposits come from it, so it goes negative by what players brought in.
    Treasury,
    /// One sub-account per wallet shard of the operator's own purse: funded by an admin transfer from
    /// the root treasury, it pays bonuses and receives purchases, and never goes below zero.
    TreasuryPool,
    /// A player's bonus money, kept apart from cash until its wagering requirement is met.
    Bonus,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Player => "player",
            AccountKind::House => "house",
            AccountKind::Treasury => "treasury",
            AccountKind::TreasuryPool => "treasury_pool",
            AccountKind::Bonus => "bonus",
        }
    }

    pub fn parse(text: &str) -> Option<AccountKind> {
        [
            AccountKind::Player,
            AccountKind::House,
            AccountKind::Treasury,
            AccountKind::TreasuryPool,
            AccountKind::Bonus,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }

    pub fn may_go_negative(self) -> bool {
        matches!(self, AccountKind::House | AccountKind::Treasury)
    }

    /// Whether the account holds a player's money (cash or bonus): the player side of a transfer.
    pub fn belongs_to_player(self) -> bool {
        matches!(self, AccountKind::Player | AccountKind::Bonus)
    }
}

/// Why money moved. Stored as snake_case text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// An operator credits a player from the treasury.
    Deposit,
    /// A development-only self-service credit.
    TopUp,
    /// A stake moves from a player to the house.
    Bet,
    /// A payout moves from the house to a player.
    Win,
    /// A stake goes back to the player, for example after an aborted round.
    Refund,
    /// A player buys items: from the player to a treasury pool sub-account.
    Purchase,
    /// A bonus (sign-up, referral) paid from a treasury pool sub-account to a player's bonus account.
    Bonus,
    /// A bonus whose wagering requirement is met becomes cash: from the bonus account to the player.
    BonusConversion,
    /// An operator funds the treasury pools from the root treasury.
    TreasuryFunding,
}

impl TransferKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Deposit => "deposit",
            TransferKind::TopUp => "top_up",
            TransferKind::Bet => "bet",
            TransferKind::Win => "win",
            TransferKind::Refund => "refund",
            TransferKind::Purchase => "purchase",
            TransferKind::Bonus => "bonus",
            TransferKind::BonusConversion => "bonus_conversion",
            TransferKind::TreasuryFunding => "treasury_funding",
        }
    }

    pub fn parse(text: &str) -> Option<TransferKind> {
        [
            TransferKind::Deposit,
            TransferKind::TopUp,
            TransferKind::Bet,
            TransferKind::Win,
            TransferKind::Refund,
            TransferKind::Purchase,
            TransferKind::Bonus,
            TransferKind::BonusConversion,
            TransferKind::TreasuryFunding,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// Why a client-supplied idempotency key is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("idempotency key must be 1 to {IDEMPOTENCY_KEY_LENGTH_MAX} printable ASCII characters")]
pub struct IdempotencyKeyError;

pub const IDEMPOTENCY_KEY_LENGTH_MAX: usize = 128;
pub const REFERENCE_LENGTH_MAX: usize = 200;

/// A key that makes a transfer request idempotent: printable ASCII, at most 128 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<IdempotencyKey, IdempotencyKeyError> {
        let printable = text.bytes().all(|byte| (0x21..=0x7e).contains(&byte));
        if text.is_empty() || text.len() > IDEMPOTENCY_KEY_LENGTH_MAX || !printable {
            return Err(IdempotencyKeyError);
        }
        Ok(IdempotencyKey(text.to_owned()))
    }

    /// Namespaces a client's key by its owner, so two players' keys never collide.
    pub fn scoped(scope: &str, client_key: &IdempotencyKey) -> Result<IdempotencyKey, IdempotencyKeyError> {
        IdempotencyKey::parse(&format!("{scope}:{}", client_key.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A request to move `amount` from `debit` to `credit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub key: IdempotencyKey,
    pub debit: AccountId,
    pub credit: AccountId,
    pub amount: Amount,
    pub kind: TransferKind,
    /// Free text tying the transfer to its cause (a bet id, an admin action); at most 200 bytes.
    pub reference: String,
    /// For a win or refund: the idempotency key of the stake it settles, so that a stake paid partly
    /// from bonus money pays back in the same proportion (see `wallet::bonus`). Not stored; a replay
    /// ignores it. Providers' payouts pass None: their stakes are cash only.
    pub settles: Option<IdempotencyKey>,
}

/// The result of a transfer that reached the ledger, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredOutcome {
    Posted {
        debit_balance_after: Balance,
        credit_balance_after: Balance,
    },
    Rejected(RejectionCode),
}

/// A transfer row: the request plus its stored outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTransfer {
    pub id: Uuid,
    pub request: TransferRequest,
    pub outcome: StoredOutcome,
    pub created_at: DateTime<Utc>,
}

/// Business reasons a transfer is refused. They are stored, so a retry fails the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionCode {
    InsufficientFunds,
    CurrencyMismatch,
    BalanceOverflow,
    /// The treasury pool that should pay (a bonus) holds less than the amount.
    TreasuryExhausted,
    /// The operator blocked the player: no stake, no deposit.
    PlayerBlocked,
    /// The player excluded themself until a date: no stake, no deposit.
    SelfExcluded,
    /// A deposit would cross the player's deposit limit of this period.
    DepositLimitReached(Period),
    /// A stake could make the player's net loss of this period cross their loss limit.
    LossLimitReached(Period),
    /// A stake would cross the player's wager limit of this period.
    WagerLimitReached(Period),
    /// The player's session has lasted their session limit; stakes resume after a break.
    SessionTimeLimitReached,
}

impl RejectionCode {
    pub const ALL: [RejectionCode; 16] = [
        RejectionCode::InsufficientFunds,
        RejectionCode::CurrencyMismatch,
        RejectionCode::BalanceOverflow,
        RejectionCode::TreasuryExhausted,
        RejectionCode::PlayerBlocked,
        RejectionCode::SelfExcluded,
        RejectionCode::DepositLimitReached(Period::Day),
        RejectionCode::DepositLimitReached(Period::Week),
        RejectionCode::DepositLimitReached(Period::Month),
        RejectionCode::LossLimitReached(Period::Day),
        RejectionCode::LossLimitReached(Period::Week),
        RejectionCode::LossLimitReached(Period::Month),
        RejectionCode::WagerLimitReached(Period::Day),
        RejectionCode::WagerLimitReached(Period::Week),
        RejectionCode::WagerLimitReached(Period::Month),
        RejectionCode::SessionTimeLimitReached,
    ];

    /// The stored form: limit codes name their period (`wager_limit_reached_day`).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionCode::InsufficientFunds => "insufficient_funds",
            RejectionCode::CurrencyMismatch => "currency_mismatch",
            RejectionCode::BalanceOverflow => "balance_overflow",
            RejectionCode::TreasuryExhausted => "treasury_exhausted",
            RejectionCode::PlayerBlocked => "player_blocked",
            RejectionCode::SelfExcluded => "self_excluded",
            RejectionCode::DepositLimitReached(Period::Day) => "deposit_limit_reached_day",
            RejectionCode::DepositLimitReached(Period::Week) => "deposit_limit_reached_week",
            RejectionCode::DepositLimitReached(Period::Month) => "deposit_limit_reached_month",
            RejectionCode::LossLimitReached(Period::Day) => "loss_limit_reached_day",
            RejectionCode::LossLimitReached(Period::Week) => "loss_limit_reached_week",
            RejectionCode::LossLimitReached(Period::Month) => "loss_limit_reached_month",
            RejectionCode::WagerLimitReached(Period::Day) => "wager_limit_reached_day",
            RejectionCode::WagerLimitReached(Period::Week) => "wager_limit_reached_week",
            RejectionCode::WagerLimitReached(Period::Month) => "wager_limit_reached_month",
            RejectionCode::SessionTimeLimitReached => "session_time_limit_reached",
        }
    }

    pub fn parse(text: &str) -> Option<RejectionCode> {
        RejectionCode::ALL.into_iter().find(|code| code.as_str() == text)
    }

    /// The code clients see: limit codes without their period (`wager_limit_reached`).
    pub fn client_code(self) -> &'static str {
        match self {
            RejectionCode::DepositLimitReached(_) => "deposit_limit_reached",
            RejectionCode::LossLimitReached(_) => "loss_limit_reached",
            RejectionCode::WagerLimitReached(_) => "wager_limit_reached",
            other => other.as_str(),
        }
    }

    /// A sentence for the player; limit refusals name the period.
    pub fn describe(self) -> String {
        let limit = |period: Period, what: &str| format!("the {} {what} limit would be exceeded", period.adjective());
        match self {
            RejectionCode::PlayerBlocked => "the player is blocked by the operator".to_owned(),
            RejectionCode::SelfExcluded => "the player is self-excluded".to_owned(),
            RejectionCode::DepositLimitReached(period) => limit(period, "deposit"),
            RejectionCode::LossLimitReached(period) => limit(period, "loss"),
            RejectionCode::WagerLimitReached(period) => limit(period, "wager"),
            RejectionCode::SessionTimeLimitReached => {
                "the session time limit is reached; stakes resume after a break".to_owned()
            }
            other => format!("the transfer was rejected: {}", other.as_str()),
        }
    }

    /// Whether the player's own protections refused (status, self-exclusion, a limit), not the ledger.
    pub fn is_responsible_gaming(self) -> bool {
        matches!(
            self,
            RejectionCode::PlayerBlocked
                | RejectionCode::SelfExcluded
                | RejectionCode::DepositLimitReached(_)
                | RejectionCode::LossLimitReached(_)
                | RejectionCode::WagerLimitReached(_)
                | RejectionCode::SessionTimeLimitReached
        )
    }

    /// Whether the refusal is about who the player is (403) rather than what they asked (422).
    pub fn is_forbidden(self) -> bool {
        matches!(self, RejectionCode::PlayerBlocked | RejectionCode::SelfExcluded)
    }
}

/// What a caller gets for a posted transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferReceipt {
    pub transfer_id: Uuid,
    pub debit_balance_after: Balance,
    pub credit_balance_after: Balance,
    pub created_at: DateTime<Utc>,
    /// True when this answer repeats the first result of the same idempotency key.
    pub replayed: bool,
}

/// Every way a transfer can fail, as its caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("{}", .0.describe())]
    Rejected(RejectionCode),
    #[error("the idempotency key was already used for a different transfer")]
    IdempotencyConflict,
    #[error("account {0} does not exist")]
    AccountNotFound(AccountId),
    #[error("a transfer needs two different accounts")]
    SameAccount,
    #[error("the wallet is overloaded; retry with the same idempotency key")]
    Overloaded,
    #[error("the wallet is shutting down; retry with the same idempotency key")]
    ShuttingDown,
    #[error("the ledger is unavailable ({0}); retry with the same idempotency key")]
    Unavailable(String),
}

impl TransferError {
    /// The error code clients see, the same over HTTP and the WebSocket. Limit codes reach clients
    /// without their period, which the message names.
    pub fn code(&self) -> &'static str {
        match self {
            TransferError::Rejected(code) => code.client_code(),
            TransferError::IdempotencyConflict => "idempotency_conflict",
            TransferError::AccountNotFound(_) => "account_not_found",
            TransferError::SameAccount => "same_account",
            TransferError::Overloaded => "wallet_overloaded",
            TransferError::ShuttingDown => "shutting_down",
            TransferError::Unavailable(_) => "ledger_unavailable",
        }
    }

    /// The HTTP status: a refusal about who the player is (blocked, self-excluded) is 403, one about
    /// what they asked (funds, limits, a reused key) 422; the three a client retries with the same key 503.
    pub fn status(&self) -> StatusCode {
        match self {
            TransferError::Rejected(code) if code.is_forbidden() => StatusCode::FORBIDDEN,
            TransferError::Rejected(_) | TransferError::IdempotencyConflict => StatusCode::UNPROCESSABLE_ENTITY,
            TransferError::AccountNotFound(_) => StatusCode::NOT_FOUND,
            TransferError::SameAccount => StatusCode::BAD_REQUEST,
            TransferError::Overloaded | TransferError::ShuttingDown | TransferError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }
}

/// A ledger account as the batch planner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    pub id: AccountId,
    pub kind: AccountKind,
    pub currency: String,
    pub balance: Balance,
}
