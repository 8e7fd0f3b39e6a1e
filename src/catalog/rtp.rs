//! Measured return to player per catalog game and hour (issue 16): rollups (`rtp_tracking`) that grow in
//! the transaction or statement settling the bets they count, read per game over the last hour, day and
//! 30 days next to the declared RTP and the band the number of rounds allows (see [`band`]).
//!
//! Writers: the provider wallet's batches call [`record`]; our own games wrap the statement that moves a
//! bet to settled with [`settle_and_record`] (Dice, Plinko, Mines, slots), or add a whole crash round with
//! [`add_house_rounds`] in the transaction that settles it. A house game's catalog row is found by its
//! code in the same statement; until the start-up sync has created it, its bets are not counted (and a
//! debug line says so).

pub mod band;
pub mod gauges;

use band::{Band, Sigma, SigmaFacts, Tally, Thresholds};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};

/// What one batch of settled bets adds to a game's rollup of one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpDelta {
    pub game_id: i64,
    /// Any instant of the hour; the rollup truncates it.
    pub at: DateTime<Utc>,
    /// Stakes taken (a rolled-back stake is a negative delta).
    pub staked_micros: i64,
    pub won_micros: i64,
    pub rounds: i64,
}

/// How many rows of one game and hour our own games' bets spread over (by the player's account), so that
/// concurrent players of one game do not queue on one row lock.
pub const HOUSE_SHARDS: i64 = 16;

/// The largest list of games one report holds (the catalog is far smaller; past it the report says
/// `truncated`).
pub const GAMES_REPORTED_MAX: i64 = 5_000;

/// Adds each inserted row to the row of its hour, game and shard when there is one.
const ADD_ON_CONFLICT: &str = "ON CONFLICT (hour, game_id, shard) DO UPDATE SET
        staked_micros = rtp_tracking.staked_micros + EXCLUDED.staked_micros,
        won_micros = rtp_tracking.won_micros + EXCLUDED.won_micros,
        rounds = rtp_tracking.rounds + EXCLUDED.rounds,
        updated_at = now()";

/// Adds `deltas` to the rollups inside the caller's transaction, so they commit with the bets they count.
/// `shard` spreads concurrent writers over separate rows of the same hour. One statement for the batch;
/// its rows are written in key order, so two batches touching the same rows cannot deadlock.
pub async fn record(
    transaction: &mut Transaction<'_, Postgres>,
    shard: i32,
    deltas: &[RtpDelta],
) -> Result<(), sqlx::Error> {
    let deltas: Vec<&RtpDelta> = deltas
        .iter()
        .filter(|delta| delta.staked_micros != 0 || delta.won_micros != 0 || delta.rounds != 0)
        .collect();
    if deltas.is_empty() {
        return Ok(());
    }
    let at: Vec<DateTime<Utc>> = deltas.iter().map(|delta| delta.at).collect();
    let game_ids: Vec<i64> = deltas.iter().map(|delta| delta.game_id).collect();
    let staked: Vec<i64> = deltas.iter().map(|delta| delta.staked_micros).collect();
    let won: Vec<i64> = deltas.iter().map(|delta| delta.won_micros).collect();
    let rounds: Vec<i64> = deltas.iter().map(|delta| delta.rounds).collect();
    sqlx::query(&format!(
        "INSERT INTO rtp_tracking (hour, game_id, shard, staked_micros, won_micros, rounds)
         SELECT date_trunc('hour', d.at, 'UTC'), d.game_id, $1::int4, sum(d.staked)::int8, sum(d.won)::int8,
                sum(d.rounds)::int8
         FROM unnest($2::timestamptz[], $3::int8[], $4::int8[], $5::int8[], $6::int8[])
              AS d (at, game_id, staked, won, rounds)
         GROUP BY 1, 2 ORDER BY 1, 2
         {ADD_ON_CONFLICT}"
    ))
    .bind(shard)
    .bind(&at)
    .bind(&game_ids)
    .bind(&staked)
    .bind(&won)
    .bind(&rounds)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// An INSERT adding one round per row of `rows` to the rollups of our own games. `rows` is a table
/// expression (a CTE's name, or a parenthesized query with an alias-free select list) answering
/// `rtp_code` (the game's code in the catalog, under provider 'house'), `rtp_shard`, `rtp_staked`,
/// `rtp_won` and `rtp_at` (when the bet settled). Rows whose game is not in the catalog add nothing.
pub fn add_house_rounds(rows: &str) -> String {
    format!(
        "INSERT INTO rtp_tracking (hour, game_id, shard, staked_micros, won_micros, rounds)
         SELECT date_trunc('hour', r.rtp_at, 'UTC'), g.id, r.rtp_shard, sum(r.rtp_staked)::int8,
                sum(r.rtp_won)::int8, count(*)
         FROM {rows} AS r JOIN games g ON g.provider_id = '{house}' AND g.code = r.rtp_code
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
         {ADD_ON_CONFLICT}",
        house = super::HOUSE_PROVIDER,
    )
}

/// The RETURNING clause [`settle_and_record`] needs from an UPDATE of `instant_bets` or `slot_rounds`
/// (both have `account_id` and `settled_at`): the code, stake and win columns of that table, and whether
/// the row now counts (settled; a void bet moved no money and counts nothing).
pub fn house_returning(code: &str, staked: &str, won: &str, counts: &str) -> String {
    format!(
        "RETURNING {code} AS rtp_code, (account_id % {HOUSE_SHARDS})::int4 AS rtp_shard, {staked} AS rtp_staked,
                   {won} AS rtp_won, COALESCE(settled_at, now()) AS rtp_at, {counts} AS rtp_counts"
    )
}

/// Wraps `settle`, an UPDATE moving house bets forward and ending in [`house_returning`], into one
/// statement that also adds the bets it settled to the rollups: they commit or fail together, and the
/// settlement costs no extra round trip. The statement answers one row: `moved` (rows the UPDATE moved),
/// `counted` (of which settled) and `recorded` (rollup rows written); read it with [`moved`].
pub fn settle_and_record(settle: &str) -> String {
    let insert = add_house_rounds("(SELECT * FROM moved WHERE rtp_counts)");
    format!(
        "WITH moved AS ({settle}),
              recorded AS ({insert} RETURNING 1)
         SELECT (SELECT count(*) FROM moved) AS moved,
                (SELECT count(*) FROM moved WHERE rtp_counts) AS counted,
                (SELECT count(*) FROM recorded) AS recorded"
    )
}

/// How many rows a [`settle_and_record`] statement moved; says (at debug level) when it settled bets of
/// a game the catalog does not hold yet, which are then not counted.
pub fn moved(row: &PgRow, table: &'static str) -> sqlx::Result<u64> {
    let moved: i64 = row.try_get("moved")?;
    let counted: i64 = row.try_get("counted")?;
    let recorded: i64 = row.try_get("recorded")?;
    if counted > 0 && recorded == 0 {
        tracing::debug!(
            table,
            counted,
            "settled bets of a house game not in the catalog yet; RTP not recorded"
        );
    }
    Ok(u64::try_from(moved).unwrap_or(0))
}

/// The windows RTP is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hour,
    Day,
    Days30,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::Hour, Window::Day, Window::Days30];

    pub fn name(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Days30 => "days_30",
        }
    }

    fn hours(self) -> i64 {
        match self {
            Window::Hour => 1,
            Window::Day => 24,
            Window::Days30 => 30 * 24,
        }
    }

    /// The first hour the window sums: the current, partial hour and the whole hours of its length before
    /// it, so it covers at least its length and at most one hour more (the rollups are hourly).
    pub fn since(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let this_hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
        this_hour - Duration::hours(self.hours())
    }
}

/// One window of one game, judged.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WindowRtp {
    pub since: DateTime<Utc>,
    pub staked_micros: i64,
    pub won_micros: i64,
    pub rounds: i64,
    /// Staked minus won: what the house kept.
    pub house_profit_micros: i64,
    pub measured_rtp_bps: Option<i64>,
    pub band: Option<Band>,
    pub flagged: bool,
}

impl WindowRtp {
    fn judged(since: DateTime<Utc>, tally: Tally, declared_bps: i32, sigma: Sigma, thresholds: Thresholds) -> Self {
        let verdict = band::judge(tally, declared_bps, sigma.bps, thresholds);
        WindowRtp {
            since,
            staked_micros: tally.staked_micros,
            won_micros: tally.won_micros,
            rounds: tally.rounds,
            house_profit_micros: tally.staked_micros.saturating_sub(tally.won_micros),
            measured_rtp_bps: verdict.measured_rtp_bps,
            band: verdict.band,
            flagged: verdict.flagged,
        }
    }

    pub fn tally(&self) -> Tally {
        Tally {
            staked_micros: self.staked_micros,
            won_micros: self.won_micros,
            rounds: self.rounds,
        }
    }
}

/// A catalog game's measured RTP over every window.
#[derive(Debug, Clone, Serialize)]
pub struct GameRtp {
    pub game_id: i64,
    pub provider: String,
    pub code: String,
    pub name: String,
    pub category: String,
    pub active: bool,
    pub declared_rtp_bps: i32,
    /// The per-round standard deviation the bands use, and where it came from.
    pub sigma: Sigma,
    pub hour: WindowRtp,
    pub day: WindowRtp,
    pub days_30: WindowRtp,
    /// Outside its band in some window.
    pub flagged: bool,
}

impl GameRtp {
    pub fn windows(&self) -> [(Window, &WindowRtp); 3] {
        [
            (Window::Hour, &self.hour),
            (Window::Day, &self.day),
            (Window::Days30, &self.days_30),
        ]
    }
}

/// Every catalog game's RTP, in catalog order (category, provider, code).
#[derive(Debug, Clone, Serialize)]
pub struct RtpReport {
    pub generated_at: DateTime<Utc>,
    pub band_sigma_hundredths: u32,
    pub flag_rounds_min: u64,
    pub games: Vec<GameRtp>,
    /// More than [`GAMES_REPORTED_MAX`] games: the rest are left out.
    pub truncated: bool,
}

/// Sums each game's rollups over the windows ending at `now`: one pass over at most 30 days of rows.
const REPORT_SQL: &str = "
    SELECT g.id, g.provider_id, g.code, g.name, g.category, g.active, g.rtp_bps, g.volatility,
           g.metadata ->> 'rtp_sigma_bps' AS metadata_sigma,
           COALESCE(sum(t.staked_micros) FILTER (WHERE t.hour >= $1), 0)::int8 AS hour_staked,
           COALESCE(sum(t.won_micros) FILTER (WHERE t.hour >= $1), 0)::int8 AS hour_won,
           COALESCE(sum(t.rounds) FILTER (WHERE t.hour >= $1), 0)::int8 AS hour_rounds,
           COALESCE(sum(t.staked_micros) FILTER (WHERE t.hour >= $2), 0)::int8 AS day_staked,
           COALESCE(sum(t.won_micros) FILTER (WHERE t.hour >= $2), 0)::int8 AS day_won,
           COALESCE(sum(t.rounds) FILTER (WHERE t.hour >= $2), 0)::int8 AS day_rounds,
           COALESCE(sum(t.staked_micros), 0)::int8 AS days_30_staked,
           COALESCE(sum(t.won_micros), 0)::int8 AS days_30_won,
           COALESCE(sum(t.rounds), 0)::int8 AS days_30_rounds
    FROM games g LEFT JOIN rtp_tracking t ON t.game_id = g.id AND t.hour >= $3
    GROUP BY g.id
    ORDER BY g.category, g.provider_id, g.code
    LIMIT $4";

/// Reads every catalog game's RTP over the windows ending at `now`.
pub async fn report(pool: &PgPool, thresholds: Thresholds, now: DateTime<Utc>) -> sqlx::Result<RtpReport> {
    let rows = sqlx::query(REPORT_SQL)
        .bind(Window::Hour.since(now))
        .bind(Window::Day.since(now))
        .bind(Window::Days30.since(now))
        .bind(GAMES_REPORTED_MAX + 1)
        .fetch_all(pool)
        .await?;
    let truncated = rows.len() as i64 > GAMES_REPORTED_MAX;
    let games = rows
        .iter()
        .take(GAMES_REPORTED_MAX as usize)
        .map(|row| game_from_row(row, thresholds, now))
        .collect::<sqlx::Result<Vec<_>>>()?;
    Ok(RtpReport {
        generated_at: now,
        band_sigma_hundredths: thresholds.band_sigma_hundredths,
        flag_rounds_min: thresholds.flag_rounds_min,
        games,
        truncated,
    })
}

fn game_from_row(row: &PgRow, thresholds: Thresholds, now: DateTime<Utc>) -> sqlx::Result<GameRtp> {
    let provider: String = row.try_get("provider_id")?;
    let code: String = row.try_get("code")?;
    let category: String = row.try_get("category")?;
    let declared: i32 = row.try_get("rtp_bps")?;
    let volatility: Option<String> = row.try_get("volatility")?;
    let metadata_sigma: Option<String> = row.try_get("metadata_sigma")?;
    let sigma = band::sigma(&SigmaFacts {
        provider_id: &provider,
        code: &code,
        category: &category,
        rtp_bps: declared,
        volatility: volatility.as_deref(),
        metadata_sigma_bps: metadata_sigma.and_then(|text| text.trim().parse::<i64>().ok()),
    });
    let window = |window: Window| -> sqlx::Result<WindowRtp> {
        let prefix = window.name();
        let tally = Tally {
            staked_micros: row.try_get(format!("{prefix}_staked").as_str())?,
            won_micros: row.try_get(format!("{prefix}_won").as_str())?,
            rounds: row.try_get(format!("{prefix}_rounds").as_str())?,
        };
        Ok(WindowRtp::judged(window.since(now), tally, declared, sigma, thresholds))
    };
    let (hour, day, days_30) = (window(Window::Hour)?, window(Window::Day)?, window(Window::Days30)?);
    Ok(GameRtp {
        game_id: row.try_get("id")?,
        name: row.try_get("name")?,
        active: row.try_get("active")?,
        declared_rtp_bps: declared,
        flagged: hour.flagged || day.flagged || days_30.flagged,
        provider,
        code,
        category,
        sigma,
        hour,
        day,
        days_30,
    })
}

/// The thresholds of `settings.rtp`.
pub fn thresholds(settings: &crate::configuration::RtpSettings) -> Thresholds {
    Thresholds {
        band_sigma_hundredths: settings.band_sigma_hundredths,
        flag_rounds_min: settings.flag_rounds_min,
    }
}
