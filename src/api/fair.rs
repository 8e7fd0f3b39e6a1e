//! Provable fairness for players: their seed pair (`GET /api/v1/fair/seeds`), rotating it to reveal the
//! server seed (`POST /api/v1/fair/seeds/rotate`), and verification of any game's result
//! (`POST /api/v1/fair/verify`).

use super::error::ApiError;
use super::json::{optional_body, BoundedJson};
use crate::auth::extract::AuthenticatedPlayer;
use crate::configuration::Settings;
use crate::db::Database;
use crate::fair::seeds::SeedInput;
use crate::games::instant::seeds::{parse_client_seed, SeedError};
use crate::games::instant::{verify, InstantGames};
use crate::games::registry::CRASH;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

/// The longest server seed a caller may ask us to verify with.
const SERVER_SEED_LENGTH_MAX: usize = 256;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/fair/seeds", web::get().to(seeds))
        .route("/fair/seeds/rotate", web::post().to(rotate))
        .route("/fair/verify", web::post().to(verify_any));
}

impl From<SeedError> for ApiError {
    fn from(error: SeedError) -> ApiError {
        let message = error.to_string();
        match error {
            SeedError::InvalidClientSeed => ApiError::bad_request("invalid_client_seed", message),
            SeedError::GameInProgress(_) => ApiError::new(StatusCode::CONFLICT, "game_in_progress", message),
            SeedError::Database(error) => ApiError::internal(error),
        }
    }
}

/// `GET /api/v1/fair/seeds`: the active pair (the server seed's hash only), created on first use.
async fn seeds(player: AuthenticatedPlayer, games: web::Data<InstantGames>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(games.active_seeds(player.player_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    /// The client seed of the new pair; a random one when absent.
    client_seed: Option<String>,
}

/// `POST /api/v1/fair/seeds/rotate {client_seed?}`: reveals the active server seed and starts a new pair.
/// The body may be empty (a random client seed); otherwise it is JSON.
async fn rotate(
    request: HttpRequest,
    player: AuthenticatedPlayer,
    body: web::Bytes,
    games: web::Data<InstantGames>,
) -> Result<HttpResponse, ApiError> {
    let client_seed = optional_body::<RotateBody>(&request, body)
        .await?
        .and_then(|body| body.client_seed);
    Ok(HttpResponse::Ok().json(games.rotate_seeds(player.player_id, client_seed).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputsBody {
    server_seed: String,
    client_seed: String,
    nonce: u64,
    /// The options as a bet request writes them, for example `{"rows": 16, "risk": "high"}`.
    options: Value,
}

/// `POST /api/v1/fair/verify`: one of three forms.
/// - `{"bet_id": ..}` (the bet's owner only): recomputes a recorded bet from its revealed seed pair.
/// - `{"game": "dice" | "plinko" | "mines", "server_seed", "client_seed", "nonce", "options"}`: computes a
///   result from inputs the caller supplies.
/// - `{"game": "crash", ...}`: the crash round forms of `POST /api/v1/game/verify`.
async fn verify_any(
    player: Option<AuthenticatedPlayer>,
    body: BoundedJson<Map<String, Value>>,
    games: web::Data<InstantGames>,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.0;
    if let Some(bet_id) = body.remove("bet_id") {
        let player = player.ok_or_else(|| ApiError::unauthorized("verifying a bet by id needs its owner's token"))?;
        let bet_id = bet_id
            .as_str()
            .and_then(|text| Uuid::parse_str(text).ok())
            .ok_or_else(|| ApiError::bad_request("invalid_bet_id", "bet_id must be a bet id (a UUID)"))?;
        if !body.is_empty() {
            return Err(ApiError::bad_request("invalid_request", "bet_id comes alone"));
        }
        return Ok(HttpResponse::Ok().json(games.verify_bet(player.player_id, bet_id).await?));
    }
    let game = match body.remove("game") {
        Some(Value::String(game)) => game,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "give a bet_id, or a game with the inputs to verify",
            ))
        }
    };
    if game == CRASH {
        let crash_body = super::json::from_value(Value::Object(body))?;
        return super::game::verify_crash(crash_body, &database, &settings).await;
    }
    let inputs: InputsBody = super::json::from_value(Value::Object(body))?;
    if inputs.server_seed.is_empty() || inputs.server_seed.len() > SERVER_SEED_LENGTH_MAX {
        return Err(ApiError::bad_request(
            "invalid_server_seed",
            format!("server_seed must be 1 to {SERVER_SEED_LENGTH_MAX} characters"),
        ));
    }
    let client_seed = parse_client_seed(&inputs.client_seed)?;
    let seeds = SeedInput {
        server_seed: &inputs.server_seed,
        client_seed: &client_seed,
        nonce: inputs.nonce,
    };
    let result = verify::verify_inputs(games.registry(), &game, seeds, inputs.options)?;
    Ok(HttpResponse::Ok().json(result))
}
