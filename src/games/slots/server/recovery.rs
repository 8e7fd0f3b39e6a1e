//! The slot sweeps, run by every node: rounds whose stake or win a failure left moving are finished
//! (the same idempotent steps as the request that started them), and rounds a player left open are
//! completed and credited after `abandoned_round_after_s` without a reveal. The status guards and the
//! ledger keys make each round end and pay exactly once, whichever node gets there first.

use super::{advance, announce_bonus_completed, store, SlotError, SweepSettings};
use crate::cluster::push::PlayerPush;
use crate::wallet::ledger::TransferError;
use crate::wallet::Wallet;
use sqlx::PgPool;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Rounds whose stake or win the pass finished moving.
    pub finished: u32,
    /// Open rounds the pass ended and paid for their player.
    pub completed: u32,
    pub failed: u32,
}

/// One pass of both sweeps.
pub async fn sweep_once(
    pool: &PgPool,
    wallet: &Wallet,
    push: &PlayerPush,
    settings: SweepSettings,
) -> sqlx::Result<SweepReport> {
    let mut report = SweepReport::default();
    let age_ms = settings.unsettled_age.as_millis() as u64;
    for round in store::unsettled(pool, age_ms, settings.batch_max).await? {
        record(&mut report, round.id, advance(pool, wallet, round).await.map(|_| false));
    }
    let idle_s = settings.abandoned_after.as_secs();
    for round in store::abandoned(pool, idle_s, settings.abandoned_batch_max).await? {
        let id = round.id;
        let outcome = match store::end_open_round(pool, &round, "sweep", None).await {
            Ok(true) => match store::find_round(pool, id).await {
                Ok(Some(ended)) => advance(pool, wallet, ended).await.map(|(round, _)| {
                    announce_bonus_completed(push, &round);
                    true
                }),
                Ok(None) => Err(SlotError::RoundNotFound),
                Err(error) => Err(error.into()),
            },
            // Its player revealed or ended it meanwhile.
            Ok(false) => continue,
            Err(error) => Err(error.into()),
        };
        record(&mut report, id, outcome);
    }
    if report != SweepReport::default() {
        tracing::info!(
            finished = report.finished,
            completed = report.completed,
            failed = report.failed,
            "swept slot rounds"
        );
    }
    Ok(report)
}

fn record(report: &mut SweepReport, id: uuid::Uuid, outcome: Result<bool, SlotError>) {
    match outcome {
        Ok(true) => report.completed += 1,
        // A refused stake voids the round: that is a finished round too.
        Ok(false) | Err(SlotError::Wallet(TransferError::Rejected(_))) => report.finished += 1,
        Err(error) => {
            report.failed += 1;
            tracing::warn!(round = %id, error = format!("{error:#}"), "the slot sweep could not finish a round; will retry");
        }
    }
}

/// Runs the sweeps forever on the current arbiter.
pub fn start(pool: PgPool, wallet: Wallet, push: PlayerPush, settings: SweepSettings) {
    actix::spawn(async move {
        let mut interval = tokio::time::interval(settings.interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(error) = sweep_once(&pool, &wallet, &push, settings).await {
                tracing::warn!(error = %error, "the slot sweep could not read its work");
            }
        }
    });
}
