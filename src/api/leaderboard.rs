//! `GET /api/v1/leaderboard`: the boards of a crash room or an instant game (see `games::leaderboard`).

use super::game::room_name;
use crate::error::ApiError;
use crate::games::instant::InstantGames;
use crate::games::leaderboard::{BoardKey, Leaderboards, Period, Ranking, Source, ENTRIES_MAX};
use crate::games::registry::Entry;
use crate::session::actor::SessionContext;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

/// The entries a board request gets unless it asks for another count.
const ENTRIES_DEFAULT: u32 = 10;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardQuery {
    game: Option<String>,
    room: Option<String>,
    #[param(value_type = Option<String>)]
    period: Option<Period>,
    #[param(value_type = Option<String>)]
    by: Option<Ranking>,
    limit: Option<u32>,
}

/// `GET /api/v1/leaderboard?game=crash&room=aviator&period=hour|day|week&by=profit|win|multiplier&limit=`:
/// public, like the round list. `game` defaults to `crash` (then `room` to the first room), `period` to
/// `day`, `by` to `profit`.
#[utoipa::path(
    get,
    path = "/api/v1/leaderboard",
    operation_id = "leaderboard_leaderboard",
    tag = "leaderboards",
    summary = "Top players by game, room and period",
    params(LeaderboardQuery),
    responses(
        (status = 200, description = "the board", body = serde_json::Value),
        (status = 400, description = "`invalid_query`, `unknown_game`", body = crate::error::Envelope),
        (status = 404, description = "`unknown_room`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
pub async fn leaderboard(
    query: web::Query<LeaderboardQuery>,
    context: web::Data<SessionContext>,
    games: web::Data<InstantGames>,
    boards: web::Data<Leaderboards>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(ENTRIES_DEFAULT);
    if !(1..=ENTRIES_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {ENTRIES_MAX}"),
        ));
    }
    let game = query.game.unwrap_or_else(|| "crash".to_owned());
    let entry = games
        .registry()
        .entry(&game)
        .map_err(|error| ApiError::bad_request("invalid_game", error.to_string()))?;
    let source = match (entry, query.room) {
        (Entry::RealTime(_), room) => Source::CrashRoom(room_name(&context, room)?),
        (Entry::PerPlayer(_), None) => Source::InstantGame(game.clone()),
        (Entry::PerPlayer(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("room applies to the crash game only, not to {game}"),
            ))
        }
    };
    let room = match &source {
        Source::CrashRoom(room) => Some(room.clone()),
        Source::InstantGame(_) => None,
    };
    let key = BoardKey {
        source,
        period: query.period.unwrap_or(Period::Day),
        ranking: query.by.unwrap_or(Ranking::Profit),
    };
    let board = boards
        .board(&key)
        .await
        .map_err(|error| ApiError::unavailable("leaderboard_unavailable", error.to_string()))?;
    Ok(HttpResponse::Ok().json(json!({
        "game": game,
        "room": room,
        "period": key.period,
        "by": key.ranking,
        "from": board.from,
        "generated_at": board.generated_at,
        "entries": board.entries.first(limit as usize),
    })))
}
