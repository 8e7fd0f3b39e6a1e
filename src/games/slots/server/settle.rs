//! Where a round's money moves: the stake at the spin, the win when the round ends, each an idempotent
//! ledger transfer under a key fixed by the round id, each followed by a status move guarded by the status
//! it expects, so that requests, other nodes and the sweeps may all push the same round forward.

use super::store::{self, Reveal, RoundRow, RoundStatus};
use super::SlotError;
use crate::cluster::push::PlayerPush;
use crate::money::Amount;
use crate::wallet::ledger::{AccountId, IdempotencyKey, TransferError, TransferKind};
use crate::wallet::Wallet;
use sqlx::PgPool;
use uuid::Uuid;

/// The ledger key of a round's stake.
pub fn stake_key(round: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("slots:stake:{round}")).expect("a round id makes a valid key")
}

/// The ledger key of a round's win.
pub fn win_key(round: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("slots:win:{round}")).expect("a round id makes a valid key")
}

/// Moves a round forward through the ledger: takes a pending round's stake (voiding it if the ledger
/// refuses), credits an ended round's win. Every step is idempotent (fixed ledger keys, status moves
/// guarded by the expected status), so requests, other nodes and the sweeps may run it on the same round.
/// Answers the round and, when this call moved money, the player's balance after it.
pub async fn advance(
    pool: &PgPool,
    wallet: &Wallet,
    mut round: RoundRow,
) -> Result<(RoundRow, Option<i64>), SlotError> {
    let player = AccountId(round.account_id);
    let reference = format!("slots:{}:{}", round.game_id, round.id);
    let mut balance = None;
    loop {
        match round.status {
            RoundStatus::Pending => {
                let amount =
                    Amount::parse(round.stake_micros).map_err(|error| SlotError::Corrupt(error.to_string()))?;
                let stake = wallet.stake_request(player, amount, stake_key(round.id), reference.clone());
                match wallet.transfer(stake).await {
                    Ok(receipt) => {
                        balance = (!receipt.replayed).then(|| receipt.debit_balance_after.micros());
                        let mut next = after_stake(&round);
                        if next == RoundStatus::Paying {
                            // A one-step round that wins is credited before its row moves, so that the row
                            // moves once (pending -> settled), not twice: one durable commit less per
                            // winning spin. A failure in between leaves it pending; the next attempt takes
                            // the stake and credits the win again under the same keys, which only replays.
                            if let Some(after_win) = credit_win(wallet, &round, &reference).await? {
                                balance = Some(after_win);
                            }
                            next = RoundStatus::Settled;
                        }
                        let ended_by = next.is_ended().then_some("last_step");
                        if !store::transition(pool, round.id, RoundStatus::Pending, next, ended_by).await? {
                            round = reload(pool, &round).await?;
                            continue;
                        }
                        round.status = next;
                        if next == RoundStatus::Settled {
                            round.settled_at = Some(chrono::Utc::now());
                        }
                    }
                    Err(TransferError::Rejected(code)) => {
                        store::transition(pool, round.id, RoundStatus::Pending, RoundStatus::Void, Some("void"))
                            .await?;
                        return Err(TransferError::Rejected(code).into());
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            RoundStatus::Paying => {
                if let Some(after_win) = credit_win(wallet, &round, &reference).await? {
                    balance = Some(after_win);
                }
                if !store::transition(pool, round.id, RoundStatus::Paying, RoundStatus::Settled, None).await? {
                    round = reload(pool, &round).await?;
                    continue;
                }
                round.status = RoundStatus::Settled;
                round.settled_at = Some(chrono::Utc::now());
            }
            RoundStatus::Void => {
                return Err(TransferError::Rejected(crate::wallet::ledger::RejectionCode::InsufficientFunds).into())
            }
            RoundStatus::Open | RoundStatus::Settled => return Ok((round, balance)),
        }
    }
}

/// Credits a round's win (its payout, under its fixed key); the balance after it unless this replayed.
async fn credit_win(wallet: &Wallet, round: &RoundRow, reference: &str) -> Result<Option<i64>, SlotError> {
    let amount = Amount::parse(round.payout_micros).map_err(|error| SlotError::Corrupt(error.to_string()))?;
    let player = AccountId(round.account_id);
    let win = wallet.payout_request(
        player,
        amount,
        TransferKind::Win,
        win_key(round.id),
        reference.to_owned(),
        Some(stake_key(round.id)),
    );
    let receipt = wallet.transfer(win).await?;
    Ok((!receipt.replayed).then(|| receipt.credit_balance_after.micros()))
}

/// Tells every socket of the player that a round with free spins just ended: `{"type": "game_event",
/// "event": "bonus_completed", ...}` (its money comes as `balance_updated`, like every movement).
pub fn announce_bonus_completed(push: &PlayerPush, round: &RoundRow) {
    if round.status != RoundStatus::Settled || round.step_count <= 1 {
        return;
    }
    let message = serde_json::json!({
        "type": "game_event",
        "event": "bonus_completed",
        "game_id": round.game_id,
        "spin_id": round.id,
        "bonus_round_id": round.id,
        "free_spins_played": round.step_count - 1,
        "total_win": round.payout_micros,
        "ended_by": round.ended_by,
        "ts": chrono::Utc::now().timestamp_millis(),
    });
    push.to_player(round.player_id, &message);
}

/// Where a round goes once its stake is taken: open while steps remain (or, played whole, while its win
/// waits for the round's end), else paying or settled.
fn after_stake(round: &RoundRow) -> RoundStatus {
    let steps_remain = match round.reveal {
        Reveal::ByStep => round.step_count > 1,
        Reveal::Whole => false,
    };
    match (steps_remain, round.payout_micros > 0, round.reveal) {
        (true, _, _) => RoundStatus::Open,
        (false, true, Reveal::Whole) => RoundStatus::Open,
        (false, true, Reveal::ByStep) => RoundStatus::Paying,
        (false, false, _) => RoundStatus::Settled,
    }
}

async fn reload(pool: &PgPool, round: &RoundRow) -> Result<RoundRow, SlotError> {
    store::find_round(pool, round.id).await?.ok_or(SlotError::RoundNotFound)
}
