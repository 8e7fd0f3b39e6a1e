//! An operator's pause of betting in a room, stored in Postgres (a row while paused) so that it outlives
//! leaders, nodes and Redis failovers. The leader reads it before every round; the admin API writes it and
//! then tells the leader, which applies it at once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::time::Duration;

/// How long the round actor waits for Postgres when it reads the pause before a round.
const PAUSE_READ_TIMEOUT_MS: u64 = 1_000;

/// Who paused betting, why and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct BettingPause {
    pub by: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// The room's pause: `Some(None)` when betting is allowed, `None` when Postgres did not answer in time (the
/// room then keeps what it knew).
pub async fn read(pool: &PgPool, room: &str) -> Option<Option<BettingPause>> {
    let query = sqlx::query_as::<_, BettingPause>(
        "SELECT paused_by AS by, reason, paused_at AS at FROM crash_room_pauses WHERE room = $1",
    )
    .bind(room)
    .fetch_optional(pool);
    match tokio::time::timeout(Duration::from_millis(PAUSE_READ_TIMEOUT_MS), query).await {
        Ok(Ok(pause)) => Some(pause),
        Ok(Err(error)) => {
            tracing::warn!(room, %error, "could not read the room's betting pause");
            None
        }
        Err(_) => {
            tracing::warn!(room, "reading the room's betting pause timed out");
            None
        }
    }
}

/// Every paused room's pause.
pub async fn all(pool: &PgPool) -> Result<Vec<(String, BettingPause)>, sqlx::Error> {
    let rows: Vec<(String, String, String, DateTime<Utc>)> =
        sqlx::query_as("SELECT room, paused_by, reason, paused_at FROM crash_room_pauses")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(room, by, reason, at)| (room, BettingPause { by, reason, at }))
        .collect())
}

/// Records a pause (`Some`, replacing an earlier one) or lifts it (`None`).
pub async fn record(pool: &PgPool, room: &str, pause: Option<&BettingPause>) -> Result<(), sqlx::Error> {
    match pause {
        Some(pause) => {
            sqlx::query(
                "INSERT INTO crash_room_pauses (room, paused_by, reason, paused_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (room) DO UPDATE SET paused_by = $2, reason = $3, paused_at = $4",
            )
            .bind(room)
            .bind(&pause.by)
            .bind(&pause.reason)
            .bind(pause.at)
            .execute(pool)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM crash_room_pauses WHERE room = $1")
                .bind(room)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}
