//! The per-player games over HTTP: Dice, Plinko and Mines bets, Mines moves, a player's bets and history,
//! and the registry of game types. Every bet goes through the same engine (`games::instant`); these handlers only
//! read requests and shape answers.

use super::json::BoundedJson;
use super::{client_idempotency_key, parse_amount};
use crate::auth::extract::AuthenticatedPlayer;
use crate::db::Database;
use crate::error::ApiError;
use crate::games::history::{self, HistoryFilter, HistoryGames, HISTORY_OFFSET_MAX, HISTORY_PAGE_SIZE_MAX};
use crate::games::instant::{BetAnswer, InstantGames, PlaceBet};
use crate::games::slots::server::SlotService;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use uuid::Uuid;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/games/registry", web::get().to(games))
        .route("/dice/roll", place_route("dice"))
        .route("/plinko/drop", place_route("plinko"))
        .route("/mines/bet", place_route("mines"))
        .route("/mines/click", web::post().to(mines_click))
        .route("/mines/cashout", web::post().to(mines_cashout))
        .route("/mines/active", web::get().to(mines_active))
        .route("/bets/{bet_id}", web::get().to(bet))
        .route("/history", web::get().to(history));
}

/// `GET /api/v1/games/registry`: every game type with its mode and limits (the lobby is `GET /api/v1/games`).
#[utoipa::path(
    get,
    path = "/api/v1/games/registry",
    operation_id = "instant_games",
    tag = "instant",
    summary = "The instant games and their options",
    responses(
        (status = 200, description = "the registry", body = serde_json::Value),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
async fn games(games: web::Data<InstantGames>) -> HttpResponse {
    HttpResponse::Ok().json(games.registry().describe())
}

/// A bet route of one game: the body is the amount plus the game's options; the `Idempotency-Key` header
/// identifies the bet, so a retry returns the first result.
fn place_route(game: &'static str) -> actix_web::Route {
    web::post().to(
        move |request: HttpRequest,
              player: AuthenticatedPlayer,
              body: BoundedJson<Map<String, Value>>,
              games: web::Data<InstantGames>| place(request, player, body.0, games, game),
    )
}

async fn place(
    request: HttpRequest,
    player: AuthenticatedPlayer,
    mut body: Map<String, Value>,
    games: web::Data<InstantGames>,
    game: &'static str,
) -> Result<HttpResponse, ApiError> {
    let client_bet_id = client_idempotency_key(&request)?;
    let amount = match body.remove("amount") {
        Some(Value::Number(number)) => parse_amount(&number)?,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_amount",
                "amount is required: a whole number of micro-units",
            ))
        }
    };
    let answer = games
        .place(PlaceBet {
            player_id: player.player_id,
            account: player.account,
            game,
            amount,
            request: Value::Object(body),
            client_bet_id: client_bet_id.as_str(),
        })
        .await?;
    Ok(answered(answer))
}

fn answered(answer: BetAnswer) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "bet": answer.bet, "balance": answer.balance, "replayed": answer.replayed }))
}

fn parse_game_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::bad_request("invalid_game_id", "game_id must be a bet id (a UUID)"))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ClickBody {
    game_id: String,
    tile: Value,
}

/// `POST /api/v1/mines/click {game_id, tile}`: reveals one tile.
#[utoipa::path(
    post,
    path = "/api/v1/mines/click",
    operation_id = "instant_mines_click",
    tag = "instant",
    summary = "Reveals a tile of an open Mines game",
    request_body(content = ClickBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the game after the click", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_game_id`, `invalid_tile`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 404, description = "`game_not_found`", body = crate::error::Envelope),
        (status = 409, description = "`game_finished`, `tile_revealed`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn mines_click(
    player: AuthenticatedPlayer,
    body: BoundedJson<ClickBody>,
    games: web::Data<InstantGames>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let game_id = parse_game_id(&body.game_id)?;
    let action = json!({ "action": "reveal", "tile": body.tile });
    Ok(answered(games.act(player.player_id, "mines", game_id, action).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CashoutBody {
    game_id: String,
}

/// `POST /api/v1/mines/cashout {game_id}`: ends the game and pays what the safe reveals earned.
#[utoipa::path(
    post,
    path = "/api/v1/mines/cashout",
    operation_id = "instant_mines_cashout",
    tag = "instant",
    summary = "Cashes out an open Mines game",
    request_body(content = CashoutBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the settled game", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_game_id`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 404, description = "`game_not_found`", body = crate::error::Envelope),
        (status = 409, description = "`game_finished`, `nothing_revealed`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn mines_cashout(
    player: AuthenticatedPlayer,
    body: BoundedJson<CashoutBody>,
    games: web::Data<InstantGames>,
) -> Result<HttpResponse, ApiError> {
    let game_id = parse_game_id(&body.0.game_id)?;
    let action = json!({ "action": "cashout" });
    Ok(answered(games.act(player.player_id, "mines", game_id, action).await?))
}

/// `GET /api/v1/mines/active`: the player's unfinished Mines game (after a reload or on another node).
#[utoipa::path(
    get,
    path = "/api/v1/mines/active",
    operation_id = "instant_mines_active",
    tag = "instant",
    summary = "The player's open Mines game, if any",
    responses(
        (status = 200, description = "`{\"bet\": null}` when none is open", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn mines_active(player: AuthenticatedPlayer, games: web::Data<InstantGames>) -> Result<HttpResponse, ApiError> {
    let bet = games.open_game(player.player_id, "mines").await?;
    Ok(HttpResponse::Ok().json(json!({ "bet": bet })))
}

/// `GET /api/v1/bets/{bet_id}`: one of the player's per-player bets.
#[utoipa::path(
    get,
    path = "/api/v1/bets/{bet_id}",
    operation_id = "instant_bet",
    tag = "instant",
    summary = "One of the player's instant bets",
    params(("bet_id" = String, Path, description = "the bet's UUID")),
    responses(
        (status = 200, description = "the bet", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 404, description = "`not_found`: no such bet of yours", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn bet(
    player: AuthenticatedPlayer,
    path: web::Path<String>,
    games: web::Data<InstantGames>,
) -> Result<HttpResponse, ApiError> {
    let bet_id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::not_found("no such bet of yours"))?;
    let bet = games.bet(player.player_id, bet_id).await?;
    Ok(HttpResponse::Ok().json(json!({ "bet": bet })))
}

/// `GET /api/v1/history`'s query, as sent: every value is parsed by [`HistoryQuery::parse`], so that a bad
/// one gets an error naming it.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    game: Option<String>,
    from_ts: Option<String>,
    to_ts: Option<String>,
    before: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// The page size when the query names none.
const HISTORY_PAGE_SIZE_DEFAULT: u32 = 20;

impl HistoryQuery {
    fn parse(self, games: HistoryGames<'_>) -> Result<HistoryFilter, ApiError> {
        if let Some(game) = &self.game {
            if !games.knows(game) {
                return Err(ApiError::bad_request(
                    "invalid_game",
                    format!("no game {game:?}: a game's name, \"slots\" or a slot game's id"),
                ));
            }
        }
        let limit = parse_count("limit", self.limit.as_deref(), 1..=HISTORY_PAGE_SIZE_MAX)?;
        let offset = parse_count("offset", self.offset.as_deref(), 0..=HISTORY_OFFSET_MAX)?;
        let from = parse_timestamp("from_ts", self.from_ts.as_deref())?;
        let to = parse_timestamp("to_ts", self.to_ts.as_deref())?;
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    "from_ts must not be after to_ts",
                ));
            }
        }
        let before = self
            .before
            .as_deref()
            .map(Uuid::parse_str)
            .transpose()
            .map_err(|_| ApiError::bad_request("invalid_query", "before must be a bet id (a UUID)"))?;
        Ok(HistoryFilter {
            game: self.game,
            from,
            to,
            before,
            limit: limit.unwrap_or(HISTORY_PAGE_SIZE_DEFAULT),
            offset: offset.unwrap_or(0),
        })
    }
}

/// A whole number within `range`, or None when absent.
fn parse_count(name: &str, text: Option<&str>, range: RangeInclusive<u32>) -> Result<Option<u32>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    match text.parse::<u32>() {
        Ok(count) if range.contains(&count) => Ok(Some(count)),
        _ => Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "{name} must be a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// An RFC 3339 timestamp (`2026-11-22T10:00:00Z`; a `+` offset must be sent as `%2B`), or None.
fn parse_timestamp(name: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    DateTime::parse_from_rfc3339(text)
        .map(|time| Some(time.with_timezone(&Utc)))
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                format!("{name} must be an RFC 3339 timestamp such as 2026-11-22T10:00:00Z"),
            )
        })
}

/// `GET /api/v1/history?game=&from_ts=&to_ts=&limit=&offset=&before=`: the player's bets in every game (or
/// one), newest first, from the reader pool, each with its `game` and what verifying it needs.
#[utoipa::path(
    get,
    path = "/api/v1/history",
    operation_id = "instant_history",
    tag = "history",
    summary = "The player's bets of every game, newest first",
    params(HistoryQuery),
    responses(
        (status = 200, description = "one page", body = serde_json::Value),
        (status = 400, description = "`invalid_query`, `unknown_game`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn history(
    player: AuthenticatedPlayer,
    query: web::Query<HistoryQuery>,
    games: web::Data<InstantGames>,
    slots: web::Data<SlotService>,
    database: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let slot_games: BTreeSet<String> = slots
        .catalog()
        .games()
        .map(|game| game.definition.id().to_owned())
        .collect();
    let known = HistoryGames {
        registry: games.registry(),
        slot_games: &slot_games,
    };
    let filter = query.into_inner().parse(known)?;
    let bets = history::page(&database.reader, known, player.player_id, &filter)
        .await
        .map_err(ApiError::internal)?;
    let full = bets.len() == filter.limit as usize;
    let next_offset = (filter.offset + filter.limit).min(HISTORY_OFFSET_MAX + 1);
    let next_offset = (full && next_offset <= HISTORY_OFFSET_MAX).then_some(next_offset);
    let next_before = full.then(|| bets.last().and_then(bet_id)).flatten();
    Ok(HttpResponse::Ok().json(json!({
        "game": filter.game,
        "bets": bets,
        "limit": filter.limit,
        "offset": filter.offset,
        "next_offset": next_offset,
        "next_before": next_before,
    })))
}

/// The id of a history entry: a crash bet's `bet_id`, a slot round's `spin_id`, any other bet's `id`.
fn bet_id(entry: &Value) -> Option<Value> {
    entry
        .get("bet_id")
        .or_else(|| entry.get("spin_id"))
        .or_else(|| entry.get("id"))
        .cloned()
}
