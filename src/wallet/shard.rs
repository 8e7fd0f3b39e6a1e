//! A wallet shard actor: it serializes the operations of the players hashed to it and commits them in
//! batches, one Postgres transaction per batch, with at most one batch in flight. Operations arriving
//! while a batch commits wait for the next one, so batches grow with load (group commit) and a quiet
//! shard answers after at most `batch_delay_ms` plus one commit.

use super::ledger::{AccountId, TransferError, TransferReceipt, TransferRequest};
use super::observer::{BalanceChange, BalanceFeed};
use super::store::{BatchOutcomes, LedgerStore};
use actix::prelude::*;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::oneshot;

/// The answer channel of one operation.
pub type Reply = oneshot::Sender<Result<TransferReceipt, TransferError>>;

/// Submit one transfer; the answer arrives on `reply` once its batch has committed or failed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubmitTransfer {
    pub request: TransferRequest,
    /// The player account the transfer moves money of (None between two system accounts): its new
    /// balance is reported once the transfer is posted.
    pub player: Option<AccountId>,
    pub reply: Reply,
    /// The operation's place in the shard's bounded admission; released when it is answered, even if the
    /// caller has gone away meanwhile.
    pub admission: tokio::sync::OwnedSemaphorePermit,
}

/// Stop accepting operations, commit what is queued, then answer on `done`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain {
    pub done: oneshot::Sender<()>,
}

/// The knobs of one shard, from `[wallet]` in the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ShardLimits {
    pub batch_size_max: usize,
    pub batch_delay: Duration,
    pub commit_attempts_max: u32,
    pub commit_retry_backoff: Duration,
    /// How long a batch keeps retrying while the ledger is out of reach (see [`Failure::OutOfReach`]).
    pub commit_retry_window: Duration,
}

/// The longest pause between two attempts of one batch: the backoff grows with each attempt up to it, so
/// a batch waiting out a failover still notices the new primary within this long.
const COMMIT_RETRY_BACKOFF_MAX: Duration = Duration::from_millis(500);

pub struct WalletShard {
    index: usize,
    store: LedgerStore,
    limits: ShardLimits,
    pending: Vec<SubmitTransfer>,
    committing: bool,
    flush_timer: Option<SpawnHandle>,
    draining: bool,
    drain_waiters: Vec<oneshot::Sender<()>>,
    balances: Arc<OnceLock<BalanceFeed>>,
}

impl WalletShard {
    pub fn new(
        index: usize,
        store: LedgerStore,
        limits: ShardLimits,
        balances: Arc<OnceLock<BalanceFeed>>,
    ) -> WalletShard {
        WalletShard {
            index,
            store,
            limits,
            pending: Vec::new(),
            committing: false,
            flush_timer: None,
            draining: false,
            drain_waiters: Vec::new(),
            balances,
        }
    }

    /// Commits now when a batch is full (or batching is off), otherwise arms the delay timer once.
    fn schedule_commit(&mut self, ctx: &mut Context<Self>) {
        if self.committing {
            return;
        }
        let full = self.pending.len() >= self.limits.batch_size_max;
        if full || self.draining || self.limits.batch_delay.is_zero() {
            self.start_commit(ctx);
        } else if self.flush_timer.is_none() {
            self.flush_timer = Some(ctx.run_later(self.limits.batch_delay, |shard, ctx| {
                shard.flush_timer = None;
                shard.start_commit(ctx);
            }));
        }
    }

    fn start_commit(&mut self, ctx: &mut Context<Self>) {
        if self.committing || self.pending.is_empty() {
            return;
        }
        if let Some(timer) = self.flush_timer.take() {
            ctx.cancel_future(timer);
        }
        let size = self.pending.len().min(self.limits.batch_size_max);
        let (requests, replies): (Vec<_>, Vec<_>) = self
            .pending
            .drain(..size)
            .map(|op| {
                let player = op.player.map(|account| PlayerSide {
                    account,
                    debited: op.request.debit == account,
                });
                (op.request, (op.reply, op.admission, player))
            })
            .unzip();
        self.committing = true;
        let store = self.store.clone();
        let limits = self.limits;
        let shard = self.index;
        let commit = async move {
            let started = std::time::Instant::now();
            let outcomes = commit_with_retries(&store, &requests, limits, shard).await;
            metrics::histogram!("wallet_batch_size").record(requests.len() as f64);
            metrics::histogram!("wallet_batch_commit_seconds").record(started.elapsed().as_secs_f64());
            for (request, outcome) in requests.iter().zip(&outcomes) {
                let result = if outcome.is_ok() { "posted" } else { "refused" };
                metrics::counter!("ledger_transfers_total", "kind" => request.kind.as_str(), "result" => result)
                    .increment(1);
            }
            outcomes
        };
        ctx.spawn(commit.into_actor(self).map(move |outcomes, shard, ctx| {
            for ((reply, admission, player), outcome) in replies.into_iter().zip(outcomes) {
                if let (Some(player), Ok(receipt), Some(feed)) = (player, &outcome, shard.balances.get()) {
                    player.report(feed, receipt);
                }
                // A caller that gave up has dropped its receiver; its transfer still stands.
                let _ = reply.send(outcome);
                drop(admission);
            }
            shard.committing = false;
            if shard.pending.is_empty() {
                shard.notify_drained();
            } else {
                // These operations already waited one whole commit: they go without further delay.
                shard.start_commit(ctx);
            }
        }));
    }

    fn notify_drained(&mut self) {
        for waiter in self.drain_waiters.drain(..) {
            let _ = waiter.send(());
        }
    }
}

/// The player side of a transfer in a batch, to report its new balance once posted.
#[derive(Debug, Clone, Copy)]
struct PlayerSide {
    account: AccountId,
    debited: bool,
}

impl PlayerSide {
    /// Reports the balance the transfer left; a replayed answer moved nothing now and reports nothing.
    fn report(self, feed: &BalanceFeed, receipt: &TransferReceipt) {
        if receipt.replayed {
            return;
        }
        let balance = if self.debited {
            receipt.debit_balance_after
        } else {
            receipt.credit_balance_after
        };
        feed.report(BalanceChange {
            account: self.account,
            balance,
            at: receipt.created_at,
        });
    }
}

impl Actor for WalletShard {
    type Context = Context<Self>;
}

impl Handler<SubmitTransfer> for WalletShard {
    type Result = ();

    fn handle(&mut self, operation: SubmitTransfer, ctx: &mut Context<Self>) {
        if self.draining {
            let _ = operation.reply.send(Err(TransferError::ShuttingDown));
            return;
        }
        self.pending.push(operation);
        self.schedule_commit(ctx);
    }
}

impl Handler<Drain> for WalletShard {
    type Result = ();

    fn handle(&mut self, drain: Drain, ctx: &mut Context<Self>) {
        self.draining = true;
        self.drain_waiters.push(drain.done);
        if self.committing || !self.pending.is_empty() {
            self.start_commit(ctx);
        } else {
            self.notify_drained();
        }
    }
}

/// Commits a batch, retrying transient failures with a growing backoff. When the batch as a whole keeps
/// failing for a reason tied to its content, each operation is committed alone so that one bad
/// operation fails only itself.
///
/// A retry is safe even when the failed attempt did commit (the connection died during COMMIT, so its
/// outcome is unknown): every transfer carries its idempotency key, the retry finds the keys stored and
/// answers their stored outcomes (`replayed`), never applying them twice; and a batch that did not commit
/// is applied by the retry, never dropped.
async fn commit_with_retries(
    store: &LedgerStore,
    requests: &[TransferRequest],
    limits: ShardLimits,
    shard: usize,
) -> BatchOutcomes {
    match commit_attempts(store, requests, limits).await {
        Ok(outcomes) => outcomes,
        Err(error) if requests.len() > 1 && !is_transient(&error) => {
            tracing::warn!(shard, %error, "wallet batch failed; committing its operations one by one");
            let mut outcomes = Vec::with_capacity(requests.len());
            for request in requests {
                let single = std::slice::from_ref(request);
                match commit_attempts(store, single, limits).await {
                    Ok(mut outcome) => outcomes.push(outcome.remove(0)),
                    Err(error) => outcomes.push(Err(unavailable(shard, &error))),
                }
            }
            outcomes
        }
        Err(error) => {
            let failure = unavailable(shard, &error);
            requests.iter().map(|_| Err(failure.clone())).collect()
        }
    }
}

async fn commit_attempts(
    store: &LedgerStore,
    requests: &[TransferRequest],
    limits: ShardLimits,
) -> Result<BatchOutcomes, sqlx::Error> {
    let started = std::time::Instant::now();
    let mut attempt = 1;
    loop {
        let error = match store.commit_batch(requests).await {
            Ok(outcomes) => return Ok(outcomes),
            Err(error) => error,
        };
        let retry = match classify(&error) {
            Failure::OutOfReach => started.elapsed() < limits.commit_retry_window,
            Failure::Contention => attempt < limits.commit_attempts_max,
            Failure::Permanent => false,
        };
        if !retry {
            return Err(error);
        }
        tracing::debug!(%error, attempt, "wallet batch commit failed; retrying");
        metrics::counter!("wallet_commit_retries_total", "failure" => classify(&error).as_str()).increment(1);
        attempt += 1;
        tokio::time::sleep(retry_backoff(limits.commit_retry_backoff, attempt)).await;
    }
}

/// The pause before attempt `attempt` (from 2): the configured backoff times the attempt number, at most
/// [`COMMIT_RETRY_BACKOFF_MAX`].
fn retry_backoff(backoff: Duration, attempt: u32) -> Duration {
    backoff.saturating_mul(attempt).min(COMMIT_RETRY_BACKOFF_MAX)
}

/// Why a commit failed, which decides how long it is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The ledger is out of reach: the connection was lost, no connection could be had, the server is
    /// shutting down or starting, or it is no longer the primary (a failover is under way). Retried for
    /// `commit_retry_window`.
    OutOfReach,
    /// Concurrency or resources: a serialization failure, a deadlock, a resource limit. Retried
    /// `commit_attempts_max` times.
    Contention,
    /// Constraint violations and bugs: retrying cannot help.
    Permanent,
}

impl Failure {
    fn as_str(self) -> &'static str {
        match self {
            Failure::OutOfReach => "out_of_reach",
            Failure::Contention => "contention",
            Failure::Permanent => "permanent",
        }
    }
}

fn classify(error: &sqlx::Error) -> Failure {
    if crate::db::is_out_of_reach(error) {
        return Failure::OutOfReach;
    }
    match error {
        // The pool closes when the node shuts down: a few attempts, not a failover's wait.
        sqlx::Error::PoolClosed => Failure::Contention,
        sqlx::Error::Database(database) => {
            let code = database.code().unwrap_or_default();
            // 40001 serialization failure, 40P01 deadlock, 53xxx resources.
            if ["40001", "40P01"].contains(&code.as_ref()) || code.starts_with("53") {
                Failure::Contention
            } else {
                Failure::Permanent
            }
        }
        _ => Failure::Permanent,
    }
}

/// Failures worth retrying as they are (the batch is not split for them).
fn is_transient(error: &sqlx::Error) -> bool {
    classify(error) != Failure::Permanent
}

fn unavailable(shard: usize, error: &sqlx::Error) -> TransferError {
    tracing::error!(shard, %error, "wallet commit failed");
    TransferError::Unavailable("the ledger could not commit the transfer".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_waits_out_a_failover_and_contention_only_a_few_attempts() {
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), Failure::OutOfReach);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(classify(&sqlx::Error::Io(reset)), Failure::OutOfReach);
        assert_eq!(classify(&sqlx::Error::PoolClosed), Failure::Contention);
        assert_eq!(classify(&sqlx::Error::RowNotFound), Failure::Permanent);
    }

    #[test]
    fn the_backoff_grows_with_each_attempt_up_to_its_bound() {
        let backoff = Duration::from_millis(50);
        assert_eq!(retry_backoff(backoff, 2), Duration::from_millis(100));
        assert_eq!(retry_backoff(backoff, 9), Duration::from_millis(450));
        assert_eq!(retry_backoff(backoff, 1_000), COMMIT_RETRY_BACKOFF_MAX);
    }
}
