//! Leaderboards: the players who won most, and the biggest single wins, in one crash room or one instant
//! game over a recent period.
//!
//! Boards are read from the reader pool (the replica when one is configured): they are listings, and a
//! board a second behind the primary is still the right board. Every visitor of a page asks for the same
//! few boards, so each node keeps each board for `games.leaderboard_cache_ttl_ms` and lets one request at
//! a time read a missing one. The set of boards is bounded by construction: a board is only ever made for
//! a configured room or a registered game, and a closed set of periods and rankings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The most entries a board holds; a request for fewer gets the first ones.
pub const ENTRIES_MAX: u32 = 50;

/// How far back a board looks. A week at most, so a board reads a bounded slice of the bet tables (found
/// through their `created_at` indexes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Hour,
    Day,
    Week,
}

impl Period {
    fn length(self) -> chrono::Duration {
        match self {
            Period::Hour => chrono::Duration::hours(1),
            Period::Day => chrono::Duration::days(1),
            Period::Week => chrono::Duration::weeks(1),
        }
    }
}

/// What a board ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ranking {
    /// Players by their net result (payouts minus stakes), winners only.
    Profit,
    /// Single bets by what they won (payout minus stake).
    Win,
    /// Single winning bets by their multiplier (payout over stake).
    Multiplier,
}

/// Whose bets a board counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// The bets of one crash room.
    CrashRoom(String),
    /// The bets of one instant game (dice, plinko, mines).
    InstantGame(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoardKey {
    pub source: Source,
    pub period: Period,
    pub ranking: Ranking,
}

/// One ranked player (`profit` boards).
#[derive(Debug, Clone, Serialize)]
pub struct PlayerEntry {
    pub rank: u32,
    pub username: String,
    pub bets: i64,
    pub wagered: i64,
    pub paid: i64,
    pub profit: i64,
}

/// One ranked bet (`win` and `multiplier` boards). Multipliers are display values (2.08); the amounts
/// are exact, in micro-units.
#[derive(Debug, Clone, Serialize)]
pub struct BetEntry {
    pub rank: u32,
    pub username: String,
    pub bet_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_id: Option<i64>,
    pub amount: i64,
    pub payout: i64,
    pub profit: i64,
    pub multiplier: serde_json::Value,
    pub settled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Entries {
    Players(Vec<PlayerEntry>),
    Bets(Vec<BetEntry>),
}

impl Entries {
    /// The first `limit` entries.
    pub fn first(&self, limit: usize) -> Entries {
        match self {
            Entries::Players(players) => Entries::Players(players.iter().take(limit).cloned().collect()),
            Entries::Bets(bets) => Entries::Bets(bets.iter().take(limit).cloned().collect()),
        }
    }
}

/// A board as read: the bets settled since `from` that it counts, ranked.
#[derive(Debug, Clone)]
pub struct Board {
    pub from: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    pub entries: Entries,
}

/// After a failed read, requests for the same board get the last board read (or the error) at once for
/// this long, so an unreachable replica costs one timeout per board and second, not one per request
/// queued behind the read.
const FAILED_READ_BACKOFF: Duration = Duration::from_secs(1);

/// The database's error is logged where it happens; clients only learn to retry.
#[derive(Debug, thiserror::Error)]
#[error("the leaderboard cannot be read now; try again shortly")]
pub struct LeaderboardUnavailable;

#[derive(Default)]
struct SlotState {
    /// The last board read and when.
    board: Option<(Instant, Arc<Board>)>,
    last_failure: Option<Instant>,
}

impl SlotState {
    fn fresh(&self, ttl: Duration) -> Option<Arc<Board>> {
        self.board
            .as_ref()
            .filter(|(read_at, _)| read_at.elapsed() < ttl)
            .map(|(_, board)| board.clone())
    }

    /// The last board, however old.
    fn stale(&self) -> Result<Arc<Board>, LeaderboardUnavailable> {
        self.board
            .as_ref()
            .map(|(_, board)| board.clone())
            .ok_or(LeaderboardUnavailable)
    }
}

/// One slot per board; its lock is held while the board is read, so concurrent requests for a stale
/// board wait for one read instead of each running the query.
type Slot = Arc<tokio::sync::Mutex<SlotState>>;

/// The boards of one node, read from `pool` and kept for `ttl`.
pub struct Leaderboards {
    pool: PgPool,
    ttl: Duration,
    slots: Mutex<HashMap<BoardKey, Slot>>,
}

impl Leaderboards {
    pub fn new(pool: PgPool, ttl: Duration) -> Leaderboards {
        Leaderboards {
            pool,
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The board `key`, from the cache while it is fresh. When it cannot be read, the last board read is
    /// served, however old (a leaderboard a minute late beats none). The caller has checked that the room
    /// or game exists, which keeps the cache bounded.
    pub async fn board(&self, key: &BoardKey) -> Result<Arc<Board>, LeaderboardUnavailable> {
        let slot = self.slot(key);
        let mut state = slot.lock().await;
        if let Some(board) = state.fresh(self.ttl) {
            return Ok(board);
        }
        if state
            .last_failure
            .is_some_and(|failed_at| failed_at.elapsed() < FAILED_READ_BACKOFF)
        {
            return state.stale();
        }
        match read_board(&self.pool, key).await {
            Ok(board) => {
                let board = Arc::new(board);
                state.board = Some((Instant::now(), board.clone()));
                state.last_failure = None;
                Ok(board)
            }
            Err(error) => {
                tracing::warn!(?key, %error, "a leaderboard could not be read");
                state.last_failure = Some(Instant::now());
                state.stale()
            }
        }
    }

    fn slot(&self, key: &BoardKey) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.entry(key.clone()).or_default().clone()
    }
}

/// The settled bets a board counts, as one row shape for both bet tables: `$1` names the room or game,
/// `$2` is the start of the period. Refunded and voided bets never count; bets still in play do not yet.
/// A crash multiplier is the recorded cashout multiplier; an instant game's is its payout over its stake.
fn settled_bets(source: &Source) -> &'static str {
    match source {
        Source::CrashRoom(_) => {
            "SELECT b.id, b.player_id, b.amount, COALESCE(b.payout, 0) AS payout, b.round_id,
                    b.cashout_multiplier::int8 AS multiplier, b.settled_at, b.created_at
             FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
             WHERE r.room = $1 AND b.created_at >= $2 AND b.status IN ('cashed_out', 'lost')"
        }
        Source::InstantGame(_) => {
            "SELECT b.id, b.player_id, b.amount, b.payout, NULL::int8 AS round_id,
                    b.payout * 100 / b.amount AS multiplier, b.settled_at, b.created_at
             FROM instant_bets b
             WHERE b.game = $1 AND b.created_at >= $2 AND b.status = 'settled'"
        }
    }
}

/// Sums are clamped into `BIGINT`, so a board can never fail on an overflow however much was played.
const PROFIT_QUERY: &str = "
    SELECT p.username, count(*)::int8 AS bets,
           LEAST(sum(s.amount), 9223372036854775807)::int8 AS wagered,
           LEAST(sum(s.payout), 9223372036854775807)::int8 AS paid,
           LEAST(sum(s.payout - s.amount), 9223372036854775807)::int8 AS profit
    FROM settled s JOIN players p ON p.id = s.player_id
    GROUP BY p.id, p.username
    HAVING sum(s.payout - s.amount) > 0
    ORDER BY profit DESC, wagered DESC, p.username
    LIMIT $3";

const WIN_ORDER: &str = "(s.payout - s.amount) DESC, s.created_at, s.id";
const MULTIPLIER_ORDER: &str = "s.multiplier DESC, s.payout DESC, s.created_at, s.id";

async fn read_board(pool: &PgPool, key: &BoardKey) -> sqlx::Result<Board> {
    let generated_at = Utc::now();
    let from = generated_at - key.period.length();
    let name = match &key.source {
        Source::CrashRoom(name) | Source::InstantGame(name) => name,
    };
    let ranked = match key.ranking {
        Ranking::Profit => PROFIT_QUERY.to_owned(),
        Ranking::Win => bets_query(WIN_ORDER),
        Ranking::Multiplier => bets_query(MULTIPLIER_ORDER),
    };
    let sql = format!("WITH settled AS ({}) {ranked}", settled_bets(&key.source));
    let rows = sqlx::query(&sql)
        .bind(name)
        .bind(from)
        .bind(i64::from(ENTRIES_MAX))
        .fetch_all(pool)
        .await?;
    let entries = match key.ranking {
        Ranking::Profit => Entries::Players(ranked_rows(&rows, player_entry)?),
        Ranking::Win | Ranking::Multiplier => Entries::Bets(ranked_rows(&rows, bet_entry)?),
    };
    Ok(Board {
        from,
        generated_at,
        entries,
    })
}

/// The winning bets in `order`.
fn bets_query(order: &str) -> String {
    format!(
        "SELECT p.username, s.id, s.round_id, s.amount, s.payout, s.multiplier, s.settled_at
         FROM settled s JOIN players p ON p.id = s.player_id
         WHERE s.payout > s.amount
         ORDER BY {order}
         LIMIT $3"
    )
}

fn ranked_rows<T>(rows: &[PgRow], entry: impl Fn(u32, &PgRow) -> sqlx::Result<T>) -> sqlx::Result<Vec<T>> {
    (1..).zip(rows).map(|(rank, row)| entry(rank, row)).collect()
}

fn player_entry(rank: u32, row: &PgRow) -> sqlx::Result<PlayerEntry> {
    Ok(PlayerEntry {
        rank,
        username: row.try_get("username")?,
        bets: row.try_get("bets")?,
        wagered: row.try_get("wagered")?,
        paid: row.try_get("paid")?,
        profit: row.try_get("profit")?,
    })
}

fn bet_entry(rank: u32, row: &PgRow) -> sqlx::Result<BetEntry> {
    let amount: i64 = row.try_get("amount")?;
    let payout: i64 = row.try_get("payout")?;
    let multiplier: i64 = row.try_get("multiplier")?;
    Ok(BetEntry {
        rank,
        username: row.try_get("username")?,
        bet_id: row.try_get("id")?,
        round_id: row.try_get("round_id")?,
        amount,
        payout,
        profit: payout - amount,
        multiplier: serde_json::Value::from(multiplier as f64 / 100.0),
        settled_at: row.try_get("settled_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_rankings_parse_from_their_names_only() {
        let period: Period = serde_json::from_str("\"week\"").unwrap();
        assert_eq!(period, Period::Week);
        assert_eq!(period.length(), chrono::Duration::days(7));
        let ranking: Ranking = serde_json::from_str("\"multiplier\"").unwrap();
        assert_eq!(ranking, Ranking::Multiplier);
        assert!(serde_json::from_str::<Period>("\"year\"").is_err());
        assert!(serde_json::from_str::<Ranking>("\"Profit\"").is_err());
    }

    #[test]
    fn entries_are_cut_to_the_limit_in_rank_order() {
        let player = |rank| PlayerEntry {
            rank,
            username: format!("p{rank}"),
            bets: 1,
            wagered: 1,
            paid: 2,
            profit: 1,
        };
        let entries = Entries::Players((1..=5).map(player).collect());
        let Entries::Players(first) = entries.first(2) else {
            panic!("players stay players")
        };
        assert_eq!(first.iter().map(|entry| entry.rank).collect::<Vec<_>>(), [1, 2]);
    }

    /// Against a port nobody listens on: the first request waits for the pool's timeout; those within
    /// the backoff are refused at once instead of waiting again.
    #[tokio::test]
    async fn a_board_that_cannot_be_read_is_refused_at_once_during_the_backoff() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(300))
            .connect_lazy(&format!("postgres://nobody@127.0.0.1:{port}/nothing"))
            .expect("a lazy pool");
        let boards = Leaderboards::new(pool, Duration::from_secs(5));
        let key = BoardKey {
            source: Source::InstantGame("dice".into()),
            period: Period::Day,
            ranking: Ranking::Win,
        };
        assert!(boards.board(&key).await.is_err());
        let started = Instant::now();
        assert!(boards.board(&key).await.is_err());
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "refused without another read: {:?}",
            started.elapsed()
        );
    }
}
