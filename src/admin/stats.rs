//! What the dashboard charts: bets per minute and amounts wagered over the last hour, each game's
//! measured return to player over the last hour and day next to its theoretical return, house profit,
//! recent crash rounds, and the ledger audit's last result. Read from the replica (reports, not money
//! decisions), except the audit's own record.

use crate::api::error::ApiError;
use crate::auth::extract::AdminUser;
use crate::configuration::Settings;
use crate::db::Database;
use crate::fair::crash::format_multiplier;
use crate::games::instant::InstantGames;
use crate::games::slots::server::SlotService;
use crate::wallet::audit;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::BTreeMap;

/// The per-minute series covers this many minutes.
const MINUTES_CHARTED: i64 = 60;
/// The most rounds one listing returns.
const ROUNDS_LISTED_MAX: i64 = 100;

/// Bets per minute over every game: settled or still in play, never the void ones (no stake moved).
const PER_MINUTE_SQL: &str = "
    SELECT date_trunc('minute', created_at) AS minute, count(*) AS bets, sum(amount)::int8 AS wagered FROM (
        SELECT created_at, amount FROM crash_bets WHERE created_at >= $1 AND status NOT IN ('void', 'refunded')
        UNION ALL
        SELECT created_at, amount FROM instant_bets WHERE created_at >= $1 AND status <> 'void'
        UNION ALL
        SELECT created_at, stake_micros FROM slot_rounds WHERE created_at >= $1 AND status <> 'void'
    ) AS bets GROUP BY 1";

/// Settled bets per game in the window since $1, with the part since $2.
const PER_GAME_SQL: &str = "
    SELECT game,
           count(*) FILTER (WHERE created_at >= $2) AS hour_bets,
           COALESCE(sum(amount) FILTER (WHERE created_at >= $2), 0)::int8 AS hour_wagered,
           COALESCE(sum(paid) FILTER (WHERE created_at >= $2), 0)::int8 AS hour_paid,
           count(*) AS day_bets,
           COALESCE(sum(amount), 0)::int8 AS day_wagered,
           COALESCE(sum(paid), 0)::int8 AS day_paid
    FROM (
        SELECT 'crash'::text AS game, created_at, amount, COALESCE(payout, 0) AS paid
          FROM crash_bets WHERE created_at >= $1 AND status IN ('cashed_out', 'lost')
        UNION ALL
        SELECT game, created_at, amount, COALESCE(payout, 0) AS paid
          FROM instant_bets WHERE created_at >= $1 AND status = 'settled'
        UNION ALL
        SELECT 'slots:' || game_id, created_at, stake_micros, payout_micros
          FROM slot_rounds WHERE created_at >= $1 AND status = 'settled'
    ) AS settled GROUP BY game";

/// Per slot game: rounds over the last `SLOT_RATE_MINUTES` minutes, open bonus rounds, and what was
/// wagered on each mode over the day (to weigh each mode's PAR-sheet return).
const SLOT_ACTIVITY_SQL: &str = "
    SELECT game_id, mode,
           count(*) FILTER (WHERE created_at >= $2 AND status <> 'void') AS recent_rounds,
           count(*) FILTER (WHERE status = 'open') AS open_rounds,
           COALESCE(sum(stake_micros) FILTER (WHERE status = 'settled'), 0)::int8 AS wagered
    FROM slot_rounds WHERE created_at >= $1 OR status = 'open' GROUP BY game_id, mode";
/// The window of the slot games' rounds-per-minute rate.
const SLOT_RATE_MINUTES: i64 = 5;

/// Amounts wagered per room (crash) and per game and options (instant games) over the day, to weigh the
/// theoretical return by what was actually played.
const CRASH_MIX_SQL: &str = "
    SELECT r.room, sum(b.amount)::int8 AS wagered FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
    WHERE b.created_at >= $1 AND b.status IN ('cashed_out', 'lost') GROUP BY r.room";
const INSTANT_MIX_SQL: &str = "
    SELECT game, options, sum(amount)::int8 AS wagered FROM instant_bets
    WHERE created_at >= $1 AND status = 'settled' GROUP BY game, options LIMIT 50000";

#[derive(Debug, Default, Clone, Copy, Serialize)]
struct Window {
    bets: i64,
    wagered: i64,
    paid: i64,
    rtp: Option<f64>,
    house_profit: i64,
}

impl Window {
    fn new(bets: i64, wagered: i64, paid: i64) -> Window {
        Window {
            bets,
            wagered,
            paid,
            rtp: (wagered > 0).then(|| paid as f64 / wagered as f64),
            house_profit: wagered - paid,
        }
    }

    fn add(self, other: Window) -> Window {
        Window::new(
            self.bets + other.bets,
            self.wagered + other.wagered,
            self.paid + other.paid,
        )
    }
}

/// `GET /api/v1/admin/stats`
pub async fn stats(
    _admin: AdminUser,
    database: web::Data<Database>,
    games: web::Data<InstantGames>,
    slots: web::Data<SlotService>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let pool = &database.reader;
    let per_minute = per_minute(pool, now).await.map_err(ApiError::internal)?;
    let per_game = per_game(pool, now).await.map_err(ApiError::internal)?;
    let theoretical = theoretical_returns(pool, now, &games, &settings)
        .await
        .map_err(ApiError::internal)?;
    let slot_activity = slot_activity(pool, now, &slots).await.map_err(ApiError::internal)?;
    let mut totals = (Window::default(), Window::default());
    let mut games: Vec<Value> = ["crash", "dice", "plinko", "mines"]
        .into_iter()
        .map(|game| {
            let (hour, day) = per_game.get(game).copied().unwrap_or_default();
            totals = (totals.0.add(hour), totals.1.add(day));
            json!({ "game": game, "theoretical_rtp": theoretical.get(game), "hour": hour, "day": day })
        })
        .collect();
    for (game_id, activity) in &slot_activity {
        let game = format!("slots:{game_id}");
        let (hour, day) = per_game.get(&game).copied().unwrap_or_default();
        totals = (totals.0.add(hour), totals.1.add(day));
        games.push(json!({
            "game": game, "theoretical_rtp": activity.par_rtp, "hour": hour, "day": day,
            "rounds_per_minute": activity.rounds_per_minute, "open_bonus_rounds": activity.open_rounds,
        }));
    }
    Ok(HttpResponse::Ok().json(json!({
        "generated_at": now,
        "per_minute": per_minute,
        "games": games,
        "totals": { "hour": totals.0, "day": totals.1 },
    })))
}

/// What the dashboard shows of one slot game beside its returns.
#[derive(Debug, Default, Clone, Copy)]
struct SlotActivity {
    /// The PAR-sheet return, weighted by what was wagered on each mode over the day (the base mode's when
    /// nothing was).
    par_rtp: Option<f64>,
    rounds_per_minute: f64,
    open_rounds: i64,
}

async fn slot_activity(
    pool: &PgPool,
    now: DateTime<Utc>,
    slots: &SlotService,
) -> anyhow::Result<BTreeMap<String, SlotActivity>> {
    let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(SLOT_ACTIVITY_SQL)
        .bind(now - Duration::days(1))
        .bind(now - Duration::minutes(SLOT_RATE_MINUTES))
        .fetch_all(pool)
        .await?;
    let mut activity: BTreeMap<String, (SlotActivity, f64, f64)> = slots
        .catalog()
        .games()
        .map(|game| (game.definition.id().to_owned(), Default::default()))
        .collect();
    for (game_id, mode, recent, open, wagered) in rows {
        let Some(game) = slots.catalog().game(&game_id) else {
            continue;
        };
        let entry = activity.entry(game_id).or_default();
        entry.0.rounds_per_minute += recent as f64 / SLOT_RATE_MINUTES as f64;
        entry.0.open_rounds += open;
        if let Some(par) = game.par_rtp.get(&mode) {
            entry.1 += par * wagered as f64;
            entry.2 += wagered as f64;
        }
    }
    Ok(activity
        .into_iter()
        .map(|(game_id, (mut figures, weighted, wagered))| {
            figures.par_rtp = if wagered > 0.0 {
                Some(weighted / wagered)
            } else {
                slots
                    .catalog()
                    .game(&game_id)
                    .and_then(|game| game.par_rtp.get("base").copied())
            };
            (game_id, figures)
        })
        .collect())
}

async fn per_minute(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<Vec<Value>> {
    let this_minute = now.duration_trunc(Duration::minutes(1))?;
    let first = this_minute - Duration::minutes(MINUTES_CHARTED - 1);
    let rows: Vec<(DateTime<Utc>, i64, i64)> = sqlx::query_as(PER_MINUTE_SQL).bind(first).fetch_all(pool).await?;
    let by_minute: BTreeMap<DateTime<Utc>, (i64, i64)> = rows
        .into_iter()
        .map(|(minute, bets, wagered)| (minute, (bets, wagered)))
        .collect();
    Ok((0..MINUTES_CHARTED)
        .map(|offset| {
            let minute = first + Duration::minutes(offset);
            let (bets, wagered) = by_minute.get(&minute).copied().unwrap_or((0, 0));
            json!({ "minute": minute, "bets": bets, "wagered": wagered })
        })
        .collect())
}

type GameRow = (String, i64, i64, i64, i64, i64, i64);

async fn per_game(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<BTreeMap<String, (Window, Window)>> {
    let rows: Vec<GameRow> = sqlx::query_as(PER_GAME_SQL)
        .bind(now - Duration::days(1))
        .bind(now - Duration::hours(1))
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(game, hour_bets, hour_wagered, hour_paid, day_bets, day_wagered, day_paid)| {
                let windows = (
                    Window::new(hour_bets, hour_wagered, hour_paid),
                    Window::new(day_bets, day_wagered, day_paid),
                );
                (game, windows)
            },
        )
        .collect())
}

/// Each game's theoretical return to player, weighted by what was wagered on each room or option over the
/// day (Plinko's tables differ slightly); the configured return when nothing was played.
async fn theoretical_returns(
    pool: &PgPool,
    now: DateTime<Utc>,
    games: &InstantGames,
    settings: &Settings,
) -> anyhow::Result<BTreeMap<String, f64>> {
    let since = now - Duration::days(1);
    let mut weighted: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let crash: Vec<(String, i64)> = sqlx::query_as(CRASH_MIX_SQL).bind(since).fetch_all(pool).await?;
    for (room, wagered) in crash {
        if let Some(room_settings) = settings.crash.rooms.get(&room) {
            let rtp = f64::from(10_000 - room_settings.house_edge_bps) / 10_000.0;
            let entry = weighted.entry("crash".into()).or_default();
            *entry = (entry.0 + rtp * wagered as f64, entry.1 + wagered as f64);
        }
    }
    let instant: Vec<(String, Value, i64)> = sqlx::query_as(INSTANT_MIX_SQL).bind(since).fetch_all(pool).await?;
    for (game, options, wagered) in instant {
        let Ok(registered) = games.registry().per_player(&game) else {
            continue;
        };
        let Ok(ppm) = registered.game.expected_return_ppm(&options) else {
            continue;
        };
        let entry = weighted.entry(game).or_default();
        *entry = (entry.0 + ppm as f64 / 1e6 * wagered as f64, entry.1 + wagered as f64);
    }
    let mut returns: BTreeMap<String, f64> = weighted
        .into_iter()
        .filter(|(_, (_, wagered))| *wagered > 0.0)
        .map(|(game, (sum, wagered))| (game, sum / wagered))
        .collect();
    // Nothing played: the configured edge (every room, and every instant game, returns 99% by default).
    let crash_edge = settings
        .crash
        .rooms
        .values()
        .map(|room| room.house_edge_bps)
        .max()
        .unwrap_or(100);
    returns
        .entry("crash".into())
        .or_insert(f64::from(10_000 - crash_edge) / 10_000.0);
    returns
        .entry("dice".into())
        .or_insert(f64::from(10_000 - settings.games.dice.house_edge_bps) / 10_000.0);
    returns.entry("plinko".into()).or_insert(0.99);
    returns.entry("mines".into()).or_insert(0.99);
    Ok(returns)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundsQuery {
    room: Option<String>,
    limit: Option<i64>,
}

type RoundRow = (String, i64, i32, Vec<u8>, Option<DateTime<Utc>>, i32, i64, i64);

/// `GET /api/v1/admin/rounds?room=&limit=`: crashed rounds, newest first.
pub async fn rounds(
    _admin: AdminUser,
    query: web::Query<RoundsQuery>,
    database: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=ROUNDS_LISTED_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {ROUNDS_LISTED_MAX}"),
        ));
    }
    let rows: Vec<RoundRow> = sqlx::query_as(
        "SELECT room, id, crash_point, hash, crashed_at, bet_count, total_staked, total_paid FROM crash_rounds
         WHERE phase = 'crashed' AND ($1::text IS NULL OR room = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(query.room.as_deref())
    .bind(limit)
    .fetch_all(&database.reader)
    .await
    .map_err(ApiError::internal)?;
    let rounds: Vec<Value> = rows
        .into_iter()
        .map(|(room, id, crash_point, hash, crashed_at, bets, wagered, paid)| {
            json!({
                "room": room, "round_id": id,
                "crash_point": format_multiplier(crash_point as u32).parse::<f64>().ok(),
                "hash": hex::encode(hash), "crashed_at": crashed_at,
                "bets": bets, "wagered": wagered, "paid": paid,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "rounds": rounds })))
}

/// Runs the audit, records its result, and returns the report.
pub async fn run_and_record(pool: &PgPool, requested_by: &str) -> anyhow::Result<audit::AuditReport> {
    let started = std::time::Instant::now();
    let report = audit::run(pool).await?;
    sqlx::query("INSERT INTO audit_runs (ok, breaches, duration_ms, requested_by) VALUES ($1, $2, $3, $4)")
        .bind(report.ok)
        .bind(report.breaches.len() as i32)
        .bind(started.elapsed().as_millis() as i64)
        .bind(requested_by)
        .execute(pool)
        .await?;
    Ok(report)
}

/// `GET /api/v1/admin/audit/last`: the latest recorded audit without running one.
pub async fn last_audit(_admin: AdminUser, database: web::Data<Database>) -> Result<HttpResponse, ApiError> {
    let last: Option<(DateTime<Utc>, bool, i32, i64, String)> = sqlx::query_as(
        "SELECT checked_at, ok, breaches, duration_ms, requested_by FROM audit_runs ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(&database.writer)
    .await
    .map_err(ApiError::internal)?;
    let last = last.map(|(checked_at, ok, breaches, duration_ms, requested_by)| {
        json!({ "checked_at": checked_at, "ok": ok, "breaches": breaches, "duration_ms": duration_ms,
                "requested_by": requested_by })
    });
    Ok(HttpResponse::Ok().json(json!({ "last": last })))
}
