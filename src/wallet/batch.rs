//! The pure heart of a wallet batch: given the requests of one batch, the rows already stored under
//! their idempotency keys and the locked state of their accounts, decide every request's outcome,
//! the rows to insert and the net balance change per account. No I/O happens here, so the same
//! function is checked against a simple model by property tests and run against Postgres by the store.

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
}

/// The inputs a plan reads, gathered by the caller under the batch's transaction.
pub struct BatchInputs<'a> {
    pub existing: &'a HashMap<IdempotencyKey, StoredTransfer>,
    pub accounts: &'a HashMap<AccountId, AccountState>,
    /// The players that have a `player_guards` row (limits, a status, a self-exclusion); others have none.
    pub guards: &'a HashMap<AccountId, PlayerGuard>,
    pub now: DateTime<Utc>,
}

/// Decides a batch. Requests are applied in order, each seeing the balances left by the previous ones.
pub fn plan_batch(
    requests: &[TransferRequest],
    inputs: &BatchInputs<'_>,
    mut new_transfer_id: impl FnMut() -> Uuid,
) -> BatchPlan {
    let mut plan = BatchPlan::default();
    let mut balances: HashMap<AccountId, Balance> =
        inputs.accounts.iter().map(|(id, state)| (*id, state.balance)).collect();
    let mut planned: HashMap<&IdempotencyKey, usize> = HashMap::new();
    let mut touched: BTreeSet<AccountId> = BTreeSet::new();

    for request in requests {
        let earlier = inputs
            .existing
            .get(&request.key)
            .or_else(|| planned.get(&request.key).map(|index| &plan.new_rows[*index]));
        if let Some(stored) = earlier {
            let outcome = replay(stored, request, inputs.accounts);
            plan.outcomes.push(outcome);
            continue;
        }
        let guarded = guard::movement_of(request, inputs.accounts, inputs.guards);
        // A guard's refusal outranks the ledger's own (a blocked player hears that they are blocked), but
        // not a request that never reaches the ledger.
        let decided = decide(request, inputs.accounts, &balances).map(|outcome| match guarded {
            Some((player, movement)) => {
                let running = plan.guard_usage.get(&player).unwrap_or(&inputs.guards[&player]);
                match guard::check(running, movement, request.amount.micros(), inputs.now) {
                    Ok(()) => outcome,
                    Err(code) => StoredOutcome::Rejected(code),
                }
            }
            None => outcome,
        });
        match decided {
            Err(error) => plan.outcomes.push(Err(error)),
            Ok(decision) => {
                let row = StoredTransfer {
                    id: new_transfer_id(),
                    request: request.clone(),
                    outcome: decision,
                    created_at: inputs.now,
                };
                if let StoredOutcome::Posted {
                    debit_balance_after,
                    credit_balance_after,
                } = row.outcome
                {
                    balances.insert(request.debit, debit_balance_after);
                    balances.insert(request.credit, credit_balance_after);
                    touched.extend([request.debit, request.credit]);
                    if let Some((player, movement)) = guarded {
                        let running = plan
                            .guard_usage
                            .entry(player)
                            .or_insert_with(|| inputs.guards[&player].clone());
                        guard::apply(running, movement, request.amount.micros(), inputs.now);
                    }
                }
                plan.outcomes.push(answer(&row, false));
                planned.insert(&request.key, plan.new_rows.len());
                plan.new_rows.push(row);
            }
        }
    }
    plan.balance_deltas = net_deltas(inputs.accounts, &balances, &touched);
    plan
}

/// The answer a stored row gives to a request with the same key.
fn replay(
    stored: &StoredTransfer,
    request: &TransferRequest,
    accounts: &HashMap<AccountId, AccountState>,
) -> Result<TransferReceipt, TransferError> {
    if same_fields(&stored.request, request, accounts) {
        answer(stored, true)
    } else {
        Err(TransferError::IdempotencyConflict)
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

fn answer(row: &StoredTransfer, replayed: bool) -> Result<TransferReceipt, TransferError> {
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
fn decide(
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
