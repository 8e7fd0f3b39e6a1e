//! The room relay: one per room on every node. It keeps the room's public view from the leader's events
//! (which arrive through Redis pub/sub), hands each event's bytes to every local session unchanged, and
//! takes the sessions' bets and cashouts to the leader (the local round actor, or another node).
//!
//! Events carry the leader's epoch (its fencing token) and a sequence number. An event from a deposed
//! leader, or one already seen, is dropped; a gap (missed events, a reconnect, a lagging listener) makes
//! the relay reload the view the leader stored in Redis and send every local player a `resync` with it,
//! instead of letting them show a wrong multiplier.

mod subscribers;

use super::transport::{Frame, SendFailure, Transport};
use super::{close_code, protocol};
use crate::cluster::listener::BusMessage;
use crate::games::crash::forward::Forwarder;
use crate::games::crash::leadership::LeaderHandle;
use crate::games::crash::room::{CashedOut, Cashout, PlaceBet, PlacedBet};
use crate::games::crash::store;
use crate::games::crash::view::{classify, RoomView, Sequencing};
use crate::games::crash::{BetView, GameError};
use actix::prelude::*;
use bytestring::ByteString;
use chrono::Utc;
use fred::prelude::*;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::BTreeMap;
use subscribers::{Subscriber, Subscribers};
use uuid::Uuid;

/// A control message from a room to one session.
#[derive(Message)]
#[rtype(result = "()")]
pub enum ToSession {
    /// A frame for this player only (their auto-cashouts, for example).
    Frame(ByteString),
    /// Close the socket with this WebSocket close code and reason.
    Close(u16, String),
}

/// Join the room's broadcasts; answers the room's state and the player's bets of the current round.
#[derive(Message)]
#[rtype(result = "RoomSnapshot")]
pub struct Subscribe {
    pub session_id: u64,
    /// None for a spectator (an admin watching the room).
    pub player_id: Option<Uuid>,
    pub transport: Transport,
    pub control: Recipient<ToSession>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub session_id: u64,
}

/// The room's state for a snapshot; `my_bets` is empty without a player.
#[derive(Message)]
#[rtype(result = "RoomSnapshot")]
pub struct GetState {
    pub player_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct RoomSnapshot {
    pub state: Value,
    pub my_bets: Vec<BetView>,
}

/// Close every subscriber's socket with this reason (the node is shutting down).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseAll {
    pub code: u16,
    pub reason: String,
}

/// Everything a relay needs besides its room's name.
pub struct RelayDependencies {
    pub leader: LeaderHandle,
    pub forwarder: Forwarder,
    pub redis: Client,
    pub pool: PgPool,
    pub mailbox_capacity: usize,
    pub tick_interval_ms: u64,
    /// Where the leader stores the room's view.
    pub view_key: String,
}

/// The relay's series, registered once: a tick touches them without a label allocation or a lookup.
struct RelayMetrics {
    frames_broadcast: metrics::Counter,
    frames_delivered: metrics::Counter,
    ticks_relayed: metrics::Counter,
    tick_lag: metrics::Histogram,
    /// How long writing one event to every local socket took.
    broadcast_duration: metrics::Histogram,
    sequence_gaps: metrics::Counter,
    resyncs: metrics::Counter,
}

impl RelayMetrics {
    fn new(room: &str) -> RelayMetrics {
        let label = || ("room", room.to_owned());
        RelayMetrics {
            frames_broadcast: metrics::counter!("relay_frames_broadcast_total", &[label()]),
            frames_delivered: metrics::counter!("relay_frames_delivered_total", &[label()]),
            ticks_relayed: metrics::counter!("crash_ticks_relayed_total", &[label()]),
            tick_lag: metrics::histogram!("crash_tick_relay_lag_seconds", &[label()]),
            broadcast_duration: metrics::histogram!("relay_broadcast_seconds", &[label()]),
            sequence_gaps: metrics::counter!("crash_sequence_gaps_total", &[label()]),
            resyncs: metrics::counter!("crash_resyncs_total", &[label()]),
        }
    }
}

pub struct RoomRelay {
    name: String,
    metrics: RelayMetrics,
    view: RoomView,
    view_key: String,
    subscribers: Subscribers,
    leader: LeaderHandle,
    forwarder: Forwarder,
    redis: Client,
    pool: PgPool,
    mailbox_capacity: usize,
    resyncing: bool,
}

impl RoomRelay {
    pub fn new(name: String, dependencies: RelayDependencies) -> RoomRelay {
        RoomRelay {
            view: RoomView::new(&name, dependencies.tick_interval_ms),
            metrics: RelayMetrics::new(&name),
            view_key: dependencies.view_key,
            name,
            subscribers: Subscribers::default(),
            leader: dependencies.leader,
            forwarder: dependencies.forwarder,
            redis: dependencies.redis,
            pool: dependencies.pool,
            mailbox_capacity: dependencies.mailbox_capacity,
            resyncing: false,
        }
    }

    /// Encodes the event's WebSocket frame once and queues the same bytes to every subscriber. A
    /// subscriber whose queue is full is too slow: it is dropped and told to close, so it never delays
    /// anyone else.
    fn broadcast(&mut self, payload: ByteString) {
        let started = std::time::Instant::now();
        let frame = Frame::text(&payload);
        self.metrics.frames_broadcast.increment(1);
        self.metrics.frames_delivered.increment(self.subscribers.len() as u64);
        for (session_id, failure) in self.subscribers.send_to_all(&frame) {
            if failure == SendFailure::Full {
                self.close_too_slow(session_id);
            }
            self.subscribers.remove(session_id);
        }
        self.metrics.broadcast_duration.record(started.elapsed().as_secs_f64());
    }

    /// Sends a player's own frame to each of their sessions on this node through its bounded mailbox; a
    /// session whose mailbox is full is overwhelmed and is dropped like a slow socket.
    fn send_to_player(&mut self, player_id: Uuid, frame: ByteString) {
        let mut dropped = Vec::new();
        for session_id in self.subscribers.sessions_of(player_id) {
            if let Some(control) = self.subscribers.control(*session_id) {
                if control.try_send(ToSession::Frame(frame.clone())).is_err() {
                    dropped.push(*session_id);
                }
            }
        }
        for session_id in dropped {
            self.close_too_slow(session_id);
            self.subscribers.remove(session_id);
        }
    }

    fn close_too_slow(&self, session_id: u64) {
        if let Some(control) = self.subscribers.control(session_id) {
            control.do_send(ToSession::Close(
                close_code::SLOW_CONSUMER,
                "too slow to keep up with the game".into(),
            ));
        }
    }

    fn on_event(&mut self, payload: ByteString, ctx: &mut Context<Self>) {
        let Ok(event) = serde_json::from_str::<Value>(&payload) else {
            tracing::warn!(room = self.name, "dropped an event that is not JSON");
            return;
        };
        // An operator's message to every player: not a room event, so outside the sequence.
        if event["type"] == "maintenance" {
            self.broadcast(payload);
            return;
        }
        if event["type"] == "player_frame" {
            let player = event["player_id"].as_str().and_then(|id| id.parse::<Uuid>().ok());
            if let (Some(player_id), Some(frame)) = (player, event["frame"].as_str()) {
                self.send_to_player(player_id, ByteString::from(frame));
            }
            return;
        }
        let position = (event["epoch"].as_u64().unwrap_or(0), event["seq"].as_u64().unwrap_or(0));
        match classify(self.view.position(), position) {
            Sequencing::Stale => {}
            Sequencing::Next => {
                self.record_relayed(&event);
                self.view.apply(&event);
                self.broadcast(payload);
            }
            Sequencing::Gap => {
                self.record_relayed(&event);
                self.metrics.sequence_gaps.increment(1);
                tracing::info!(room = self.name, from = ?self.view.position(), to = ?position, "event gap; resyncing");
                self.view.apply(&event);
                self.broadcast(payload);
                self.resync(ctx);
            }
        }
    }

    /// Counts a tick relayed to this node's sessions and how long it took from the leader's clock reading
    /// to here (the nodes' clocks are assumed in step, as on one host or under NTP).
    fn record_relayed(&self, event: &Value) {
        if event["type"] != "tick" {
            return;
        }
        self.metrics.ticks_relayed.increment(1);
        if let Some(sent_ms) = event["ts"].as_i64() {
            let lag_ms = (Utc::now().timestamp_millis() - sent_ms).max(0);
            self.metrics.tick_lag.record(lag_ms as f64 / 1000.0);
        }
    }

    /// Reloads the view the leader stored, keeps whichever is newer, and sends it to every local player.
    fn resync(&mut self, ctx: &mut Context<Self>) {
        if std::mem::replace(&mut self.resyncing, true) {
            return;
        }
        self.metrics.resyncs.increment(1);
        let redis = self.redis.clone();
        let key = self.view_key.clone();
        let load = async move { redis.get::<Option<String>, _>(key).await };
        ctx.spawn(load.into_actor(self).map(|result, relay, _| {
            relay.resyncing = false;
            match result {
                Ok(Some(stored)) => match serde_json::from_str::<RoomView>(&stored) {
                    Ok(stored) => relay.view.merge_stored(stored),
                    Err(error) => tracing::warn!(room = relay.name, %error, "the stored room view does not parse"),
                },
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(room = relay.name, %error, "could not load the room view");
                    return;
                }
            }
            let frame = protocol::encode(&json!({"type": "resync", "state": relay.view.snapshot(Utc::now())}));
            relay.broadcast(frame);
        }));
    }

    /// The player's bets of the current round, from the primary (they may have been placed a moment ago
    /// on another node).
    fn my_bets(&self, player_id: Option<Uuid>) -> impl std::future::Future<Output = Vec<BetView>> {
        let round = self.view.round_id;
        let pool = self.pool.clone();
        async move {
            let (Some(player_id), Some(round)) = (player_id, round) else {
                return Vec::new();
            };
            store::player_bets_in_round(&pool, player_id, round)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "could not load a player's bets");
                    Vec::new()
                })
        }
    }
}

impl Actor for RoomRelay {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox_capacity);
        self.resync(ctx);
    }
}

impl Handler<BusMessage> for RoomRelay {
    type Result = ();

    fn handle(&mut self, message: BusMessage, ctx: &mut Context<Self>) {
        match message {
            BusMessage::Event(payload) => self.on_event(payload, ctx),
            BusMessage::Resync => self.resync(ctx),
        }
    }
}

impl Handler<Subscribe> for RoomRelay {
    type Result = ResponseActFuture<Self, RoomSnapshot>;

    fn handle(&mut self, subscribe: Subscribe, _: &mut Context<Self>) -> Self::Result {
        let bets = self.my_bets(subscribe.player_id);
        Box::pin(bets.into_actor(self).map(move |my_bets, relay, _| {
            relay.subscribers.insert(
                subscribe.session_id,
                Subscriber {
                    player_id: subscribe.player_id,
                    transport: subscribe.transport,
                    control: subscribe.control,
                },
            );
            RoomSnapshot {
                state: relay.view.snapshot(Utc::now()),
                my_bets,
            }
        }))
    }
}

impl Handler<Unsubscribe> for RoomRelay {
    type Result = ();

    fn handle(&mut self, unsubscribe: Unsubscribe, _: &mut Context<Self>) {
        self.subscribers.remove(unsubscribe.session_id);
    }
}

impl Handler<GetState> for RoomRelay {
    type Result = ResponseActFuture<Self, RoomSnapshot>;

    fn handle(&mut self, request: GetState, _: &mut Context<Self>) -> Self::Result {
        let bets = self.my_bets(request.player_id);
        Box::pin(bets.into_actor(self).map(|my_bets, relay, _| RoomSnapshot {
            state: relay.view.snapshot(Utc::now()),
            my_bets,
        }))
    }
}

impl Handler<CloseAll> for RoomRelay {
    type Result = ();

    fn handle(&mut self, close: CloseAll, _: &mut Context<Self>) {
        for control in self.subscribers.controls() {
            control.do_send(ToSession::Close(close.code, close.reason.clone()));
        }
    }
}

impl Handler<PlaceBet> for RoomRelay {
    type Result = ResponseFuture<Result<PlacedBet, GameError>>;

    fn handle(&mut self, bet: PlaceBet, _: &mut Context<Self>) -> Self::Result {
        let (forwarder, leader, room) = (self.forwarder.clone(), self.leader.clone(), self.name.clone());
        let received_at = bet.received_at;
        Box::pin(async move {
            let outcome = forwarder.place_bet(&room, &leader, bet).await;
            record_request("bet", room, received_at, &outcome);
            outcome
        })
    }
}

impl Handler<Cashout> for RoomRelay {
    type Result = ResponseFuture<Result<CashedOut, GameError>>;

    fn handle(&mut self, request: Cashout, _: &mut Context<Self>) -> Self::Result {
        let (forwarder, leader, room) = (self.forwarder.clone(), self.leader.clone(), self.name.clone());
        let received_at = request.received_at;
        Box::pin(async move {
            let outcome = forwarder.cashout(&room, &leader, request).await;
            record_request("cashout", room, received_at, &outcome);
            outcome
        })
    }
}

/// Counts a bet or cashout of this node's players by its result (`ok` or the error code) and records
/// how long the player waited for the answer, forwarding to another node's leader included.
fn record_request<T>(
    kind: &'static str,
    room: String,
    received_at: std::time::Instant,
    outcome: &Result<T, GameError>,
) {
    let result = match outcome {
        Ok(_) => "ok",
        Err(error) => error.code(),
    };
    let seconds = received_at.elapsed().as_secs_f64();
    metrics::histogram!("crash_request_seconds", "kind" => kind, "room" => room.clone()).record(seconds);
    metrics::counter!("crash_requests_total", "kind" => kind, "room" => room, "result" => result).increment(1);
}

/// The room relays of this node, by room name: the sessions' and the API's way into every room.
#[derive(Clone, Default)]
pub struct CrashRooms {
    pub rooms: BTreeMap<String, Addr<RoomRelay>>,
}

impl CrashRooms {
    pub fn get(&self, room: &str) -> Result<&Addr<RoomRelay>, GameError> {
        self.rooms
            .get(room)
            .ok_or_else(|| GameError::UnknownRoom(room.chars().take(32).collect()))
    }
}
