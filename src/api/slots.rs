//! Slots over HTTP: game sessions, spins, bonus rounds, ending a round, recall, the public definitions.
//! Every round goes through the slot server (`games::slots::server`); these handlers only read requests
//! and shape answers.

use super::json::BoundedJson;
use super::{client_idempotency_key, parse_amount};
use crate::auth::extract::AuthenticatedPlayer;
use crate::error::ApiError;
use crate::games::slots::server::{self, catalog, view, InitRequest, Player, SlotError, SlotService, SpinRequest};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/game/init", web::post().to(init))
        .route("/spin", web::post().to(spin))
        .route("/bonus/trigger", web::post().to(bonus_trigger))
        .route("/round/end", web::post().to(round_end))
        .route("/slots/games", web::get().to(games))
        .route("/slots/games/{game_id}", web::get().to(game))
        .route("/slots/games/{game_id}/definition", web::get().to(definition))
        .route("/slots/rounds", web::get().to(rounds))
        .route("/slots/rounds/{spin_id}", web::get().to(round));
}

impl From<SlotError> for ApiError {
    fn from(error: SlotError) -> ApiError {
        let message = error.to_string();
        let (status, code) = match &error {
            SlotError::UnknownGame(_) => (StatusCode::NOT_FOUND, "unknown_game"),
            SlotError::GameDisabled(_) => (StatusCode::FORBIDDEN, "game_disabled"),
            SlotError::ClientVersionTooOld { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "client_version_too_old"),
            SlotError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            SlotError::InvalidBet(_) => (StatusCode::BAD_REQUEST, "invalid_bet"),
            SlotError::InvalidMode(_) => (StatusCode::BAD_REQUEST, "invalid_mode"),
            SlotError::SessionNotFound => (StatusCode::NOT_FOUND, "session_not_found"),
            SlotError::SessionExpired => (StatusCode::GONE, "session_expired"),
            SlotError::SessionClosed => (StatusCode::GONE, "session_closed"),
            SlotError::SessionGameMismatch(_) => (StatusCode::BAD_REQUEST, "session_game_mismatch"),
            SlotError::RoundInProgress(_) => (StatusCode::CONFLICT, "round_in_progress"),
            SlotError::RoundNotFound => (StatusCode::NOT_FOUND, "round_not_found"),
            SlotError::NoRoundInProgress => (StatusCode::CONFLICT, "no_round_in_progress"),
            SlotError::RoundFinished => (StatusCode::CONFLICT, "round_finished"),
            SlotError::RoundPending => (StatusCode::CONFLICT, "round_pending"),
            SlotError::IdempotencyConflict => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_conflict"),
            SlotError::SeedNotRevealed => (StatusCode::CONFLICT, "seed_not_revealed"),
            SlotError::UnknownVersion(_) => (StatusCode::NOT_FOUND, "unknown_version"),
            SlotError::Wallet(transfer) => return ApiError::from(transfer.clone()),
            SlotError::Store(_) | SlotError::Corrupt(_) => return ApiError::internal(error),
        };
        ApiError::new(status, code, message)
    }
}

fn player_of(player: &AuthenticatedPlayer) -> Player {
    Player {
        player_id: player.player_id,
        account: player.account,
    }
}

fn parse_uuid(field: &'static str, text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::bad_request("invalid_request", format!("{field} must be a UUID")))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"game_id": "fortune-lines", "platform": "web", "locale": "en", "client_version": "1.0.0"}))]
struct InitBody {
    game_id: String,
    platform: String,
    locale: String,
    client_version: String,
}

/// `POST /api/v1/game/init {game_id, platform, locale, client_version}`: opens a game session.
#[utoipa::path(
    post,
    path = "/api/v1/game/init",
    operation_id = "slots_init",
    tag = "slots",
    summary = "Opens a slot game session",
    request_body(content = InitBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the session and the game's configuration", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_platform`, `invalid_locale`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token; `player_blocked`, `self_excluded`", body = crate::error::Envelope),
        (status = 404, description = "`game_not_found`", body = crate::error::Envelope),
        (status = 409, description = "`game_disabled`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn init(
    player: AuthenticatedPlayer,
    body: BoundedJson<InitBody>,
    slots: web::Data<SlotService>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let request = InitRequest {
        game_id: body.game_id,
        platform: body.platform,
        locale: body.locale,
        client_version: body.client_version,
    };
    Ok(HttpResponse::Ok().json(slots.init(player_of(&player), request).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BetBody {
    /// Micro-units (1,000,000 = 1.00), a positive integer.
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64, example = 1_000_000)]
    amount: serde_json::Number,
    lines: Option<u32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SpinBody {
    session_id: String,
    game_id: String,
    bet: BetBody,
    mode: Option<String>,
}

/// `POST /api/v1/spin {session_id, game_id, bet: {amount, lines?}, mode?}` with an `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/spin",
    operation_id = "slots_spin",
    tag = "slots",
    summary = "Plays one slot round",
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,64}$", description = "1 to 64 printable ASCII characters; a retry with the same key returns the first result")),
    request_body(content = SpinBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the round", body = serde_json::Value, links(
            ("round" = (operation_id = "slots_round", parameters(("spin_id" = "$response.body#/spin_id")), description = "the round, recalled"))
        )),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `missing_idempotency_key`, `invalid_idempotency_key`; `invalid_amount`, `invalid_bet`, `invalid_mode`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token; `session_invalid`", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 404, description = "`game_not_found`", body = crate::error::Envelope),
        (status = 409, description = "`round_open`, `game_disabled`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 422, description = "`insufficient_funds`, a responsible-gaming limit, `idempotency_conflict`", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn spin(
    request: HttpRequest,
    player: AuthenticatedPlayer,
    body: BoundedJson<SpinBody>,
    slots: web::Data<SlotService>,
) -> Result<HttpResponse, ApiError> {
    let key = client_idempotency_key(&request)?;
    let body = body.0;
    let spin = SpinRequest {
        session_id: parse_uuid("session_id", &body.session_id)?,
        game_id: body.game_id,
        bet_micros: parse_amount(&body.bet.amount)?.micros(),
        lines: body.bet.lines,
        mode: body.mode,
        reveal: server::Reveal::ByStep,
    };
    Ok(HttpResponse::Ok().json(slots.spin(player_of(&player), spin, key.as_str()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TriggerBody {
    session_id: String,
    game_id: String,
    bonus_round_id: Option<String>,
    action: String,
    feature_id: Option<String>,
    /// The base bet of a bonus buy; the game's default bet level when absent.
    bet: Option<BetBody>,
}

/// `POST /api/v1/bonus/trigger` with an `Idempotency-Key`: `{action: "spin", bonus_round_id}` reveals
/// the next free spin; `{action: "buy_feature", feature_id, bet?}` buys the bonus (a paid round that
/// starts in free spins).
#[utoipa::path(
    post,
    path = "/api/v1/bonus/trigger",
    operation_id = "slots_bonus_trigger",
    tag = "slots",
    summary = "Buys, starts or plays a bonus feature",
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,64}$", description = "1 to 64 printable ASCII characters; a retry with the same key returns the first result")),
    request_body(content = TriggerBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the bonus round", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `missing_idempotency_key`, `invalid_idempotency_key`; `invalid_action`, `invalid_feature`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 404, description = "`game_not_found`, `bonus_not_found`", body = crate::error::Envelope),
        (status = 409, description = "`round_open`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 422, description = "`insufficient_funds`, a responsible-gaming limit, `idempotency_conflict`", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn bonus_trigger(
    request: HttpRequest,
    player: AuthenticatedPlayer,
    body: BoundedJson<TriggerBody>,
    slots: web::Data<SlotService>,
) -> Result<HttpResponse, ApiError> {
    let key = client_idempotency_key(&request)?;
    let body = body.0;
    let session_id = parse_uuid("session_id", &body.session_id)?;
    let player = player_of(&player);
    match body.action.as_str() {
        "spin" => {
            if body.feature_id.is_some() || body.bet.is_some() {
                return Err(ApiError::bad_request(
                    "invalid_request",
                    "a bonus spin takes no feature_id or bet",
                ));
            }
            let round_id = body
                .bonus_round_id
                .as_deref()
                .ok_or_else(|| ApiError::bad_request("invalid_request", "bonus_round_id is required"))?;
            let round_id = parse_uuid("bonus_round_id", round_id)?;
            let answer = slots
                .reveal_next(player, session_id, &body.game_id, round_id, key.as_str())
                .await?;
            Ok(HttpResponse::Ok().json(answer))
        }
        "buy_feature" => {
            if body.bonus_round_id.is_some() {
                return Err(ApiError::bad_request(
                    "invalid_request",
                    "buying a bonus starts a new round: leave bonus_round_id out",
                ));
            }
            let feature = body
                .feature_id
                .ok_or_else(|| ApiError::bad_request("invalid_request", "feature_id is required"))?;
            let config = slots.public_config(&body.game_id)?;
            let is_buy = config["modes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|mode| mode["name"] == feature.as_str() && mode["bonus_buy"] == true);
            if !is_buy {
                return Err(ApiError::bad_request(
                    "invalid_mode",
                    format!("{} has no bonus to buy named {feature:?}", body.game_id),
                ));
            }
            let bet_micros = match body.bet {
                Some(bet) => {
                    if bet.lines.is_some() {
                        return Err(ApiError::bad_request("invalid_bet", "a bonus buy takes no lines"));
                    }
                    parse_amount(&bet.amount)?.micros()
                }
                None => slots.bet_levels().default,
            };
            let spin = SpinRequest {
                session_id,
                game_id: body.game_id,
                bet_micros,
                lines: None,
                mode: Some(feature),
                reveal: server::Reveal::ByStep,
            };
            Ok(HttpResponse::Ok().json(slots.spin(player, spin, key.as_str()).await?))
        }
        other => Err(ApiError::bad_request(
            "invalid_request",
            format!("action must be \"spin\" or \"buy_feature\", not {other:?}"),
        )),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EndBody {
    session_id: String,
    game_id: String,
}

/// `POST /api/v1/round/end {session_id, game_id}` with an `Idempotency-Key`: reveals the rest of the
/// player's open round and credits its win.
#[utoipa::path(
    post,
    path = "/api/v1/round/end",
    operation_id = "slots_round_end",
    tag = "slots",
    summary = "Ends the open slot round and credits its win",
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,64}$", description = "1 to 64 printable ASCII characters; a retry with the same key returns the first result")),
    request_body(content = EndBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the settled round", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `missing_idempotency_key`, `invalid_idempotency_key`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 404, description = "`round_not_found`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn round_end(
    request: HttpRequest,
    player: AuthenticatedPlayer,
    body: BoundedJson<EndBody>,
    slots: web::Data<SlotService>,
) -> Result<HttpResponse, ApiError> {
    let key = client_idempotency_key(&request)?;
    let body = body.0;
    let session_id = parse_uuid("session_id", &body.session_id)?;
    let answer = slots
        .end_round(player_of(&player), session_id, &body.game_id, key.as_str())
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `GET /api/v1/slots/games`: every slot game with its public configuration.
#[utoipa::path(
    get,
    path = "/api/v1/slots/games",
    operation_id = "slots_games",
    tag = "slots",
    summary = "The slot games and their public configuration",
    responses(
        (status = 200, description = "`{\"games\": [...]}`", body = serde_json::Value),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
async fn games(slots: web::Data<SlotService>) -> Result<HttpResponse, ApiError> {
    let games: Vec<Value> = slots
        .catalog()
        .games()
        .map(|game| {
            let mut config = catalog::public_config(game, slots.bet_levels());
            config["enabled"] = json!(!slots.catalog().is_disabled(game.definition.id()));
            config
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "games": games })))
}

/// `GET /api/v1/slots/games/{game_id}`: one game's public configuration.
#[utoipa::path(
    get,
    path = "/api/v1/slots/games/{game_id}",
    operation_id = "slots_game",
    tag = "slots",
    summary = "One slot game's public configuration",
    params(("game_id" = String, Path, description = "the slot game id")),
    responses(
        (status = 200, description = "the configuration", body = serde_json::Value),
        (status = 404, description = "`game_not_found`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
async fn game(path: web::Path<String>, slots: web::Data<SlotService>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(slots.public_config(&path.into_inner())?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DefinitionQuery {
    version: Option<String>,
}

/// `GET /api/v1/slots/games/{game_id}/definition?version=`: the files of a math version (the current
/// one when absent), verbatim, with every version ever served: all anyone needs to recompute a round.
#[utoipa::path(
    get,
    path = "/api/v1/slots/games/{game_id}/definition",
    operation_id = "slots_definition",
    tag = "fairness",
    summary = "A slot game's published definition (reels, pays) by math version",
    params(("game_id" = String, Path, description = "the slot game id"), DefinitionQuery),
    responses(
        (status = 200, description = "the definition", body = serde_json::Value),
        (status = 400, description = "`invalid_query`", body = crate::error::Envelope),
        (status = 404, description = "`game_not_found`, `version_not_found`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
async fn definition(
    path: web::Path<String>,
    query: web::Query<DefinitionQuery>,
    slots: web::Data<SlotService>,
) -> Result<HttpResponse, ApiError> {
    let game_id = path.into_inner();
    let current = slots
        .catalog()
        .game(&game_id)
        .ok_or_else(|| ApiError::from(SlotError::UnknownGame(game_id.clone())))?;
    let version = query
        .into_inner()
        .version
        .unwrap_or_else(|| current.definition.math_version().to_owned());
    let valid = version.len() == 64 && version.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    if !valid {
        return Err(ApiError::bad_request(
            "invalid_version",
            "version must be a math version: 64 lowercase hex digits",
        ));
    }
    let files = catalog::stored_files(slots.pool(), &game_id, &version)
        .await?
        .ok_or_else(|| ApiError::from(SlotError::UnknownVersion(version.clone())))?;
    let versions: Vec<Value> = catalog::versions(slots.pool(), &game_id)
        .await?
        .into_iter()
        .map(|(version, first_served_at)| json!({ "version": version, "first_served_at": first_served_at }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "game_id": game_id,
        "version": version,
        "current": version == current.definition.math_version(),
        "files": files,
        "versions": versions,
        "recipe": "games/slots/README.md and docs/SLOTS.md: the engine's rules; ../reference slots.md: the draws",
    })))
}

/// The most rounds one recall page lists.
const ROUNDS_PAGE_MAX: u32 = server::RECALL_LIST_MAX;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RoundsQuery {
    game_id: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/slots/rounds?game_id=&limit=`: the player's latest rounds with every step.
#[utoipa::path(
    get,
    path = "/api/v1/slots/rounds",
    operation_id = "slots_rounds",
    tag = "history",
    summary = "The player's recent slot rounds",
    params(RoundsQuery),
    responses(
        (status = 200, description = "`{\"rounds\": [...]}`", body = serde_json::Value),
        (status = 400, description = "`invalid_query`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn rounds(
    player: AuthenticatedPlayer,
    query: web::Query<RoundsQuery>,
    slots: web::Data<SlotService>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(10);
    if !(1..=ROUNDS_PAGE_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {ROUNDS_PAGE_MAX}"),
        ));
    }
    if let Some(game_id) = &query.game_id {
        slots.public_config(game_id)?;
    }
    let rounds = slots.rounds(player.player_id, query.game_id.as_deref(), limit).await?;
    let rounds: Vec<Value> = rounds.iter().map(view::recall).collect();
    Ok(HttpResponse::Ok().json(json!({ "rounds": rounds })))
}

/// `GET /api/v1/slots/rounds/{spin_id}`: one round with every step (only the revealed ones while it is
/// open).
#[utoipa::path(
    get,
    path = "/api/v1/slots/rounds/{spin_id}",
    operation_id = "slots_round",
    tag = "history",
    summary = "One of the player's slot rounds, recalled",
    params(("spin_id" = String, Path, description = "the round's UUID")),
    responses(
        (status = 200, description = "the round", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 404, description = "`round_not_found`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn round(
    player: AuthenticatedPlayer,
    path: web::Path<String>,
    slots: web::Data<SlotService>,
) -> Result<HttpResponse, ApiError> {
    let spin_id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::from(SlotError::RoundNotFound))?;
    let round = slots.round(player.player_id, spin_id).await?;
    Ok(HttpResponse::Ok().json(view::recall(&round)))
}
