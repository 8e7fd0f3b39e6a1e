//! Stake Engine's RGS protocol, served next to our own API so that front ends built for Stake Engine's
//! open-source clients (`stake-engine` on npm, the web-sdk) run against us unchanged: `rgs_url` is this
//! server's host. The slot server does the work (`games::slots::server::stake`); these handlers read
//! Stake's requests and answer in Stake's shapes, errors included (`{"error": "ERR_…", "message"}`, never
//! our envelope).
//!
//! - `sessionID` is a game session of `POST /api/v1/game/init`: it alone authenticates (no JWT here).
//!   Unknown, malformed, closed or expired: 401 `ERR_IS`.
//! - Money is in micro-units as everywhere (1,000,000 = 1.00, Stake's API scale); a play's `amount` is
//!   the base bet, a non-integer is rounded to the nearest micro-unit (the web-sdk multiplies floats),
//!   and it must be one of the bet levels; the debit is `amount` x the mode's cost. Mode names are the
//!   game's, case-sensitive, as in Stake's RGS.
//! - A play shows the whole round at once (`round.state`, see `book_events` for the event mapping); a
//!   round without a win closes itself (`active: false`), a win is credited by `/wallet/end-round`.
//! - `GET /bet/replay/{game}/{version}/{mode}/{event}`: `version` is the math version the round was
//!   played under (as `GET /api/v1/slots/games/{game}/definition` lists them), `event` the round's id
//!   (the UUID our recall calls `spin_id`), so a replay link cannot be guessed. Only settled rounds
//!   replay; anything else is 404 `NOT_FOUND`.
//! - Browsers call from the game's origin: every answer allows any origin (the session id in the body,
//!   not a cookie, is the credential) and preflights are answered.

use super::json::{has_nul_character, json_depth, JsonLimits, NUL_IN_STRING};
use crate::configuration::Settings;
use crate::games::slots::server::stake::StakeRound;
use crate::games::slots::server::store::SessionRow;
use crate::games::slots::server::{SlotError, SlotService};
use crate::money::Amount;
use crate::wallet::ledger::{RejectionCode, TransferError};
use actix_web::dev::Payload;
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt;
use uuid::Uuid;

/// How long a browser may cache a preflight's answer.
const PREFLIGHT_MAX_AGE_S: u32 = 600;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::scope("/wallet")
                .wrap(cors_headers())
                .route("/authenticate", web::post().to(authenticate))
                .route("/balance", web::post().to(balance))
                .route("/play", web::post().to(play))
                .route("/end-round", web::post().to(end_round))
                .default_service(web::to(fallback)),
        )
        .service(
            web::scope("/bet")
                .wrap(cors_headers())
                .route("/event", web::post().to(event))
                .route("/replay/{game}/{version}/{mode}/{event}", web::get().to(replay))
                .default_service(web::to(fallback)),
        );
}

fn cors_headers() -> DefaultHeaders {
    DefaultHeaders::new().add(("Access-Control-Allow-Origin", "*"))
}

/// Preflights (`OPTIONS`) are allowed; any other unknown route or method is 404 in Stake's shape.
async fn fallback(request: HttpRequest) -> HttpResponse {
    if request.method() == Method::OPTIONS {
        return HttpResponse::NoContent()
            .insert_header(("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
            .insert_header(("Access-Control-Allow-Headers", "Content-Type"))
            .insert_header(("Access-Control-Max-Age", PREFLIGHT_MAX_AGE_S.to_string()))
            .finish();
    }
    StakeError::not_found("no such RGS route").error_response()
}

/// The body of a failure as Stake's clients read it (the OpenAPI document's `StakeError`).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = StakeError, example = json!({"error": "ERR_IS", "message": "invalid sessionID"}))]
pub struct StakeErrorBody<'a> {
    /// `ERR_VAL`, `ERR_IS`, `ERR_IPB`, `ERR_GLE`, `ERR_GEN`, `ERR_MAINTENANCE`, `NOT_FOUND`
    error: &'a str,
    message: &'a str,
}

/// A failure as Stake's clients read it: `{"error": code, "message": text}` with the spec's status.
#[derive(Debug)]
pub struct StakeError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl StakeError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> StakeError {
        StakeError {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> StakeError {
        StakeError::new(StatusCode::BAD_REQUEST, "ERR_VAL", message)
    }

    fn session(message: impl Into<String>) -> StakeError {
        StakeError::new(StatusCode::UNAUTHORIZED, "ERR_IS", message)
    }

    fn not_found(message: impl Into<String>) -> StakeError {
        StakeError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    fn general(error: impl fmt::Display) -> StakeError {
        tracing::error!(error = %error, "RGS request failed");
        StakeError::new(StatusCode::INTERNAL_SERVER_ERROR, "ERR_GEN", "internal error")
    }
}

impl fmt::Display for StakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status.as_u16(), self.message)
    }
}

impl ResponseError for StakeError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(StakeErrorBody {
            error: self.code,
            message: &self.message,
        })
    }
}

impl From<SlotError> for StakeError {
    fn from(error: SlotError) -> StakeError {
        let message = error.to_string();
        match error {
            SlotError::SessionNotFound
            | SlotError::SessionExpired
            | SlotError::SessionClosed
            | SlotError::SessionGameMismatch(_) => StakeError::session(message),
            SlotError::Wallet(TransferError::Rejected(RejectionCode::InsufficientFunds)) => {
                StakeError::new(StatusCode::BAD_REQUEST, "ERR_IPB", "insufficient player balance")
            }
            // Stake Engine's "gambling limits exceeded": the player's own limits, a self-exclusion or a block.
            SlotError::Wallet(TransferError::Rejected(code)) if code.is_responsible_gaming() => {
                StakeError::new(StatusCode::BAD_REQUEST, "ERR_GLE", code.describe())
            }
            SlotError::GameDisabled(_) => {
                StakeError::new(StatusCode::INTERNAL_SERVER_ERROR, "ERR_MAINTENANCE", message)
            }
            SlotError::UnknownGame(_)
            | SlotError::ClientVersionTooOld { .. }
            | SlotError::InvalidRequest(_)
            | SlotError::InvalidBet(_)
            | SlotError::InvalidMode(_)
            | SlotError::RoundInProgress(_)
            | SlotError::RoundNotFound
            | SlotError::NoRoundInProgress
            | SlotError::RoundFinished
            | SlotError::IdempotencyConflict
            | SlotError::SeedNotRevealed
            | SlotError::UnknownVersion(_) => StakeError::invalid(message),
            SlotError::RoundPending | SlotError::Wallet(_) | SlotError::Store(_) | SlotError::Corrupt(_) => {
                StakeError::general(message)
            }
        }
    }
}

/// A JSON body within the node's body and depth limits; anything else is `ERR_VAL`. Stake's clients
/// send `Content-Type: application/json`, but nothing here depends on it.
pub struct StakeJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for StakeJson<T> {
    type Error = StakeError;
    type Future = LocalBoxFuture<'static, Result<Self, StakeError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limits = request
            .app_data::<web::Data<JsonLimits>>()
            .map(|data| *data.get_ref())
            .unwrap_or(JsonLimits {
                body_bytes_max: 16 * 1024,
                depth_max: 16,
            });
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| StakeError::invalid("the request body could not be read"))?;
                if body.len() + chunk.len() > limits.body_bytes_max {
                    return Err(StakeError::invalid(format!(
                        "the request body must not exceed {} bytes",
                        limits.body_bytes_max
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            if json_depth(&body) > limits.depth_max {
                return Err(StakeError::invalid(format!(
                    "JSON nesting must not exceed {} levels",
                    limits.depth_max
                )));
            }
            if has_nul_character(&body) {
                return Err(StakeError::invalid(NUL_IN_STRING));
            }
            serde_json::from_slice(&body)
                .map(StakeJson)
                .map_err(|error| StakeError::invalid(format!("the request body is not valid: {error}")))
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SessionBody {
    #[serde(rename = "sessionID")]
    session_id: Option<String>,
}

/// `amount` and `mode` are required; `currency` and `meta` (sent by some clients) are ignored.
#[derive(Deserialize, utoipa::ToSchema)]
struct PlayBody {
    #[serde(rename = "sessionID")]
    session_id: Option<String>,
    /// Micro-units (1,000,000 = 1.00), a positive integer.
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64, example = 1_000_000)]
    amount: serde_json::Number,
    mode: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct EventBody {
    #[serde(rename = "sessionID")]
    session_id: Option<String>,
    event: String,
}

/// The open session a `sessionID` names, or `ERR_IS`.
async fn session_of(slots: &SlotService, session_id: Option<&str>) -> Result<SessionRow, StakeError> {
    let text = session_id.ok_or_else(|| StakeError::session("sessionID is required"))?;
    let id = Uuid::parse_str(text).map_err(|_| StakeError::session("invalid sessionID"))?;
    Ok(slots.stake_session(id).await?)
}

/// A play's base bet in micro-units: integers as sent, other numbers rounded to the nearest micro-unit
/// (half away from zero); at least one micro-unit and within the money range.
fn bet_micros(amount: &serde_json::Number) -> Result<i64, StakeError> {
    let invalid = || StakeError::invalid("amount must be a positive number of micro-units (1000000 is 1.00)");
    let micros = match amount.as_i64() {
        Some(micros) => micros,
        None => {
            let value = amount.as_f64().filter(|value| value.is_finite()).ok_or_else(invalid)?;
            let rounded = value.round();
            // Bounds first: the cast saturates, and i64::MAX is out of range anyway.
            if !(1.0..=i64::MAX as f64).contains(&rounded) {
                return Err(invalid());
            }
            rounded as i64
        }
    };
    Amount::parse(micros)
        .map(|amount| amount.micros())
        .map_err(|_| invalid())
}

fn currency(settings: &Settings) -> &str {
    &settings.wallet.currency
}

fn balance_json(amount: i64, settings: &Settings) -> Value {
    json!({ "amount": amount, "currency": currency(settings) })
}

fn round_json(round: &StakeRound) -> Value {
    json!({
        "betID": round.bet_id,
        "amount": round.round.bet_micros,
        "payout": round.round.payout_micros,
        "payoutMultiplier": round.payout_multiplier(),
        "costMultiplier": round.cost_multiplier(),
        "active": round.active(),
        "mode": round.round.mode,
        "event": round.event,
        "state": round.state(),
    })
}

/// The greatest common divisor of the bet levels: every level is a multiple of it.
fn step_of(levels: &[i64]) -> i64 {
    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    levels.iter().fold(0, |step, level| gcd(step, *level))
}

/// The game's configuration in Stake's shape. No jurisdiction restricts anything here (every flag off).
fn config_json(slots: &SlotService, game_id: &str) -> Result<Value, StakeError> {
    let game = slots.public_config(game_id)?;
    let levels = &slots.bet_levels().levels;
    let modes: serde_json::Map<String, Value> = game["modes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|mode| {
            let name = mode["name"].as_str()?;
            let entry = json!({ "mode": name, "costMultiplier": mode["cost"], "feature": mode["bonus_buy"] });
            Some((name.to_owned(), entry))
        })
        .collect();
    Ok(json!({
        "gameID": game_id,
        "minBet": levels.first(),
        "maxBet": levels.last(),
        "stepBet": step_of(levels),
        "defaultBetLevel": slots.bet_levels().default,
        "betLevels": levels,
        "betModes": modes,
        "jurisdiction": {
            "socialCasino": false,
            "disabledFullscreen": false,
            "disabledTurbo": false,
            "disabledSuperTurbo": false,
            "disabledAutoplay": false,
            "disabledSlamstop": false,
            "disabledSpacebar": false,
            "disabledBuyFeature": false,
            "displayNetPosition": false,
            "displayRTP": false,
            "displaySessionTimer": false,
            "minimumRoundDuration": 0,
        },
    }))
}

/// `POST /wallet/authenticate {sessionID, language}`: balance, configuration and the active round.
#[utoipa::path(
    post,
    path = "/wallet/authenticate",
    operation_id = "stake_authenticate",
    tag = "stake-rgs",
    summary = "Stake Engine: opens the session",
    request_body(content = SessionBody, content_type = "application/json"),
    responses(
        (status = 200, description = "balance, config and any active round", body = serde_json::Value),
        (status = 400, description = "`ERR_VAL`: the request is not valid", body = crate::api::stake::StakeErrorBody),
        (status = 401, description = "`ERR_IS`: unknown, closed or expired sessionID", body = crate::api::stake::StakeErrorBody),
        (status = "default", description = "Any other failure in Stake's shape: `ERR_GEN`", body = crate::api::stake::StakeErrorBody)
    ),
    security(())
)]
async fn authenticate(
    body: StakeJson<SessionBody>,
    slots: web::Data<SlotService>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, StakeError> {
    let session = session_of(&slots, body.0.session_id.as_deref()).await?;
    let balance = slots.stake_balance(&session).await?;
    let round = slots.stake_active_round(&session).await?;
    Ok(HttpResponse::Ok().json(json!({
        "balance": balance_json(balance, &settings),
        "config": config_json(&slots, &session.game_id)?,
        "round": round.as_ref().map(round_json),
        "meta": null,
    })))
}

/// `POST /wallet/balance {sessionID}`.
#[utoipa::path(
    post,
    path = "/wallet/balance",
    operation_id = "stake_balance",
    tag = "stake-rgs",
    summary = "Stake Engine: the balance",
    request_body(content = SessionBody, content_type = "application/json"),
    responses(
        (status = 200, description = "`{\"balance\"}`", body = serde_json::Value),
        (status = 400, description = "`ERR_VAL`: the request is not valid", body = crate::api::stake::StakeErrorBody),
        (status = 401, description = "`ERR_IS`: unknown, closed or expired sessionID", body = crate::api::stake::StakeErrorBody),
        (status = "default", description = "Any other failure in Stake's shape: `ERR_GEN`", body = crate::api::stake::StakeErrorBody)
    ),
    security(())
)]
async fn balance(
    body: StakeJson<SessionBody>,
    slots: web::Data<SlotService>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, StakeError> {
    let session = session_of(&slots, body.0.session_id.as_deref()).await?;
    let balance = slots.stake_balance(&session).await?;
    Ok(HttpResponse::Ok().json(json!({ "balance": balance_json(balance, &settings) })))
}

/// `POST /wallet/play {sessionID, amount, mode, currency?}`: debits and plays a whole round.
#[utoipa::path(
    post,
    path = "/wallet/play",
    operation_id = "stake_play",
    tag = "stake-rgs",
    summary = "Stake Engine: plays a round",
    request_body(content = PlayBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the balance and the round", body = serde_json::Value),
        (status = 400, description = "`ERR_VAL`: the request is not valid; `ERR_IPB`: insufficient balance; `ERR_GLE`: a gambling limit", body = crate::api::stake::StakeErrorBody),
        (status = 401, description = "`ERR_IS`: unknown, closed or expired sessionID", body = crate::api::stake::StakeErrorBody),
        (status = "default", description = "Any other failure in Stake's shape: `ERR_GEN`", body = crate::api::stake::StakeErrorBody)
    ),
    security(())
)]
async fn play(
    body: StakeJson<PlayBody>,
    slots: web::Data<SlotService>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, StakeError> {
    let body = body.0;
    let session = session_of(&slots, body.session_id.as_deref()).await?;
    let bet = bet_micros(&body.amount)?;
    let answer = slots.stake_play(&session, bet, &body.mode).await?;
    Ok(HttpResponse::Ok().json(json!({
        "balance": balance_json(answer.balance, &settings),
        "round": round_json(&answer.round),
    })))
}

/// `POST /wallet/end-round {sessionID}`: credits the active round's win.
#[utoipa::path(
    post,
    path = "/wallet/end-round",
    operation_id = "stake_end_round",
    tag = "stake-rgs",
    summary = "Stake Engine: ends the active round and credits its win",
    request_body(content = SessionBody, content_type = "application/json"),
    responses(
        (status = 200, description = "`{\"balance\"}`", body = serde_json::Value),
        (status = 400, description = "`ERR_VAL`: the request is not valid", body = crate::api::stake::StakeErrorBody),
        (status = 401, description = "`ERR_IS`: unknown, closed or expired sessionID", body = crate::api::stake::StakeErrorBody),
        (status = "default", description = "Any other failure in Stake's shape: `ERR_GEN`", body = crate::api::stake::StakeErrorBody)
    ),
    security(())
)]
async fn end_round(
    body: StakeJson<SessionBody>,
    slots: web::Data<SlotService>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, StakeError> {
    let session = session_of(&slots, body.0.session_id.as_deref()).await?;
    let balance = slots.stake_end_round(&session).await?;
    Ok(HttpResponse::Ok().json(json!({ "balance": balance_json(balance, &settings) })))
}

/// `POST /bet/event {sessionID, event}`: stores the client's progress in the active round.
#[utoipa::path(
    post,
    path = "/bet/event",
    operation_id = "stake_event",
    tag = "stake-rgs",
    summary = "Stake Engine: records the client's progress in the active round",
    request_body(content = EventBody, content_type = "application/json"),
    responses(
        (status = 200, description = "`{\"event\"}`", body = serde_json::Value),
        (status = 400, description = "`ERR_VAL`: the request is not valid", body = crate::api::stake::StakeErrorBody),
        (status = 401, description = "`ERR_IS`: unknown, closed or expired sessionID", body = crate::api::stake::StakeErrorBody),
        (status = "default", description = "Any other failure in Stake's shape: `ERR_GEN`", body = crate::api::stake::StakeErrorBody)
    ),
    security(())
)]
async fn event(body: StakeJson<EventBody>, slots: web::Data<SlotService>) -> Result<HttpResponse, StakeError> {
    let body = body.0;
    let session = session_of(&slots, body.session_id.as_deref()).await?;
    slots.stake_event(&session, &body.event).await?;
    Ok(HttpResponse::Ok().json(json!({ "event": body.event })))
}

/// `GET /bet/replay/{game}/{version}/{mode}/{event}`: a settled round's events, no session needed.
#[utoipa::path(
    get,
    path = "/bet/replay/{game}/{version}/{mode}/{event}",
    operation_id = "stake_replay",
    tag = "stake-rgs",
    summary = "Stake Engine: replays a settled round",
    params(("game" = String, Path), ("version" = String, Path), ("mode" = String, Path), ("event" = String, Path, description = "the round's UUID")),
    responses(
        (status = 200, description = "the round's book", body = serde_json::Value),
        (status = 404, description = "`NOT_FOUND`", body = crate::api::stake::StakeErrorBody),
        (status = "default", description = "Any other failure in Stake's shape: `ERR_GEN`", body = crate::api::stake::StakeErrorBody)
    ),
    security(())
)]
async fn replay(
    path: web::Path<(String, String, String, String)>,
    slots: web::Data<SlotService>,
) -> Result<HttpResponse, StakeError> {
    let (game, version, mode, event) = path.into_inner();
    let missing = || StakeError::not_found("Replay data not found.");
    let round_id = Uuid::parse_str(&event).map_err(|_| missing())?;
    let round = slots
        .stake_replay(&game, &version, &mode, round_id)
        .await?
        .ok_or_else(missing)?;
    Ok(HttpResponse::Ok().json(json!({
        "payoutMultiplier": round.payout_multiplier(),
        "costMultiplier": round.cost_multiplier(),
        "state": round.state(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_to_the_nearest_micro_unit() {
        let number = |text: &str| serde_json::from_str::<serde_json::Number>(text).unwrap();
        assert_eq!(bet_micros(&number("1000000")).unwrap(), 1_000_000);
        assert_eq!(bet_micros(&number("300000.00000000006")).unwrap(), 300_000);
        assert_eq!(bet_micros(&number("199999.5")).unwrap(), 200_000);
        for bad in ["0", "-1000000", "0.4", "1e300", "-0.5"] {
            assert_eq!(bet_micros(&number(bad)).unwrap_err().code, "ERR_VAL", "{bad}");
        }
    }

    #[test]
    fn the_step_divides_every_level() {
        assert_eq!(step_of(&[100_000, 200_000, 500_000, 1_000_000]), 100_000);
        assert_eq!(step_of(&[250_000, 1_000_000]), 250_000);
    }
}
