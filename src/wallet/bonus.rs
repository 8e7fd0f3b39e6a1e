//! Bonus money inside the batch planner. A player with a `player_bonus` row has a second ledger
//! account (`bonus:{player id}`, never negative). Their stakes are split between cash and bonus money
//! (`[bonus] stake_order`), their wins and refunds pay back in the proportion the settled stake was
//! paid, every stake counts towards the wagering requirement, and once it is met the whole bonus
//! balance becomes cash in a `BonusConversion` row.
//!
//! One request can become two rows: the row under the request's own key (the cash part, or the bonus
//! part when cash pays nothing) and a second leg under [`leg_key`]. Everything here is pure: the store
//! loads a [`BonusBook`] and writes the [`BonusState`]s a plan changed.

pub mod store;

use super::batch::{answer, decide, new_row, Working};
use super::ledger::{
    AccountId, AccountKind, IdempotencyKey, StoredOutcome, StoredTransfer, TransferError, TransferKind,
    TransferReceipt, TransferRequest,
};
use crate::money::Amount;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

pub use crate::configuration::StakeOrder;

/// A player's wagering progress, as read (with the revision the write compares against).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BonusState {
    pub player_account: AccountId,
    pub bonus_account: AccountId,
    pub wagering_required_micros: i64,
    pub wagered_micros: i64,
    pub conversions: i64,
    /// The revision read; the write sets `revision + 1` only where it is still this value.
    pub revision: i64,
}

/// What the planner knows about bonus players: their states and the stored rows their split needs.
#[derive(Debug, Default)]
pub struct BonusBook {
    states: HashMap<AccountId, BonusState>,
    /// Bonus account -> player account.
    owners: HashMap<AccountId, AccountId>,
    /// Stored rows by key: the stakes that payouts settle, and the second legs of this batch's keys.
    legs: HashMap<IdempotencyKey, StoredTransfer>,
    stake_order: StakeOrder,
}

impl BonusBook {
    pub fn new(
        states: impl IntoIterator<Item = BonusState>,
        legs: HashMap<IdempotencyKey, StoredTransfer>,
        stake_order: StakeOrder,
    ) -> BonusBook {
        let states: HashMap<AccountId, BonusState> =
            states.into_iter().map(|state| (state.player_account, state)).collect();
        let owners = states
            .values()
            .map(|state| (state.bonus_account, state.player_account))
            .collect();
        BonusBook {
            states,
            owners,
            legs,
            stake_order,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    pub fn states(&self) -> impl Iterator<Item = &BonusState> {
        self.states.values()
    }

    /// The player account an account's money belongs to (itself unless it is a bonus account).
    fn owner(&self, account: AccountId) -> AccountId {
        self.owners.get(&account).copied().unwrap_or(account)
    }
}

/// The key of a request's second leg: derived, so that a retry finds the same leg.
pub fn leg_key(key: &IdempotencyKey) -> IdempotencyKey {
    let digest = hex::encode(Sha256::digest(key.as_str().as_bytes()));
    IdempotencyKey::parse(&format!("bonus-leg:{digest}")).expect("a leg key is 74 printable characters")
}

/// The key of a bonus account's `conversions`-th conversion.
pub fn conversion_key(bonus_account: AccountId, conversions: i64) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("bonus-conversion:{bonus_account}:{conversions}"))
        .expect("a conversion key is short and printable")
}

/// The reference of a grant: it carries the wagering multiplier, so that a replayed batch adds the
/// same requirement and a retry with another multiplier is an idempotency conflict.
pub fn grant_reference(wagering_multiplier: u32, reason: &str) -> String {
    format!("wagering x{wagering_multiplier}: {reason}")
}

/// The multiplier of a grant's reference; 1 for a Bonus transfer that was not made by a grant.
fn wagering_multiplier_of(reference: &str) -> i64 {
    reference
        .strip_prefix("wagering x")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(multiplier, _)| multiplier.parse::<u32>().ok())
        .map_or(1, i64::from)
}

/// How a request of a bonus player divides between cash and bonus money (both parts non-negative,
/// adding up to the request's amount, the bonus part non-zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    bonus_account: AccountId,
    cash_micros: i64,
    bonus_micros: i64,
}

/// Splits a stake of `amount` given the player's cash and bonus balances; None when it cannot be paid.
pub fn split_stake(order: StakeOrder, amount: i64, cash: i64, bonus: i64) -> Option<(i64, i64)> {
    if i128::from(cash) + i128::from(bonus) < i128::from(amount) {
        return None;
    }
    Some(match order {
        StakeOrder::CashFirst => {
            let cash_part = amount.min(cash.max(0));
            (cash_part, amount - cash_part)
        }
        StakeOrder::BonusFirst => {
            let bonus_part = amount.min(bonus.max(0));
            (amount - bonus_part, bonus_part)
        }
    })
}

/// The bonus part of a payout: the stake's bonus share of it, rounded down (the player's cash gets
/// the remainder, so rounding never creates bonus money).
pub fn bonus_share(payout: i64, bonus_staked: i64, staked: i64) -> i64 {
    if staked <= 0 || bonus_staked <= 0 {
        return 0;
    }
    let share = i128::from(payout) * i128::from(bonus_staked.min(staked)) / i128::from(staked);
    i64::try_from(share).expect("a share of a payout is at most the payout")
}

/// The bonus side of one plan: the states it changed so far.
pub(super) struct BonusRun<'a> {
    book: &'a BonusBook,
    changed: BTreeMap<AccountId, BonusState>,
}

impl<'a> BonusRun<'a> {
    pub(super) fn new(book: &'a BonusBook) -> BonusRun<'a> {
        BonusRun {
            book,
            changed: BTreeMap::new(),
        }
    }

    pub(super) fn into_progress(self) -> BTreeMap<AccountId, BonusState> {
        self.changed
    }

    fn state(&self, player: AccountId) -> Option<&BonusState> {
        self.changed.get(&player).or_else(|| self.book.states.get(&player))
    }

    /// Whether a stored row answers `request` once bonus accounts count as their player's and the
    /// stored row's second leg is added back to its amount.
    pub(super) fn same_split(&self, work: &Working<'_>, stored: &StoredTransfer, request: &TransferRequest) -> bool {
        if self.book.is_empty() {
            return false;
        }
        let accounts = work.inputs.accounts;
        let is_house = |id: AccountId| accounts.get(&id).is_some_and(|state| state.kind == AccountKind::House);
        let same_account = |a: AccountId, b: AccountId| {
            let (a, b) = (self.book.owner(a), self.book.owner(b));
            a == b || (is_house(a) && is_house(b))
        };
        let leg_micros = self
            .leg(work, &stored.request.key)
            .map_or(0, |leg| leg.request.amount.micros());
        same_account(stored.request.debit, request.debit)
            && same_account(stored.request.credit, request.credit)
            && i128::from(stored.request.amount.micros()) + i128::from(leg_micros)
                == i128::from(request.amount.micros())
            && stored.request.kind == request.kind
            && stored.request.reference == request.reference
    }

    /// A stored or planned row by key, including the book's extra rows.
    fn row<'w>(&self, work: &'w Working<'_>, key: &IdempotencyKey) -> Option<&'w StoredTransfer>
    where
        'a: 'w,
    {
        work.row(key).or_else(|| self.book.legs.get(key))
    }

    fn leg<'w>(&self, work: &'w Working<'_>, key: &IdempotencyKey) -> Option<&'w StoredTransfer>
    where
        'a: 'w,
    {
        self.row(work, &leg_key(key))
            .filter(|leg| matches!(leg.outcome, StoredOutcome::Posted { .. }))
    }

    /// How a new request divides between cash and bonus money; None when it goes as it is.
    pub(super) fn split_of(&self, work: &Working<'_>, request: &TransferRequest) -> Option<Split> {
        if self.book.is_empty() {
            return None;
        }
        match request.kind {
            TransferKind::Bet => self.split_stake(work, request),
            TransferKind::Win | TransferKind::Refund => self.split_payout(work, request),
            _ => None,
        }
    }

    fn split_stake(&self, work: &Working<'_>, request: &TransferRequest) -> Option<Split> {
        let state = self.state(request.debit)?;
        let cash = work.balances.get(&request.debit)?.micros();
        let bonus = work.balances.get(&state.bonus_account)?.micros();
        let (cash_micros, bonus_micros) = split_stake(self.book.stake_order, request.amount.micros(), cash, bonus)?;
        (bonus_micros > 0).then_some(Split {
            bonus_account: state.bonus_account,
            cash_micros,
            bonus_micros,
        })
    }

    fn split_payout(&self, work: &Working<'_>, request: &TransferRequest) -> Option<Split> {
        let state = self.state(request.credit)?;
        let stake_key = request.settles.as_ref()?;
        let posted = |row: &&StoredTransfer| matches!(row.outcome, StoredOutcome::Posted { .. });
        let legs = [self.row(work, stake_key).filter(posted), self.leg(work, stake_key)];
        let (mut staked, mut bonus_staked) = (0i64, 0i64);
        for leg in legs.into_iter().flatten() {
            staked = staked.saturating_add(leg.request.amount.micros());
            if leg.request.debit == state.bonus_account {
                bonus_staked = bonus_staked.saturating_add(leg.request.amount.micros());
            }
        }
        let bonus_micros = bonus_share(request.amount.micros(), bonus_staked, staked);
        (bonus_micros > 0).then_some(Split {
            bonus_account: state.bonus_account,
            cash_micros: request.amount.micros() - bonus_micros,
            bonus_micros,
        })
    }

    /// Plans a split request: its main row and, when both parts are non-zero, its second leg. Either
    /// both post or the request is stored rejected as it came (a failed key stays failed).
    pub(super) fn post_split(
        &self,
        work: &mut Working<'_>,
        request: &TransferRequest,
        split: Split,
        new_transfer_id: &mut impl FnMut() -> Uuid,
    ) -> Result<TransferReceipt, TransferError> {
        let (main, second) = split_requests(request, split);
        let now = work.inputs.now;
        let first_outcome = decide(&main, work.inputs.accounts, &work.balances)?;
        let StoredOutcome::Posted {
            debit_balance_after,
            credit_balance_after,
        } = first_outcome
        else {
            let row = new_row(request.clone(), first_outcome, now, new_transfer_id);
            let outcome = answer(&row, false);
            work.push_row(row);
            return outcome;
        };
        let main_row = new_row(main, first_outcome, now, new_transfer_id);
        let Some(second) = second else {
            let outcome = answer(&main_row, false);
            work.push_row(main_row);
            return outcome;
        };
        // Decide the second leg on the balances the first leaves, and undo them if it does not post.
        let before = [main_row.request.debit, main_row.request.credit].map(|id| (id, work.balances[&id]));
        work.balances.insert(main_row.request.debit, debit_balance_after);
        work.balances.insert(main_row.request.credit, credit_balance_after);
        let second_outcome = decide(&second, work.inputs.accounts, &work.balances);
        match second_outcome {
            Ok(outcome @ StoredOutcome::Posted { .. }) => {
                let answer_of_main = answer(&main_row, false);
                work.push_row(main_row);
                work.push_row(new_row(second, outcome, now, new_transfer_id));
                answer_of_main
            }
            refused => {
                work.balances.extend(before);
                let outcome = refused?;
                let row = new_row(request.clone(), outcome, now, new_transfer_id);
                let outcome = answer(&row, false);
                work.push_row(row);
                outcome
            }
        }
    }

    /// Updates the wagering progress after a newly posted request and converts a met requirement.
    pub(super) fn after_posted(
        &mut self,
        work: &mut Working<'_>,
        request: &TransferRequest,
        new_transfer_id: &mut impl FnMut() -> Uuid,
    ) {
        if self.book.is_empty() {
            return;
        }
        let player = [request.debit, request.credit]
            .map(|account| self.book.owner(account))
            .into_iter()
            .find(|account| self.state(*account).is_some());
        let Some(player) = player else { return };
        let Some(mut state) = self.state(player).cloned() else {
            return;
        };
        let before = state.clone();
        let amount = request.amount.micros();
        if request.kind == TransferKind::Bonus && request.credit == state.bonus_account {
            let added = amount.saturating_mul(wagering_multiplier_of(&request.reference));
            state.wagering_required_micros = state.wagering_required_micros.saturating_add(added);
        }
        // Only play while the player holds bonus money counts: cash play after the bonus is gone must not
        // pre-pay the requirement of a later grant.
        if request.kind == TransferKind::Bet
            && state.wagering_required_micros > 0
            && bonus_held_before(work, request, state.bonus_account) > 0
        {
            state.wagered_micros = state.wagered_micros.saturating_add(amount);
        }
        self.convert_if_met(work, &mut state, new_transfer_id);
        if state != before {
            self.changed.insert(player, state);
        }
    }

    /// Appends the conversion of the whole bonus balance when the requirement is met (or none is left).
    fn convert_if_met(
        &self,
        work: &mut Working<'_>,
        state: &mut BonusState,
        new_transfer_id: &mut impl FnMut() -> Uuid,
    ) {
        let required = state.wagering_required_micros;
        let bonus_balance = work
            .balances
            .get(&state.bonus_account)
            .map_or(0, |balance| balance.micros());
        // With no requirement left (a win of a bonus stake that lands after its conversion), bonus money
        // is cash at once rather than stuck where no wagering can free it.
        if state.wagered_micros < required || bonus_balance <= 0 {
            return;
        }
        let Ok(amount) = Amount::parse(bonus_balance) else {
            return;
        };
        let conversion = TransferRequest {
            key: conversion_key(state.bonus_account, state.conversions),
            debit: state.bonus_account,
            credit: state.player_account,
            amount,
            kind: TransferKind::BonusConversion,
            reference: format!("wagering of {required} met"),
            settles: None,
        };
        // Only a missing player account or an overflowing cash balance stops a conversion; it is then
        // tried again after the player's next posted transfer.
        let Ok(outcome @ StoredOutcome::Posted { .. }) = decide(&conversion, work.inputs.accounts, &work.balances)
        else {
            return;
        };
        work.push_row(new_row(conversion, outcome, work.inputs.now, new_transfer_id));
        state.wagering_required_micros = 0;
        state.wagered_micros = 0;
        state.conversions += 1;
    }
}

/// The main row's request and the optional second leg's.
fn split_requests(request: &TransferRequest, split: Split) -> (TransferRequest, Option<TransferRequest>) {
    let on_bonus = |amount: i64| {
        let mut leg = request.clone();
        if request.kind == TransferKind::Bet {
            leg.debit = split.bonus_account;
        } else {
            leg.credit = split.bonus_account;
        }
        leg.amount = Amount::parse(amount).expect("a part of a valid amount is valid");
        leg.settles = None;
        leg
    };
    if split.cash_micros == 0 {
        let mut main = on_bonus(split.bonus_micros);
        main.key = request.key.clone();
        return (main, None);
    }
    let mut main = request.clone();
    main.amount = Amount::parse(split.cash_micros).expect("a part of a valid amount is valid");
    main.settles = None;
    let mut second = on_bonus(split.bonus_micros);
    second.key = leg_key(&request.key);
    (main, Some(second))
}

/// The player's bonus balance just before a newly posted stake: after it, plus what the stake took from
/// bonus money (its main row or its second leg, whichever debits the bonus account).
fn bonus_held_before(work: &Working<'_>, request: &TransferRequest, bonus_account: AccountId) -> i64 {
    let after = work.balances.get(&bonus_account).map_or(0, |balance| balance.micros());
    let taken: i64 = [request.key.clone(), leg_key(&request.key)]
        .iter()
        .filter_map(|key| work.row(key))
        .filter(|row| row.request.debit == bonus_account)
        .map(|row| row.request.amount.micros())
        .sum();
    after.saturating_add(taken)
}

#[cfg(test)]
mod tests;
