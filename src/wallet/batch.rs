//! The pure heart of a wallet batch: given the requests of one batch, the rows already stored under
//! their idempotency keys and the locked state of their accounts, decide every request's outcome,
//! the rows to insert and the net balance change per account. No I/O happens here, so the same
//! function is checked against a simple model by property tests and run against Postgres by the store.

use super::bonus::{self, BonusBook, BonusState};
use super::guard::{self, PlayerGuard};
use super::ledger::{
    AccountId, AccountKind, AccountState, IdempotencyKey, RejectionCode, StoredOutcome, StoredTransfer, TransferError,
    TransferReceipt, TransferRequest,
};
use crate::money::Balance;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// Everything a batch decided, ready to be written in one transaction.
#[derive(Debug, Default)]
pub struct BatchPlan {
    /// One answer per request, in request order.
    pub outcomes: Vec<Result<TransferReceipt, TransferError>>,
    /// New transfer rows (posted and rejected), in request order.
    pub new_rows: Vec<StoredTransfer>,
    /// Net balance change of every account a posted row touches, zero included: the write compares and
    /// sets each of them, so a balance that another node changed meanwhile is always noticed.
    pub balance_deltas: BTreeMap<AccountId, i64>,
    /// Guarded players whose usage the batch changed, as it now stands: the store writes each by
    /// compare-and-set on the revision it read.
    pub guard_usage: BTreeMap<AccountId, PlayerGuard>,
    /// The wagering progress of every bonus player the batch changed, by player account.
    pub bonus_progress: BTreeMap<AccountId, BonusState>,
}

/// The inputs a plan reads, gathered by the caller under the batch's transaction.
pub struct BatchInputs<'a> {
    pub existing: &'a HashMap<IdempotencyKey, StoredTransfer>,
    pub accounts: &'a HashMap<AccountId, AccountState>,
    /// The players that have a `player_guards` row (limits, a status, a self-exclusion); others have none.
    pub guards: &'a HashMap<AccountId, PlayerGuard>,
    pub now: DateTime<Utc>,
    /// Players with a bonus row (and the stored rows their split needs); empty for everyone else.
    pub bonuses: &'a BonusBook,
}

/// A plan in the making: the running balances and the rows decided so far.
pub(super) struct Working<'a> {
    pub(super) inputs: &'a BatchInputs<'a>,
    pub(super) plan: BatchPlan,
    pub(super) balances: HashMap<AccountId, Balance>,
    planned: HashMap<IdempotencyKey, usize>,
    touched: BTreeSet<AccountId>,
}

impl Working<'_> {
    /// A row stored before this batch or planned earlier in it, by key.
    pub(super) fn row(&self, key: &IdempotencyKey) -> Option<&StoredTransfer> {
        self.inputs
            .existing
            .get(key)
            .or_else(|| self.planned.get(key).map(|index| &self.plan.new_rows[*index]))
    }

    /// Adds a decided row to the plan and, when it posted, moves the running balances.
    pub(super) fn push_row(&mut self, row: StoredTransfer) {
        if let StoredOutcome::Posted {
            debit_balance_after,
            credit_balance_after,
        } = row.outcome
        {
            self.balances.insert(row.request.debit, debit_balance_after);
            self.balances.insert(row.request.credit, credit_balance_after);
            self.touched.extend([row.request.debit, row.request.credit]);
        }
        self.planned.insert(row.request.key.clone(), self.plan.new_rows.len());
        self.plan.new_rows.push(row);
    }
}

/// Decides a batch. Requests are applied in order, each seeing the balances left by the previous ones.
pub fn plan_batch(
    requests: &[TransferRequest],
    inputs: &BatchInputs<'_>,
    mut new_transfer_id: impl FnMut() -> Uuid,
) -> BatchPlan {
    let mut work = Working {
        inputs,
        plan: BatchPlan::default(),
        balances: inputs.accounts.iter().map(|(id, state)| (*id, state.balance)).collect(),
        planned: HashMap::new(),
        touched: BTreeSet::new(),
    };
    let mut bonus = bonus::BonusRun::new(inputs.bonuses);
    for request in requests {
        if let Some(stored) = work.row(&request.key) {
            let outcome =
                if same_fields(&stored.request, request, inputs.accounts) || bonus.same_split(&work, stored, request) {
                    answer(stored, true)
                } else {
                    Err(TransferError::IdempotencyConflict)
                };
            work.plan.outcomes.push(outcome);
            continue;
        }
        let guarded = guard::movement_of(request, inputs.accounts, inputs.guards);
        let refusal = guarded.and_then(|(player, movement)| {
            let running = work.plan.guard_usage.get(&player).unwrap_or(&inputs.guards[&player]);
            guard::check(running, movement, request.amount.micros(), inputs.now).err()
        });
        let outcome = match refusal {
            // A guard's refusal outranks the ledger's own (a blocked player hears that they are blocked),
            // but not a request that never reaches the ledger; nothing is split.
            Some(code) => match decide(request, inputs.accounts, &work.balances) {
                Err(error) => Err(error),
                Ok(_) => post_row(&mut work, request, StoredOutcome::Rejected(code), &mut new_transfer_id),
            },
            None => match bonus.split_of(&work, request) {
                Some(split) => bonus.post_split(&mut work, request, split, &mut new_transfer_id),
                None => match decide(request, inputs.accounts, &work.balances) {
                    Err(error) => Err(error),
                    Ok(decision) => post_row(&mut work, request, decision, &mut new_transfer_id),
                },
            },
        };
        if outcome.is_ok() {
            // The request's own accounts are compared and set even when a split wrote another account
            // instead (a stake paid by bonus money alone): a guard that changed meanwhile touched the
            // player's account row, and the write must notice it.
            work.touched.extend([request.debit, request.credit]);
            if let Some((player, movement)) = guarded {
                let running = work
                    .plan
                    .guard_usage
                    .entry(player)
                    .or_insert_with(|| inputs.guards[&player].clone());
                guard::apply(running, movement, request.amount.micros(), inputs.now);
            }
            bonus.after_posted(&mut work, request, &mut new_transfer_id);
        }
        work.plan.outcomes.push(outcome);
    }
    work.plan.bonus_progress = bonus.into_progress();
    work.plan.balance_deltas = net_deltas(inputs.accounts, &work.balances, &work.touched);
    work.plan
}

/// Stores a decided row under the request's own key and answers the request from it.
fn post_row(
    work: &mut Working<'_>,
    request: &TransferRequest,
    outcome: StoredOutcome,
    new_transfer_id: &mut impl FnMut() -> Uuid,
) -> Result<TransferReceipt, TransferError> {
    let row = new_row(request.clone(), outcome, work.inputs.now, new_transfer_id);
    let answer = answer(&row, false);
    work.push_row(row);
    answer
}

pub(super) fn new_row(
    request: TransferRequest,
    outcome: StoredOutcome,
    now: DateTime<Utc>,
    new_transfer_id: &mut impl FnMut() -> Uuid,
) -> StoredTransfer {
    StoredTransfer {
        id: new_transfer_id(),
        request,
        outcome,
        created_at: now,
    }
}

/// Two requests are the same when every field matches, except that any two house sub-accounts count
/// as the same account: which sub-account serves a player is an internal detail of the shard layout.
fn same_fields(
    stored: &TransferRequest,
    request: &TransferRequest,
    accounts: &HashMap<AccountId, AccountState>,
) -> bool {
    let is_house = |id: AccountId| accounts.get(&id).is_some_and(|state| state.kind == AccountKind::House);
    let same_account = |a: AccountId, b: AccountId| a == b || (is_house(a) && is_house(b));
    same_account(stored.debit, request.debit)
        && same_account(stored.credit, request.credit)
        && stored.amount == request.amount
        && stored.kind == request.kind
        && stored.reference == request.reference
}

pub(super) fn answer(row: &StoredTransfer, replayed: bool) -> Result<TransferReceipt, TransferError> {
    match row.outcome {
        StoredOutcome::Posted {
            debit_balance_after,
            credit_balance_after,
        } => Ok(TransferReceipt {
            transfer_id: row.id,
            debit_balance_after,
            credit_balance_after,
            created_at: row.created_at,
            replayed,
        }),
        StoredOutcome::Rejected(code) => Err(TransferError::Rejected(code)),
    }
}

/// Decides a new request against the running balances. `Err` means the request never reaches the
/// ledger (it names accounts that do not exist); `Ok` is a row to store, posted or rejected.
pub(super) fn decide(
    request: &TransferRequest,
    accounts: &HashMap<AccountId, AccountState>,
    balances: &HashMap<AccountId, Balance>,
) -> Result<StoredOutcome, TransferError> {
    if request.debit == request.credit {
        return Err(TransferError::SameAccount);
    }
    let debit = accounts
        .get(&request.debit)
        .ok_or(TransferError::AccountNotFound(request.debit))?;
    let credit = accounts
        .get(&request.credit)
        .ok_or(TransferError::AccountNotFound(request.credit))?;
    if debit.currency != credit.currency {
        return Ok(StoredOutcome::Rejected(RejectionCode::CurrencyMismatch));
    }
    let debit_before = balances[&request.debit];
    let credit_before = balances[&request.credit];
    let (Ok(debit_after), Ok(credit_after)) = (
        debit_before.checked_debit(request.amount),
        credit_before.checked_credit(request.amount),
    ) else {
        return Ok(StoredOutcome::Rejected(RejectionCode::BalanceOverflow));
    };
    if debit_after.is_negative() && !debit.kind.may_go_negative() {
        let code = if debit.kind == AccountKind::TreasuryPool {
            RejectionCode::TreasuryExhausted
        } else {
            RejectionCode::InsufficientFunds
        };
        return Ok(StoredOutcome::Rejected(code));
    }
    Ok(StoredOutcome::Posted {
        debit_balance_after: debit_after,
        credit_balance_after: credit_after,
    })
}

fn net_deltas(
    accounts: &HashMap<AccountId, AccountState>,
    balances: &HashMap<AccountId, Balance>,
    touched: &BTreeSet<AccountId>,
) -> BTreeMap<AccountId, i64> {
    let mut deltas = BTreeMap::new();
    for id in touched {
        let delta = i128::from(balances[id].micros()) - i128::from(accounts[id].balance.micros());
        // A batch holds at most 4,096 transfers of at most 10^15 micro-units each, so its net change per
        // account stays far inside i64.
        let delta = i64::try_from(delta).expect("a batch's net change per account fits in i64");
        deltas.insert(*id, delta);
    }
    deltas
}

#[cfg(test)]
mod tests;
