//! The planner against an oracle: a deliberately simple ledger that applies requests one at a time.
//! Random request streams are cut into random batches; every answer and every balance must match.

use super::*;
use crate::money::Amount;
use crate::wallet::ledger::TransferKind;
use proptest::prelude::*;

const PLAYERS: i64 = 4;
const HOUSE_A: AccountId = AccountId(100);
const HOUSE_B: AccountId = AccountId(101);
const TREASURY: AccountId = AccountId(200);
const FOREIGN_PLAYER: AccountId = AccountId(300);
const MISSING: AccountId = AccountId(999);

fn starting_accounts() -> HashMap<AccountId, AccountState> {
    let mut accounts = HashMap::new();
    let mut add = |id: AccountId, kind: AccountKind, currency: &str| {
        accounts.insert(
            id,
            AccountState {
                id,
                kind,
                currency: currency.to_owned(),
                balance: Balance::ZERO,
            },
        );
    };
    for player in 1..=PLAYERS {
        add(AccountId(player), AccountKind::Player, "USD");
    }
    add(HOUSE_A, AccountKind::House, "USD");
    add(HOUSE_B, AccountKind::House, "USD");
    add(TREASURY, AccountKind::Treasury, "USD");
    add(FOREIGN_PLAYER, AccountKind::Player, "EUR");
    accounts
}

/// The oracle's memory of a key: the request and the answer it got.
type Remembered = (TransferRequest, Result<(), RejectionCode>);

/// The oracle: one request at a time, no batching, no cleverness.
#[derive(Default)]
struct Oracle {
    balances: HashMap<AccountId, i128>,
    seen: HashMap<IdempotencyKey, Remembered>,
}

/// What the oracle predicts for one request, in a form comparable with the planner's answers.
#[derive(Debug, PartialEq, Eq)]
enum Predicted {
    Posted {
        debit_after: i128,
        credit_after: i128,
        replayed: bool,
    },
    Rejected(RejectionCode),
    Conflict,
    NotFound,
    SameAccount,
}

impl Oracle {
    fn kind_of(id: AccountId) -> Option<(AccountKind, &'static str)> {
        match id {
            AccountId(1..=PLAYERS) => Some((AccountKind::Player, "USD")),
            HOUSE_A | HOUSE_B => Some((AccountKind::House, "USD")),
            TREASURY => Some((AccountKind::Treasury, "USD")),
            FOREIGN_PLAYER => Some((AccountKind::Player, "EUR")),
            _ => None,
        }
    }

    fn normalize(id: AccountId) -> AccountId {
        if id == HOUSE_B {
            HOUSE_A
        } else {
            id
        }
    }

    fn apply(&mut self, request: &TransferRequest) -> Predicted {
        if let Some((first, result)) = self.seen.get(&request.key) {
            let same = Self::normalize(first.debit) == Self::normalize(request.debit)
                && Self::normalize(first.credit) == Self::normalize(request.credit)
                && first.amount == request.amount
                && first.kind == request.kind
                && first.reference == request.reference;
            return match (same, result) {
                (false, _) => Predicted::Conflict,
                (true, Err(code)) => Predicted::Rejected(*code),
                (true, Ok(())) => Predicted::Posted {
                    debit_after: i128::MIN,
                    credit_after: i128::MIN,
                    replayed: true,
                },
            };
        }
        if request.debit == request.credit {
            return Predicted::SameAccount;
        }
        let (Some((debit_kind, debit_currency)), Some((_, credit_currency))) =
            (Self::kind_of(request.debit), Self::kind_of(request.credit))
        else {
            return Predicted::NotFound;
        };
        let amount = i128::from(request.amount.micros());
        let debit_after = self.balances.get(&request.debit).copied().unwrap_or(0) - amount;
        let result = if debit_currency != credit_currency {
            Err(RejectionCode::CurrencyMismatch)
        } else if debit_kind == AccountKind::Player && debit_after < 0 {
            Err(RejectionCode::InsufficientFunds)
        } else {
            Ok(())
        };
        self.seen.insert(request.key.clone(), (request.clone(), result));
        if let Err(code) = result {
            return Predicted::Rejected(code);
        }
        let credit_after = self.balances.get(&request.credit).copied().unwrap_or(0) + amount;
        self.balances.insert(request.debit, debit_after);
        self.balances.insert(request.credit, credit_after);
        Predicted::Posted {
            debit_after,
            credit_after,
            replayed: false,
        }
    }
}

/// An in-memory stand-in for the store: it keeps rows and balances and applies plans.
struct MemoryLedger {
    accounts: HashMap<AccountId, AccountState>,
    rows: HashMap<IdempotencyKey, StoredTransfer>,
    next_id: u128,
}

impl MemoryLedger {
    fn commit(&mut self, batch: &[TransferRequest]) -> Vec<Result<TransferReceipt, TransferError>> {
        let inputs = BatchInputs {
            existing: &self.rows,
            accounts: &self.accounts,
            guards: &HashMap::new(),
            now: Utc::now(),
            bonuses: &BonusBook::default(),
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
        plan.outcomes
    }

    /// The audit's rules, in memory: balances net to zero, equal their posted rows, players never negative.
    fn assert_invariants(&self) {
        let total: i128 = self.accounts.values().map(|a| i128::from(a.balance.micros())).sum();
        let foreign = i128::from(self.accounts[&FOREIGN_PLAYER].balance.micros());
        assert_eq!(total - foreign, 0, "USD balances net to zero");
        for account in self.accounts.values() {
            let from_rows: i64 = self
                .rows
                .values()
                .filter(|row| matches!(row.outcome, StoredOutcome::Posted { .. }))
                .map(|row| {
                    let amount = row.request.amount.micros();
                    (if row.request.credit == account.id { amount } else { 0 })
                        - (if row.request.debit == account.id { amount } else { 0 })
                })
                .sum();
            assert_eq!(
                account.balance.micros(),
                from_rows,
                "balance of {} equals its transfers",
                account.id
            );
            if account.kind == AccountKind::Player {
                assert!(!account.balance.is_negative(), "player {} is not negative", account.id);
            }
        }
    }
}

fn to_predicted(outcome: &Result<TransferReceipt, TransferError>) -> Predicted {
    match outcome {
        Ok(receipt) => Predicted::Posted {
            debit_after: if receipt.replayed {
                i128::MIN
            } else {
                i128::from(receipt.debit_balance_after.micros())
            },
            credit_after: if receipt.replayed {
                i128::MIN
            } else {
                i128::from(receipt.credit_balance_after.micros())
            },
            replayed: receipt.replayed,
        },
        Err(TransferError::Rejected(code)) => Predicted::Rejected(*code),
        Err(TransferError::IdempotencyConflict) => Predicted::Conflict,
        Err(TransferError::AccountNotFound(_)) => Predicted::NotFound,
        Err(TransferError::SameAccount) => Predicted::SameAccount,
        Err(other) => panic!("the planner never answers {other:?}"),
    }
}

fn account_strategy() -> impl Strategy<Value = AccountId> {
    prop_oneof![
        6 => (1..=PLAYERS).prop_map(AccountId),
        2 => Just(HOUSE_A),
        2 => Just(HOUSE_B),
        2 => Just(TREASURY),
        1 => Just(FOREIGN_PLAYER),
        1 => Just(MISSING),
    ]
}

fn request_strategy() -> impl Strategy<Value = TransferRequest> {
    // Few keys and few references make retries, conflicts and replays common.
    (0..24u32, account_strategy(), account_strategy(), 1..=50i64, 0..2u8).prop_map(
        |(key, debit, credit, amount, reference)| TransferRequest {
            key: IdempotencyKey::parse(&format!("key-{key}")).unwrap(),
            debit,
            credit,
            amount: Amount::parse(amount).unwrap(),
            kind: if reference == 0 {
                TransferKind::Bet
            } else {
                TransferKind::Win
            },
            reference: format!("ref-{reference}"),
            settles: None,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// However a stream of requests is cut into batches, every answer and balance equals the oracle's.
    #[test]
    fn batches_agree_with_the_oracle(
        requests in proptest::collection::vec(request_strategy(), 1..120),
        cuts in proptest::collection::vec(1..16usize, 1..40),
    ) {
        let mut ledger = MemoryLedger { accounts: starting_accounts(), rows: HashMap::new(), next_id: 0 };
        let mut oracle = Oracle::default();
        let mut remaining: &[TransferRequest] = &requests;
        for cut in cuts.iter().cycle() {
            if remaining.is_empty() {
                break;
            }
            let (batch, rest) = remaining.split_at((*cut).min(remaining.len()));
            remaining = rest;
            let outcomes = ledger.commit(batch);
            prop_assert_eq!(outcomes.len(), batch.len());
            for (request, outcome) in batch.iter().zip(&outcomes) {
                prop_assert_eq!(to_predicted(outcome), oracle.apply(request), "request {:?}", request);
            }
            ledger.assert_invariants();
        }
        for (id, account) in &ledger.accounts {
            let predicted = oracle.balances.get(id).copied().unwrap_or(0);
            prop_assert_eq!(i128::from(account.balance.micros()), predicted);
        }
    }
}

fn request(key: &str, debit: AccountId, credit: AccountId, micros: i64) -> TransferRequest {
    TransferRequest {
        key: IdempotencyKey::parse(key).unwrap(),
        debit,
        credit,
        amount: Amount::parse(micros).unwrap(),
        kind: TransferKind::Bet,
        reference: "r".into(),
        settles: None,
    }
}

/// One failing request in a batch never stops the others from posting.
#[test]
fn one_rejection_leaves_the_rest_of_the_batch_posted() {
    let mut ledger = MemoryLedger {
        accounts: starting_accounts(),
        rows: HashMap::new(),
        next_id: 0,
    };
    ledger.commit(&[request("fund", TREASURY, AccountId(1), 10)]);
    let outcomes = ledger.commit(&[
        request("a", AccountId(1), HOUSE_A, 4),
        request("b", AccountId(1), HOUSE_A, 7),
        request("c", AccountId(1), HOUSE_A, 6),
    ]);
    assert!(outcomes[0].is_ok());
    assert_eq!(
        outcomes[1],
        Err(TransferError::Rejected(RejectionCode::InsufficientFunds))
    );
    assert_eq!(
        outcomes[2].as_ref().unwrap().debit_balance_after,
        Balance::from_micros(0)
    );
    ledger.assert_invariants();
}

/// A failed key stays failed even after the balance would allow it.
#[test]
fn a_failed_key_stays_failed() {
    let mut ledger = MemoryLedger {
        accounts: starting_accounts(),
        rows: HashMap::new(),
        next_id: 0,
    };
    let bet = request("bet", AccountId(2), HOUSE_A, 5);
    assert_eq!(
        ledger.commit(std::slice::from_ref(&bet))[0],
        Err(TransferError::Rejected(RejectionCode::InsufficientFunds))
    );
    ledger.commit(&[request("fund", TREASURY, AccountId(2), 10)]);
    assert_eq!(
        ledger.commit(&[bet])[0],
        Err(TransferError::Rejected(RejectionCode::InsufficientFunds))
    );
}

/// An account whose changes cancel out within a batch is still part of the write, so the fast path's
/// compare-and-set notices if another node moved its balance meanwhile.
#[test]
fn accounts_with_zero_net_change_are_still_written() {
    let mut ledger = MemoryLedger {
        accounts: starting_accounts(),
        rows: HashMap::new(),
        next_id: 0,
    };
    ledger.commit(&[request("fund", TREASURY, AccountId(1), 10)]);
    let inputs = BatchInputs {
        existing: &ledger.rows,
        accounts: &ledger.accounts,
        guards: &HashMap::new(),
        now: Utc::now(),
        bonuses: &BonusBook::default(),
    };
    let batch = [
        request("in", TREASURY, AccountId(3), 5),
        request("out", AccountId(3), HOUSE_A, 5),
    ];
    let plan = plan_batch(&batch, &inputs, Uuid::new_v4);
    assert_eq!(plan.balance_deltas.get(&AccountId(3)), Some(&0));
}
