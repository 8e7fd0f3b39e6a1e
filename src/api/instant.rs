//! The per-player games over HTTP: Dice, Plinko and Mines bets, Mines moves, a player's bets and history,
//! and the list of games. Every bet goes through the same engine (`games::instant`); these handlers only
//! read requests and shape answers.

use super::error::ApiError;
use super::json::BoundedJson;
use super::{client_idempotency_key, parse_amount};
use crate::auth::extract::AuthenticatedPlayer;
use crate::db::Database;
use crate::games::instant::{store, BetAnswer, BetView, InstantGames, PlaceBet};
use crate::games::registry::Entry;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// The most bets one history page may hold.
const HISTORY_PAGE_SIZE_MAX: u32 = 100;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/games", web::get().to(games))
        .route("/dice/roll", place_route("dice"))
        .route("/plinko/drop", place_route("plinko"))
        .route("/mines/bet", place_route("mines"))
        .route("/mines/click", web::post().to(mines_click))
        .route("/mines/cashout", web::post().to(mines_cashout))
        .route("/mines/active", web::get().to(mines_active))
        .route("/bets/{bet_id}", web::get().to(bet))
        .route("/history", web::get().to(history));
}

/// `GET /api/v1/games`: every game with its mode and limits.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClickBody {
    game_id: String,
    tile: Value,
}

/// `POST /api/v1/mines/click {game_id, tile}`: reveals one tile.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CashoutBody {
    game_id: String,
}

/// `POST /api/v1/mines/cashout {game_id}`: ends the game and pays what the safe reveals earned.
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
async fn mines_active(player: AuthenticatedPlayer, games: web::Data<InstantGames>) -> Result<HttpResponse, ApiError> {
    let bet = games.open_game(player.player_id, "mines").await?;
    Ok(HttpResponse::Ok().json(json!({ "bet": bet })))
}

/// `GET /api/v1/bets/{bet_id}`: one of the player's per-player bets.
async fn bet(
    player: AuthenticatedPlayer,
    path: web::Path<String>,
    games: web::Data<InstantGames>,
) -> Result<HttpResponse, ApiError> {
    let bet_id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::not_found("no such bet of yours"))?;
    let bet = games.bet(player.player_id, bet_id).await?;
    Ok(HttpResponse::Ok().json(json!({ "bet": bet })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    game: String,
    before: Option<Uuid>,
    limit: Option<u32>,
}

/// `GET /api/v1/history?game=&before=&limit=`: the player's bets in one game, newest first, from the
/// reader pool, each with what verifying it needs.
async fn history(
    player: AuthenticatedPlayer,
    query: web::Query<HistoryQuery>,
    games: web::Data<InstantGames>,
    database: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(20);
    if !(1..=HISTORY_PAGE_SIZE_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {HISTORY_PAGE_SIZE_MAX}"),
        ));
    }
    let entry = games
        .registry()
        .entry(&query.game)
        .map_err(|error| ApiError::bad_request("invalid_game", error.to_string()))?;
    let (bets, next_before) = match entry {
        Entry::RealTime(_) => {
            let bets =
                crate::games::crash::store::player_history(&database.reader, player.player_id, query.before, limit)
                    .await?;
            let next = (bets.len() == limit as usize)
                .then(|| bets.last().map(|bet| bet.bet.bet_id))
                .flatten();
            (serde_json::to_value(bets).map_err(ApiError::internal)?, next)
        }
        Entry::PerPlayer(registered) => {
            let rows = store::history(&database.reader, player.player_id, &query.game, query.before, limit).await?;
            let next = (rows.len() == limit as usize)
                .then(|| rows.last().map(|bet| bet.id))
                .flatten();
            let views = rows
                .iter()
                .map(|row| BetView::of(registered, row))
                .collect::<Result<Vec<_>, _>>()
                .map_err(ApiError::internal)?;
            (serde_json::to_value(views).map_err(ApiError::internal)?, next)
        }
    };
    Ok(HttpResponse::Ok().json(json!({ "game": query.game, "bets": bets, "next_before": next_before })))
}
