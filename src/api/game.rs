//! The crash game over HTTP: the WebSocket endpoint, and REST equivalents for clients without one.

use super::json::BoundedJson;
use crate::auth::extract::{refuse_if_revoked, verify_token, AuthenticatedPlayer};
use crate::configuration::{SessionSettings, Settings};
use crate::db::Database;
use crate::error::ApiError;
use crate::fair::crash::parse_hash;
use crate::games::crash::room::Cashout;
use crate::games::crash::{chain, store, GameError};
use crate::session::actor::{parse_bet, viewer_from_claims, BetRequest, PlayerSession, SessionContext, Viewer};
use crate::session::relay::GetState;
use crate::session::transport::server::Accept;
use crate::session::transport::SocketLimits;
use actix::Actor;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use std::time::Instant;
use uuid::Uuid;

/// The most rounds one page of the round list may hold.
const ROUNDS_PAGE_SIZE_MAX: u32 = 100;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SocketQuery {
    token: Option<String>,
    room: Option<String>,
}

/// The room a request names, or the first configured room.
pub(super) fn room_name(context: &SessionContext, requested: Option<String>) -> Result<String, ApiError> {
    match requested {
        Some(room) => context.rooms.get(&room).map(|_| room).map_err(ApiError::from),
        None => Ok(context
            .rooms
            .rooms
            .keys()
            .next()
            .cloned()
            .expect("at least one room is configured")),
    }
}

/// `GET /ws?token=..&room=..`: upgrades to a player session. Without a token the client must send
/// `{"type":"auth","token":..}` first; a bad token in the query is refused before the upgrade. The
/// 101 response carries the `Accept` that starts the session once the server has handed the socket over.
#[utoipa::path(
    get,
    path = "/ws",
    operation_id = "game_socket",
    tag = "crash",
    summary = "Upgrades to the WebSocket protocol (see /api/asyncapi.json)",
    params(SocketQuery),
    responses(
        (status = 101, description = "switching protocols"),
        (status = 400, description = "`invalid_handshake`, `invalid_query`, `unknown_room`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: a bad token in the query", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
pub async fn socket(
    request: HttpRequest,
    query: web::Query<SocketQuery>,
    context: web::Data<SessionContext>,
) -> Result<HttpResponse, actix_web::Error> {
    let query = query.into_inner();
    let viewer = match &query.token {
        Some(token) => Some(verify_token(&context.keys, token).and_then(viewer_from_claims)?),
        None => None,
    };
    // A revoked token is refused before the upgrade too (the session checks again once registered).
    if let Some(Viewer::Player(player)) = &viewer {
        refuse_if_revoked(&context.revocations, player).await?;
    }
    let room_name = room_name(&context, query.room)?;
    let room = context.rooms.get(&room_name).map_err(ApiError::from)?.clone();
    let context = context.into_inner();
    let limits = socket_limits(&context.settings);
    let accept = Accept::new(limits, move |transport| {
        PlayerSession::new(room_name, room, viewer, transport, context)
            .start()
            .recipient()
    });
    let response = accept
        .respond(&request)
        .map_err(|error| ApiError::bad_request("invalid_handshake", format!("not a WebSocket handshake: {error}")))?;
    Ok(response)
}

fn socket_limits(settings: &SessionSettings) -> SocketLimits {
    SocketLimits {
        read_buffer_bytes: settings.read_buffer_bytes,
        frame_size_max_bytes: settings.frame_size_max_bytes,
        write_queue_frames_max: settings.write_queue_frames_max,
        write_stall_timeout_ms: settings.write_stall_timeout_ms,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoomQuery {
    room: Option<String>,
}

/// `GET /api/v1/game/state?room=`: the room's phase, multiplier and, for a logged-in player, their bets.
#[utoipa::path(
    get,
    path = "/api/v1/game/state",
    operation_id = "game_state",
    tag = "crash",
    summary = "The room's phase and multiplier, with the caller's bets",
    params(RoomQuery),
    responses(
        (status = 200, description = "the room state", body = serde_json::Value),
        (status = 400, description = "`invalid_query`", body = crate::error::Envelope),
        (status = 404, description = "`unknown_room`", body = crate::error::Envelope),
        (status = 503, description = "`room_unavailable`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security((), ("player_jwt" = []))
)]
pub async fn state(
    player: Option<AuthenticatedPlayer>,
    query: web::Query<RoomQuery>,
    context: web::Data<SessionContext>,
) -> Result<HttpResponse, ApiError> {
    let room_name = room_name(&context, query.into_inner().room)?;
    let room = context.rooms.get(&room_name)?;
    let snapshot = room
        .send(GetState {
            player_id: player.map(|player| player.player_id),
        })
        .await
        .map_err(|_| ApiError::from(GameError::RoomUnavailable))?;
    let mut state = snapshot.state;
    state["my_bets"] = serde_json::to_value(&snapshot.my_bets).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(state))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"room": "aviator", "amount": 1_000_000, "auto_cashout": 2.0, "client_bet_id": "bet-1"}))]
pub struct BetBody {
    room: String,
    /// Micro-units (1,000,000 = 1.00), a positive integer.
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64, example = 1_000_000)]
    amount: serde_json::Number,
    #[schema(value_type = Option<i64>)]
    auto_cashout: Option<serde_json::Number>,
    client_bet_id: String,
}

/// `POST /api/v1/game/bet`: the same rules as the WebSocket `place_bet`.
#[utoipa::path(
    post,
    path = "/api/v1/game/bet",
    operation_id = "game_bet",
    tag = "crash",
    summary = "Places a crash bet (same rules as the socket's place_bet)",
    request_body(content = BetBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the bet and the balance after it", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_amount`, `invalid_auto_cashout`, `invalid_client_bet_id`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 404, description = "`unknown_room`", body = crate::error::Envelope),
        (status = 409, description = "`betting_closed`, `too_many_bets`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 422, description = "`insufficient_funds`, a responsible-gaming limit, `idempotency_conflict`", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
pub async fn bet(
    player: AuthenticatedPlayer,
    body: BoundedJson<BetBody>,
    context: web::Data<SessionContext>,
) -> Result<HttpResponse, ApiError> {
    let received_at = Instant::now();
    let body = body.0;
    let request = BetRequest {
        room: body.room,
        amount: body.amount,
        auto_cashout: body.auto_cashout,
        client_bet_id: body.client_bet_id,
    };
    let (room, message) = parse_bet(&context, &player, request, received_at)?;
    let placed = room
        .send(message)
        .await
        .map_err(|_| ApiError::from(GameError::RoomUnavailable))??;
    Ok(HttpResponse::Ok().json(json!({ "bet": placed.bet, "balance": placed.balance, "replayed": placed.replayed })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashoutBody {
    room: String,
    bet_id: String,
}

/// `POST /api/v1/game/cashout`: the same rules as the WebSocket `cashout`.
#[utoipa::path(
    post,
    path = "/api/v1/game/cashout",
    operation_id = "game_cashout",
    tag = "crash",
    summary = "Cashes out an open crash bet",
    request_body(content = CashoutBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the bet and the balance", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_bet_id`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 404, description = "`unknown_room`, `bet_not_found`", body = crate::error::Envelope),
        (status = 409, description = "`round_crashed`, `not_running`, `already_cashed_out`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 503, description = "`room_unavailable`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
pub async fn cashout(
    player: AuthenticatedPlayer,
    body: BoundedJson<CashoutBody>,
    context: web::Data<SessionContext>,
) -> Result<HttpResponse, ApiError> {
    let received_at = Instant::now();
    let room = context.rooms.get(&body.0.room)?;
    let bet_id = Uuid::parse_str(&body.0.bet_id).map_err(|_| ApiError::from(GameError::BetNotFound))?;
    let cashed = room
        .send(Cashout {
            player_id: player.player_id,
            bet_id,
            received_at,
        })
        .await
        .map_err(|_| ApiError::from(GameError::RoomUnavailable))??;
    Ok(HttpResponse::Ok().json(json!({ "bet": cashed.bet, "balance": cashed.balance })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoundsQuery {
    room: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/v1/game/rounds?room=`: finished rounds (`status` `crashed`, or `aborted` once refunded) with
/// their revealed hashes and crash points, from the reader pool, and the room's salt and terminating hash.
/// No round of the chain is left out, so each listed hash hashes to the next one listed.
#[utoipa::path(
    get,
    path = "/api/v1/game/rounds",
    operation_id = "game_rounds",
    tag = "fairness",
    summary = "Finished rounds (crashed or aborted) with their revealed hashes and crash points, the chain's terminating hash and salt",
    params(RoundsQuery),
    responses(
        (status = 200, description = "one page of rounds", body = serde_json::Value),
        (status = 400, description = "`invalid_query`", body = crate::error::Envelope),
        (status = 404, description = "`unknown_room`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
pub async fn rounds(
    query: web::Query<RoundsQuery>,
    context: web::Data<SessionContext>,
    database: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let room = room_name(&context, query.room)?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=ROUNDS_PAGE_SIZE_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {ROUNDS_PAGE_SIZE_MAX}"),
        ));
    }
    let rounds = store::list_revealed_rounds(&database.reader, &room, query.before, limit).await?;
    let chain = store::chain_info(&database.reader, &room).await?;
    Ok(HttpResponse::Ok().json(json!({
        "room": room,
        "salt": chain.as_ref().map(|(salt, _)| salt),
        "terminating_hash": chain.as_ref().map(|(_, hash)| hash),
        "rounds": rounds,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    round_id: Option<i64>,
    hash: Option<String>,
    salt: Option<String>,
    previous_hash: Option<String>,
    house_edge_bps: Option<u32>,
}

/// `POST /api/v1/game/verify`: recomputes a round from its revealed hash (by `round_id`, or from a
/// `hash` and `salt` the caller supplies) and checks the chain link to the previous game.
#[utoipa::path(
    post,
    path = "/api/v1/game/verify",
    operation_id = "game_verify",
    tag = "fairness",
    summary = "Verifies a crash round (by id, or by hash and salt)",
    request_body(content = VerifyBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the verdict", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_hash`, `invalid_salt`, `missing_round`", body = crate::error::Envelope),
        (status = 404, description = "`round_not_found`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
pub async fn verify(
    body: BoundedJson<VerifyBody>,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    verify_crash(body.0, &database, &settings).await
}

/// Verifies a crash round (shared with `POST /api/v1/fair/verify` for `"game": "crash"`).
pub async fn verify_crash(
    body: VerifyBody,
    database: &Database,
    settings: &Settings,
) -> Result<HttpResponse, ApiError> {
    let invalid_hash = || ApiError::bad_request("invalid_hash", "hashes are 64 hex digits");
    if let Some(round_id) = body.round_id {
        let evidence = store::round_evidence(&database.reader, round_id)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    actix_web::http::StatusCode::NOT_FOUND,
                    "round_not_found",
                    "no finished (crashed or aborted) round has this id",
                )
            })?;
        let edge = settings
            .crash
            .rooms
            .get(&evidence.room)
            .map_or(100, |room| room.house_edge_bps);
        let verdict = chain::verify_stored(&evidence, edge);
        return Ok(HttpResponse::Ok().json(verdict));
    }
    let hash = body.hash.as_deref().and_then(parse_hash).ok_or_else(invalid_hash)?;
    let salt = body
        .salt
        .filter(|salt| !salt.is_empty() && salt.len() <= 256)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_salt",
                "give the room's salt (1 to 256 characters) or a round_id",
            )
        })?;
    let previous = body
        .previous_hash
        .as_deref()
        .map(|text| parse_hash(text).ok_or_else(invalid_hash))
        .transpose()?;
    let edge = body.house_edge_bps.unwrap_or(100);
    if edge == 0 || edge >= 5_000 {
        return Err(ApiError::bad_request(
            "invalid_house_edge",
            "house_edge_bps must be 1 to 4999",
        ));
    }
    Ok(HttpResponse::Ok().json(chain::verify(&hash, &salt, edge, previous.as_ref(), None)))
}
