//! The lobby over HTTP: `GET /api/v1/games` (the catalog's active games, public) and
//! `POST /api/v1/games/{id}/launch` (a player opens a game session). The catalog and the launch rules
//! live in `catalog::lobby` and `providers::launch`; these handlers read requests and shape answers.

use crate::auth::extract::AuthenticatedPlayer;
use crate::catalog::lobby::{
    self, LobbyFilter, LOBBY_FILTER_LENGTH_MAX, LOBBY_OFFSET_MAX, LOBBY_PAGE_SIZE_DEFAULT, LOBBY_PAGE_SIZE_MAX,
    LOBBY_SEARCH_LENGTH_MAX,
};
use crate::configuration::Settings;
use crate::db::Database;
use crate::error::ApiError;
use crate::providers::launch::{self, LaunchError, LaunchSettings};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use std::time::Duration;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/games", web::get().to(games))
        .route("/games/{game_id}/launch", web::post().to(launch_game));
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LobbyQuery {
    category: Option<String>,
    provider: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// `GET /api/v1/games?category=&provider=&q=&limit=&offset=`: a page of the lobby, from the reader pool.
#[utoipa::path(
    get,
    path = "/api/v1/games",
    operation_id = "lobby_games",
    tag = "lobby",
    summary = "The lobby's catalog of games",
    params(LobbyQuery),
    responses(
        (status = 200, description = "one page of games", body = serde_json::Value),
        (status = 400, description = "`invalid_query`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
async fn games(query: web::Query<LobbyQuery>, database: web::Data<Database>) -> Result<HttpResponse, ApiError> {
    let filter = lobby_filter(query.into_inner())?;
    let page = lobby::page(&database.reader, &filter).await?;
    Ok(HttpResponse::Ok().json(page))
}

fn lobby_filter(query: LobbyQuery) -> Result<LobbyFilter, ApiError> {
    let invalid = |message: String| ApiError::bad_request("invalid_query", message);
    let limit = query.limit.unwrap_or(LOBBY_PAGE_SIZE_DEFAULT);
    if !(1..=LOBBY_PAGE_SIZE_MAX).contains(&limit) {
        return Err(invalid(format!("limit must be 1 to {LOBBY_PAGE_SIZE_MAX}")));
    }
    let offset = query.offset.unwrap_or(0);
    if offset > LOBBY_OFFSET_MAX {
        return Err(invalid(format!("offset must be at most {LOBBY_OFFSET_MAX}")));
    }
    let non_empty = |value: Option<String>| value.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty());
    let (category, provider, search) = (non_empty(query.category), non_empty(query.provider), non_empty(query.q));
    let too_long = |value: &Option<String>, max: usize| value.as_ref().is_some_and(|text| text.chars().count() > max);
    if too_long(&category, LOBBY_FILTER_LENGTH_MAX) || too_long(&provider, LOBBY_FILTER_LENGTH_MAX) {
        return Err(invalid(format!(
            "category and provider are at most {LOBBY_FILTER_LENGTH_MAX} characters"
        )));
    }
    if too_long(&search, LOBBY_SEARCH_LENGTH_MAX) {
        return Err(invalid(format!("q is at most {LOBBY_SEARCH_LENGTH_MAX} characters")));
    }
    Ok(LobbyFilter {
        category,
        provider,
        search,
        limit,
        offset,
    })
}

/// `POST /api/v1/games/{id}/launch`: 201 with the session (its token and the URL to open).
#[utoipa::path(
    post,
    path = "/api/v1/games/{game_id}/launch",
    operation_id = "lobby_launch_game",
    tag = "lobby",
    summary = "Launches a game for the player",
    params(("game_id" = i64, Path, description = "the catalog id of the game")),
    responses(
        (status = 201, description = "the launch session and URL", body = serde_json::Value),
        (status = 400, description = "`invalid_path`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token; `player_blocked`, `self_excluded`", body = crate::error::Envelope),
        (status = 404, description = "`game_not_found`", body = crate::error::Envelope),
        (status = 409, description = "`game_inactive`, `provider_inactive`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn launch_game(
    player: AuthenticatedPlayer,
    game_id: web::Path<i64>,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let launch_settings = LaunchSettings {
        session_ttl: Duration::from_secs(settings.providers.session_ttl_s),
        public_base_url: settings.providers.public_base_url.clone(),
    };
    let session = launch::launch(
        &database.writer,
        &launch_settings,
        player.player_id,
        game_id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(session))
}

impl From<LaunchError> for ApiError {
    fn from(error: LaunchError) -> ApiError {
        let message = error.to_string();
        let (status, code) = match error {
            LaunchError::UnknownGame => (StatusCode::NOT_FOUND, "unknown_game"),
            LaunchError::GameDisabled => (StatusCode::FORBIDDEN, "game_disabled"),
            LaunchError::UnknownPlayer => (StatusCode::UNAUTHORIZED, "unauthorized"),
            LaunchError::PlayerBlocked => (StatusCode::FORBIDDEN, "player_blocked"),
            LaunchError::SelfExcluded(_) => (StatusCode::FORBIDDEN, "self_excluded"),
            LaunchError::CurrencyNotSupported(_) => (StatusCode::UNPROCESSABLE_ENTITY, "currency_not_supported"),
            LaunchError::InsufficientBalance { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "insufficient_balance"),
            LaunchError::NoLaunchUrl => (StatusCode::UNPROCESSABLE_ENTITY, "launch_url_missing"),
            LaunchError::Database(error) => return ApiError::internal(error),
        };
        ApiError::new(status, code, message)
    }
}
