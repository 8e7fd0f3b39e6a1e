//! Takeover recovery: a node that has just become a room's leader finishes every round a previous leader
//! (dead, partitioned or this very process before a restart) left unsettled, from what Postgres knows, the
//! ledger deciding. A bet whose refund or win transfer exists was refunded or cashed out; a bet whose
//! cashout was decided (`cashing_out`, with its multiplier and payout) gets that win paid; every other
//! staked bet is refunded. The crash marks its lost bets in the same transaction as the crash itself, so
//! no bet still open in Postgres lost.
//!
//! A stake that has not posted is not simply voided: the previous leader may still be alive and its
//! debit may still land. Recovery replays the stake with the same idempotency key instead, which settles
//! the key's fate for good: if it posts (now or earlier) the bet is refunded, if it is refused the bet is
//! void, and a late attempt by the old leader gets that same first result. Every write carries the new
//! leader's fence, and every money movement is keyed by the bet id, so running recovery twice (or after a
//! partial run) changes nothing more.

use super::store::{self, refund_key, stake_key, win_key, Fence};
use super::BetStatus;
use crate::money::Amount;
use crate::wallet::ledger::{AccountId, IdempotencyKey, TransferError, TransferKind};
use crate::wallet::Wallet;
use anyhow::Context;
use serde::Serialize;
use sqlx::{PgPool, Row};
use uuid::Uuid;

#[derive(Debug, Default, Serialize)]
pub struct RecoveryReport {
    pub rounds: u32,
    pub cashed_out: u32,
    pub refunded: u32,
    pub voided: u32,
    /// Rounds that never crashed and were aborted (their bets refunded).
    pub aborted: Vec<i64>,
}

/// Finishes every unsettled round of the fence's room. Run by a new leader before it starts a round.
pub async fn recover_room(pool: &PgPool, wallet: &Wallet, fence: &Fence) -> anyhow::Result<RecoveryReport> {
    let room = fence.room.as_str();
    let mut report = RecoveryReport::default();
    if !store::fence_holds(pool, fence).await? {
        return Err(store::StoreError::Fenced {
            room: room.to_owned(),
            token: fence.token,
        }
        .into());
    }
    // Only rounds started under this fence or an older one: a successor's live round is never touched.
    let rounds = sqlx::query(
        "SELECT id, phase FROM crash_rounds WHERE room = $1 AND NOT settled AND leader_token <= $2 ORDER BY id",
    )
    .bind(room)
    .bind(fence.token)
    .fetch_all(pool)
    .await
    .context("failed to list unsettled rounds")?;
    for round in rounds {
        let round_id: i64 = round.try_get("id")?;
        let phase: String = round.try_get("phase")?;
        recover_round(pool, wallet, fence, round_id, &mut report).await?;
        if phase != "crashed" {
            store::mark_aborted(pool, fence, round_id).await?;
            report.aborted.push(round_id);
        }
        store::settle_round(pool, fence, round_id).await?;
        report.rounds += 1;
        tracing::warn!(room, round_id, phase, "recovered an unsettled round");
    }
    Ok(report)
}

async fn recover_round(
    pool: &PgPool,
    wallet: &Wallet,
    fence: &Fence,
    round: i64,
    report: &mut RecoveryReport,
) -> anyhow::Result<()> {
    let bets = sqlx::query(
        "SELECT id, account_id, amount, status, cashout_multiplier, payout FROM crash_bets
         WHERE round_id = $1 AND status IN ('pending', 'open', 'cashing_out')",
    )
    .bind(round)
    .fetch_all(pool)
    .await?;
    for bet in bets {
        let bet_id: Uuid = bet.try_get("id")?;
        let account = AccountId(bet.try_get("account_id")?);
        let amount: i64 = bet.try_get("amount")?;
        let decided: Option<(u32, i64)> = match (
            bet.try_get::<Option<i32>, _>("cashout_multiplier")?,
            bet.try_get::<Option<i64>, _>("payout")?,
        ) {
            (Some(multiplier), Some(payout)) => Some((multiplier as u32, payout)),
            _ => None,
        };
        let staked = posted_amount(pool, stake_key(bet_id).as_str()).await?.is_some()
            || replay_stake(wallet, account, amount, bet_id, round).await?;
        if !staked {
            store::set_bet_status(pool, fence, bet_id, BetStatus::Void, None).await?;
            report.voided += 1;
        } else if posted_amount(pool, refund_key(bet_id).as_str()).await?.is_some() {
            store::set_bet_status(pool, fence, bet_id, BetStatus::Refunded, None).await?;
            report.refunded += 1;
        } else if let Some((payout, reference)) = posted_win(pool, bet_id).await? {
            let multiplier = reference.rsplit(':').next().and_then(|m| m.parse().ok()).unwrap_or(0);
            store::set_bet_status(pool, fence, bet_id, BetStatus::CashedOut, Some((multiplier, payout))).await?;
            report.cashed_out += 1;
        } else if let Some((multiplier, payout)) = decided {
            let reference = format!("crash:{round}:{multiplier}");
            let keys = (win_key(bet_id), stake_key(bet_id));
            credit(wallet, account, payout, TransferKind::Win, keys, reference).await?;
            store::set_bet_status(pool, fence, bet_id, BetStatus::CashedOut, Some((multiplier, payout))).await?;
            report.cashed_out += 1;
        } else {
            let reference = format!("crash:{round}:refund");
            credit(
                wallet,
                account,
                amount,
                TransferKind::Refund,
                (refund_key(bet_id), stake_key(bet_id)),
                reference,
            )
            .await?;
            store::set_bet_status(pool, fence, bet_id, BetStatus::Refunded, None).await?;
            report.refunded += 1;
        }
    }
    Ok(())
}

/// Submits a bet's stake again with its own key, so that its fate is settled once for everyone: true when
/// the stake is (now) posted, false when the ledger refused it. An answer that leaves the fate open fails
/// the recovery, which the leader retries.
async fn replay_stake(wallet: &Wallet, account: AccountId, amount: i64, bet: Uuid, round: i64) -> anyhow::Result<bool> {
    let request = wallet.stake_request(
        account,
        Amount::parse(amount)?,
        stake_key(bet),
        format!("crash:{round}"),
    );
    match wallet.transfer(request).await {
        Ok(_) => Ok(true),
        Err(TransferError::Rejected(_)) => Ok(false),
        Err(error) => Err(anyhow::Error::new(error).context(format!("failed to settle the stake of bet {bet}"))),
    }
}

async fn posted_amount(pool: &PgPool, key: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT amount FROM transfers WHERE idempotency_key = $1 AND status = 'posted'")
        .bind(key)
        .fetch_optional(pool)
        .await
}

async fn posted_win(pool: &PgPool, bet: Uuid) -> sqlx::Result<Option<(i64, String)>> {
    // A win split between cash and bonus money is its row plus its second leg.
    let row =
        sqlx::query("SELECT amount, reference FROM transfer_totals WHERE idempotency_key = $1 AND status = 'posted'")
            .bind(win_key(bet).as_str())
            .fetch_optional(pool)
            .await?;
    row.map(|row| Ok((row.try_get("amount")?, row.try_get("reference")?)))
        .transpose()
}

/// Credits a player from the house with `key`: the decided win, or the refund, of a recovered bet
/// (`settles` is its stake's key, so a stake paid partly with bonus money pays back in proportion).
async fn credit(
    wallet: &Wallet,
    account: AccountId,
    micros: i64,
    kind: TransferKind,
    (key, settles): (IdempotencyKey, IdempotencyKey),
    reference: String,
) -> anyhow::Result<()> {
    let request = wallet.payout_request(
        account,
        Amount::parse(micros)?,
        kind,
        key.clone(),
        reference,
        Some(settles),
    );
    wallet
        .transfer(request)
        .await
        .with_context(|| format!("failed to credit {}", key.as_str()))?;
    Ok(())
}
