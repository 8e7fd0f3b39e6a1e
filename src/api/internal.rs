//! Node-to-node calls: a follower forwards a player's bet or cashout to the room's leader here. Only
//! nodes that share the cluster secret may call; the player was authenticated by the forwarding node.

use crate::configuration::FORWARD_BATCH_BETS_LIMIT;
use crate::error::ApiError;
use crate::games::crash::forward::{
    BetAnswer, BetAnswers, ForwardedBet, ForwardedBets, ForwardedCashout, CLUSTER_SECRET_HEADER,
    FORWARDED_BET_BYTES_MAX, NOT_LEADER,
};
use crate::games::crash::leadership::CrashLeaders;
use crate::games::crash::room::{Cashout, CrashRoom, PlaceBet, PlaceBets, SetBettingPaused};
use crate::games::crash::GameError;
use actix::Addr;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use std::time::Instant;

/// The secret other nodes must present.
pub struct ClusterSecret(pub SecretString);

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/internal/v1")
            .route("/crash/{room}/bets", web::post().to(forwarded_bet))
            .service(
                web::resource("/crash/{room}/bet-batches")
                    // A batch may be larger than a player's request, never larger than its bets allow.
                    .app_data(web::PayloadConfig::new(
                        FORWARD_BATCH_BETS_LIMIT as usize * FORWARDED_BET_BYTES_MAX,
                    ))
                    .route(web::post().to(forwarded_bets)),
            )
            .route("/crash/{room}/cashouts", web::post().to(forwarded_cashout))
            .route("/crash/{room}/betting-pause", web::post().to(forwarded_betting_pause))
            .route("/drain", web::post().to(drain_requested)),
    );
}

/// Compares in time independent of where the first difference is, so the secret cannot be guessed
/// byte by byte from response times.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// Refuses a caller that does not present the cluster secret.
fn check_secret(request: &HttpRequest, secret: &ClusterSecret) -> Result<(), ApiError> {
    let given = request
        .headers()
        .get(CLUSTER_SECRET_HEADER)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    if !same_secret(given, secret.0.expose_secret().as_bytes()) {
        return Err(ApiError::forbidden("internal calls need the cluster secret"));
    }
    Ok(())
}

/// The local round actor of `room`, after checking the caller's secret.
fn leader_here(
    request: &HttpRequest,
    room: &str,
    leaders: &CrashLeaders,
    secret: &ClusterSecret,
) -> Result<Addr<CrashRoom>, ApiError> {
    check_secret(request, secret)?;
    let handle = leaders
        .rooms
        .get(room)
        .ok_or_else(|| ApiError::from(GameError::UnknownRoom(room.chars().take(32).collect())))?;
    handle
        .local()
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, NOT_LEADER, "this node does not lead the room"))
}

/// Parses a body only after the caller has proved it is a node (the payload size is bounded by the app's
/// payload limit).
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| ApiError::bad_request("invalid_json", error.to_string()))
}

/// `POST /internal/v1/crash/{room}/bets`: the bet is judged by this node's clock at arrival.
pub async fn forwarded_bet(
    request: HttpRequest,
    room: web::Path<String>,
    body: web::Bytes,
    leaders: web::Data<CrashLeaders>,
    secret: web::Data<ClusterSecret>,
) -> Result<HttpResponse, ApiError> {
    let driver = leader_here(&request, &room, &leaders, &secret)?;
    let message = parse_body::<ForwardedBet>(&body)?.into_message()?;
    // A round actor that stops before answering may have taken the stake.
    answer(&driver, message, GameError::OutcomeUnknown).await
}

/// `POST /internal/v1/crash/{room}/bet-batches`: a follower's batch, admitted in one step of the round
/// actor and answered per bet in the batch's order; each bet is judged by this node's clock at arrival.
pub async fn forwarded_bets(
    request: HttpRequest,
    room: web::Path<String>,
    body: web::Bytes,
    leaders: web::Data<CrashLeaders>,
    secret: web::Data<ClusterSecret>,
) -> Result<HttpResponse, ApiError> {
    let received_at = Instant::now();
    let driver = leader_here(&request, &room, &leaders, &secret)?;
    let batch: ForwardedBets = parse_body(&body)?;
    if batch.bets.len() > FORWARD_BATCH_BETS_LIMIT as usize {
        return Err(ApiError::bad_request(
            "batch_too_large",
            format!("a batch carries at most {FORWARD_BATCH_BETS_LIMIT} bets"),
        ));
    }
    let (parsed, messages) = parse_bets(batch, received_at);
    // A round actor that stops before answering may have taken the stakes.
    let mut admitted = driver
        .send(PlaceBets { bets: messages })
        .await
        .map_err(|_| ApiError::from(GameError::OutcomeUnknown))??
        .into_iter();
    let answers = parsed
        .into_iter()
        .map(|refused| match refused {
            Some(error) => BetAnswer::from(Err(error)),
            None => BetAnswer::from(admitted.next().unwrap_or(Err(GameError::OutcomeUnknown))),
        })
        .collect();
    Ok(HttpResponse::Ok().json(BetAnswers { answers }))
}

/// Turns a batch's bets into round-actor messages stamped with the batch's arrival. The first list has one
/// entry per bet: the refusal of a bet that did not parse, or `None` for a bet that is in the second list
/// (in the same order).
fn parse_bets(batch: ForwardedBets, received_at: Instant) -> (Vec<Option<GameError>>, Vec<PlaceBet>) {
    let mut parsed = Vec::with_capacity(batch.bets.len());
    let mut messages = Vec::with_capacity(batch.bets.len());
    for bet in batch.bets {
        match bet.into_message() {
            Ok(mut message) => {
                message.received_at = received_at;
                messages.push(message);
                parsed.push(None);
            }
            Err(error) => parsed.push(Some(error)),
        }
    }
    (parsed, messages)
}

/// The round actor's answer to `message` as the HTTP answer; `lost` when the actor stopped first.
async fn answer<M, T>(driver: &Addr<CrashRoom>, message: M, lost: GameError) -> Result<HttpResponse, ApiError>
where
    M: actix::Message<Result = Result<T, GameError>> + Send + 'static,
    T: serde::Serialize + Send + 'static,
    CrashRoom: actix::Handler<M>,
{
    let answered = driver.send(message).await.map_err(|_| ApiError::from(lost))??;
    Ok(HttpResponse::Ok().json(answered))
}

/// `POST /internal/v1/crash/{room}/cashouts`: priced at this node's clock at arrival.
pub async fn forwarded_cashout(
    request: HttpRequest,
    room: web::Path<String>,
    body: web::Bytes,
    leaders: web::Data<CrashLeaders>,
    secret: web::Data<ClusterSecret>,
) -> Result<HttpResponse, ApiError> {
    let received_at = Instant::now();
    let driver = leader_here(&request, &room, &leaders, &secret)?;
    let body: ForwardedCashout = parse_body(&body)?;
    let cashout = Cashout {
        player_id: body.player_id,
        bet_id: body.bet_id,
        received_at,
    };
    answer(&driver, cashout, GameError::OutcomeUnknown).await
}

/// `POST /internal/v1/crash/{room}/betting-pause`: an operator's pause or resume, from the node that took
/// the admin call.
pub async fn forwarded_betting_pause(
    request: HttpRequest,
    room: web::Path<String>,
    body: web::Bytes,
    leaders: web::Data<CrashLeaders>,
    secret: web::Data<ClusterSecret>,
) -> Result<HttpResponse, ApiError> {
    let driver = leader_here(&request, &room, &leaders, &secret)?;
    let message: SetBettingPaused = parse_body(&body)?;
    // The pause is recorded already; a leader that stops first leaves it to its successor.
    answer(&driver, message, GameError::RoomUnavailable).await
}

/// `POST /internal/v1/drain`: an operator asked (through another node) that this node drain and exit.
pub async fn drain_requested(
    request: HttpRequest,
    secret: web::Data<ClusterSecret>,
    drain: web::Data<crate::cluster::drain::DrainSwitch>,
) -> Result<HttpResponse, ApiError> {
    check_secret(&request, &secret)?;
    tracing::warn!(target: "audit", action = "drain", "drain requested through the cluster; shutting down");
    drain.request();
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "draining": true })))
}
