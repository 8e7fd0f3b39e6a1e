//! Postgres I/O of the crash game: chains, rounds and bets. Money is not here; see the ledger keys.

use super::{BetStatus, BetView};
use crate::catalog::rtp;
use crate::fair::crash::{self, GameHash};
use crate::wallet::ledger::IdempotencyKey;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Row};
use std::sync::LazyLock;
use uuid::Uuid;

pub fn stake_key(bet: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("crash:stake:{bet}")).expect("a valid key")
}

pub fn win_key(bet: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("crash:win:{bet}")).expect("a valid key")
}

pub fn refund_key(bet: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("crash:refund:{bet}")).expect("a valid key")
}

/// A room leader's right to write: its fencing token for the room. Every write a leader makes checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub room: String,
    pub token: i64,
}

/// Why a leader's write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another node took the room's leadership: this node must stop driving it.
    #[error("room {room}: fencing token {token} was superseded")]
    Fenced { room: String, token: i64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    pub(super) fn fenced(fence: &Fence) -> StoreError {
        StoreError::Fenced {
            room: fence.room.clone(),
            token: fence.token,
        }
    }
}

/// The condition every single-statement leader write carries: the fence still holds, checked under a
/// key-share lock so that a concurrent takeover waits for this write (or this write sees the new token).
pub(super) const FENCE_HOLDS: &str =
    "EXISTS (SELECT 1 FROM crash_room_leaders WHERE room = $1 AND fencing_token = $2 FOR KEY SHARE)";

/// Takes the next fencing token of `room` for `node_id`. It waits for every write under the previous
/// token to finish, and every later write under an older token is refused.
pub async fn take_fence(pool: &PgPool, room: &str, node_id: &str) -> sqlx::Result<Fence> {
    let fence = take_fence_while(pool, room, node_id, std::time::Duration::from_secs(10), async { true }).await?;
    Ok(fence.expect("an unconditional fence is always taken"))
}

/// Takes the next fencing token within `limit` (lock waits included), and commits it only if
/// `still_held` (the lease, checked last) says this node may still lead: a node whose lease expired
/// while it waited must not depose the leader that took the lease meanwhile. `None` when it may not.
pub async fn take_fence_while(
    pool: &PgPool,
    room: &str,
    node_id: &str,
    limit: std::time::Duration,
    still_held: impl std::future::Future<Output = bool>,
) -> sqlx::Result<Option<Fence>> {
    let mut transaction = pool.begin().await?;
    let limit_ms = limit.as_millis().max(1);
    sqlx::query(&format!("SET LOCAL lock_timeout = {limit_ms}"))
        .execute(&mut *transaction)
        .await?;
    sqlx::query(&format!("SET LOCAL statement_timeout = {limit_ms}"))
        .execute(&mut *transaction)
        .await?;
    sqlx::query(
        "INSERT INTO crash_room_leaders (room, fencing_token, node_id) VALUES ($1, 0, $2) ON CONFLICT (room) DO NOTHING",
    )
    .bind(room)
    .bind(node_id)
    .execute(&mut *transaction)
    .await?;
    // FOR UPDATE, not just the UPDATE below: only FOR UPDATE conflicts with the writers' FOR KEY SHARE
    // (an UPDATE that keeps the key takes FOR NO KEY UPDATE, which does not).
    sqlx::query("SELECT 1 FROM crash_room_leaders WHERE room = $1 FOR UPDATE")
        .bind(room)
        .execute(&mut *transaction)
        .await?;
    let token: i64 = sqlx::query_scalar(
        "UPDATE crash_room_leaders SET fencing_token = fencing_token + 1, node_id = $2, acquired_at = now()
         WHERE room = $1 RETURNING fencing_token",
    )
    .bind(room)
    .bind(node_id)
    .fetch_one(&mut *transaction)
    .await?;
    if !still_held.await {
        transaction.rollback().await?;
        return Ok(None);
    }
    transaction.commit().await?;
    Ok(Some(Fence {
        room: room.to_owned(),
        token,
    }))
}

/// Whether the fence still holds (a quick check before long work; writes check it again).
pub async fn fence_holds(pool: &PgPool, fence: &Fence) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM crash_room_leaders WHERE room = $1 AND fencing_token = $2)")
        .bind(&fence.room)
        .bind(fence.token)
        .fetch_one(pool)
        .await
}

/// Checks the fence inside a transaction; the key-share lock lasts until the transaction ends.
async fn check_fence(connection: &mut sqlx::PgConnection, fence: &Fence) -> Result<(), StoreError> {
    let holds = sqlx::query(&format!("SELECT {FENCE_HOLDS}"))
        .bind(&fence.room)
        .bind(fence.token)
        .fetch_one(connection)
        .await?
        .try_get::<bool, _>(0)?;
    if holds {
        Ok(())
    } else {
        Err(StoreError::fenced(fence))
    }
}

/// A round just taken from the room's chain.
#[derive(Debug, Clone)]
pub struct NewRound {
    pub id: i64,
    pub game_number: i32,
    pub hash: GameHash,
    pub crash_point: u32,
    pub terminating_hash: String,
}

/// A finished round whose hash is public: one that crashed, or one that was aborted (its leader died or
/// the cluster stopped mid-round) once its bets were settled. An aborted round's game was used up all
/// the same, so it is revealed too: without it the list would skip a link of the chain, and a player
/// could not tell a round cut short from a hidden one.
#[derive(Debug, Clone, Serialize)]
pub struct RevealedRound {
    pub round_id: i64,
    pub hash: String,
    pub crash_point: serde_json::Value,
    #[serde(skip)]
    pub crash_point_hundredths: u32,
    /// When it crashed; absent for an aborted round.
    pub crashed_at: Option<DateTime<Utc>>,
    pub status: RoundOutcome,
}

/// How a revealed round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundOutcome {
    /// It ran to its crash point.
    Crashed,
    /// It was cut short and every bet refunded (or paid a cashout decided before); the crash point is the
    /// one its game would have had.
    Aborted,
}

impl RoundOutcome {
    fn from_phase(phase: &str) -> sqlx::Result<RoundOutcome> {
        match phase {
            "crashed" => Ok(RoundOutcome::Crashed),
            "aborted" => Ok(RoundOutcome::Aborted),
            other => Err(sqlx::Error::Protocol(format!("round in phase {other} is not revealed"))),
        }
    }
}

/// The rounds whose hash may be shown (`r` is `crash_rounds`): crashed, or aborted and settled. Until
/// an aborted round is settled, its recovery is still deciding its bets.
const REVEALED: &str = "(r.phase = 'crashed' OR (r.phase = 'aborted' AND r.settled))";

/// Stores a new chain for `room` and returns its id. Only the terminating hash is public.
pub async fn insert_chain(pool: &PgPool, room: &str, salt: &str, chain: &[GameHash]) -> sqlx::Result<i64> {
    let terminating = hex::encode(chain.last().expect("a chain has links"));
    let mut transaction = pool.begin().await?;
    let chain_id: i64 = sqlx::query_scalar(
        "INSERT INTO crash_chains (room, salt, terminating_hash, length) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(room)
    .bind(salt)
    .bind(&terminating)
    .bind(chain.len() as i32)
    .fetch_one(&mut *transaction)
    .await?;
    let indexes: Vec<i32> = (0..chain.len() as i32).collect();
    let hashes: Vec<Vec<u8>> = chain.iter().map(|link| link.to_vec()).collect();
    sqlx::query(
        "INSERT INTO crash_chain_links (chain_id, idx, hash) SELECT $1, * FROM unnest($2::int4[], $3::bytea[])",
    )
    .bind(chain_id)
    .bind(&indexes)
    .bind(&hashes)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(chain_id)
}

/// Takes the next game of the room's newest unfinished chain and records its round in the betting phase.
/// `None` when the room has no usable chain.
pub async fn start_round(pool: &PgPool, fence: &Fence, house_edge_bps: u32) -> Result<Option<NewRound>, StoreError> {
    let room = fence.room.as_str();
    let mut transaction = pool.begin().await?;
    check_fence(&mut transaction, fence).await?;
    let chain = sqlx::query(
        "SELECT id, salt, terminating_hash, length, next_game FROM crash_chains
         WHERE room = $1 AND next_game < length ORDER BY id DESC LIMIT 1 FOR UPDATE",
    )
    .bind(room)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(chain) = chain else {
        return Ok(None);
    };
    let chain_id: i64 = chain.try_get("id")?;
    let salt: String = chain.try_get("salt")?;
    let length: i32 = chain.try_get("length")?;
    let game_number: i32 = chain.try_get("next_game")?;
    sqlx::query("UPDATE crash_chains SET next_game = next_game + 1 WHERE id = $1")
        .bind(chain_id)
        .execute(&mut *transaction)
        .await?;
    let link: Vec<u8> = sqlx::query_scalar("SELECT hash FROM crash_chain_links WHERE chain_id = $1 AND idx = $2")
        .bind(chain_id)
        .bind(length - 1 - game_number)
        .fetch_one(&mut *transaction)
        .await?;
    let hash: GameHash = link
        .try_into()
        .map_err(|_| sqlx::Error::Protocol("a chain link is not 32 bytes".into()))?;
    let crash_point = crash::crash_point(&salt, &hash, house_edge_bps);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO crash_rounds (room, chain_id, game_number, hash, crash_point, phase, leader_token)
         VALUES ($1, $2, $3, $4, $5, 'betting', $6) RETURNING id",
    )
    .bind(room)
    .bind(chain_id)
    .bind(game_number)
    .bind(hash.to_vec())
    .bind(crash_point as i32)
    .bind(fence.token)
    .fetch_one(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Some(NewRound {
        id,
        game_number,
        hash,
        crash_point,
        terminating_hash: chain.try_get("terminating_hash")?,
    }))
}

pub async fn mark_running(pool: &PgPool, fence: &Fence, round: i64) -> Result<(), StoreError> {
    let updated = sqlx::query(&format!(
        "UPDATE crash_rounds SET phase = 'running', running_at = now() WHERE id = $3 AND {FENCE_HOLDS}"
    ))
    .bind(&fence.room)
    .bind(fence.token)
    .bind(round)
    .execute(pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::fenced(fence));
    }
    Ok(())
}

/// Records the crash and every bet that lost with it, in one transaction.
pub async fn mark_crashed(pool: &PgPool, fence: &Fence, round: i64, lost: &[Uuid]) -> Result<(), StoreError> {
    let mut transaction = pool.begin().await?;
    check_fence(&mut transaction, fence).await?;
    sqlx::query("UPDATE crash_rounds SET phase = 'crashed', crashed_at = now() WHERE id = $1")
        .bind(round)
        .execute(&mut *transaction)
        .await?;
    sqlx::query(
        "UPDATE crash_bets SET status = 'lost', settled_at = now() WHERE id = ANY($1) AND status IN ('pending', 'open')",
    )
        .bind(lost)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

/// Marks a round that never crashed as aborted (its open bets are refunded by recovery).
pub async fn mark_aborted(pool: &PgPool, fence: &Fence, round: i64) -> Result<(), StoreError> {
    let mut transaction = pool.begin().await?;
    check_fence(&mut transaction, fence).await?;
    sqlx::query("UPDATE crash_rounds SET phase = 'aborted' WHERE id = $1 AND phase <> 'crashed'")
        .bind(round)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

/// A crash round's settled bets (cashed out or lost) as RTP rounds of the room's catalog game.
static RECORD_ROUND_SQL: LazyLock<String> = LazyLock::new(|| {
    rtp::add_house_rounds(
        "(SELECT $2::text AS rtp_code, 0 AS rtp_shard, amount AS rtp_staked, COALESCE(payout, 0) AS rtp_won,
                 COALESCE(settled_at, now()) AS rtp_at
          FROM crash_bets WHERE round_id = $1 AND status IN ('cashed_out', 'lost'))",
    )
});

/// Closes a round's books once no stake or win is in flight, and adds its settled bets to the room's RTP
/// rollups the first time (the round's row lock makes a second closing see it closed).
pub async fn settle_round(pool: &PgPool, fence: &Fence, round: i64) -> Result<(), StoreError> {
    let mut transaction = pool.begin().await?;
    check_fence(&mut transaction, fence).await?;
    let already_settled: bool = sqlx::query_scalar("SELECT settled FROM crash_rounds WHERE id = $1 FOR UPDATE")
        .bind(round)
        .fetch_one(&mut *transaction)
        .await?;
    if !already_settled {
        sqlx::query(&RECORD_ROUND_SQL)
            .bind(round)
            .bind(&fence.room)
            .execute(&mut *transaction)
            .await?;
    }
    sqlx::query(
        "UPDATE crash_rounds r SET settled = true,
             bet_count = s.bets, total_staked = s.staked, total_paid = s.paid
         FROM (SELECT count(*) FILTER (WHERE status <> 'void') AS bets,
                      coalesce(sum(amount) FILTER (WHERE status NOT IN ('void', 'refunded')), 0) AS staked,
                      coalesce(sum(payout), 0) AS paid
               FROM crash_bets WHERE round_id = $1) s
         WHERE r.id = $1",
    )
    .bind(round)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(())
}

pub fn bet_view_from_row(row: &sqlx::postgres::PgRow) -> sqlx::Result<BetView> {
    let status: String = row.try_get("status")?;
    Ok(BetView {
        bet_id: row.try_get("id")?,
        round_id: row.try_get("round_id")?,
        room: row.try_get("room")?,
        client_bet_id: row.try_get("client_bet_id")?,
        amount: row.try_get("amount")?,
        auto_cashout: row.try_get::<Option<i32>, _>("auto_cashout")?.map(|m| m as u32),
        status: BetStatus::from_stored(&status).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "status".into(),
            source: status.clone().into(),
        })?,
        cashout_multiplier: row.try_get::<Option<i32>, _>("cashout_multiplier")?.map(|m| m as u32),
        payout: row.try_get("payout")?,
    })
}

/// Moves a bet to a final or open status, recording the cashout when there is one.
pub async fn set_bet_status(
    pool: &PgPool,
    fence: &Fence,
    bet: Uuid,
    status: BetStatus,
    cashout: Option<(u32, i64)>,
) -> Result<(), StoreError> {
    let settled = !matches!(status, BetStatus::Pending | BetStatus::Open | BetStatus::CashingOut);
    let updated = sqlx::query(&format!(
        "UPDATE crash_bets SET status = $4, cashout_multiplier = $5, payout = $6,
             settled_at = CASE WHEN $7 THEN now() ELSE settled_at END
         WHERE id = $3 AND {FENCE_HOLDS}"
    ))
    .bind(&fence.room)
    .bind(fence.token)
    .bind(bet)
    .bind(status.stored())
    .bind(cashout.map(|(multiplier, _)| multiplier as i32))
    .bind(cashout.map(|(_, payout)| payout))
    .bind(settled)
    .execute(pool)
    .await?;
    // Every caller names an existing bet, so no row means the fence refused the write.
    if updated.rows_affected() == 0 {
        return Err(StoreError::fenced(fence));
    }
    Ok(())
}

/// A player's bets in one round (all but void ones), for their state after a (re)connect.
pub async fn player_bets_in_round(pool: &PgPool, player: Uuid, round: i64) -> sqlx::Result<Vec<BetView>> {
    let rows = sqlx::query(
        "SELECT b.*, r.room FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
         WHERE b.player_id = $1 AND b.round_id = $2 AND b.status <> 'void' ORDER BY b.created_at",
    )
    .bind(player)
    .bind(round)
    .fetch_all(pool)
    .await?;
    rows.iter().map(bet_view_from_row).collect()
}

fn revealed_from_row(row: &sqlx::postgres::PgRow) -> sqlx::Result<RevealedRound> {
    let hash: Vec<u8> = row.try_get("hash")?;
    let crash_point: i32 = row.try_get("crash_point")?;
    Ok(RevealedRound {
        round_id: row.try_get("id")?,
        hash: hex::encode(hash),
        crash_point: super::multiplier_json(crash_point as u32),
        crash_point_hundredths: crash_point as u32,
        crashed_at: row.try_get("crashed_at")?,
        status: RoundOutcome::from_phase(row.try_get("phase")?)?,
    })
}

/// The room's most recent crashed round, for the next `round_start`.
pub async fn last_revealed_round(pool: &PgPool, room: &str) -> sqlx::Result<Option<RevealedRound>> {
    let row = sqlx::query(
        "SELECT id, hash, crash_point, crashed_at, phase FROM crash_rounds
         WHERE room = $1 AND phase = 'crashed' ORDER BY id DESC LIMIT 1",
    )
    .bind(room)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(revealed_from_row).transpose()
}

/// Revealed rounds of a room (crashed and aborted), newest first, strictly older than `before` when
/// given. Consecutive rounds of one chain are one hash apart: SHA-256 of a round's hash is the hash of the
/// round listed after it.
pub async fn list_revealed_rounds(
    pool: &PgPool,
    room: &str,
    before: Option<i64>,
    limit: u32,
) -> sqlx::Result<Vec<RevealedRound>> {
    let rows = sqlx::query(&format!(
        "SELECT r.id, r.hash, r.crash_point, r.crashed_at, r.phase FROM crash_rounds r
         WHERE r.room = $1 AND {REVEALED} AND ($2::int8 IS NULL OR r.id < $2)
         ORDER BY r.id DESC LIMIT $3"
    ))
    .bind(room)
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(revealed_from_row).collect()
}

/// The public data of a room's current chain: its salt and terminating hash.
pub async fn chain_info(pool: &PgPool, room: &str) -> sqlx::Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT salt, terminating_hash FROM crash_chains WHERE room = $1 ORDER BY id DESC LIMIT 1")
        .bind(room)
        .fetch_optional(pool)
        .await?;
    row.map(|row| Ok((row.try_get("salt")?, row.try_get("terminating_hash")?)))
        .transpose()
}

/// What verifying a revealed round needs: its hash, salt, crash point, and the next-older round's hash in
/// the same chain (which must equal SHA-256 of this one).
pub struct RoundEvidence {
    pub room: String,
    pub status: RoundOutcome,
    pub hash: GameHash,
    pub salt: String,
    pub crash_point: u32,
    pub previous_hash: Option<GameHash>,
}

pub async fn round_evidence(pool: &PgPool, round: i64) -> sqlx::Result<Option<RoundEvidence>> {
    let row = sqlx::query(&format!(
        "SELECT r.room, r.phase, r.hash, r.crash_point, c.salt, r.game_number, c.terminating_hash,
                (SELECT p.hash FROM crash_rounds p WHERE p.chain_id = r.chain_id AND p.game_number = r.game_number - 1) AS previous
         FROM crash_rounds r JOIN crash_chains c ON c.id = r.chain_id
         WHERE r.id = $1 AND {REVEALED}"
    ))
    .bind(round)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let to_hash = |bytes: Vec<u8>| -> sqlx::Result<GameHash> {
        bytes
            .try_into()
            .map_err(|_| sqlx::Error::Protocol("a round hash is not 32 bytes".into()))
    };
    // Game 1's predecessor in the chain is the published terminating hash itself.
    let mut previous: Option<Vec<u8>> = row.try_get("previous")?;
    if previous.is_none() && row.try_get::<i32, _>("game_number")? == 1 {
        let terminating: String = row.try_get("terminating_hash")?;
        previous = hex::decode(terminating).ok();
    }
    Ok(Some(RoundEvidence {
        room: row.try_get("room")?,
        status: RoundOutcome::from_phase(row.try_get("phase")?)?,
        hash: to_hash(row.try_get("hash")?)?,
        salt: row.try_get("salt")?,
        crash_point: row.try_get::<i32, _>("crash_point")? as u32,
        previous_hash: previous.map(to_hash).transpose()?,
    }))
}

/// One of a player's crash bets in their history, with its round's result once the round crashed or
/// was aborted and settled (a round's hash is secret until then).
#[derive(Debug, serde::Serialize)]
pub struct HistoryEntry {
    #[serde(flatten)]
    pub bet: BetView,
    pub round_phase: String,
    pub crash_point: Option<serde_json::Value>,
    pub round_hash: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The player's crash bets among `ids` (in no particular order): the entries of one history page.
pub async fn player_history_entries(pool: &PgPool, player: Uuid, ids: &[Uuid]) -> sqlx::Result<Vec<HistoryEntry>> {
    let rows = sqlx::query(&format!(
        "SELECT b.*, r.room, r.phase,
             CASE WHEN {REVEALED} THEN r.hash END AS revealed_hash,
             CASE WHEN {REVEALED} THEN r.crash_point END AS revealed_crash_point
         FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
         WHERE b.player_id = $1 AND b.id = ANY($2)"
    ))
    .bind(player)
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(HistoryEntry {
                bet: bet_view_from_row(row)?,
                round_phase: row.try_get("phase")?,
                crash_point: row
                    .try_get::<Option<i32>, _>("revealed_crash_point")?
                    .map(|point| super::multiplier_json(point as u32)),
                round_hash: row.try_get::<Option<Vec<u8>>, _>("revealed_hash")?.map(hex::encode),
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}
