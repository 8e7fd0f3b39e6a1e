//! Responsible gaming where money is staked: a player's guard (status, self-exclusion, limits and the
//! usage they are measured against) and the pure rules the batch planner applies to every stake and
//! deposit of a guarded player. No I/O happens here; `store` reads and writes the rows.
//!
//! Periods are calendar periods in UTC (a day, an ISO week from Monday, a month). A movement that brings
//! usage to exactly a limit is allowed; one micro-unit more is refused. Wins, refunds and every other
//! credit are never refused: open bets settle and pay whatever the player's state.

pub mod store;

use super::ledger::{AccountId, AccountKind, AccountState, RejectionCode, TransferKind, TransferRequest};
use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A calendar period a limit counts over, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Day, Period::Week, Period::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    pub fn parse(text: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|period| period.as_str() == text)
    }

    /// "daily", "weekly", "monthly": how messages name the period.
    pub fn adjective(self) -> &'static str {
        match self {
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The start of the period that contains `now`: midnight UTC of the day, of the week's Monday, or of
    /// the month's first day.
    pub fn start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.date_naive();
        let first = match self {
            Period::Day => today,
            Period::Week => today - Duration::days(i64::from(today.weekday().num_days_from_monday())),
            Period::Month => today.with_day(1).unwrap_or(today),
        };
        first.and_time(NaiveTime::MIN).and_utc()
    }
}

/// What a money limit caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// Money brought in (operator deposits and top-ups).
    Deposit,
    /// Stakes minus wins and refunds.
    Loss,
    /// Stakes.
    Wager,
}

impl LimitKind {
    pub const ALL: [LimitKind; 3] = [LimitKind::Deposit, LimitKind::Loss, LimitKind::Wager];

    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Deposit => "deposit",
            LimitKind::Loss => "loss",
            LimitKind::Wager => "wager",
        }
    }

    pub fn parse(text: &str) -> Option<LimitKind> {
        LimitKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A raise or removal waiting out its cooling-off period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The value that will apply; `None` removes the limit.
    pub amount: Option<i64>,
    pub effective_at: DateTime<Utc>,
}

/// One limit: micro-units for money limits, minutes for the session limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    pub amount: Option<i64>,
    pub pending: Option<Pending>,
}

impl Limit {
    /// The value in force at `now`: a pending change applies once its time has come.
    pub fn effective(&self, now: DateTime<Utc>) -> Option<i64> {
        self.settled(now).amount
    }

    /// The same limit with a due pending change folded in.
    pub fn settled(&self, now: DateTime<Utc>) -> Limit {
        match self.pending {
            Some(pending) if pending.effective_at <= now => Limit {
                amount: pending.amount,
                pending: None,
            },
            _ => *self,
        }
    }

    /// A player's change: lowering a limit (or setting one where there was none) applies at once and
    /// cancels a pending raise; raising or removing one waits `cooling_off`.
    pub fn changed(&self, wanted: Option<i64>, now: DateTime<Utc>, cooling_off: Duration) -> Limit {
        let current = self.settled(now);
        let tightens = match (wanted, current.amount) {
            (Some(wanted), Some(current)) => wanted <= current,
            (Some(_), None) => true,
            (None, None) => true,
            (None, Some(_)) => false,
        };
        if tightens {
            return Limit {
                amount: wanted,
                pending: None,
            };
        }
        Limit {
            amount: current.amount,
            pending: Some(Pending {
                amount: wanted,
                effective_at: now + cooling_off,
            }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.amount.is_none() && self.pending.is_none()
    }
}

/// Every limit of a player.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// By `LimitKind` then `Period`.
    pub money: [[Limit; 3]; 3],
    /// Minutes a session may last.
    pub session: Limit,
}

impl Limits {
    pub fn get(&self, kind: LimitKind, period: Period) -> &Limit {
        &self.money[kind.index()][period.index()]
    }

    pub fn get_mut(&mut self, kind: LimitKind, period: Period) -> &mut Limit {
        &mut self.money[kind.index()][period.index()]
    }
}

/// Usage of one calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodUsage {
    /// The start of the period these counters belong to.
    pub started_at: DateTime<Utc>,
    pub deposited: i64,
    pub wagered: i64,
    /// Stakes minus wins and refunds; negative when the player is ahead.
    pub net_loss: i64,
}

impl PeriodUsage {
    pub fn empty(started_at: DateTime<Utc>) -> PeriodUsage {
        PeriodUsage {
            started_at,
            deposited: 0,
            wagered: 0,
            net_loss: 0,
        }
    }

    pub fn used(&self, kind: LimitKind) -> i64 {
        match kind {
            LimitKind::Deposit => self.deposited,
            LimitKind::Loss => self.net_loss,
            LimitKind::Wager => self.wagered,
        }
    }
}

/// What a player used of their limits, and their current session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardUsage {
    /// By `Period`.
    pub periods: [PeriodUsage; 3],
    pub session_started_at: Option<DateTime<Utc>>,
    pub last_stake_at: Option<DateTime<Utc>>,
}

impl GuardUsage {
    /// Nothing used yet, in the periods that contain `now`.
    pub fn empty(now: DateTime<Utc>) -> GuardUsage {
        GuardUsage {
            periods: Period::ALL.map(|period| PeriodUsage::empty(period.start(now))),
            session_started_at: None,
            last_stake_at: None,
        }
    }

    /// The usage of `period` at `now`: counters of an earlier period count as zero.
    pub fn of(&self, period: Period, now: DateTime<Utc>) -> PeriodUsage {
        let stored = self.periods[period.index()];
        let start = period.start(now);
        // A later stored start (another node's clock ran ahead) keeps its counters rather than lose them.
        if stored.started_at < start {
            PeriodUsage::empty(start)
        } else {
            stored
        }
    }

    /// When the session in progress at `now` started; `None` when the last stake is a break ago.
    pub fn session_start(&self, now: DateTime<Utc>, break_minutes: u32) -> Option<DateTime<Utc>> {
        let last = self.last_stake_at?;
        (now - last < Duration::minutes(i64::from(break_minutes)))
            .then_some(self.session_started_at)
            .flatten()
    }
}

/// A guarded player as the planner sees them: one `player_guards` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerGuard {
    pub account: AccountId,
    pub blocked: bool,
    pub self_excluded_until: Option<DateTime<Utc>>,
    pub limits: Limits,
    pub session_break_minutes: u32,
    pub usage: GuardUsage,
    /// Bumped by every write; the optimistic path compares and sets it.
    pub revision: i64,
}

impl PlayerGuard {
    /// True when the guard would refuse nothing now or later: no block, no exclusion still to come, no
    /// limit and no pending change.
    pub fn enforces_nothing(&self, now: DateTime<Utc>) -> bool {
        let money_free = self.limits.money.iter().flatten().all(Limit::is_empty);
        !self.blocked
            && self.self_excluded_until.is_none_or(|until| until <= now)
            && money_free
            && self.limits.session.is_empty()
    }
}

/// How a transfer touches a guarded player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// The player stakes: checked, counts as wagered and as a loss.
    Stake,
    /// Money comes in from outside: checked, counts as deposited.
    Deposit,
    /// A win or refund: never refused, reduces the net loss.
    Payout,
    /// The player buys items: refused to a blocked or self-excluded player, counts against no limit.
    Purchase,
}

/// The guarded player a request touches, and how; `None` when the request is none of the guard's
/// business (no guarded player, or a kind limits do not count).
pub fn movement_of(
    request: &TransferRequest,
    accounts: &HashMap<AccountId, AccountState>,
    guards: &HashMap<AccountId, PlayerGuard>,
) -> Option<(AccountId, Movement)> {
    let is_guarded_player = |id: AccountId| {
        guards.contains_key(&id) && accounts.get(&id).is_some_and(|state| state.kind == AccountKind::Player)
    };
    let (account, movement) = match request.kind {
        TransferKind::Bet => (request.debit, Movement::Stake),
        TransferKind::Deposit | TransferKind::TopUp => (request.credit, Movement::Deposit),
        TransferKind::Win | TransferKind::Refund => (request.credit, Movement::Payout),
        TransferKind::Purchase => (request.debit, Movement::Purchase),
        _ => return None,
    };
    is_guarded_player(account).then_some((account, movement))
}

/// Whether the player may make this movement at `now`, given what they used so far.
pub fn check(guard: &PlayerGuard, movement: Movement, amount: i64, now: DateTime<Utc>) -> Result<(), RejectionCode> {
    if movement == Movement::Payout {
        return Ok(());
    }
    if guard.blocked {
        return Err(RejectionCode::PlayerBlocked);
    }
    if guard.self_excluded_until.is_some_and(|until| until > now) {
        return Err(RejectionCode::SelfExcluded);
    }
    if movement == Movement::Stake && session_expired(guard, now) {
        return Err(RejectionCode::SessionTimeLimitReached);
    }
    let kinds: &[LimitKind] = match movement {
        Movement::Deposit => &[LimitKind::Deposit],
        Movement::Stake => &[LimitKind::Loss, LimitKind::Wager],
        Movement::Payout | Movement::Purchase => &[],
    };
    for period in Period::ALL {
        let usage = guard.usage.of(period, now);
        for kind in kinds {
            let Some(limit) = guard.limits.get(*kind, period).effective(now) else {
                continue;
            };
            if i128::from(usage.used(*kind)) + i128::from(amount) > i128::from(limit) {
                return Err(limit_reached(*kind, period));
            }
        }
    }
    Ok(())
}

fn limit_reached(kind: LimitKind, period: Period) -> RejectionCode {
    match kind {
        LimitKind::Deposit => RejectionCode::DepositLimitReached(period),
        LimitKind::Loss => RejectionCode::LossLimitReached(period),
        LimitKind::Wager => RejectionCode::WagerLimitReached(period),
    }
}

/// A session that has lasted its limit refuses stakes until the player takes a break.
fn session_expired(guard: &PlayerGuard, now: DateTime<Utc>) -> bool {
    let Some(minutes) = guard.limits.session.effective(now) else {
        return false;
    };
    match guard.usage.session_start(now, guard.session_break_minutes) {
        Some(started) => now - started >= Duration::minutes(minutes),
        None => false,
    }
}

/// Counts a posted movement into the player's usage.
pub fn apply(guard: &mut PlayerGuard, movement: Movement, amount: i64, now: DateTime<Utc>) {
    if movement == Movement::Purchase {
        return;
    }
    let usage = &mut guard.usage;
    for period in Period::ALL {
        let mut counters = usage.of(period, now);
        match movement {
            Movement::Stake => {
                counters.wagered = counters.wagered.saturating_add(amount);
                counters.net_loss = counters.net_loss.saturating_add(amount);
            }
            Movement::Payout => counters.net_loss = counters.net_loss.saturating_sub(amount),
            Movement::Deposit => counters.deposited = counters.deposited.saturating_add(amount),
            Movement::Purchase => {}
        }
        usage.periods[period.index()] = counters;
    }
    if movement == Movement::Stake {
        if usage.session_start(now, guard.session_break_minutes).is_none() {
            usage.session_started_at = Some(now);
        }
        usage.last_stake_at = Some(now);
    }
}

#[cfg(test)]
mod tests;
