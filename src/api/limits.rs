//! A player's own protections: `GET/PUT /api/v1/limits` and `POST /api/v1/self-exclusion`. The rules
//! themselves live in `wallet::guard`, which the wallet applies to every stake and deposit.

use super::json::BoundedJson;
use crate::auth::extract::AuthenticatedPlayer;
use crate::configuration::Settings;
use crate::db::Database;
use crate::error::ApiError;
use crate::money::AMOUNT_MAX_MICROS;
use crate::players::protection::{self, ChangeError};
use crate::wallet::guard::{Limit, LimitKind, Period, PlayerGuard};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

/// The longest session limit a player may set: a day.
pub const SESSION_LIMIT_MINUTES_MAX: i64 = 24 * 60;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/limits", web::get().to(get_limits))
        .route("/limits", web::put().to(put_limit))
        .route("/self-exclusion", web::post().to(self_exclude));
}

#[utoipa::path(
    get,
    path = "/api/v1/limits",
    operation_id = "limits_get_limits",
    tag = "limits",
    summary = "The player's responsible-gaming limits",
    responses(
        (status = 200, description = "the limits and pending changes", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn get_limits(
    player: AuthenticatedPlayer,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let guard = protection::current_guard(&database.writer, player.account, &settings.responsible_gaming, now).await?;
    Ok(HttpResponse::Ok().json(view(&guard, &settings, now)))
}

/// One change a player asks for.
enum LimitChange {
    Money(LimitKind, Period, Option<i64>),
    Session(Option<i64>),
}

/// `PUT /api/v1/limits {"kind", "period", "amount_micros"}` or `{"kind": "session", "minutes"}`; `null`
/// removes the limit (after the cooling-off period).
#[utoipa::path(
    put,
    path = "/api/v1/limits",
    operation_id = "limits_put_limit",
    tag = "limits",
    summary = "Sets a deposit, loss or wager limit (raises wait a cooling-off period)",
    request_body(content = serde_json::Value, description = "{\"kind\": \"deposit|loss|wager\", \"period\": \"day|week|month\", \"amount_micros\": integer or null}", content_type = "application/json"),
    responses(
        (status = 200, description = "the limits after the change", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_limit`, `invalid_kind`, `invalid_period`, `unknown_field`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn put_limit(
    player: AuthenticatedPlayer,
    body: BoundedJson<Map<String, Value>>,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let change = parse_change(&body.0)?;
    let now = Utc::now();
    let cooling_off = Duration::hours(i64::from(settings.responsible_gaming.cooling_off_hours));
    let guard = protection::change_guard(
        &database.writer,
        player.player_id,
        &settings.responsible_gaming,
        now,
        |guard| -> Result<(), ApiError> {
            let limit = match change {
                LimitChange::Money(kind, period, _) => guard.limits.get_mut(kind, period),
                LimitChange::Session(_) => &mut guard.limits.session,
            };
            let wanted = match change {
                LimitChange::Money(_, _, amount) | LimitChange::Session(amount) => amount,
            };
            *limit = limit.changed(wanted, now, cooling_off);
            Ok(())
        },
    )
    .await
    .map_err(change_failed)?;
    Ok(HttpResponse::Ok().json(view(&guard, &settings, now)))
}

/// `POST /api/v1/self-exclusion {"days": 1..=max}`: no stake or deposit until then; it cannot be
/// shortened, by the player or the operator.
#[utoipa::path(
    post,
    path = "/api/v1/self-exclusion",
    operation_id = "limits_self_exclude",
    tag = "limits",
    summary = "Excludes the player from play for a number of days",
    request_body(content = serde_json::Value, description = "{\"days\": integer}", content_type = "application/json"),
    responses(
        (status = 200, description = "`{\"status\": \"self_excluded\", \"until\"}`", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_days`, `unknown_field`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn self_exclude(
    player: AuthenticatedPlayer,
    body: BoundedJson<Map<String, Value>>,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let days_max = settings.responsible_gaming.self_exclusion_days_max;
    let days = parse_days(&body.0, days_max)?;
    let now = Utc::now();
    let until = now + Duration::days(days);
    let guard = protection::change_guard(
        &database.writer,
        player.player_id,
        &settings.responsible_gaming,
        now,
        |guard| match guard.self_excluded_until {
            Some(current) if current > until => Err(ApiError::new(
                StatusCode::CONFLICT,
                "self_exclusion_cannot_be_shortened",
                format!("the player is already self-excluded until {}", current.to_rfc3339()),
            )),
            _ => {
                guard.self_excluded_until = Some(until);
                Ok(())
            }
        },
    )
    .await
    .map_err(change_failed)?;
    Ok(HttpResponse::Ok().json(json!({ "status": "self_excluded", "until": guard.self_excluded_until })))
}

fn change_failed(error: ChangeError<ApiError>) -> ApiError {
    match error {
        ChangeError::UnknownPlayer => ApiError::unauthorized("the player of this token no longer exists"),
        ChangeError::Refused(error) => error,
        ChangeError::Database(error) => ApiError::internal(error),
    }
}

fn parse_change(body: &Map<String, Value>) -> Result<LimitChange, ApiError> {
    let kind = body.get("kind").and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad_request("invalid_limit_kind", "kind is 'deposit', 'loss', 'wager' or 'session'")
    })?;
    if kind == "session" {
        only_fields(body, &["kind", "minutes"])?;
        let minutes = optional_integer(body, "minutes", SESSION_LIMIT_MINUTES_MAX, "invalid_minutes")?;
        return Ok(LimitChange::Session(minutes));
    }
    let kind = LimitKind::parse(kind).ok_or_else(|| {
        ApiError::bad_request("invalid_limit_kind", "kind is 'deposit', 'loss', 'wager' or 'session'")
    })?;
    only_fields(body, &["kind", "period", "amount_micros"])?;
    let period = body
        .get("period")
        .and_then(Value::as_str)
        .and_then(Period::parse)
        .ok_or_else(|| ApiError::bad_request("invalid_period", "period is 'day', 'week' or 'month'"))?;
    let amount = optional_integer(body, "amount_micros", AMOUNT_MAX_MICROS, "invalid_amount")?;
    Ok(LimitChange::Money(kind, period, amount))
}

fn only_fields(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(ApiError::bad_request(
            "invalid_json",
            format!("unknown field {:?}", key.chars().take(32).collect::<String>()),
        )),
        None => Ok(()),
    }
}

/// A field that must be present: `null` or an integer from 1 to `max`.
fn optional_integer(
    body: &Map<String, Value>,
    field: &str,
    max: i64,
    code: &'static str,
) -> Result<Option<i64>, ApiError> {
    let invalid = || ApiError::bad_request(code, format!("{field} must be null or an integer from 1 to {max}"));
    match body.get(field) {
        Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => match number.as_i64() {
            Some(value) if (1..=max).contains(&value) => Ok(Some(value)),
            _ => Err(invalid()),
        },
        _ => Err(invalid()),
    }
}

fn parse_days(body: &Map<String, Value>, days_max: u32) -> Result<i64, ApiError> {
    only_fields(body, &["days"])?;
    let days = body.get("days").and_then(Value::as_i64);
    match days {
        Some(days) if (1..=i64::from(days_max)).contains(&days) => Ok(days),
        _ => Err(ApiError::bad_request(
            "invalid_days",
            format!("days must be an integer from 1 to {days_max}"),
        )),
    }
}

/// The player's limits with what they used, as `GET /api/v1/limits` shows them.
fn view(guard: &PlayerGuard, settings: &Settings, now: DateTime<Utc>) -> Value {
    let mut limits = Vec::with_capacity(9);
    for kind in LimitKind::ALL {
        for period in Period::ALL {
            let limit = guard.limits.get(kind, period).settled(now);
            limits.push(json!({
                "kind": kind.as_str(),
                "period": period.as_str(),
                "amount_micros": limit.amount,
                "pending": pending_view(&limit, "amount_micros"),
                "used_micros": guard.usage.of(period, now).used(kind),
            }));
        }
    }
    let session = guard.limits.session.settled(now);
    let started_at = guard.usage.session_start(now, guard.session_break_minutes);
    let used_minutes = started_at.map_or(0, |started| (now - started).num_minutes());
    json!({
        "limits": limits,
        "session": {
            "limit_minutes": session.amount,
            "pending": pending_view(&session, "limit_minutes"),
            "started_at": started_at,
            "used_minutes": used_minutes,
        },
        "cooling_off_hours": settings.responsible_gaming.cooling_off_hours,
    })
}

fn pending_view(limit: &Limit, field: &str) -> Value {
    match limit.pending {
        Some(pending) => json!({ field: pending.amount, "effective_at": pending.effective_at }),
        None => Value::Null,
    }
}
