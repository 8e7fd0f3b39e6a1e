//! Start-up recovery: every round a dead (or failing) process left unsettled is finished from what
//! Postgres knows, the ledger deciding. A bet whose refund or win transfer exists was refunded or cashed
//! out; a bet whose cashout was decided (`cashing_out`, with its multiplier and payout) gets that win paid;
//! a stake that never posted voids its bet; every other staked bet is refunded. The crash marks its lost
//! bets in the same transaction as the crash itself, so no bet still open in Postgres lost. Every money
//! movement is keyed by the bet id, so running recovery twice (or after a partial run) changes nothing more.

use super::store::{self, refund_key, stake_key, win_key};
use super::BetStatus;
use crate::money::Amount;
use crate::wallet::ledger::{AccountId, IdempotencyKey, TransferKind};
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
}

/// Finishes every unsettled round of `room`. Run before the room's actor starts.
pub async fn recover_room(pool: &PgPool, wallet: &Wallet, room: &str) -> anyhow::Result<RecoveryReport> {
    let mut report = RecoveryReport::default();
    let rounds = sqlx::query("SELECT id, phase FROM crash_rounds WHERE room = $1 AND NOT settled ORDER BY id")
        .bind(room)
        .fetch_all(pool)
        .await
        .context("failed to list unsettled rounds")?;
    for round in rounds {
        let round_id: i64 = round.try_get("id")?;
        let phase: String = round.try_get("phase")?;
        recover_round(pool, wallet, round_id, &mut report).await?;
        if phase != "crashed" {
            sqlx::query("UPDATE crash_rounds SET phase = 'aborted' WHERE id = $1")
                .bind(round_id)
                .execute(pool)
                .await?;
        }
        store::settle_round(pool, round_id).await?;
        report.rounds += 1;
        tracing::warn!(room, round_id, phase, "recovered an unsettled round");
    }
    Ok(report)
}

async fn recover_round(pool: &PgPool, wallet: &Wallet, round: i64, report: &mut RecoveryReport) -> anyhow::Result<()> {
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
        let staked = posted_amount(pool, stake_key(bet_id).as_str()).await?.is_some();
        if !staked {
            store::set_bet_status(pool, bet_id, BetStatus::Void, None).await?;
            report.voided += 1;
        } else if posted_amount(pool, refund_key(bet_id).as_str()).await?.is_some() {
            store::set_bet_status(pool, bet_id, BetStatus::Refunded, None).await?;
            report.refunded += 1;
        } else if let Some((payout, reference)) = posted_win(pool, bet_id).await? {
            let multiplier = reference.rsplit(':').next().and_then(|m| m.parse().ok()).unwrap_or(0);
            store::set_bet_status(pool, bet_id, BetStatus::CashedOut, Some((multiplier, payout))).await?;
            report.cashed_out += 1;
        } else if let Some((multiplier, payout)) = decided {
            let reference = format!("crash:{round}:{multiplier}");
            credit(wallet, account, payout, TransferKind::Win, win_key(bet_id), reference).await?;
            store::set_bet_status(pool, bet_id, BetStatus::CashedOut, Some((multiplier, payout))).await?;
            report.cashed_out += 1;
        } else {
            let reference = format!("crash:{round}:refund");
            credit(
                wallet,
                account,
                amount,
                TransferKind::Refund,
                refund_key(bet_id),
                reference,
            )
            .await?;
            store::set_bet_status(pool, bet_id, BetStatus::Refunded, None).await?;
            report.refunded += 1;
        }
    }
    Ok(())
}

async fn posted_amount(pool: &PgPool, key: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT amount FROM transfers WHERE idempotency_key = $1 AND status = 'posted'")
        .bind(key)
        .fetch_optional(pool)
        .await
}

async fn posted_win(pool: &PgPool, bet: Uuid) -> sqlx::Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT amount, reference FROM transfers WHERE idempotency_key = $1 AND status = 'posted'")
        .bind(win_key(bet).as_str())
        .fetch_optional(pool)
        .await?;
    row.map(|row| Ok((row.try_get("amount")?, row.try_get("reference")?)))
        .transpose()
}

/// Credits a player from the house with `key`: the decided win, or the refund, of a recovered bet.
async fn credit(
    wallet: &Wallet,
    account: AccountId,
    micros: i64,
    kind: TransferKind,
    key: IdempotencyKey,
    reference: String,
) -> anyhow::Result<()> {
    let request = wallet.payout_request(account, Amount::parse(micros)?, kind, key.clone(), reference);
    wallet
        .transfer(request)
        .await
        .with_context(|| format!("failed to credit {}", key.as_str()))?;
    Ok(())
}
