//! Provable fairness for players: their seed pair (`GET /api/v1/fair/seeds`), rotating it to reveal the
//! server seed (`POST /api/v1/fair/seeds/rotate`), and verification of any game's result
//! (`POST /api/v1/fair/verify`).

use super::json::{optional_body, BoundedJson};
use crate::auth::extract::AuthenticatedPlayer;
use crate::configuration::Settings;
use crate::db::Database;
use crate::error::ApiError;
use crate::fair::seeds::SeedInput;
use crate::games::instant::seeds::{parse_client_seed, SeedError};
use crate::games::instant::{verify, InstantGames};
use crate::games::registry::CRASH;
use crate::games::slots::server::{SlotError, SlotService};
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
#[utoipa::path(
    get,
    path = "/api/v1/fair/seeds",
    operation_id = "fair_seeds",
    tag = "fairness",
    summary = "The player's active seed pair (server seed hashed)",
    responses(
        (status = 200, description = "the seeds", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
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
#[utoipa::path(
    post,
    path = "/api/v1/fair/seeds/rotate",
    operation_id = "fair_rotate",
    tag = "fairness",
    summary = "Reveals the server seed and starts a new pair (optional body `{\"client_seed\"}`)",
    responses(
        (status = 200, description = "the revealed and the new pair", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_client_seed`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 409, description = "`game_open`: finish the open game first", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
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

/// `POST /api/v1/fair/verify`: one of five forms.
/// - `{"bet_id": ..}` (the bet's owner only): recomputes a recorded bet from its revealed seed pair.
/// - `{"spin_id": ..}` (the round's owner only): replays a slot round under its math version and
///   compares it event by event and by payout.
/// - `{"game": "slots", "game_id", "version"?, "mode"?, "bet"?, "server_seed", "client_seed", "nonce"}`:
///   plays a slot round from inputs the caller supplies.
/// - `{"game": "dice" | "plinko" | "mines", "server_seed", "client_seed", "nonce", "options"}`: computes a
///   result from inputs the caller supplies.
/// - `{"game": "crash", ...}`: the crash round forms of `POST /api/v1/game/verify`.
#[utoipa::path(
    post,
    path = "/api/v1/fair/verify",
    operation_id = "fair_verify_any",
    tag = "fairness",
    summary = "Verifies an instant bet or slot round (by id, or from the seeds and nonce)",
    request_body(content = serde_json::Value, description = "{\"bet_id\"} or {\"spin_id\"} (the player's own), or {\"game\", \"server_seed\", \"client_seed\", \"nonce\", \"options\"}, or {\"game_id\", \"server_seed\", \"client_seed\", \"nonce\", ...} for a slot", content_type = "application/json"),
    responses(
        (status = 200, description = "the recomputed outcome", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_request`, `unknown_game`, `invalid_server_seed`, `invalid_client_seed`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`: a lookup by id needs the player's token", body = crate::error::Envelope),
        (status = 404, description = "`not_found`: no such bet or round of yours", body = crate::error::Envelope),
        (status = 409, description = "`seed_active`: the seed is not revealed yet", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security((), ("player_jwt" = []))
)]
async fn verify_any(
    player: Option<AuthenticatedPlayer>,
    body: BoundedJson<Map<String, Value>>,
    games: web::Data<InstantGames>,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
    slots: web::Data<SlotService>,
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
    if let Some(spin_id) = body.remove("spin_id") {
        let player = player.ok_or_else(|| ApiError::unauthorized("verifying a round by id needs its owner's token"))?;
        let spin_id = spin_id
            .as_str()
            .and_then(|text| Uuid::parse_str(text).ok())
            .ok_or_else(|| ApiError::bad_request("invalid_spin_id", "spin_id must be a slot round id (a UUID)"))?;
        if !body.is_empty() {
            return Err(ApiError::bad_request("invalid_request", "spin_id comes alone"));
        }
        return Ok(HttpResponse::Ok().json(slots.verify(player.player_id, spin_id).await?));
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
    if game == SLOTS {
        let inputs = super::json::from_value(Value::Object(body))?;
        return verify_slot_inputs(inputs, &slots).await;
    }
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

/// The game name of the slot form of `POST /api/v1/fair/verify`.
const SLOTS: &str = "slots";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotInputsBody {
    game_id: String,
    /// The math version (the current one when absent).
    version: Option<String>,
    mode: Option<String>,
    /// The base bet in micro-units, to turn the win into money (1.00 when absent).
    bet: Option<serde_json::Number>,
    server_seed: String,
    client_seed: String,
    nonce: u64,
}

/// Plays one slot round from the caller's inputs: its steps, events hash and win.
async fn verify_slot_inputs(inputs: SlotInputsBody, slots: &SlotService) -> Result<HttpResponse, ApiError> {
    use crate::games::slots::steps::{events_hash, split_steps};
    use crate::games::slots::{payout_micros, play_round, FairDraws};
    if inputs.server_seed.is_empty() || inputs.server_seed.len() > SERVER_SEED_LENGTH_MAX {
        return Err(ApiError::bad_request(
            "invalid_server_seed",
            format!("server_seed must be 1 to {SERVER_SEED_LENGTH_MAX} characters"),
        ));
    }
    let client_seed = parse_client_seed(&inputs.client_seed)?;
    let current = slots
        .catalog()
        .game(&inputs.game_id)
        .ok_or_else(|| SlotError::UnknownGame(inputs.game_id.clone()))?;
    let version = inputs
        .version
        .unwrap_or_else(|| current.definition.math_version().to_owned());
    let definition = slots
        .catalog()
        .definition_at(slots.pool(), &inputs.game_id, &version)
        .await
        .map_err(SlotError::from)?
        .ok_or(SlotError::UnknownVersion(version))?;
    let mode = match &inputs.mode {
        Some(name) => definition
            .mode(name)
            .ok_or_else(|| SlotError::InvalidMode(format!("{} has no mode {name:?}", inputs.game_id)))?,
        None => definition
            .modes()
            .first()
            .ok_or_else(|| SlotError::Corrupt("a game without modes".into()))?,
    };
    let bet = match &inputs.bet {
        Some(number) => super::parse_amount(number)?.micros(),
        None => 1_000_000,
    };
    let round = play_round(
        &definition,
        mode,
        &mut FairDraws::new(&inputs.server_seed, &client_seed, inputs.nonce),
    );
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "game_id": inputs.game_id,
        "math_version": definition.math_version(),
        "mode": mode.name(),
        "server_seed_hash": crate::games::instant::seeds::sha256_hex(&inputs.server_seed),
        "nonce": inputs.nonce,
        "steps": split_steps(&round.events),
        "events_hash": events_hash(&round.events),
        "win_centibet": round.summary.win_centibet,
        "payout": payout_micros(bet, round.summary.win_centibet),
        "summary": round.summary,
    })))
}
