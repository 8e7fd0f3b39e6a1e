//! Bets and cashouts received by a node that does not lead the room are forwarded to the leader over
//! HTTP, so that one actor judges every request of the room with one clock: a bet counts if betting was
//! open when it reached the leader, a cashout is priced at the moment it reached the leader, and each is
//! decided once. Forwarding adds one loopback or LAN round trip (about a millisecond) to the request.
//!
//! The leader answers with the same result it would give a local player, or with `not_leader` when the
//! lease moved; the forwarder then looks the holder up again and retries once. A request whose answer is
//! lost (timeout) may still have been decided: players retry bets with the same `client_bet_id`, and a
//! repeated cashout answers `already_cashed_out`.
//!
//! Bets travel in batches: every bet of a room that arrives within `forward_batch_window_ms` of the first
//! waiting one (at most `forward_batch_bets_max`) goes to the leader in one call, which admits them in
//! one step of the round actor and answers per bet; the answers fan back to each waiting player. The
//! rules above hold per batch: `not_leader` looks the holder up again and retries the whole batch once,
//! a lost answer is `outcome_unknown` for every bet of the batch, and a refused bet keeps its code. A
//! batch is sent even while the leader is local, so a node's own players take the same admission path.
//! Cashouts stay single: each is priced the moment it reaches the leader, so it should not wait for a
//! window.

mod batch;

use super::leadership::{LeaderHandle, Route};
use super::room::{
    CashedOut, Cashout, CrashRoom, PauseApplied, PlaceBet, PlaceBets, PlacedBet, PlayerRef, SetBettingPaused,
};
use super::GameError;
use crate::cluster::{lease, Namespace};
use crate::money::Amount;
pub use batch::BatchLimits;
use batch::{answer_each, collect_batch, QueuedBet};
use fred::prelude::Client;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Semaphore};
use uuid::Uuid;

/// The header carrying the cluster secret on internal requests.
pub const CLUSTER_SECRET_HEADER: &str = "x-cluster-secret";

/// The error code a node answers when it no longer leads the room.
pub const NOT_LEADER: &str = "not_leader";

/// How long a request waits for a room that has no leader yet (a node starting, a takeover under way)
/// before it is answered `room_unavailable`, and how often it looks meanwhile.
const LEADERLESS_WAIT_MS: u64 = 1_500;
const LEADERLESS_POLL_MS: u64 = 100;

/// The most bytes one forwarded bet may take in a batch's body (a bet is about 250 bytes of JSON; its
/// strings are bounded by the session's checks), so a leader can bound a batch's body before parsing it.
pub const FORWARDED_BET_BYTES_MAX: usize = 1_024;

/// Bets of one room waiting on this node to be sent to its leader; past it a bet is refused with
/// `room_unavailable` (the leader is not keeping up, and a bounded queue keeps the wait bounded).
const FORWARD_QUEUE_BETS_MAX: usize = 16_384;

/// Every error code a leader can answer with, so that a forwarded error keeps its code.
const KNOWN_CODES: &[&str] = &[
    "unknown_room",
    "betting_closed",
    "betting_paused",
    "round_not_running",
    "round_crashed",
    "bet_not_found",
    "already_cashed_out",
    "bet_not_open",
    "bet_in_progress",
    "invalid_amount",
    "invalid_auto_cashout",
    "invalid_client_bet_id",
    "too_many_bets",
    "room_unavailable",
    "leader_changed",
    "outcome_unknown",
    "insufficient_funds",
    "player_blocked",
    "self_excluded",
    "deposit_limit_reached",
    "loss_limit_reached",
    "wager_limit_reached",
    "session_time_limit_reached",
    "currency_mismatch",
    "balance_overflow",
    "idempotency_conflict",
    "account_not_found",
    "same_account",
    "wallet_overloaded",
    "shutting_down",
    "ledger_unavailable",
];

/// Batches of one room's bets out to the leader at once; more bets wait and join the next batch.
const BET_BATCHES_IN_FLIGHT_MAX: usize = 4;

/// A bet as it travels to the leader.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForwardedBet {
    pub player: PlayerRef,
    pub amount: i64,
    pub auto_cashout: Option<u32>,
    pub client_bet_id: String,
}

impl ForwardedBet {
    /// The bet as the leader's round actor takes it, stamped with the leader's own arrival time.
    pub fn into_message(self) -> Result<PlaceBet, GameError> {
        Ok(PlaceBet {
            player: self.player,
            amount: Amount::parse(self.amount).map_err(|error| GameError::InvalidAmount(error.to_string()))?,
            auto_cashout: self.auto_cashout,
            client_bet_id: self.client_bet_id,
            received_at: Instant::now(),
        })
    }
}

impl From<&PlaceBet> for ForwardedBet {
    fn from(bet: &PlaceBet) -> ForwardedBet {
        ForwardedBet {
            player: bet.player.clone(),
            amount: bet.amount.micros(),
            auto_cashout: bet.auto_cashout,
            client_bet_id: bet.client_bet_id.clone(),
        }
    }
}

/// The body of a batch of bets forwarded to the leader.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForwardedBets {
    pub bets: Vec<ForwardedBet>,
}

/// The leader's answer to one bet of a batch.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BetAnswer {
    Placed(PlacedBet),
    Refused { status: u16, code: String, message: String },
}

impl From<Result<PlacedBet, GameError>> for BetAnswer {
    fn from(outcome: Result<PlacedBet, GameError>) -> BetAnswer {
        match outcome {
            Ok(placed) => BetAnswer::Placed(placed),
            Err(error) => BetAnswer::Refused {
                status: error.status().as_u16(),
                code: error.code().to_owned(),
                message: error.to_string(),
            },
        }
    }
}

/// The leader's answers to a batch, one per bet in the batch's order.
#[derive(Debug, Serialize, Deserialize)]
pub struct BetAnswers {
    pub answers: Vec<BetAnswer>,
}

impl From<BetAnswers> for Vec<Result<PlacedBet, GameError>> {
    fn from(wire: BetAnswers) -> Vec<Result<PlacedBet, GameError>> {
        wire.answers
            .into_iter()
            .map(|answer| match answer {
                BetAnswer::Placed(placed) => Ok(placed),
                BetAnswer::Refused { status, code, message } => Err(forwarded_error(status, &code, message)),
            })
            .collect()
    }
}

/// An error the leader answered, with its code kept when it is one of ours.
fn forwarded_error(status: u16, code: &str, message: String) -> GameError {
    let code = KNOWN_CODES
        .iter()
        .find(|known| **known == code)
        .copied()
        .unwrap_or("internal_error");
    GameError::Forwarded { status, code, message }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ForwardedCashout {
    pub player_id: Uuid,
    pub bet_id: Uuid,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// Sends requests to room leaders on other nodes: at most `forward_in_flight_max` at once (each holds a
/// connection to the leader), the others wait for a slot up to the forwarding timeout.
#[derive(Clone)]
pub struct Forwarder {
    http: reqwest::Client,
    redis: Client,
    namespace: Namespace,
    secret: SecretString,
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
    batching: BatchLimits,
    /// Each room's queue of bets to forward, started with the room's first bet.
    bet_queues: Arc<Mutex<HashMap<String, mpsc::Sender<QueuedBet>>>>,
}

/// How a node reaches the leaders: its Redis (to look them up), the cluster's namespace and secret.
pub struct ForwarderSettings {
    pub redis: Client,
    pub namespace: Namespace,
    pub secret: SecretString,
    pub timeout: Duration,
    pub in_flight_max: u32,
    pub batching: BatchLimits,
}

impl Forwarder {
    pub fn new(settings: ForwarderSettings) -> anyhow::Result<Forwarder> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .pool_max_idle_per_host(settings.in_flight_max as usize)
            .build()?;
        Ok(Forwarder {
            http,
            redis: settings.redis,
            namespace: settings.namespace,
            secret: settings.secret,
            permits: Arc::new(Semaphore::new(settings.in_flight_max as usize)),
            queue_timeout: settings.timeout,
            batching: settings.batching,
            bet_queues: Arc::default(),
        })
    }

    /// Queues the bet for the room's next batch and waits for its own answer.
    pub async fn place_bet(&self, room: &str, leader: &LeaderHandle, bet: PlaceBet) -> Result<PlacedBet, GameError> {
        let (reply, answer) = oneshot::channel();
        self.bet_queue(room, leader)
            .try_send(QueuedBet { bet, reply })
            .map_err(|_| GameError::RoomUnavailable)?;
        // The batch's task always answers; a dropped reply means the node is stopping mid-call.
        answer.await.unwrap_or(Err(GameError::OutcomeUnknown))
    }

    /// The room's bet queue, starting its batching task with the room's first bet.
    fn bet_queue(&self, room: &str, leader: &LeaderHandle) -> mpsc::Sender<QueuedBet> {
        let mut queues = self.bet_queues.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(queue) = queues.get(room).filter(|queue| !queue.is_closed()) {
            return queue.clone();
        }
        let (queue, waiting) = mpsc::channel(FORWARD_QUEUE_BETS_MAX);
        actix::spawn(self.clone().run_bet_batches(room.to_owned(), leader.clone(), waiting));
        queues.insert(room.to_owned(), queue.clone());
        queue
    }

    /// Gathers the room's bets into batches and sends each on its own task, so a slow batch never holds
    /// the next one back. At most `BET_BATCHES_IN_FLIGHT_MAX` batches of a room are out at once: while
    /// they are, new bets wait in the room's bounded queue and the next batch grows with them.
    async fn run_bet_batches(self, room: String, leader: LeaderHandle, mut waiting: mpsc::Receiver<QueuedBet>) {
        let in_flight = Arc::new(Semaphore::new(BET_BATCHES_IN_FLIGHT_MAX));
        let mut batch = Vec::with_capacity(self.batching.bets_max);
        loop {
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                return;
            };
            if !collect_batch(&mut waiting, &mut batch, self.batching).await {
                return;
            }
            let bets = std::mem::replace(&mut batch, Vec::with_capacity(self.batching.bets_max));
            let (forwarder, room, leader) = (self.clone(), room.clone(), leader.clone());
            actix::spawn(async move {
                forwarder.send_batch(&room, &leader, bets).await;
                drop(permit);
            });
        }
    }

    /// Sends one batch to the leader and hands every bet its own answer.
    async fn send_batch(&self, room: &str, leader: &LeaderHandle, bets: Vec<QueuedBet>) {
        metrics::histogram!("crash_forward_batch_bets", "room" => room.to_owned()).record(bets.len() as f64);
        let (messages, replies): (Vec<PlaceBet>, Vec<_>) =
            bets.into_iter().map(|queued| (queued.bet, queued.reply)).unzip();
        let wire = ForwardedBets {
            bets: messages.iter().map(ForwardedBet::from).collect(),
        };
        let started = std::time::Instant::now();
        let outcome = self
            .to_leader::<_, _, BetAnswers>(room, leader, PlaceBets { bets: messages }, "bet-batches", &wire)
            .await;
        metrics::histogram!("crash_forward_batch_seconds", "room" => room.to_owned())
            .record(started.elapsed().as_secs_f64());
        answer_each(replies, outcome);
    }

    pub async fn cashout(&self, room: &str, leader: &LeaderHandle, request: Cashout) -> Result<CashedOut, GameError> {
        let wire = ForwardedCashout {
            player_id: request.player_id,
            bet_id: request.bet_id,
        };
        self.to_leader::<_, _, CashedOut>(room, leader, request, "cashouts", &wire)
            .await
    }

    /// Tells the room's leader to pause or resume betting (the pause itself is already recorded in Postgres,
    /// where a leader that starts later reads it).
    pub async fn set_betting_paused(
        &self,
        room: &str,
        leader: &LeaderHandle,
        request: SetBettingPaused,
    ) -> Result<PauseApplied, GameError> {
        let wire = request.clone();
        self.to_leader::<_, _, PauseApplied>(room, leader, request, "betting-pause", &wire)
            .await
    }

    /// Asks another node to drain (an operator's request taken by this node).
    pub async fn request_drain(&self, node_url: &str) -> anyhow::Result<()> {
        let url = format!("{}/internal/v1/drain", node_url.trim_end_matches('/'));
        let response = self
            .http
            .post(&url)
            .header(CLUSTER_SECRET_HEADER, self.secret.expose_secret())
            .send()
            .await
            .map_err(|error| anyhow::anyhow!("could not reach {url}: {error}"))?;
        anyhow::ensure!(response.status().is_success(), "{url} answered {}", response.status());
        Ok(())
    }

    /// Hands `message` to the local round actor when this node leads the room, or posts `wire` to the
    /// leader's `what` endpoint; when the lease has moved, looks the holder up again and retries once.
    /// While the room has no leader at all it waits a little (bounded) for one.
    async fn to_leader<M, T, W>(
        &self,
        room: &str,
        leader: &LeaderHandle,
        message: M,
        what: &str,
        wire: &impl Serialize,
    ) -> Result<T, GameError>
    where
        M: actix::Message<Result = Result<T, GameError>> + Send + 'static,
        T: From<W> + Send + 'static,
        W: DeserializeOwned,
        CrashRoom: actix::Handler<M>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(LEADERLESS_WAIT_MS);
        let mut moved = 0;
        while moved < 2 {
            match leader.route() {
                Route::Local(driver) => return driver.send(message).await.unwrap_or(Err(GameError::OutcomeUnknown)),
                Route::Remote(holder) => match self.post::<W>(&holder, room, what, wire).await {
                    // The lease moved, or the holder we knew no longer listens (a drained leader after its
                    // handover): nothing was decided, so look the holder up again and retry.
                    Err(Posted::NotLeader) | Err(Posted::Unreachable) => {
                        moved += 1;
                        self.refresh(room, leader).await;
                    }
                    Err(Posted::Failed(error)) => return Err(error),
                    Ok(answer) => return Ok(T::from(answer)),
                },
                Route::Unknown if tokio::time::Instant::now() < deadline => {
                    self.refresh(room, leader).await;
                    if matches!(leader.route(), Route::Unknown) {
                        tokio::time::sleep(Duration::from_millis(LEADERLESS_POLL_MS)).await;
                    }
                }
                Route::Unknown => break,
            }
        }
        Err(GameError::RoomUnavailable)
    }

    /// Looks the room's lease holder up again.
    async fn refresh(&self, room: &str, leader: &LeaderHandle) {
        match lease::holder(&self.redis, &self.namespace.lease_key(room)).await {
            Ok(holder) => leader.set_remote(holder),
            Err(error) => tracing::warn!(room, %error, "could not look the room's leader up"),
        }
    }

    async fn post<T: DeserializeOwned>(
        &self,
        holder: &lease::LeaseHolder,
        room: &str,
        what: &str,
        body: &impl Serialize,
    ) -> Result<T, Posted> {
        // A burst queues here for a bounded time (nothing has been sent yet, so giving up is safe) rather than
        // opening one connection to the leader per request.
        let _permit = tokio::time::timeout(self.queue_timeout, self.permits.acquire())
            .await
            .map_err(|_| Posted::Failed(GameError::RoomUnavailable))?
            .map_err(|_| Posted::Failed(GameError::RoomUnavailable))?;
        let url = format!("{}/internal/v1/crash/{room}/{what}", holder.url.trim_end_matches('/'));
        let response = self
            .http
            .post(&url)
            .header(CLUSTER_SECRET_HEADER, self.secret.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|error| {
                tracing::warn!(%url, %error, "forwarding to the room's leader failed");
                // Refused before anything was sent: nothing happened. Otherwise the leader may have decided.
                if error.is_connect() {
                    Posted::Unreachable
                } else {
                    Posted::Failed(GameError::OutcomeUnknown)
                }
            })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|_| Posted::Failed(GameError::OutcomeUnknown))?;
        if status == StatusCode::OK {
            return serde_json::from_slice(&bytes).map_err(|error| {
                tracing::error!(%url, %error, "the leader's answer did not parse");
                Posted::Failed(GameError::Store)
            });
        }
        let envelope: ErrorEnvelope =
            serde_json::from_slice(&bytes).map_err(|_| Posted::Failed(GameError::RoomUnavailable))?;
        if envelope.error.code == NOT_LEADER {
            return Err(Posted::NotLeader);
        }
        Err(Posted::Failed(forwarded_error(
            status.as_u16(),
            &envelope.error.code,
            envelope.error.message,
        )))
    }
}

/// How a forwarded request ended short of an answer.
enum Posted {
    /// The node no longer leads the room.
    NotLeader,
    /// The node could not be reached at all: nothing was sent.
    Unreachable,
    /// The answer to give the player.
    Failed(GameError),
}
