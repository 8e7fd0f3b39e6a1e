//! What the dashboard charts: bets per minute and amounts wagered over the last hour, every catalog
//! game's measured return to player over the last hour, day and 30 days next to its declared return and
//! band (from the RTP rollups), house profit, recent crash rounds, and the ledger audit's last result.
//! Read from the replica (reports, not money decisions), except the audit's own record.

use crate::auth::extract::AdminUser;
use crate::catalog::rtp::band::{self, Tally};
use crate::catalog::rtp::{self, GameRtp, Window};
use crate::catalog::HOUSE_PROVIDER;
use crate::configuration::Settings;
use crate::db::Database;
use crate::error::ApiError;
use crate::fair::crash::format_multiplier;
use crate::wallet::audit;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Deserialize;
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

/// Per slot game: rounds over the last `SLOT_RATE_MINUTES` minutes and open bonus rounds (activity, not
/// money: their returns come from the RTP rollups like every game's).
const SLOT_ACTIVITY_SQL: &str = "
    SELECT game_id,
           count(*) FILTER (WHERE created_at >= $1 AND status <> 'void') AS recent_rounds,
           count(*) FILTER (WHERE status = 'open') AS open_rounds
    FROM slot_rounds WHERE created_at >= $1 OR status = 'open' GROUP BY game_id";
/// The window of the slot games' rounds-per-minute rate.
const SLOT_RATE_MINUTES: i64 = 5;

/// `GET /api/v1/admin/stats`: the activity per minute, and every catalog game's returns from the RTP
/// rollups (never the bet tables) with the totals over all games.
#[utoipa::path(
    get,
    path = "/api/v1/admin/stats",
    operation_id = "admin_stats_stats",
    tag = "admin",
    summary = "Players, bets and money figures",
    responses(
        (status = 200, description = "the statistics", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn stats(
    _admin: AdminUser,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let pool = &database.reader;
    let per_minute = per_minute(pool, now).await.map_err(ApiError::internal)?;
    let report = rtp::report(pool, rtp::thresholds(&settings.rtp), now)
        .await
        .map_err(ApiError::internal)?;
    let slot_activity = slot_activity(pool, now).await.map_err(ApiError::internal)?;
    let totals: serde_json::Map<String, Value> = Window::ALL
        .into_iter()
        .map(|window| (window.name().to_owned(), total(&report.games, window)))
        .collect();
    let games: Vec<Value> = report
        .games
        .iter()
        .map(|game| with_slot_activity(game, &slot_activity))
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(json!({
        "generated_at": now,
        "per_minute": per_minute,
        "games": games,
        "totals": totals,
        "band_sigma_hundredths": report.band_sigma_hundredths,
        "flag_rounds_min": report.flag_rounds_min,
        "truncated": report.truncated,
    })))
}

/// One window over every game: the sums and their measured RTP (no band: the games' σ differ).
fn total(games: &[GameRtp], window: Window) -> Value {
    let sum = games
        .iter()
        .filter_map(|game| game.windows().into_iter().find(|(each, _)| *each == window))
        .fold(Tally::default(), |sum, (_, figures)| {
            let tally = figures.tally();
            Tally {
                staked_micros: sum.staked_micros.saturating_add(tally.staked_micros),
                won_micros: sum.won_micros.saturating_add(tally.won_micros),
                rounds: sum.rounds.saturating_add(tally.rounds),
            }
        });
    json!({
        "staked_micros": sum.staked_micros,
        "won_micros": sum.won_micros,
        "rounds": sum.rounds,
        "house_profit_micros": sum.staked_micros.saturating_sub(sum.won_micros),
        "measured_rtp_bps": band::measured_rtp_bps(sum),
    })
}

/// A game's RTP entry, with its rounds per minute and open bonus rounds when it is one of our slots.
fn with_slot_activity(game: &GameRtp, activity: &BTreeMap<String, SlotActivity>) -> serde_json::Result<Value> {
    let mut entry = serde_json::to_value(game)?;
    if game.provider == HOUSE_PROVIDER && game.category == "slots" {
        let figures = activity.get(&game.code).copied().unwrap_or_default();
        entry["rounds_per_minute"] = json!(figures.rounds_per_minute);
        entry["open_bonus_rounds"] = json!(figures.open_rounds);
    }
    Ok(entry)
}

/// What the dashboard shows of one slot game beside its returns.
#[derive(Debug, Default, Clone, Copy)]
struct SlotActivity {
    rounds_per_minute: f64,
    open_rounds: i64,
}

async fn slot_activity(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<BTreeMap<String, SlotActivity>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(SLOT_ACTIVITY_SQL)
        .bind(now - Duration::minutes(SLOT_RATE_MINUTES))
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(game_id, recent, open)| {
            let activity = SlotActivity {
                rounds_per_minute: recent as f64 / SLOT_RATE_MINUTES as f64,
                open_rounds: open,
            };
            (game_id, activity)
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoundsQuery {
    room: Option<String>,
    limit: Option<i64>,
}

type RoundRow = (String, i64, i32, Vec<u8>, Option<DateTime<Utc>>, i32, i64, i64);

/// `GET /api/v1/admin/rounds?room=&limit=`: crashed rounds, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/rounds",
    operation_id = "admin_stats_rounds",
    tag = "admin",
    summary = "Recent crash rounds with their bets and house result",
    params(RoundsQuery),
    responses(
        (status = 200, description = "`{\"rounds\": [...]}`", body = serde_json::Value),
        (status = 400, description = "`invalid_query`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`unknown_room`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit/last",
    operation_id = "admin_stats_last_audit",
    tag = "admin",
    summary = "The last recorded audit",
    responses(
        (status = 200, description = "`{\"last\"}`", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
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
