//! The round actor of one crash room: betting → (closing) → running with ticks → crashed → next round.
//! It runs on the room's leader only, under the fence it took with the lease; its events go out once on
//! the event bus and every node's relay (this one's included) delivers them to its players.
//!
//! Decisions are made here, once, in message order: a bet is accepted only while betting is open at the
//! moment the request arrived; a cashout is judged by the elapsed time at its arrival and refused at or
//! past the crash time; auto-cashouts pay exactly their target and are taken from a list sorted by the
//! moment they fall due, not scanned per tick. Money moves only through the wallet, keyed by the bet id.

use super::bet_writer::BetWriter;
use super::pause::{self, BettingPause};
use super::recovery;
use super::store::{self, Fence, RevealedRound, RoundOutcome, StoreError};
use super::view::RoomView;
use super::{multiplier_json, BetStatus, BetView, GameError};
use crate::cluster::bus::EventBus;
use crate::configuration::RoomSettings;
use crate::fair::crash::{self as fair, GameHash};
use crate::games::wire;
use crate::money::Amount;
use crate::wallet::ledger::{AccountId, TransferKind, TransferRequest};
use crate::wallet::Wallet;
use actix::prelude::*;
use bytestring::ByteString;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};
use uuid::Uuid;

mod bets;
mod cashouts;
mod detached;
mod lifecycle;
mod pausing;

pub use bets::PlaceBets;

/// A control message from a room to one session.
/// Who is playing, as the room needs to know them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlayerRef {
    pub player_id: Uuid,
    pub account: AccountId,
    pub username: String,
}

#[derive(Message, Clone)]
#[rtype(result = "Result<PlacedBet, GameError>")]
pub struct PlaceBet {
    pub player: PlayerRef,
    pub amount: Amount,
    pub auto_cashout: Option<u32>,
    pub client_bet_id: String,
    /// When the request reached the server; betting must have been open at that moment.
    pub received_at: Instant,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlacedBet {
    pub bet: BetView,
    pub balance: Option<i64>,
    pub replayed: bool,
}

#[derive(Message, Clone)]
#[rtype(result = "Result<CashedOut, GameError>")]
pub struct Cashout {
    pub player_id: Uuid,
    pub bet_id: Uuid,
    /// When the request reached the server: the multiplier is the curve's value at this moment.
    pub received_at: Instant,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CashedOut {
    pub bet: BetView,
    pub balance: Option<i64>,
    /// The win was paid but its bet row could not be updated; recovery will finish the bookkeeping.
    pub bookkeeping_failed: bool,
}

/// How long after the crash requests that arrived before it (and still wait in the mailbox) are judged by
/// their arrival time, before the remaining bets are marked lost.
const CRASH_SETTLE_GRACE_MS: u64 = 100;

/// Attempts to credit a decided win before the round is left to start-up recovery.
const WIN_ATTEMPTS_MAX: u32 = 5;
const WIN_RETRY_BACKOFF_MS: u64 = 200;

/// Pauses (`Some`) or resumes (`None`) betting; answered once the round actor applied it. The round under
/// way finishes; while paused no new round starts and every bet is refused with `betting_paused`.
#[derive(Message, Debug, Clone, Serialize, Deserialize)]
#[rtype(result = "Result<PauseApplied, GameError>")]
pub struct SetBettingPaused {
    pub pause: Option<BettingPause>,
}

/// The room's state after a pause or resume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PauseApplied {
    pub betting_paused: bool,
    pub phase: String,
    pub round_id: Option<i64>,
}

/// Stop leading after the current round (the node is draining); answered at once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

/// Stop now: the lease was lost.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Depose;

/// Told to the leadership when the round actor has stopped, whatever the reason.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DriverStopped {
    pub token: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No round yet: waiting for a chain or for the database.
    Starting,
    Betting,
    /// Betting closed; stakes still being debited.
    Closing,
    Running,
    Crashed,
}

struct BetEntry {
    view: BetView,
    player: PlayerRef,
}

struct Round {
    id: i64,
    hash: GameHash,
    crash_point: u32,
    /// The first millisecond at which the curve reaches the crash point: the crash happens then.
    crash_ms: u64,
    /// Requests that arrived before this moment (while the round was being created) are refused.
    betting_opened_at: Instant,
    betting_ends_at: Instant,
    started_at: Option<Instant>,
    started_wall: Option<DateTime<Utc>>,
    bets: HashMap<Uuid, BetEntry>,
    by_client_id: HashMap<(Uuid, String), Uuid>,
    bets_per_player: HashMap<Uuid, u32>,
    /// Open bets with an effective target, ordered by the millisecond they fall due.
    autos: BTreeSet<(u64, Uuid)>,
    /// Stakes being debited and wins being credited; the round settles only when none is left.
    in_flight: u32,
    pending_stakes: u32,
    /// Set once the bets still open after the crash grace are marked lost.
    losses_settled: bool,
    crash_recorded: bool,
    settled: bool,
    /// A decided cashout or a refund could not be completed: the round stays unsettled in Postgres so
    /// that start-up recovery finishes it from the ledger.
    needs_recovery: bool,
    cashouts_since_tick: Vec<Value>,
}

pub struct CrashRoom {
    name: String,
    settings: RoomSettings,
    pool: PgPool,
    wallet: Wallet,
    chain_auto_generate_length: u32,
    chain_retry: Duration,
    closing_wait_max: Duration,
    fence: Fence,
    /// Records this term's new bets in batches, under the term's fence.
    bets: BetWriter,
    bus: EventBus,
    channel: String,
    view_key: String,
    leadership: Recipient<DriverStopped>,
    /// The public state after every event, stored in Redis on phase changes for relays that resync.
    view: RoomView,
    phase: Phase,
    round: Option<Round>,
    previous: Option<RevealedRound>,
    sequence: u64,
    tick_timer: Option<SpawnHandle>,
    /// Set while the room waits for a chain, so the warning is logged once per wait, not per retry.
    waiting_for_chain: bool,
    /// The node is draining: finish the current round, then stop.
    retiring: bool,
    /// The room's published-event series, registered once (a tick touches them without a lookup).
    events_published: metrics::Counter,
    ticks_published: metrics::Counter,
    /// Set while an operator has paused betting.
    betting_pause: Option<BettingPause>,
    /// This term's events have told the relays the pause state.
    pause_announced: bool,
    /// No round was started because betting is paused: a resume starts the next one.
    waiting_for_resume: bool,
}

/// Everything a room needs besides its settings.
pub struct RoomDependencies {
    pub pool: PgPool,
    pub wallet: Wallet,
    pub chain_auto_generate_length: u32,
    pub chain_retry: Duration,
    pub closing_wait_max: Duration,
    pub bus: EventBus,
    /// Where the room's events go, and where its view is stored.
    pub channel: String,
    pub view_key: String,
    pub leadership: Recipient<DriverStopped>,
}

impl CrashRoom {
    pub fn new(name: String, settings: RoomSettings, fence: Fence, dependencies: RoomDependencies) -> CrashRoom {
        let bets = BetWriter::start(dependencies.pool.clone(), fence.clone());
        CrashRoom {
            view: RoomView::new(&name, settings.tick_interval_ms),
            events_published: metrics::counter!("crash_events_published_total", "room" => name.clone()),
            ticks_published: metrics::counter!("crash_ticks_published_total", "room" => name.clone()),
            name,
            settings,
            pool: dependencies.pool,
            wallet: dependencies.wallet,
            chain_auto_generate_length: dependencies.chain_auto_generate_length,
            chain_retry: dependencies.chain_retry,
            closing_wait_max: dependencies.closing_wait_max,
            bets,
            fence,
            bus: dependencies.bus,
            channel: dependencies.channel,
            view_key: dependencies.view_key,
            leadership: dependencies.leadership,
            phase: Phase::Starting,
            round: None,
            previous: None,
            sequence: 0,
            tick_timer: None,
            waiting_for_chain: false,
            retiring: false,
            betting_pause: None,
            pause_announced: false,
            waiting_for_resume: false,
        }
    }

    fn epoch(&self) -> u64 {
        self.fence.token as u64
    }

    /// A store failure in the round's own writes. A refused fence means another node leads now: this one
    /// stops at once and leaves everything to its successor's recovery.
    fn store_failed(&mut self, error: &StoreError, what: &str, ctx: &mut Context<Self>) {
        match error {
            StoreError::Fenced { .. } => {
                tracing::warn!(
                    room = self.name,
                    token = self.fence.token,
                    what,
                    "leadership superseded; stopping"
                );
                ctx.stop();
            }
            StoreError::Database(error) => tracing::error!(room = self.name, %error, what, "store write failed"),
        }
    }

    // ----- events -------------------------------------------------------------------------------

    /// Numbers a public event, applies it to the room's view and publishes it once; phase changes also
    /// store the view, so a node that missed events can catch up.
    fn publish(&mut self, mut event: Value) {
        self.sequence += 1;
        event["room"] = json!(self.name);
        event["epoch"] = json!(self.epoch());
        event["seq"] = json!(self.sequence);
        self.view.apply(&event);
        let frame = wire::encode(&event);
        self.events_published.increment(1);
        if event["type"] == "tick" {
            self.ticks_published.increment(1);
            self.bus.publish_perishable(&self.channel, frame);
        } else {
            self.bus.publish(&self.channel, frame);
            let view = serde_json::to_string(&self.view).expect("a room view serializes");
            self.bus.store(&self.view_key, view);
        }
    }

    /// Sends a frame to one player, wherever they are connected: every relay delivers it to that
    /// player's sessions on its node. Not part of the public sequence.
    fn send_to_player(&mut self, player_id: Uuid, frame: ByteString) {
        let envelope = json!({"type": "player_frame", "player_id": player_id, "frame": &*frame});
        self.bus.publish(&self.channel, wire::encode(&envelope));
    }
}

impl Actor for CrashRoom {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // A room's mailbox takes every bet and cashout of the room; it is bounded like everything else.
        ctx.set_mailbox_capacity(65_536);
        let pool = self.pool.clone();
        let room = self.name.clone();
        let load = async move {
            let previous = store::last_revealed_round(&pool, &room).await;
            (previous, pause::read(&pool, &room).await)
        };
        ctx.wait(load.into_actor(self).map(|(previous, pause), room, ctx| {
            match previous {
                Ok(previous) => room.previous = previous,
                Err(error) => tracing::warn!(room = room.name, %error, "could not load the previous round"),
            }
            if let Some(Some(pause)) = pause {
                room.betting_pause = Some(pause);
            }
            room.open_betting(ctx);
        }));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        tracing::info!(room = self.name, token = self.fence.token, "stopped leading the room");
        self.leadership.do_send(DriverStopped {
            token: self.fence.token,
        });
    }
}

impl Handler<Retire> for CrashRoom {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Context<Self>) {
        self.retiring = true;
        // Between rounds (or before the first) there is nothing to finish.
        let idle = self.round.as_ref().is_none_or(|round| round.settled);
        if idle || self.phase == Phase::Starting {
            ctx.stop();
        }
    }
}

impl Handler<Depose> for CrashRoom {
    type Result = ();

    fn handle(&mut self, _: Depose, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
