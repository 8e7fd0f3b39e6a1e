//! Slot sessions and rounds in Postgres. A round's status only moves forward, each move guarded by the
//! status it expects, so that a request, another node and the sweeps can all try the same move and
//! exactly one makes it.

use crate::catalog::rtp;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, Row};
use std::sync::LazyLock;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundStatus {
    /// The stake is being debited.
    Pending,
    /// Staked; steps remain to reveal.
    Open,
    /// Ended; its win is being credited.
    Paying,
    Settled,
    /// The ledger refused the stake: nothing moved.
    Void,
}

impl RoundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RoundStatus::Pending => "pending",
            RoundStatus::Open => "open",
            RoundStatus::Paying => "paying",
            RoundStatus::Settled => "settled",
            RoundStatus::Void => "void",
        }
    }

    fn parse(text: &str) -> Result<RoundStatus, sqlx::Error> {
        Ok(match text {
            "pending" => RoundStatus::Pending,
            "open" => RoundStatus::Open,
            "paying" => RoundStatus::Paying,
            "settled" => RoundStatus::Settled,
            "void" => RoundStatus::Void,
            other => {
                return Err(sqlx::Error::Decode(
                    format!("unknown slot round status {other:?}").into(),
                ))
            }
        })
    }

    /// Whether the round has ended and its win is final (paying or settled).
    pub fn is_ended(self) -> bool {
        matches!(self, RoundStatus::Paying | RoundStatus::Settled)
    }
}

/// How a round's steps reach the player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// One step at a time; the last reveal ends the round.
    ByStep,
    /// Every step at the spin; a win waits for the round's end (Stake Engine's RGS protocol).
    Whole,
}

impl Reveal {
    pub fn as_str(self) -> &'static str {
        match self {
            Reveal::ByStep => "by_step",
            Reveal::Whole => "whole",
        }
    }

    fn parse(text: &str) -> Result<Reveal, sqlx::Error> {
        match text {
            "by_step" => Ok(Reveal::ByStep),
            "whole" => Ok(Reveal::Whole),
            other => Err(sqlx::Error::Decode(
                format!("unknown slot round reveal {other:?}").into(),
            )),
        }
    }
}

/// A game session.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: Uuid,
    pub player_id: Uuid,
    pub account_id: i64,
    pub game_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub last_event: Option<String>,
}

pub struct NewSession<'a> {
    pub id: Uuid,
    pub player_id: Uuid,
    pub account_id: i64,
    pub game_id: &'a str,
    pub platform: &'a str,
    pub locale: &'a str,
    pub client_version: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_session(executor: impl PgExecutor<'_>, session: &NewSession<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO slot_sessions (id, player_id, account_id, game_id, platform, locale, client_version, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(session.id)
    .bind(session.player_id)
    .bind(session.account_id)
    .bind(session.game_id)
    .bind(session.platform)
    .bind(session.locale)
    .bind(session.client_version)
    .bind(session.expires_at)
    .execute(executor)
    .await?;
    Ok(())
}

pub async fn find_session(executor: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<SessionRow>> {
    let row = sqlx::query(
        "SELECT id, player_id, account_id, game_id, created_at, expires_at, closed_at, last_event
         FROM slot_sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(executor)
    .await?;
    row.map(|row| {
        Ok(SessionRow {
            id: row.try_get("id")?,
            player_id: row.try_get("player_id")?,
            account_id: row.try_get("account_id")?,
            game_id: row.try_get("game_id")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            closed_at: row.try_get("closed_at")?,
            last_event: row.try_get("last_event")?,
        })
    })
    .transpose()
}

/// Stores a Stake Engine client's progress event on its session.
pub async fn set_last_event(executor: impl PgExecutor<'_>, session: Uuid, event: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE slot_sessions SET last_event = $2 WHERE id = $1")
        .bind(session)
        .bind(event)
        .execute(executor)
        .await?;
    Ok(())
}

/// A round as stored, with its seed pair's public part.
#[derive(Debug, Clone)]
pub struct RoundRow {
    pub id: Uuid,
    pub session_id: Uuid,
    pub player_id: Uuid,
    pub account_id: i64,
    pub game_id: String,
    pub math_version: String,
    pub mode: String,
    pub client_spin_id: String,
    pub seed_id: i64,
    pub nonce: i64,
    pub bet_micros: i64,
    pub stake_micros: i64,
    /// `[[event, ...], ...]`, one array per step.
    pub steps: Value,
    pub step_count: i32,
    pub revealed_steps: i32,
    pub events_hash: String,
    pub win_centibet: i64,
    pub payout_micros: i64,
    pub reveal: Reveal,
    pub status: RoundStatus,
    pub ended_by: Option<String>,
    pub end_client_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub server_seed_hash: String,
    pub client_seed: String,
    /// Only once the player rotated the pair.
    pub revealed_server_seed: Option<String>,
}

const ROUND_COLUMNS: &str = "r.id, r.session_id, r.player_id, r.account_id, r.game_id, r.math_version, r.mode,
    r.client_spin_id, r.seed_id, r.nonce, r.bet_micros, r.stake_micros, r.steps, r.step_count, r.revealed_steps,
    r.events_hash, r.win_centibet, r.payout_micros, r.reveal, r.status, r.ended_by, r.end_client_key, r.created_at,
    r.settled_at, s.server_seed_hash, s.client_seed,
    CASE WHEN s.revealed_at IS NULL THEN NULL ELSE s.server_seed END AS revealed_server_seed";

fn round_query(filter: &str) -> String {
    format!("SELECT {ROUND_COLUMNS} FROM slot_rounds r JOIN player_seeds s ON s.id = r.seed_id WHERE {filter}")
}

fn read_round(row: PgRow) -> sqlx::Result<RoundRow> {
    Ok(RoundRow {
        id: row.try_get("id")?,
        session_id: row.try_get("session_id")?,
        player_id: row.try_get("player_id")?,
        account_id: row.try_get("account_id")?,
        game_id: row.try_get("game_id")?,
        math_version: row.try_get("math_version")?,
        mode: row.try_get("mode")?,
        client_spin_id: row.try_get("client_spin_id")?,
        seed_id: row.try_get("seed_id")?,
        nonce: row.try_get("nonce")?,
        bet_micros: row.try_get("bet_micros")?,
        stake_micros: row.try_get("stake_micros")?,
        steps: row.try_get("steps")?,
        step_count: row.try_get("step_count")?,
        revealed_steps: row.try_get("revealed_steps")?,
        events_hash: row.try_get("events_hash")?,
        win_centibet: row.try_get("win_centibet")?,
        payout_micros: row.try_get("payout_micros")?,
        reveal: Reveal::parse(row.try_get("reveal")?)?,
        status: RoundStatus::parse(row.try_get("status")?)?,
        ended_by: row.try_get("ended_by")?,
        end_client_key: row.try_get("end_client_key")?,
        created_at: row.try_get("created_at")?,
        settled_at: row.try_get("settled_at")?,
        server_seed_hash: row.try_get("server_seed_hash")?,
        client_seed: row.try_get("client_seed")?,
        revealed_server_seed: row.try_get("revealed_server_seed")?,
    })
}

/// What a spin writes.
pub struct NewRound<'a> {
    pub id: Uuid,
    pub session_id: Uuid,
    pub player_id: Uuid,
    pub account_id: i64,
    pub game_id: &'a str,
    pub math_version: &'a str,
    pub mode: &'a str,
    pub client_spin_id: &'a str,
    pub seed_id: i64,
    pub nonce: i64,
    pub bet_micros: i64,
    pub stake_micros: i64,
    pub steps: &'a Value,
    pub step_count: i32,
    /// 1 for a round revealed by step, `step_count` for a whole one.
    pub revealed_steps: i32,
    pub reveal: Reveal,
    pub events_hash: &'a str,
    pub win_centibet: i64,
    pub payout_micros: i64,
    pub created_at: DateTime<Utc>,
}

/// Inserts a round as pending, with its first step revealed (the spin shows it once the stake is taken),
/// or every step of a whole round, and takes its nonce from the seed pair in the same statement (one round
/// trip less under the seed lock).
pub async fn insert_round(connection: &mut PgConnection, round: &NewRound<'_>) -> sqlx::Result<()> {
    let inserted = sqlx::query(
        "WITH taken AS (
             UPDATE player_seeds SET next_nonce = next_nonce + 1 WHERE id = $9 AND next_nonce = $10 RETURNING id
         )
         INSERT INTO slot_rounds (id, session_id, player_id, account_id, game_id, math_version, mode, client_spin_id,
             seed_id, nonce, bet_micros, stake_micros, steps, step_count, revealed_steps, events_hash, win_centibet,
             payout_micros, reveal, status, created_at, last_activity_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $19, $15, $16, $17, $20, 'pending',
             $18, $18
         FROM taken",
    )
    .bind(round.id)
    .bind(round.session_id)
    .bind(round.player_id)
    .bind(round.account_id)
    .bind(round.game_id)
    .bind(round.math_version)
    .bind(round.mode)
    .bind(round.client_spin_id)
    .bind(round.seed_id)
    .bind(round.nonce)
    .bind(round.bet_micros)
    .bind(round.stake_micros)
    .bind(round.steps)
    .bind(round.step_count)
    .bind(round.events_hash)
    .bind(round.win_centibet)
    .bind(round.payout_micros)
    .bind(round.created_at)
    .bind(round.revealed_steps)
    .bind(round.reveal.as_str())
    .execute(connection)
    .await?;
    if inserted.rows_affected() != 1 {
        // The locked pair's nonce moved under the lock: a bug, never a client error.
        return Err(sqlx::Error::Protocol(format!(
            "seed pair {} is no longer at nonce {}",
            round.seed_id, round.nonce
        )));
    }
    Ok(())
}

pub async fn find_round(executor: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<RoundRow>> {
    sqlx::query(&round_query("r.id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await?
        .map(read_round)
        .transpose()
}

pub async fn find_by_client_spin_id(
    executor: impl PgExecutor<'_>,
    player: Uuid,
    client_spin_id: &str,
) -> sqlx::Result<Option<RoundRow>> {
    sqlx::query(&round_query("r.player_id = $1 AND r.client_spin_id = $2"))
        .bind(player)
        .bind(client_spin_id)
        .fetch_optional(executor)
        .await?
        .map(read_round)
        .transpose()
}

/// What a new spin must look at, in one read: the round this key already paid for (a retry), and the
/// player's unfinished round of the game (which refuses a second spin).
pub async fn spin_precedents(
    executor: impl PgExecutor<'_>,
    player: Uuid,
    client_spin_id: &str,
    game_id: &str,
) -> sqlx::Result<(Option<RoundRow>, Option<RoundRow>)> {
    let rows = sqlx::query(&round_query(
        "r.player_id = $1 AND (r.client_spin_id = $2 OR (r.game_id = $3 AND r.status IN ('pending', 'open', 'paying')))",
    ))
    .bind(player)
    .bind(client_spin_id)
    .bind(game_id)
    .fetch_all(executor)
    .await?;
    let mut retried = None;
    let mut unfinished = None;
    for row in rows {
        let row = read_round(row)?;
        if row.client_spin_id == client_spin_id {
            retried = Some(row);
        } else {
            unfinished = Some(row);
        }
    }
    Ok((retried, unfinished))
}

/// The round a player's `round/end` call with this key ended.
pub async fn find_by_end_key(
    executor: impl PgExecutor<'_>,
    player: Uuid,
    game_id: &str,
    key: &str,
) -> sqlx::Result<Option<RoundRow>> {
    sqlx::query(&round_query(
        "r.player_id = $1 AND r.game_id = $2 AND r.end_client_key = $3",
    ))
    .bind(player)
    .bind(game_id)
    .bind(key)
    .fetch_optional(executor)
    .await?
    .map(read_round)
    .transpose()
}

/// The player's unfinished round of a game, if any.
pub async fn unfinished(executor: impl PgExecutor<'_>, player: Uuid, game_id: &str) -> sqlx::Result<Option<RoundRow>> {
    sqlx::query(&round_query(
        "r.player_id = $1 AND r.game_id = $2 AND r.status IN ('pending', 'open', 'paying')",
    ))
    .bind(player)
    .bind(game_id)
    .fetch_optional(executor)
    .await?
    .map(read_round)
    .transpose()
}

/// Locks a round of the player for a reveal or an end.
pub async fn lock_round(connection: &mut PgConnection, id: Uuid, player: Uuid) -> sqlx::Result<Option<RoundRow>> {
    sqlx::query(&format!(
        "{} FOR UPDATE OF r",
        round_query("r.id = $1 AND r.player_id = $2")
    ))
    .bind(id)
    .bind(player)
    .fetch_optional(connection)
    .await?
    .map(read_round)
    .transpose()
}

/// The step a key already revealed, if it did.
pub async fn revealed_by(connection: &mut PgConnection, round: Uuid, key: &str) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar("SELECT step FROM slot_step_reveals WHERE round_id = $1 AND client_key = $2")
        .bind(round)
        .bind(key)
        .fetch_optional(connection)
        .await
}

/// What a round settling adds to its game's RTP rollups: the game, the stake (bet times the mode's cost)
/// and the win.
fn settles_into_rtp() -> String {
    rtp::house_returning("game_id", "stake_micros", "payout_micros", "status = 'settled'")
}

/// A step revealed; a round it settles (the last step, no win) counts in the RTP rollups in the same
/// statement, as in the two below.
static REVEAL_SQL: LazyLock<String> = LazyLock::new(|| {
    rtp::settle_and_record(&format!(
        "UPDATE slot_rounds SET revealed_steps = $2, status = $3, last_activity_at = now(),
             ended_by = CASE WHEN $4 THEN 'last_step' ELSE ended_by END,
             settled_at = CASE WHEN $3 = 'settled' THEN now() ELSE settled_at END
         WHERE id = $1 AND status = 'open' {}",
        settles_into_rtp()
    ))
});

static END_OPEN_ROUND_SQL: LazyLock<String> = LazyLock::new(|| {
    rtp::settle_and_record(&format!(
        "UPDATE slot_rounds SET revealed_steps = step_count, status = $2, ended_by = $3, end_client_key = $4,
             last_activity_at = now(), settled_at = CASE WHEN $2 = 'settled' THEN now() ELSE NULL END
         WHERE id = $1 AND status = 'open' {}",
        settles_into_rtp()
    ))
});

static TRANSITION_SQL: LazyLock<String> = LazyLock::new(|| {
    rtp::settle_and_record(&format!(
        "UPDATE slot_rounds SET status = $3, ended_by = COALESCE($4, ended_by),
             settled_at = CASE WHEN $3 IN ('settled', 'void') THEN now() ELSE settled_at END
         WHERE id = $1 AND status = $2 {}",
        settles_into_rtp()
    ))
});

/// Reveals step `step` with `key`; when it is the last, the round ends (paying, or settled with no win).
pub async fn reveal(
    connection: &mut PgConnection,
    round: &RoundRow,
    step: i32,
    key: &str,
) -> sqlx::Result<RoundStatus> {
    sqlx::query("INSERT INTO slot_step_reveals (round_id, step, client_key) VALUES ($1, $2, $3)")
        .bind(round.id)
        .bind(step)
        .bind(key)
        .execute(&mut *connection)
        .await?;
    let last = step + 1 == round.step_count;
    let status = match (last, round.payout_micros > 0) {
        (false, _) => RoundStatus::Open,
        (true, true) => RoundStatus::Paying,
        (true, false) => RoundStatus::Settled,
    };
    let row = sqlx::query(&REVEAL_SQL)
        .bind(round.id)
        .bind(step + 1)
        .bind(status.as_str())
        .bind(last)
        .fetch_one(connection)
        .await?;
    rtp::moved(&row, "slot_rounds")?;
    Ok(status)
}

/// Ends an open round at once: every step revealed, its win due. `false` when it was not open.
pub async fn end_open_round(
    executor: impl PgExecutor<'_>,
    round: &RoundRow,
    ended_by: &str,
    end_client_key: Option<&str>,
) -> sqlx::Result<bool> {
    let status = if round.payout_micros > 0 { "paying" } else { "settled" };
    let row = sqlx::query(&END_OPEN_ROUND_SQL)
        .bind(round.id)
        .bind(status)
        .bind(ended_by)
        .bind(end_client_key)
        .fetch_one(executor)
        .await?;
    Ok(rtp::moved(&row, "slot_rounds")? == 1)
}

/// Moves a round from `from` to `to`; `false` when another request or node moved it first.
pub async fn transition(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    from: RoundStatus,
    to: RoundStatus,
    ended_by: Option<&str>,
) -> sqlx::Result<bool> {
    let row = sqlx::query(&TRANSITION_SQL)
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(ended_by)
        .fetch_one(executor)
        .await?;
    Ok(rtp::moved(&row, "slot_rounds")? == 1)
}

/// A player's rounds, newest first.
pub async fn player_rounds(
    executor: impl PgExecutor<'_>,
    player: Uuid,
    game_id: Option<&str>,
    limit: u32,
) -> sqlx::Result<Vec<RoundRow>> {
    sqlx::query(&format!(
        "{} ORDER BY r.created_at DESC, r.id DESC LIMIT $3",
        round_query("r.player_id = $1 AND ($2::TEXT IS NULL OR r.game_id = $2) AND r.status <> 'void'")
    ))
    .bind(player)
    .bind(game_id)
    .bind(i64::from(limit))
    .fetch_all(executor)
    .await?
    .into_iter()
    .map(read_round)
    .collect()
}

/// Rounds the stake or the win of which is still moving, older than `age_ms`: the recovery sweep's work.
pub async fn unsettled(executor: impl PgExecutor<'_>, age_ms: u64, limit: u32) -> sqlx::Result<Vec<RoundRow>> {
    sqlx::query(&format!(
        "{} ORDER BY r.created_at LIMIT $2",
        round_query("r.status IN ('pending', 'paying') AND r.created_at < now() - make_interval(secs => $1 / 1000.0)")
    ))
    .bind(age_ms as f64)
    .bind(i64::from(limit))
    .fetch_all(executor)
    .await?
    .into_iter()
    .map(read_round)
    .collect()
}

/// Open rounds nobody revealed anything of for `idle_s`: the abandoned-round sweep's work.
pub async fn abandoned(executor: impl PgExecutor<'_>, idle_s: u64, limit: u32) -> sqlx::Result<Vec<RoundRow>> {
    sqlx::query(&format!(
        "{} ORDER BY r.last_activity_at LIMIT $2",
        round_query("r.status = 'open' AND r.last_activity_at < now() - make_interval(secs => $1)")
    ))
    .bind(idle_s as f64)
    .bind(i64::from(limit))
    .fetch_all(executor)
    .await?
    .into_iter()
    .map(read_round)
    .collect()
}

/// The player's rounds with these ids (for the history's page).
pub async fn rounds_by_ids(executor: impl PgExecutor<'_>, player: Uuid, ids: &[Uuid]) -> sqlx::Result<Vec<RoundRow>> {
    sqlx::query(&round_query("r.player_id = $1 AND r.id = ANY($2)"))
        .bind(player)
        .bind(ids)
        .fetch_all(executor)
        .await?
        .into_iter()
        .map(read_round)
        .collect()
}
