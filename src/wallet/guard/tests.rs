//! The guard rules at their boundaries, and against a model: whatever the sequence of stakes, payouts
//! and deposits, the usage a limit in force counts never ends above that limit.

use super::*;
use chrono::TimeZone;
use proptest::prelude::*;

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    // December 2026: the 7th is a Monday.
    Utc.with_ymd_and_hms(2026, 12, day, hour, minute, 0).unwrap()
}

fn guard(now: DateTime<Utc>) -> PlayerGuard {
    PlayerGuard {
        account: AccountId(1),
        blocked: false,
        self_excluded_until: None,
        limits: Limits::default(),
        session_break_minutes: 15,
        usage: GuardUsage::empty(now),
        revision: 0,
    }
}

fn with_limit(kind: LimitKind, period: Period, amount: i64, now: DateTime<Utc>) -> PlayerGuard {
    let mut guard = guard(now);
    guard.limits.get_mut(kind, period).amount = Some(amount);
    guard
}

#[test]
fn periods_start_at_midnight_utc_on_the_day_the_monday_and_the_first() {
    let now = at(10, 15, 30);
    assert_eq!(Period::Day.start(now), at(10, 0, 0));
    assert_eq!(Period::Week.start(now), at(7, 0, 0));
    assert_eq!(Period::Month.start(now), at(1, 0, 0));
    assert_eq!(Period::Week.start(at(7, 0, 0)), at(7, 0, 0));
    assert_eq!(
        Period::Week.start(at(6, 23, 59)),
        Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
    );
}

#[test]
fn a_stake_reaching_the_wager_limit_exactly_is_allowed_and_one_micro_more_is_refused() {
    let now = at(10, 12, 0);
    let mut guard = with_limit(LimitKind::Wager, Period::Day, 10_000_000, now);
    assert_eq!(
        check(&guard, Movement::Stake, 10_000_001, now),
        Err(RejectionCode::WagerLimitReached(Period::Day))
    );
    assert_eq!(check(&guard, Movement::Stake, 10_000_000, now), Ok(()));
    apply(&mut guard, Movement::Stake, 4_000_000, now);
    assert_eq!(check(&guard, Movement::Stake, 6_000_000, now), Ok(()));
    assert_eq!(
        check(&guard, Movement::Stake, 6_000_001, now),
        Err(RejectionCode::WagerLimitReached(Period::Day))
    );
    // Wins do not give wagering room back.
    apply(&mut guard, Movement::Payout, 4_000_000, now);
    assert_eq!(
        check(&guard, Movement::Stake, 6_000_001, now),
        Err(RejectionCode::WagerLimitReached(Period::Day))
    );
}

#[test]
fn the_loss_limit_counts_stakes_minus_wins_and_refuses_a_stake_that_could_cross_it() {
    let now = at(10, 12, 0);
    let mut guard = with_limit(LimitKind::Loss, Period::Week, 5_000_000, now);
    apply(&mut guard, Movement::Stake, 5_000_000, now);
    assert_eq!(
        check(&guard, Movement::Stake, 1, now),
        Err(RejectionCode::LossLimitReached(Period::Week))
    );
    apply(&mut guard, Movement::Payout, 2_000_000, now);
    assert_eq!(check(&guard, Movement::Stake, 2_000_000, now), Ok(()));
    assert_eq!(
        check(&guard, Movement::Stake, 2_000_001, now),
        Err(RejectionCode::LossLimitReached(Period::Week))
    );
}

#[test]
fn deposits_count_against_the_deposit_limit_only() {
    let now = at(10, 12, 0);
    let mut guard = with_limit(LimitKind::Deposit, Period::Month, 100, now);
    assert_eq!(check(&guard, Movement::Deposit, 100, now), Ok(()));
    apply(&mut guard, Movement::Deposit, 100, now);
    assert_eq!(
        check(&guard, Movement::Deposit, 1, now),
        Err(RejectionCode::DepositLimitReached(Period::Month))
    );
    assert_eq!(check(&guard, Movement::Stake, 1_000, now), Ok(()));
}

#[test]
fn usage_of_an_earlier_period_counts_as_zero() {
    let monday = at(7, 23, 0);
    let mut guard = with_limit(LimitKind::Wager, Period::Day, 10, monday);
    apply(&mut guard, Movement::Stake, 10, monday);
    assert!(check(&guard, Movement::Stake, 1, monday).is_err());
    let tuesday = at(8, 0, 0);
    assert_eq!(check(&guard, Movement::Stake, 10, tuesday), Ok(()));
    apply(&mut guard, Movement::Stake, 3, tuesday);
    assert_eq!(guard.usage.of(Period::Day, tuesday).wagered, 3);
    assert_eq!(guard.usage.of(Period::Week, tuesday).wagered, 13);
}

#[test]
fn blocked_and_self_excluded_players_neither_stake_nor_deposit_but_are_paid() {
    let now = at(10, 12, 0);
    let mut blocked = guard(now);
    blocked.blocked = true;
    assert_eq!(
        check(&blocked, Movement::Stake, 1, now),
        Err(RejectionCode::PlayerBlocked)
    );
    assert_eq!(
        check(&blocked, Movement::Deposit, 1, now),
        Err(RejectionCode::PlayerBlocked)
    );
    assert_eq!(check(&blocked, Movement::Payout, 1, now), Ok(()));
    assert_eq!(
        check(&blocked, Movement::Purchase, 1, now),
        Err(RejectionCode::PlayerBlocked)
    );
    let mut limited = with_limit(LimitKind::Wager, Period::Day, 1, now);
    assert_eq!(check(&limited, Movement::Purchase, 1_000, now), Ok(()));
    apply(&mut limited, Movement::Purchase, 1_000, now);
    assert_eq!(
        limited.usage,
        GuardUsage::empty(now),
        "a purchase counts against no limit"
    );
    let mut excluded = guard(now);
    excluded.self_excluded_until = Some(at(11, 0, 0));
    assert_eq!(
        check(&excluded, Movement::Stake, 1, now),
        Err(RejectionCode::SelfExcluded)
    );
    assert_eq!(
        check(&excluded, Movement::Deposit, 1, now),
        Err(RejectionCode::SelfExcluded)
    );
    assert_eq!(check(&excluded, Movement::Payout, 1, now), Ok(()));
    assert_eq!(check(&excluded, Movement::Stake, 1, at(11, 0, 0)), Ok(()));
}

#[test]
fn a_session_that_lasted_its_limit_refuses_stakes_until_a_break() {
    let start = at(10, 12, 0);
    let mut guard = guard(start);
    guard.limits.session.amount = Some(30);
    apply(&mut guard, Movement::Stake, 1, start);
    apply(&mut guard, Movement::Stake, 1, at(10, 12, 14));
    assert_eq!(check(&guard, Movement::Stake, 1, at(10, 12, 28)), Ok(()));
    apply(&mut guard, Movement::Stake, 1, at(10, 12, 28));
    assert_eq!(
        check(&guard, Movement::Stake, 1, at(10, 12, 30)),
        Err(RejectionCode::SessionTimeLimitReached)
    );
    assert_eq!(check(&guard, Movement::Payout, 1, at(10, 12, 30)), Ok(()));
    // Fifteen minutes without a stake end the session; the next stake starts a new one.
    assert_eq!(check(&guard, Movement::Stake, 1, at(10, 12, 43)), Ok(()));
    apply(&mut guard, Movement::Stake, 1, at(10, 12, 43));
    assert_eq!(guard.usage.session_started_at, Some(at(10, 12, 43)));
}

#[test]
fn lowering_applies_at_once_and_raising_or_removing_waits_the_cooling_off() {
    let now = at(10, 12, 0);
    let day = Duration::hours(24);
    let limit = Limit::default().changed(Some(100), now, day);
    assert_eq!(
        limit,
        Limit {
            amount: Some(100),
            pending: None
        }
    );
    let raised = limit.changed(Some(200), now, day);
    assert_eq!(raised.effective(now), Some(100));
    assert_eq!(
        raised.pending,
        Some(Pending {
            amount: Some(200),
            effective_at: now + day
        })
    );
    assert_eq!(raised.effective(now + day), Some(200));
    let lowered = raised.changed(Some(50), now, day);
    assert_eq!(
        lowered,
        Limit {
            amount: Some(50),
            pending: None
        }
    );
    let removed = lowered.changed(None, now, day);
    assert_eq!(removed.effective(now), Some(50));
    assert_eq!(removed.effective(now + day), None);
}

#[test]
fn rejection_codes_round_trip_and_name_their_period() {
    for code in RejectionCode::ALL {
        assert_eq!(RejectionCode::parse(code.as_str()), Some(code));
    }
    let code = RejectionCode::WagerLimitReached(Period::Day);
    assert_eq!(code.client_code(), "wager_limit_reached");
    assert!(code.describe().contains("daily wager limit"));
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Stake(i64),
    Payout(i64),
    Deposit(i64),
    /// Minutes forward.
    Wait(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1i64..400).prop_map(Step::Stake),
        (1i64..400).prop_map(Step::Payout),
        (1i64..400).prop_map(Step::Deposit),
        (1i64..3000).prop_map(Step::Wait),
    ]
}

proptest! {
    /// The model: the sums of every allowed movement since each period began. After any sequence the
    /// guard's counters equal the model's and no counted usage exceeds its limit.
    #[test]
    fn usage_never_exceeds_a_limit_in_force(
        steps in proptest::collection::vec(step(), 1..200),
        limits in proptest::array::uniform3(100i64..2000),
    ) {
        let mut now = at(6, 20, 0);
        let mut guard = guard(now);
        for (kind, amount) in LimitKind::ALL.into_iter().zip(limits) {
            for period in Period::ALL {
                guard.limits.get_mut(kind, period).amount = Some(amount * (period as i64 + 1));
            }
        }
        let mut history: Vec<(DateTime<Utc>, Movement, i64)> = Vec::new();
        for step in steps {
            let (movement, amount) = match step {
                Step::Wait(minutes) => {
                    now += Duration::minutes(minutes);
                    continue;
                }
                Step::Stake(amount) => (Movement::Stake, amount),
                Step::Payout(amount) => (Movement::Payout, amount),
                Step::Deposit(amount) => (Movement::Deposit, amount),
            };
            if check(&guard, movement, amount, now).is_ok() {
                apply(&mut guard, movement, amount, now);
                history.push((now, movement, amount));
            } else {
                prop_assert_ne!(movement, Movement::Payout);
            }
            for period in Period::ALL {
                let since = period.start(now);
                let sum = |wanted: Movement| -> i64 {
                    history.iter().filter(|(at, movement, _)| *at >= since && *movement == wanted).map(|(_, _, a)| a).sum()
                };
                let usage = guard.usage.of(period, now);
                prop_assert_eq!(usage.wagered, sum(Movement::Stake));
                prop_assert_eq!(usage.deposited, sum(Movement::Deposit));
                prop_assert_eq!(usage.net_loss, sum(Movement::Stake) - sum(Movement::Payout));
                for kind in [LimitKind::Wager, LimitKind::Deposit, LimitKind::Loss] {
                    let limit = guard.limits.get(kind, period).effective(now).unwrap();
                    prop_assert!(usage.used(kind) <= limit, "{kind:?} {period:?} {usage:?}");
                }
            }
        }
    }
}

mod planned {
    //! The guard inside `plan_batch`: each request of a guarded player sees the ones before it in the
    //! same batch, and a refusal is a stored row, so its key stays refused.

    use super::*;
    use crate::money::{Amount, Balance};
    use crate::wallet::batch::{plan_batch, BatchInputs};
    use crate::wallet::bonus::BonusBook;
    use crate::wallet::ledger::{IdempotencyKey, StoredOutcome, TransferError};
    use uuid::Uuid;

    const PLAYER: AccountId = AccountId(1);
    const HOUSE: AccountId = AccountId(2);

    fn account(id: AccountId, kind: AccountKind, balance: i64) -> (AccountId, AccountState) {
        let state = AccountState {
            id,
            kind,
            currency: "USD".into(),
            balance: Balance::from_micros(balance),
        };
        (id, state)
    }

    fn request(key: &str, kind: TransferKind, amount: i64) -> TransferRequest {
        let (debit, credit) = match kind {
            TransferKind::Bet => (PLAYER, HOUSE),
            _ => (HOUSE, PLAYER),
        };
        TransferRequest {
            key: IdempotencyKey::parse(key).unwrap(),
            debit,
            credit,
            amount: Amount::parse(amount).unwrap(),
            kind,
            reference: String::new(),
            settles: None,
        }
    }

    #[test]
    fn stakes_in_one_batch_add_up_and_a_refused_key_stays_refused() {
        let now = at(10, 12, 0);
        let accounts: HashMap<_, _> = [
            account(PLAYER, AccountKind::Player, 1_000),
            account(HOUSE, AccountKind::House, 0),
        ]
        .into_iter()
        .collect();
        let guards: HashMap<_, _> = [(PLAYER, with_limit(LimitKind::Wager, Period::Day, 10, now))].into();
        let existing = HashMap::new();
        let inputs = BatchInputs {
            existing: &existing,
            accounts: &accounts,
            guards: &guards,
            now,
            bonuses: &BonusBook::default(),
        };
        let batch = [
            request("a", TransferKind::Bet, 6),
            request("b", TransferKind::Bet, 5),
            request("c", TransferKind::Bet, 4),
            request("b", TransferKind::Bet, 5),
            request("d", TransferKind::Win, 7),
        ];
        let plan = plan_batch(&batch, &inputs, Uuid::new_v4);
        let refused = Err(TransferError::Rejected(RejectionCode::WagerLimitReached(Period::Day)));
        assert!(plan.outcomes[0].is_ok() && plan.outcomes[2].is_ok() && plan.outcomes[4].is_ok());
        assert_eq!(plan.outcomes[1], refused);
        assert_eq!(plan.outcomes[3], refused);
        assert_eq!(plan.new_rows.len(), 4, "the retry of b replays its stored refusal");
        assert_eq!(
            plan.new_rows[1].outcome,
            StoredOutcome::Rejected(RejectionCode::WagerLimitReached(Period::Day))
        );
        let usage = plan.guard_usage[&PLAYER].usage.of(Period::Day, now);
        assert_eq!((usage.wagered, usage.net_loss), (10, 3));
        assert_eq!(plan.balance_deltas[&PLAYER], -10 + 7);
    }

    #[test]
    fn a_blocked_player_is_paid_but_neither_stakes_nor_is_credited_a_deposit() {
        let now = at(10, 12, 0);
        let accounts: HashMap<_, _> = [
            account(PLAYER, AccountKind::Player, 1_000),
            account(HOUSE, AccountKind::House, 0),
        ]
        .into_iter()
        .collect();
        let mut blocked = guard(now);
        blocked.blocked = true;
        let guards: HashMap<_, _> = [(PLAYER, blocked)].into();
        let existing = HashMap::new();
        let inputs = BatchInputs {
            existing: &existing,
            accounts: &accounts,
            guards: &guards,
            now,
            bonuses: &BonusBook::default(),
        };
        let batch = [
            request("bet", TransferKind::Bet, 1),
            request("win", TransferKind::Win, 1),
            request("deposit", TransferKind::Deposit, 1),
        ];
        let plan = plan_batch(&batch, &inputs, Uuid::new_v4);
        assert_eq!(
            plan.outcomes[0],
            Err(TransferError::Rejected(RejectionCode::PlayerBlocked))
        );
        assert!(plan.outcomes[1].is_ok());
        assert_eq!(
            plan.outcomes[2],
            Err(TransferError::Rejected(RejectionCode::PlayerBlocked))
        );
    }
}
