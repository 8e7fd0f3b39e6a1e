//! The bonus split against a small in-memory ledger: examples of each rule, then a property test that
//! cash plus bonus money is conserved, never negative, and converted exactly when wagering is met.

use super::*;
use crate::money::Balance;
use crate::wallet::batch::{plan_batch, BatchInputs};
use crate::wallet::ledger::{AccountState, RejectionCode};
use chrono::Utc;
use proptest::prelude::*;

const PLAYER: AccountId = AccountId(1);
const BONUS: AccountId = AccountId(2);
const HOUSE: AccountId = AccountId(100);
const TREASURY: AccountId = AccountId(200);
const POOL: AccountId = AccountId(300);

struct Ledger {
    accounts: HashMap<AccountId, AccountState>,
    rows: HashMap<IdempotencyKey, StoredTransfer>,
    state: BonusState,
    order: StakeOrder,
    next_id: u128,
}

impl Ledger {
    fn new(order: StakeOrder) -> Ledger {
        let mut accounts = HashMap::new();
        for (id, kind) in [
            (PLAYER, AccountKind::Player),
            (BONUS, AccountKind::Bonus),
            (HOUSE, AccountKind::House),
            (TREASURY, AccountKind::Treasury),
            (POOL, AccountKind::TreasuryPool),
        ] {
            let state = AccountState {
                id,
                kind,
                currency: "USD".into(),
                balance: Balance::ZERO,
            };
            accounts.insert(id, state);
        }
        let state = BonusState {
            player_account: PLAYER,
            bonus_account: BONUS,
            wagering_required_micros: 0,
            wagered_micros: 0,
            conversions: 0,
            revision: 0,
        };
        let mut ledger = Ledger {
            accounts,
            rows: HashMap::new(),
            state,
            order,
            next_id: 0,
        };
        ledger.commit(&[transfer(
            "fund-pool",
            TREASURY,
            POOL,
            1_000_000,
            TransferKind::TreasuryFunding,
        )]);
        ledger
    }

    /// Plans a batch the way the store does (rows stored before it, in `existing` and as legs) and applies it.
    fn commit(&mut self, batch: &[TransferRequest]) -> Vec<Result<TransferReceipt, TransferError>> {
        let book = BonusBook::new([self.state.clone()], self.rows.clone(), self.order);
        let inputs = BatchInputs {
            existing: &self.rows,
            accounts: &self.accounts,
            guards: &HashMap::new(),
            now: Utc::now(),
            bonuses: &book,
        };
        let mut next_id = self.next_id;
        let plan = plan_batch(batch, &inputs, || {
            next_id += 1;
            Uuid::from_u128(next_id)
        });
        self.next_id = next_id;
        for (id, delta) in &plan.balance_deltas {
            let account = self.accounts.get_mut(id).unwrap();
            account.balance = Balance::from_micros(account.balance.micros() + delta);
        }
        for row in plan.new_rows {
            assert!(
                self.rows.insert(row.request.key.clone(), row).is_none(),
                "a key is stored once"
            );
        }
        if let Some(state) = plan.bonus_progress.get(&PLAYER) {
            assert_eq!(
                state.revision, self.state.revision,
                "the plan read the current revision"
            );
            self.state = BonusState {
                revision: state.revision + 1,
                ..state.clone()
            };
        }
        plan.outcomes
    }

    fn balance(&self, id: AccountId) -> i64 {
        self.accounts[&id].balance.micros()
    }

    fn row(&self, key: &str) -> Option<&StoredTransfer> {
        self.rows.get(&IdempotencyKey::parse(key).unwrap())
    }
}

fn transfer(key: &str, debit: AccountId, credit: AccountId, micros: i64, kind: TransferKind) -> TransferRequest {
    TransferRequest {
        key: IdempotencyKey::parse(key).unwrap(),
        debit,
        credit,
        amount: Amount::parse(micros).unwrap(),
        kind,
        reference: "r".into(),
        settles: None,
    }
}

fn grant(key: &str, micros: i64, multiplier: u32) -> TransferRequest {
    let mut request = transfer(key, POOL, BONUS, micros, TransferKind::Bonus);
    request.reference = grant_reference(multiplier, "admin");
    request
}

fn stake(key: &str, micros: i64) -> TransferRequest {
    transfer(key, PLAYER, HOUSE, micros, TransferKind::Bet)
}

fn win(key: &str, micros: i64, settles: &str) -> TransferRequest {
    let mut request = transfer(key, HOUSE, PLAYER, micros, TransferKind::Win);
    request.settles = Some(IdempotencyKey::parse(settles).unwrap());
    request
}

fn deposit(key: &str, micros: i64) -> TransferRequest {
    transfer(key, TREASURY, PLAYER, micros, TransferKind::Deposit)
}

/// A cash-first stake takes all the cash and the rest from bonus money, in two rows; a replay answers
/// the first result; the win that settles it pays back in the same proportion.
#[test]
fn a_stake_splits_and_its_win_pays_back_in_proportion() {
    let mut ledger = Ledger::new(StakeOrder::CashFirst);
    ledger.commit(&[deposit("d", 30), grant("g", 70, 10)]);
    let first = ledger.commit(&[stake("s", 100)]).remove(0).unwrap();
    assert_eq!((ledger.balance(PLAYER), ledger.balance(BONUS)), (0, 0));
    assert_eq!(ledger.row("s").unwrap().request.amount.micros(), 30);
    let leg = ledger.rows[&leg_key(&IdempotencyKey::parse("s").unwrap())].clone();
    assert_eq!((leg.request.debit, leg.request.amount.micros()), (BONUS, 70));
    let again = ledger.commit(&[stake("s", 100)]).remove(0).unwrap();
    assert!(again.replayed);
    assert_eq!(again.transfer_id, first.transfer_id);
    assert_eq!(
        ledger.commit(&[stake("s", 99)])[0],
        Err(TransferError::IdempotencyConflict)
    );
    ledger.commit(&[win("w", 201, "s")]);
    // 201 x 70 / 100 = 140.7: the bonus account gets 140, the cash the remaining 61.
    assert_eq!((ledger.balance(PLAYER), ledger.balance(BONUS)), (61, 140));
    assert_eq!(ledger.state.wagered_micros, 100);
}

/// A stake is refused only when cash and bonus money together do not cover it; a bonus-first stake
/// paid by bonus money alone is one row under its own key.
#[test]
fn insufficient_funds_only_when_cash_and_bonus_fall_short() {
    let mut ledger = Ledger::new(StakeOrder::BonusFirst);
    ledger.commit(&[deposit("d", 10), grant("g", 50, 1)]);
    assert_eq!(
        ledger.commit(&[stake("too-much", 61)])[0],
        Err(TransferError::Rejected(RejectionCode::InsufficientFunds))
    );
    assert!(ledger.commit(&[stake("s", 40)])[0].is_ok());
    let row = ledger.row("s").unwrap();
    assert_eq!((row.request.debit, row.request.amount.micros()), (BONUS, 40));
    assert!(!ledger.rows.contains_key(&leg_key(&row.request.key)));
    assert_eq!((ledger.balance(PLAYER), ledger.balance(BONUS)), (10, 10));
}

/// Once the stakes reach the requirement, the whole bonus balance becomes cash and the progress resets.
#[test]
fn meeting_the_requirement_converts_the_bonus_balance() {
    let mut ledger = Ledger::new(StakeOrder::CashFirst);
    ledger.commit(&[deposit("d", 100), grant("g", 20, 3)]);
    assert_eq!(ledger.state.wagering_required_micros, 60);
    ledger.commit(&[stake("s1", 50)]);
    assert_eq!((ledger.state.wagered_micros, ledger.state.conversions), (50, 0));
    ledger.commit(&[stake("s2", 10)]);
    let conversion = ledger.row(conversion_key(BONUS, 0).as_str()).expect("a conversion row");
    assert_eq!(conversion.request.amount.micros(), 20);
    assert_eq!((ledger.balance(PLAYER), ledger.balance(BONUS)), (60, 0));
    assert_eq!(
        (
            ledger.state.wagering_required_micros,
            ledger.state.wagered_micros,
            ledger.state.conversions
        ),
        (0, 0, 1)
    );
}

/// Cash play after the bonus money is gone does not pre-pay the requirement of a later grant.
#[test]
fn only_play_while_bonus_money_is_held_counts() {
    let mut ledger = Ledger::new(StakeOrder::BonusFirst);
    ledger.commit(&[deposit("d", 1_000), grant("g1", 10, 10)]);
    ledger.commit(&[stake("s1", 10)]);
    assert_eq!((ledger.balance(BONUS), ledger.state.wagered_micros), (0, 10));
    ledger.commit(&[stake("s2", 500)]);
    assert_eq!(ledger.state.wagered_micros, 10);
    ledger.commit(&[grant("g2", 10, 10)]);
    assert_eq!(ledger.state.wagering_required_micros, 200);
    assert_eq!((ledger.balance(BONUS), ledger.state.conversions), (10, 0));
}

/// The bonus share of a win that lands after its stake met the requirement (and the bonus converted)
/// has no requirement left: it becomes cash at once instead of staying bonus money for good.
#[test]
fn a_bonus_win_after_the_conversion_is_cash_at_once() {
    let mut ledger = Ledger::new(StakeOrder::CashFirst);
    ledger.commit(&[deposit("d", 100), grant("g", 30, 1)]);
    ledger.commit(&[stake("s", 110)]);
    assert_eq!((ledger.balance(BONUS), ledger.state.conversions), (0, 1));
    ledger.commit(&[win("w", 220, "s")]);
    assert!(ledger.row(conversion_key(BONUS, 1).as_str()).is_some());
    assert_eq!((ledger.balance(PLAYER), ledger.balance(BONUS)), (240, 0));
}

/// A grant from an empty treasury pool is refused and adds no requirement.
#[test]
fn an_empty_pool_refuses_a_grant() {
    let mut ledger = Ledger::new(StakeOrder::CashFirst);
    assert_eq!(
        ledger.commit(&[grant("big", 2_000_000, 5)])[0],
        Err(TransferError::Rejected(RejectionCode::TreasuryExhausted))
    );
    assert_eq!(ledger.state.wagering_required_micros, 0);
}

#[test]
fn the_multiplier_is_read_back_from_the_reference() {
    assert_eq!(wagering_multiplier_of(&grant_reference(35, "referral_referee")), 35);
    assert_eq!(wagering_multiplier_of("something else"), 1);
}

#[derive(Debug, Clone)]
enum Step {
    Deposit(i64),
    Grant(i64, u32),
    Stake(i64),
    /// A win settling the stake with this index among the stakes made so far (modulo their count).
    Win(i64, usize),
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (1..200i64).prop_map(Step::Deposit),
        1 => (1..200i64, 1..5u32).prop_map(|(amount, multiplier)| Step::Grant(amount, multiplier)),
        4 => (1..150i64).prop_map(Step::Stake),
        2 => (0..400i64, 0..64usize).prop_map(|(amount, stake)| Step::Win(amount, stake)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the steps and batches: the player's cash plus bonus money moves by exactly the posted
    /// amounts, no owned balance goes negative, the books net to zero, and a met requirement never
    /// leaves bonus money unconverted.
    #[test]
    fn cash_and_bonus_are_conserved_and_converted_when_met(
        steps in proptest::collection::vec(step_strategy(), 1..60),
        cuts in proptest::collection::vec(1..6usize, 1..20),
        bonus_first in any::<bool>(),
        retries in any::<bool>(),
    ) {
        let order = if bonus_first { StakeOrder::BonusFirst } else { StakeOrder::CashFirst };
        let mut ledger = Ledger::new(order);
        let mut stakes: Vec<String> = Vec::new();
        let requests: Vec<TransferRequest> = steps.iter().enumerate().map(|(index, step)| {
            let key = format!("k{index}");
            match step {
                Step::Deposit(amount) => deposit(&key, *amount),
                Step::Grant(amount, multiplier) => grant(&key, *amount, *multiplier),
                Step::Stake(amount) => {
                    stakes.push(key.clone());
                    stake(&key, *amount)
                }
                Step::Win(amount, stake) if !stakes.is_empty() && *amount > 0 => {
                    win(&key, *amount, &stakes[stake % stakes.len()])
                }
                Step::Win(..) => deposit(&key, 1),
            }
        }).collect();
        let mut expected_owned: i64 = 0;
        let mut remaining: &[TransferRequest] = &requests;
        for cut in cuts.iter().cycle() {
            if remaining.is_empty() {
                break;
            }
            let (batch, rest) = remaining.split_at((*cut).min(remaining.len()));
            remaining = rest;
            let mut batch = batch.to_vec();
            if retries {
                batch.extend(batch.clone());
            }
            let outcomes = ledger.commit(&batch);
            for (request, outcome) in batch.iter().zip(&outcomes) {
                if let Ok(receipt) = outcome {
                    if !receipt.replayed {
                        let amount = request.amount.micros();
                        expected_owned += if request.kind == TransferKind::Bet { -amount } else { amount };
                    }
                }
            }
            let (cash, bonus) = (ledger.balance(PLAYER), ledger.balance(BONUS));
            prop_assert!(cash >= 0 && bonus >= 0 && ledger.balance(POOL) >= 0);
            prop_assert_eq!(cash + bonus, expected_owned);
            let total: i64 = ledger.accounts.values().map(|account| account.balance.micros()).sum();
            prop_assert_eq!(total, 0);
            let state = &ledger.state;
            let met = state.wagering_required_micros > 0 && state.wagered_micros >= state.wagering_required_micros;
            prop_assert!(!(met && bonus > 0), "a met requirement left {} bonus micros", bonus);
        }
        for row in ledger.rows.values().filter(|row| row.request.kind == TransferKind::BonusConversion) {
            prop_assert_eq!(row.request.debit, BONUS);
            let emptied = matches!(row.outcome, StoredOutcome::Posted { debit_balance_after, .. } if debit_balance_after == Balance::ZERO);
            prop_assert!(emptied, "a conversion empties the bonus account");
        }
    }
}
