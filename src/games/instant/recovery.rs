//! The recovery sweep: every node periodically finishes per-player bets that a crash or an outage left
//! pending (stake maybe taken) or paying (payout decided, maybe not credited). It runs the same idempotent
//! steps as the request that started the bet, so a bet is finished exactly once whoever gets there first.

use super::{advance, store};
use crate::wallet::Wallet;
use sqlx::PgPool;
use std::time::Duration;

/// How the sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct RecoverySettings {
    pub interval: Duration,
    pub age: Duration,
    pub batch_max: u32,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryReport {
    pub finished: u32,
    pub failed: u32,
}

/// Finishes up to `batch_max` bets older than `age`.
pub async fn recover_once(pool: &PgPool, wallet: &Wallet, settings: RecoverySettings) -> sqlx::Result<RecoveryReport> {
    let bets = store::unfinished(pool, settings.age.as_millis() as u64, settings.batch_max).await?;
    let mut report = RecoveryReport::default();
    for bet in bets {
        let id = bet.id;
        match advance(pool, wallet, bet).await {
            // A refused stake voids the bet: that is a finished bet too.
            Ok(_) | Err(super::InstantError::Wallet(crate::wallet::ledger::TransferError::Rejected(_))) => {
                report.finished += 1
            }
            Err(error) => {
                report.failed += 1;
                tracing::warn!(bet = %id, error = format!("{error:#}"), "recovery could not finish a bet; will retry");
            }
        }
    }
    if report != RecoveryReport::default() {
        tracing::info!(
            finished = report.finished,
            failed = report.failed,
            "recovered per-player bets"
        );
    }
    Ok(report)
}

/// Runs the sweep forever on the current arbiter.
pub fn start(pool: PgPool, wallet: Wallet, settings: RecoverySettings) {
    actix::spawn(async move {
        let mut interval = tokio::time::interval(settings.interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(error) = recover_once(&pool, &wallet, settings).await {
                tracing::warn!(error = %error, "the recovery sweep could not read its work");
            }
        }
    });
}
