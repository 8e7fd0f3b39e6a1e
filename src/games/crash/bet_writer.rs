//! Writes a room's new bets in batches. Every bet used to cost the leader two fenced statements of its own
//! (record it pending, then mark it open), each taking a key-share lock on the room's fence row; a burst
//! of thousands of bets in one betting window exhausted the connection pool. The writer queues the
//! requests of one leadership term and commits whatever has queued in one statement per kind, so a burst
//! costs a handful of statements and one fence check each.
//!
//! There is no timer: while one batch is being written the next requests queue, so batches grow with the
//! load and a lone bet is written at once. Records and opens are written by two tasks, so new bets never
//! wait behind the opens of earlier ones (a bet is acknowledged once its stake is debited, before its open
//! is written, and a burst's admissions are what players wait for).

use super::store::{bet_view_from_row, Fence, StoreError, FENCE_HOLDS};
use super::BetView;
use crate::wallet::ledger::AccountId;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Requests waiting for the writer; past it callers wait for room (the round actor's futures, bounded by
/// the room's bets per round).
const BET_WRITE_QUEUE_CAPACITY: usize = 16_384;
/// The most requests one statement writes.
const BET_WRITE_BATCH_MAX: usize = 1_024;

/// A bet to record as pending.
#[derive(Debug, Clone)]
pub struct PendingBet {
    pub id: Uuid,
    pub round: i64,
    pub player: Uuid,
    pub account: AccountId,
    pub client_bet_id: String,
    pub amount: i64,
    pub auto_cashout: Option<u32>,
}

/// What recording a pending bet found: it is new, or the player already used its `client_bet_id`.
pub type Recorded = Result<Option<BetView>, StoreError>;

type Insert = (PendingBet, oneshot::Sender<Recorded>);
type MarkOpen = (Uuid, oneshot::Sender<Result<(), StoreError>>);

/// The handle of one leadership term's writer; its tasks stop when the last handle is dropped.
#[derive(Clone)]
pub struct BetWriter {
    inserts: mpsc::Sender<Insert>,
    opens: mpsc::Sender<MarkOpen>,
}

impl BetWriter {
    pub fn start(pool: PgPool, fence: Fence) -> BetWriter {
        let (inserts, insert_queue) = mpsc::channel(BET_WRITE_QUEUE_CAPACITY);
        let (opens, open_queue) = mpsc::channel(BET_WRITE_QUEUE_CAPACITY);
        actix::spawn(run(insert_queue, {
            let (pool, fence) = (pool.clone(), fence.clone());
            move |batch| {
                let (pool, fence) = (pool.clone(), fence.clone());
                async move { write_inserts(&pool, &fence, batch).await }
            }
        }));
        actix::spawn(run(open_queue, move |batch| {
            let (pool, fence) = (pool.clone(), fence.clone());
            async move { write_opens(&pool, &fence, batch).await }
        }));
        BetWriter { inserts, opens }
    }

    /// Records a pending bet; `Some(bet)` when the player's `client_bet_id` was already used.
    pub async fn insert(&self, bet: PendingBet) -> Recorded {
        let (reply, answer) = oneshot::channel();
        self.inserts.send((bet, reply)).await.map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Marks a staked bet open.
    pub async fn mark_open(&self, bet: Uuid) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.opens.send((bet, reply)).await.map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

/// One database failure, handed to every request of the batch it failed.
fn shared(error: &sqlx::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!("a bet batch failed: {error}")))
}

/// Writes whatever has queued, one batch at a time, until every handle is gone.
async fn run<T, W, F>(mut queue: mpsc::Receiver<T>, write: W)
where
    W: Fn(Vec<T>) -> F,
    F: std::future::Future<Output = ()>,
{
    let mut batch = Vec::with_capacity(BET_WRITE_BATCH_MAX);
    while queue.recv_many(&mut batch, BET_WRITE_BATCH_MAX).await > 0 {
        write(std::mem::replace(&mut batch, Vec::with_capacity(BET_WRITE_BATCH_MAX))).await;
    }
}

async fn write_inserts(pool: &PgPool, fence: &Fence, inserts: Vec<Insert>) {
    let bets: Vec<&PendingBet> = inserts.iter().map(|(bet, _)| bet).collect();
    match insert_pending(pool, fence, &bets).await {
        Ok(outcomes) => {
            for ((_, reply), outcome) in inserts.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
        Err(error) => {
            tracing::error!(%error, bets = inserts.len(), "failed to record a batch of bets");
            for (_, reply) in inserts {
                let _ = reply.send(Err(shared(&error)));
            }
        }
    }
}

async fn write_opens(pool: &PgPool, fence: &Fence, opens: Vec<MarkOpen>) {
    let ids: Vec<Uuid> = opens.iter().map(|(id, _)| *id).collect();
    let outcome = sqlx::query(&format!(
        "UPDATE crash_bets SET status = 'open' WHERE id = ANY($3) AND status = 'pending' AND {FENCE_HOLDS}"
    ))
    .bind(&fence.room)
    .bind(fence.token)
    .bind(&ids)
    .execute(pool)
    .await;
    // A bet that already moved on (crashed, cashed out) is fine: only a refused fence changes nothing at
    // all, and then no row of the batch was updated.
    let verdict = match &outcome {
        Ok(done) if done.rows_affected() > 0 => Ok(()),
        Ok(_) => match super::store::fence_holds(pool, fence).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(StoreError::fenced(fence)),
            Err(error) => Err(shared(&error)),
        },
        Err(error) => Err(shared(error)),
    };
    for (_, reply) in opens {
        let _ = reply.send(match &verdict {
            Ok(()) => Ok(()),
            Err(StoreError::Fenced { room, token }) => Err(StoreError::Fenced {
                room: room.clone(),
                token: *token,
            }),
            Err(StoreError::Database(error)) => Err(shared(error)),
        });
    }
}

/// Inserts the bets in one fenced statement, then loads the earlier bets of any `client_bet_id` that was
/// already used. A bet neither inserted nor found was refused by the fence.
async fn insert_pending(pool: &PgPool, fence: &Fence, bets: &[&PendingBet]) -> sqlx::Result<Vec<Recorded>> {
    let inserted: Vec<Uuid> = sqlx::query_scalar(&format!(
        "INSERT INTO crash_bets (id, round_id, player_id, account_id, client_bet_id, amount, auto_cashout, status)
         SELECT b.id, b.round_id, b.player_id, b.account_id, b.client_bet_id, b.amount, b.auto_cashout, 'pending'
         FROM unnest($3::uuid[], $4::int8[], $5::uuid[], $6::int8[], $7::text[], $8::int8[], $9::int4[])
             AS b(id, round_id, player_id, account_id, client_bet_id, amount, auto_cashout)
         WHERE {FENCE_HOLDS}
         ON CONFLICT (player_id, client_bet_id) DO NOTHING
         RETURNING id"
    ))
    .bind(&fence.room)
    .bind(fence.token)
    .bind(bets.iter().map(|bet| bet.id).collect::<Vec<_>>())
    .bind(bets.iter().map(|bet| bet.round).collect::<Vec<_>>())
    .bind(bets.iter().map(|bet| bet.player).collect::<Vec<_>>())
    .bind(bets.iter().map(|bet| bet.account.0).collect::<Vec<_>>())
    .bind(bets.iter().map(|bet| bet.client_bet_id.clone()).collect::<Vec<_>>())
    .bind(bets.iter().map(|bet| bet.amount).collect::<Vec<_>>())
    .bind(
        bets.iter()
            .map(|bet| bet.auto_cashout.map(|m| m as i32))
            .collect::<Vec<_>>(),
    )
    .fetch_all(pool)
    .await?;
    let inserted: std::collections::HashSet<Uuid> = inserted.into_iter().collect();
    let others: Vec<&&PendingBet> = bets.iter().filter(|bet| !inserted.contains(&bet.id)).collect();
    let mut earlier = std::collections::HashMap::new();
    if !others.is_empty() {
        let rows = sqlx::query(
            "SELECT b.*, r.room FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
             WHERE (b.player_id, b.client_bet_id) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))",
        )
        .bind(others.iter().map(|bet| bet.player).collect::<Vec<_>>())
        .bind(others.iter().map(|bet| bet.client_bet_id.clone()).collect::<Vec<_>>())
        .fetch_all(pool)
        .await?;
        for row in &rows {
            let view = bet_view_from_row(row)?;
            let player: Uuid = sqlx::Row::try_get(row, "player_id")?;
            earlier.insert((player, view.client_bet_id.clone()), view);
        }
    }
    Ok(bets
        .iter()
        .map(|bet| {
            if inserted.contains(&bet.id) {
                return Ok(None);
            }
            earlier
                .get(&(bet.player, bet.client_bet_id.clone()))
                .cloned()
                .map(Some)
                .ok_or_else(|| StoreError::fenced(fence))
        })
        .collect())
}
