//! The catalog's admin API: providers (list, add, change), games (list, add, change, import a provider's
//! game list) and a player's status (active or blocked). Every change is audited (see `actions`);
//! no answer and no audit record ever holds a provider's secret or key.

use super::actions::{self, Action};
use crate::api::json::{parse_bounded, BoundedJson, JsonLimits};
use crate::auth::extract::AdminUser;
use crate::catalog::games::{self, GameChange, GameChangeError, GameFilter, NewGame};
use crate::catalog::games::{GAMES_OFFSET_MAX, GAMES_PAGE_SIZE_DEFAULT, GAMES_PAGE_SIZE_MAX};
use crate::catalog::listing::{self, InvalidListing, UpsertCounts};
use crate::catalog::providers::{self, InvalidProvider, NewProvider, ProviderChange};
use crate::catalog::{self, GameListing, Protocol, ProviderRecord, HOUSE_PROVIDER};
use crate::cluster::NodeInfo;
use crate::configuration::Settings;
use crate::db::Database;
use crate::error::ApiError;
use crate::players::protection::{self, ChangeError, Standing};
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use chrono::Utc;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use uuid::Uuid;

/// The largest game list an import reads (a list of `providers.import_games_max` games fits in it).
pub const IMPORT_BODY_BYTES_MAX: usize = 8 * 1024 * 1024;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/providers", web::get().to(list_providers))
        .route("/providers", web::post().to(create_provider))
        .route("/providers/{provider_id}", web::patch().to(change_provider))
        .route("/providers/{provider_id}/games/import", web::post().to(import_games))
        .route("/games", web::get().to(list_games))
        .route("/games", web::post().to(create_game))
        .route("/games/{game_id}", web::patch().to(change_game))
        .route("/players/{player_id}/status", web::post().to(set_player_status));
}

/// The admin who acts, with what every catalog handler needs: the database and where the audit goes.
struct Auditor {
    admin: AdminUser,
    database: web::Data<Database>,
    node: web::Data<NodeInfo>,
}

impl FromRequest for Auditor {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Auditor, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let data = |name: &str| ApiError::internal(anyhow::anyhow!("{name} is not registered"));
        std::future::ready((|| {
            Ok(Auditor {
                admin: AdminUser::from_request(request, payload).into_inner()?,
                database: request
                    .app_data::<web::Data<Database>>()
                    .cloned()
                    .ok_or_else(|| data("Database"))?,
                node: request
                    .app_data::<web::Data<NodeInfo>>()
                    .cloned()
                    .ok_or_else(|| data("NodeInfo"))?,
            })
        })())
    }
}

impl Auditor {
    async fn record(&self, action: &'static str, target: &str, details: Value) -> Result<(), ApiError> {
        let action = Action {
            admin: &self.admin.subject,
            action,
            target,
            details,
            node_id: &self.node.node_id,
        };
        actions::record(&self.database.writer, action).await
    }
}

impl From<InvalidProvider> for ApiError {
    fn from(error: InvalidProvider) -> ApiError {
        ApiError::bad_request(error.code, error.message)
    }
}

impl From<InvalidListing> for ApiError {
    fn from(error: InvalidListing) -> ApiError {
        ApiError::bad_request(error.code, error.message)
    }
}

fn unknown_provider() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_provider", "no provider has this id")
}

async fn provider_record(database: &Database, id: &str) -> Result<ProviderRecord, ApiError> {
    catalog::provider(&database.writer, id)
        .await?
        .ok_or_else(unknown_provider)
}

/// `GET /api/v1/admin/providers`
#[utoipa::path(
    get,
    path = "/api/v1/admin/providers",
    operation_id = "admin_catalog_list_providers",
    tag = "admin",
    summary = "The game providers",
    responses(
        (status = 200, description = "`{\"providers\": [...]}`", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn list_providers(_admin: AdminUser, database: web::Data<Database>) -> Result<HttpResponse, ApiError> {
    let providers = providers::list(&database.writer).await?;
    Ok(HttpResponse::Ok().json(json!({ "providers": providers })))
}

/// `POST /api/v1/admin/providers {id, name, protocol, secret | public_key, launch_url, currencies, active}`
#[utoipa::path(
    post,
    path = "/api/v1/admin/providers",
    operation_id = "admin_catalog_create_provider",
    tag = "admin",
    summary = "Adds a game provider",
    request_body(content = serde_json::Value, description = "{\"id\", \"name\", \"protocol\", \"secret\" or \"public_key\", \"launch_url\", \"currencies\", \"active\"}", content_type = "application/json"),
    responses(
        (status = 201, description = "the provider", body = serde_json::Value, links(
            ("change" = (operation_id = "admin_catalog_change_provider", parameters(("provider_id" = "$response.body#/id"))))
        )),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_provider`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 409, description = "`provider_exists`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn create_provider(auditor: Auditor, body: BoundedJson<NewProvider>) -> Result<HttpResponse, ApiError> {
    let database = &auditor.database;
    let mut provider = body.0;
    let protocol = providers::validate_new(&mut provider)?;
    if !providers::create(&database.writer, &provider, protocol).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "provider_exists",
            "a provider has this id already",
        ));
    }
    let details = json!({
        "name": provider.name, "protocol": protocol.as_str(), "currencies": provider.currencies,
        "launch_url": provider.launch_url, "active": provider.active,
    });
    auditor.record("create_provider", &provider.id, details).await?;
    let view = providers::view(&database.writer, &provider.id)
        .await?
        .ok_or_else(unknown_provider)?;
    Ok(HttpResponse::Created().json(view))
}

/// `PATCH /api/v1/admin/providers/{id} {name?, secret?, public_key?, launch_url?, currencies?, active?}`
#[utoipa::path(
    patch,
    path = "/api/v1/admin/providers/{provider_id}",
    operation_id = "admin_catalog_change_provider",
    tag = "admin",
    summary = "Changes a provider",
    params(("provider_id" = String, Path, description = "the provider")),
    request_body(content = serde_json::Value, description = "any of {\"name\", \"secret\", \"public_key\", \"launch_url\", \"currencies\", \"active\"}", content_type = "application/json"),
    responses(
        (status = 200, description = "the provider", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_provider`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`provider_not_found`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn change_provider(
    auditor: Auditor,
    path: web::Path<String>,
    body: BoundedJson<ProviderChange>,
) -> Result<HttpResponse, ApiError> {
    let database = &auditor.database;
    let id = path.into_inner();
    let mut change = body.0;
    // The protocol never changes, so the change is checked against the one read here.
    let current = provider_record(database, &id).await?;
    providers::validate_change(current.protocol, &mut change)?;
    if !providers::update(&database.writer, &id, &change).await? {
        return Err(unknown_provider());
    }
    let details = json!({
        "fields": change.fields(), "name": change.name, "launch_url": change.launch_url,
        "currencies": change.currencies, "active": change.active,
    });
    auditor.record("update_provider", &id, details).await?;
    let view = providers::view(&database.writer, &id)
        .await?
        .ok_or_else(unknown_provider)?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct GamesQuery {
    provider: Option<String>,
    active: Option<bool>,
    category: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// `GET /api/v1/admin/games?provider=&active=&category=&limit=&offset=`: every game, active or not.
#[utoipa::path(
    get,
    path = "/api/v1/admin/games",
    operation_id = "admin_catalog_list_games",
    tag = "admin",
    summary = "The catalog's games",
    params(GamesQuery),
    responses(
        (status = 200, description = "`{\"games\", \"total\", \"limit\", \"offset\"}`", body = serde_json::Value),
        (status = 400, description = "`invalid_query`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn list_games(
    _admin: AdminUser,
    query: web::Query<GamesQuery>,
    database: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(GAMES_PAGE_SIZE_DEFAULT);
    let offset = query.offset.unwrap_or(0);
    if !(1..=GAMES_PAGE_SIZE_MAX).contains(&limit) || offset > GAMES_OFFSET_MAX {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {GAMES_PAGE_SIZE_MAX} and offset at most {GAMES_OFFSET_MAX}"),
        ));
    }
    let filter = GameFilter {
        provider: query.provider.filter(|provider| !provider.is_empty()),
        active: query.active,
        category: query.category.filter(|category| !category.is_empty()),
        limit,
        offset,
    };
    let (games, total) = games::list(&database.writer, &filter).await?;
    Ok(HttpResponse::Ok().json(json!({ "games": games, "total": total, "limit": limit, "offset": offset })))
}

/// `POST /api/v1/admin/games {provider, code, name, category, rtp_bps, volatility?, bet_min_micros,
/// bet_max_micros, metadata?, active?}`: a game of an outside provider added by hand.
#[utoipa::path(
    post,
    path = "/api/v1/admin/games",
    operation_id = "admin_catalog_create_game",
    tag = "admin",
    summary = "Adds a provider game to the catalog",
    request_body(content = serde_json::Value, description = "{\"provider_id\", \"external_id\", \"name\", \"category\", ...}", content_type = "application/json"),
    responses(
        (status = 201, description = "the game", body = serde_json::Value, links(
            ("change" = (operation_id = "admin_catalog_change_game", parameters(("game_id" = "$response.body#/id"))))
        )),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_game`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`provider_not_found`", body = crate::error::Envelope),
        (status = 409, description = "`game_exists`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn create_game(auditor: Auditor, body: BoundedJson<NewGame>) -> Result<HttpResponse, ApiError> {
    let database = &auditor.database;
    let (provider_id, mut listing, active) = body.0.into_listing();
    let provider = provider_record(database, &provider_id).await?;
    refuse_house(&provider)?;
    listing::validate(&mut listing)?;
    let game = games::create(&database.writer, &provider.id, &listing, active)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "game_exists",
                "this provider has a game of this code already",
            )
        })?;
    let details = json!({ "game_id": game.id, "rtp_bps": game.rtp_bps, "active": game.active });
    auditor
        .record("create_game", &format!("{}/{}", game.provider, game.code), details)
        .await?;
    Ok(HttpResponse::Created().json(game))
}

/// House games come from the server's configuration (`games::house`), not from the admin API.
fn refuse_house(provider: &ProviderRecord) -> Result<(), ApiError> {
    if provider.protocol == Protocol::House {
        return Err(ApiError::bad_request(
            "house_games_fixed",
            format!("the {HOUSE_PROVIDER} provider's games come from the server's configuration"),
        ));
    }
    Ok(())
}

/// `PATCH /api/v1/admin/games/{id} {active?, name?, category?, rtp_bps?, volatility?, bet_min_micros?,
/// bet_max_micros?, metadata?}`
#[utoipa::path(
    patch,
    path = "/api/v1/admin/games/{game_id}",
    operation_id = "admin_catalog_change_game",
    tag = "admin",
    summary = "Changes a catalog game",
    params(("game_id" = i64, Path, description = "the catalog id")),
    request_body(content = serde_json::Value, description = "any of {\"name\", \"category\", \"active\", ...}", content_type = "application/json"),
    responses(
        (status = 200, description = "the game", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_game`, `invalid_path`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`game_not_found`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn change_game(
    auditor: Auditor,
    path: web::Path<i64>,
    body: BoundedJson<GameChange>,
) -> Result<HttpResponse, ApiError> {
    let database = &auditor.database;
    let id = path.into_inner();
    let change = body.0;
    let details = json!({ "game_id": id, "change": change });
    let game = games::update(&database.writer, id, change)
        .await
        .map_err(|error| match error {
            GameChangeError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "unknown_game", error.to_string()),
            GameChangeError::HouseGameFixed => ApiError::bad_request("house_game_fixed", error.to_string()),
            GameChangeError::Invalid(invalid) => invalid.into(),
            GameChangeError::Database(error) => ApiError::internal(error),
        })?;
    auditor
        .record("update_game", &format!("{}/{}", game.provider, game.code), details)
        .await?;
    Ok(HttpResponse::Ok().json(game))
}

/// `POST /api/v1/admin/providers/{id}/games/import`: the provider's own game list (its protocol's
/// format), each game checked, then inserted or updated in one transaction; a re-import changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/admin/providers/{provider_id}/games/import",
    operation_id = "admin_catalog_import_games",
    tag = "admin",
    summary = "Imports a provider's game list (JSON)",
    params(("provider_id" = String, Path, description = "the provider")),
    request_body(content = serde_json::Value, description = "{\"games\": [...]} in the provider's listing format", content_type = "application/json"),
    responses(
        (status = 200, description = "what was added, changed and kept", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_listing`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`provider_not_found`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn import_games(
    request: HttpRequest,
    auditor: Auditor,
    path: web::Path<String>,
    payload: web::Payload,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let database = &auditor.database;
    let body = import_body(&request, payload).await?;
    let provider = provider_record(database, &path.into_inner()).await?;
    refuse_house(&provider)?;
    let adapter = crate::providers::adapter_for(provider.protocol)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("provider {} has no adapter", provider.id)))?;
    let listings = adapter
        .parse_game_list(&body)
        .map_err(|message| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_game_list", message))?;
    let import_games_max = settings.providers.import_games_max as usize;
    if listings.len() > import_games_max {
        return Err(ApiError::bad_request(
            "too_many_games",
            format!("an import holds at most {import_games_max} games (providers.import_games_max)"),
        ));
    }
    let listings = checked_listings(listings)?;
    let mut transaction = database.writer.begin().await?;
    let counts = listing::upsert(&mut transaction, &provider.id, &listings).await?;
    transaction.commit().await?;
    auditor.record("import_games", &provider.id, json!(counts)).await?;
    Ok(HttpResponse::Ok().json(import_answer(&provider.id, listings.len(), counts)))
}

fn import_answer(provider: &str, games: usize, counts: UpsertCounts) -> Value {
    json!({
        "provider": provider, "games": games,
        "inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged,
    })
}

/// Every listing valid and every code once; a new game starts active.
fn checked_listings(listings: Vec<GameListing>) -> Result<Vec<(GameListing, bool)>, ApiError> {
    let mut codes = BTreeSet::new();
    let mut checked = Vec::with_capacity(listings.len());
    for (index, mut listing) in listings.into_iter().enumerate() {
        listing::validate(&mut listing).map_err(|error| {
            let code: String = listing.code.chars().take(listing::GAME_CODE_LENGTH_MAX).collect();
            ApiError::bad_request(error.code, format!("game {index} ({code:?}): {}", error.message))
        })?;
        if !codes.insert(listing.code.clone()) {
            return Err(ApiError::bad_request(
                "duplicate_game_code",
                format!("game {index}: code {:?} appears more than once", listing.code),
            ));
        }
        checked.push((listing, true));
    }
    Ok(checked)
}

/// Reads an import body: JSON, at most `IMPORT_BODY_BYTES_MAX` bytes and the usual nesting depth.
async fn import_body(request: &HttpRequest, mut payload: web::Payload) -> Result<Value, ApiError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the game list must be JSON with Content-Type: application/json",
        ));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("invalid_body", "the request body could not be read"))?;
        if body.len() + chunk.len() > IMPORT_BODY_BYTES_MAX {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a game list must not exceed {IMPORT_BODY_BYTES_MAX} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let depth_max = request
        .app_data::<web::Data<JsonLimits>>()
        .map(|limits| limits.depth_max)
        .unwrap_or(16);
    parse_bounded(&body, depth_max)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PlayerStatusBody {
    status: String,
}

/// `POST /api/v1/admin/players/{id}/status {status: "active"|"blocked"}`: a blocked player logs in to
/// nothing, stakes and deposits nothing anywhere; open bets still settle. A self-exclusion is the
/// player's own and outlasts an unblock: the operator cannot lift it.
#[utoipa::path(
    post,
    path = "/api/v1/admin/players/{player_id}/status",
    operation_id = "admin_catalog_set_player_status",
    tag = "admin",
    summary = "Blocks or unblocks a player",
    params(("player_id" = uuid::Uuid, Path, description = "the player")),
    request_body(content = PlayerStatusBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the player's status", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_status`, `invalid_path`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`player_not_found`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn set_player_status(
    auditor: Auditor,
    path: web::Path<Uuid>,
    body: BoundedJson<PlayerStatusBody>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let database = &auditor.database;
    let player_id = path.into_inner();
    let blocked = match body.0.status.as_str() {
        "active" => false,
        "blocked" => true,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_status",
                "status is 'active' or 'blocked'",
            ))
        }
    };
    let now = Utc::now();
    let changed = protection::change_guard(
        &database.writer,
        player_id,
        &settings.responsible_gaming,
        now,
        |guard| -> Result<(), ApiError> {
            guard.blocked = blocked;
            Ok(())
        },
    )
    .await;
    let guard = match changed {
        Ok(guard) => guard,
        Err(ChangeError::UnknownPlayer) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "player_not_found",
                "no player has this id",
            ))
        }
        Err(ChangeError::Refused(error)) => return Err(error),
        Err(ChangeError::Database(error)) => return Err(ApiError::internal(error)),
    };
    let standing = Standing {
        blocked: guard.blocked,
        self_excluded_until: guard.self_excluded_until,
    };
    let status = standing.status(now);
    let self_excluded_until = standing.excluded_until(now);
    let details = json!({ "status": status, "self_excluded_until": self_excluded_until });
    auditor
        .record("set_player_status", &player_id.to_string(), details)
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "player_id": player_id, "status": status, "self_excluded_until": self_excluded_until,
    })))
}
