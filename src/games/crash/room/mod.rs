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

    // ----- phases -------------------------------------------------------------------------------

    /// Finishes whatever earlier rounds left unsettled (a previous leader's, or this one's own that
    /// needed recovery), then takes the next game of the chain and opens betting.
    fn open_betting(&mut self, ctx: &mut Context<Self>) {
        if self.retiring {
            ctx.stop();
            return;
        }
        if self.betting_pause.is_some() {
            self.wait_for_resume();
            return;
        }
        let pool = self.pool.clone();
        let wallet = self.wallet.clone();
        let fence = self.fence.clone();
        let edge = self.settings.house_edge_bps;
        let salt = self.settings.salt.clone();
        let generate = self.chain_auto_generate_length;
        let next = async move {
            let report = recovery::recover_room(&pool, &wallet, &fence).await?;
            if report.rounds > 0 {
                tracing::warn!(room = fence.room, ?report, "recovered unsettled rounds");
            }
            // An operator may have paused the room while it had no leader (or before this one took over).
            let pause = pause::read(&pool, &fence.room).await;
            if matches!(pause, Some(Some(_))) {
                return Ok((report.aborted, pause, None));
            }
            if let Some(round) = store::start_round(&pool, &fence, edge).await? {
                return Ok((report.aborted, pause, Some(round)));
            }
            if generate == 0 {
                return Ok((report.aborted, pause, None));
            }
            let chain = fair::generate_chain(generate as usize);
            store::insert_chain(&pool, &fence.room, &salt, &chain).await?;
            tracing::info!(room = fence.room, length = generate, "generated a new hash chain");
            Ok((report.aborted, pause, store::start_round(&pool, &fence, edge).await?))
        };
        ctx.wait(next.into_actor(self).map(|result: anyhow::Result<_>, room, ctx| {
            let (aborted, pause, round) = match result {
                Ok(outcome) => outcome,
                Err(error) => {
                    if let Some(store_error) = error.downcast_ref::<StoreError>() {
                        if matches!(store_error, StoreError::Fenced { .. }) {
                            room.store_failed(store_error, "start a round", ctx);
                            return;
                        }
                    }
                    tracing::error!(
                        room = room.name,
                        error = format!("{error:#}"),
                        "failed to start a round"
                    );
                    ctx.run_later(room.chain_retry, |room, ctx| room.open_betting(ctx));
                    return;
                }
            };
            for round_id in aborted {
                room.publish(json!({"type": "round_aborted", "round_id": round_id, "reason": "leader_changed"}));
            }
            if let Some(stored) = pause {
                room.adopt_pause(stored);
            }
            if room.betting_pause.is_some() {
                room.wait_for_resume();
                return;
            }
            match round {
                Some(round) => {
                    room.waiting_for_chain = false;
                    room.begin_round(round, ctx);
                }
                None => {
                    if !std::mem::replace(&mut room.waiting_for_chain, true) {
                        tracing::warn!(
                            room = room.name,
                            "no usable hash chain; run `game-cluster chain generate`"
                        );
                    }
                    ctx.run_later(room.chain_retry, |room, ctx| room.open_betting(ctx));
                }
            }
        }));
    }

    /// Takes the pause state recorded in Postgres, telling the relays when it changed.
    fn adopt_pause(&mut self, stored: Option<BettingPause>) {
        let changed = stored.is_some() != self.betting_pause.is_some();
        self.betting_pause = stored;
        // A term that starts paused says so; one that starts open says nothing (its round_start does).
        if changed || (!self.pause_announced && self.betting_pause.is_some()) {
            self.announce_pause();
        }
    }

    /// Publishes whether betting is paused (a room event, so every node's view and player learns it).
    fn announce_pause(&mut self) {
        self.pause_announced = true;
        let event = match &self.betting_pause {
            Some(pause) => json!({"type": "betting_paused", "reason": pause.reason, "since": pause.at}),
            None => json!({"type": "betting_resumed"}),
        };
        self.publish(event);
    }

    /// Leaves the room between rounds until an operator resumes betting.
    fn wait_for_resume(&mut self) {
        if !self.waiting_for_resume {
            tracing::info!(room = self.name, "betting paused; no new round until it is resumed");
        }
        self.waiting_for_resume = true;
        if !self.pause_announced {
            self.announce_pause();
        }
    }

    fn begin_round(&mut self, new_round: store::NewRound, ctx: &mut Context<Self>) {
        let betting = Duration::from_millis(self.settings.betting_ms);
        let crash_ms = fair::elapsed_for(new_round.crash_point);
        let betting_ends_wall = Utc::now() + chrono::Duration::milliseconds(self.settings.betting_ms as i64);
        self.round = Some(Round {
            id: new_round.id,
            hash: new_round.hash,
            crash_point: new_round.crash_point,
            crash_ms,
            betting_opened_at: Instant::now(),
            betting_ends_at: Instant::now() + betting,
            started_at: None,
            started_wall: None,
            bets: HashMap::new(),
            by_client_id: HashMap::new(),
            bets_per_player: HashMap::new(),
            autos: BTreeSet::new(),
            in_flight: 0,
            pending_stakes: 0,
            losses_settled: false,
            crash_recorded: false,
            settled: false,
            needs_recovery: false,
            cashouts_since_tick: Vec::new(),
        });
        self.phase = Phase::Betting;
        self.publish(json!({
            "type": "round_start",
            "round_id": new_round.id,
            "betting_ms": self.settings.betting_ms,
            "betting_ends_at": betting_ends_wall,
            "terminating_hash": new_round.terminating_hash,
            "previous_round": self.previous,
        }));
        ctx.run_later(betting, |room, ctx| room.close_betting(ctx));
    }

    fn close_betting(&mut self, ctx: &mut Context<Self>) {
        self.phase = Phase::Closing;
        let pending = self.round.as_ref().map_or(0, |round| round.pending_stakes);
        if pending == 0 {
            self.start_running(ctx);
        } else {
            // Stakes accepted in time but not yet debited get a bounded grace period.
            let round_id = self.round.as_ref().map(|round| round.id);
            ctx.run_later(self.closing_wait_max, move |room, ctx| {
                let same_round = room.round.as_ref().map(|round| round.id) == round_id;
                if room.phase == Phase::Closing && same_round {
                    room.start_running(ctx);
                }
            });
        }
    }

    fn start_running(&mut self, ctx: &mut Context<Self>) {
        let Some(round_id) = self.round.as_ref().map(|round| round.id) else {
            return;
        };
        self.phase = Phase::Running;
        let pool = self.pool.clone();
        let fence = self.fence.clone();
        // The running phase is recorded before the clock starts, so the crash is always written after it.
        let record = async move { store::mark_running(&pool, &fence, round_id).await };
        ctx.wait(record.into_actor(self).map(|result, room, ctx| {
            if let Err(error) = result {
                room.store_failed(&error, "record the running phase", ctx);
                if matches!(error, StoreError::Fenced { .. }) {
                    return;
                }
            }
            room.start_clock(ctx);
        }));
    }

    fn start_clock(&mut self, ctx: &mut Context<Self>) {
        let Some(round) = self.round.as_mut() else { return };
        round.started_at = Some(Instant::now());
        round.started_wall = Some(Utc::now());
        let crash_in = Duration::from_millis(round.crash_ms);
        // The interval travels with the round: a node's view may come from an older leader's store.
        let event = json!({
            "type": "round_running",
            "round_id": round.id,
            "started_at": round.started_wall,
            "tick_interval_ms": self.settings.tick_interval_ms,
        });
        self.publish(event);
        let tick = Duration::from_millis(self.settings.tick_interval_ms);
        self.tick_timer = Some(ctx.run_interval(tick, |room, ctx| room.tick(ctx)));
        // The crash fires at its exact time, not at the next tick boundary.
        ctx.run_later(crash_in, |room, ctx| room.crash(ctx));
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.phase != Phase::Running {
            return;
        }
        let Some(elapsed) = self.elapsed_ms(Instant::now()) else {
            return;
        };
        let crash_ms = self.round.as_ref().map_or(0, |round| round.crash_ms);
        if elapsed >= crash_ms {
            return;
        }
        self.pay_due_autos(elapsed, ctx);
        let Some(round) = self.round.as_mut() else { return };
        let event = json!({
            "type": "tick",
            "round_id": round.id,
            "multiplier": multiplier_json(fair::multiplier_at(elapsed)),
            "elapsed_ms": elapsed,
            "ts": Utc::now().timestamp_millis(),
            "cashouts": std::mem::take(&mut round.cashouts_since_tick),
        });
        self.publish(event);
    }

    fn crash(&mut self, ctx: &mut Context<Self>) {
        if self.phase != Phase::Running {
            return;
        }
        if let Some(timer) = self.tick_timer.take() {
            ctx.cancel_future(timer);
        }
        let crash_ms = self.round.as_ref().map_or(0, |round| round.crash_ms);
        // Auto-cashouts due strictly before the crash are paid (at their exact target).
        if crash_ms > 0 {
            self.pay_due_autos(crash_ms - 1, ctx);
        }
        self.phase = Phase::Crashed;
        let Some(round) = self.round.as_mut() else { return };
        let revealed = RevealedRound {
            round_id: round.id,
            hash: hex::encode(round.hash),
            crash_point: multiplier_json(round.crash_point),
            crash_point_hundredths: round.crash_point,
            crashed_at: Some(Utc::now()),
            status: RoundOutcome::Crashed,
        };
        let event = json!({
            "type": "crash",
            "round_id": round.id,
            "crash_point": revealed.crash_point,
            "hash": revealed.hash,
            "elapsed_ms": crash_ms,
            "ts": Utc::now().timestamp_millis(),
            "cashouts": std::mem::take(&mut round.cashouts_since_tick),
        });
        self.previous = Some(revealed);
        self.publish(event);
        let grace = Duration::from_millis(CRASH_SETTLE_GRACE_MS);
        ctx.run_later(grace, |room, ctx| room.settle_losses(ctx));
    }

    /// Marks every bet still open as lost and records the crash, once the grace for requests that arrived
    /// before the crash is over.
    fn settle_losses(&mut self, ctx: &mut Context<Self>) {
        let Some(round) = self.round.as_mut() else { return };
        round.losses_settled = true;
        let mut lost = Vec::new();
        for entry in round.bets.values_mut() {
            if entry.view.status == BetStatus::Open {
                entry.view.status = BetStatus::Lost;
                lost.push(entry.view.bet_id);
            }
        }
        round.autos.clear();
        let pool = self.pool.clone();
        let fence = self.fence.clone();
        let round_id = round.id;
        let record = async move { store::mark_crashed(&pool, &fence, round_id, &lost).await };
        ctx.spawn(record.into_actor(self).map(|result, room, ctx| {
            if let Err(error) = &result {
                room.store_failed(error, "record the crash; recovery will settle the round", ctx);
            }
            if let Some(round) = room.round.as_mut() {
                round.needs_recovery |= result.is_err();
                round.crash_recorded = true;
            }
            room.try_settle(ctx);
        }));
    }

    /// Closes the round once the crash is recorded and no money is in flight, then schedules the next.
    fn try_settle(&mut self, ctx: &mut Context<Self>) {
        let Some(round) = self.round.as_mut() else { return };
        if self.phase != Phase::Crashed || !round.crash_recorded || round.in_flight > 0 || round.settled {
            return;
        }
        round.settled = true;
        let pool = self.pool.clone();
        let fence = self.fence.clone();
        let round_id = round.id;
        let needs_recovery = round.needs_recovery;
        if needs_recovery {
            tracing::error!(
                room = self.name,
                round_id,
                "round left unsettled; recovery finishes it before the next"
            );
        }
        let settle = async move {
            if needs_recovery {
                return Ok(());
            }
            store::settle_round(&pool, &fence, round_id).await
        };
        ctx.spawn(settle.into_actor(self).map(|result, room, ctx| {
            if let Err(error) = result {
                room.store_failed(&error, "settle a round; recovery will", ctx);
            }
            if room.retiring {
                ctx.stop();
                return;
            }
            let pause = Duration::from_millis(room.settings.crashed_pause_ms);
            ctx.run_later(pause, |room, ctx| room.open_betting(ctx));
        }));
    }

    fn elapsed_ms(&self, at: Instant) -> Option<u64> {
        let started = self.round.as_ref()?.started_at?;
        if at < started {
            return None;
        }
        Some(at.duration_since(started).as_millis() as u64)
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

impl Handler<SetBettingPaused> for CrashRoom {
    type Result = Result<PauseApplied, GameError>;

    fn handle(&mut self, request: SetBettingPaused, ctx: &mut Context<Self>) -> Self::Result {
        let changed = request.pause.is_some() != self.betting_pause.is_some();
        self.betting_pause = request.pause;
        if changed {
            self.announce_pause();
        }
        if self.betting_pause.is_none() && std::mem::take(&mut self.waiting_for_resume) {
            tracing::info!(room = self.name, "betting resumed");
            self.open_betting(ctx);
        }
        Ok(PauseApplied {
            betting_paused: self.betting_pause.is_some(),
            phase: self.view.phase.clone(),
            round_id: self.view.round_id,
        })
    }
}

impl Handler<Depose> for CrashRoom {
    type Result = ();

    fn handle(&mut self, _: Depose, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
