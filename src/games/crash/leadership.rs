//! Who drives each room. Every node runs one `RoomLeadership` per room: it tries to take the room's Redis
//! lease, and when it wins it takes the next fencing token in Postgres and starts the round actor with it.
//! The leader renews the lease well inside its TTL and steps down (stopping the round actor at once) when
//! a renewal finds the lease held by someone else; a round actor whose fence is refused stops by itself.
//!
//! A leader that cannot reach Redis keeps driving its round: that is what lets a round survive a Sentinel
//! failover. It is safe because every write is fenced in Postgres: if another node took the lease
//! meanwhile, it also took a newer token, and the old leader's next write is refused. On reconnecting, the
//! leader renews at once (taking back a lease the failover lost), and followers only take a lease after
//! seeing it vacant twice, a retry interval apart, so the live leader wins that race. A leader that has not
//! renewed for several TTLs gives up anyway, so a room is never held by a node cut off for good.
//!
//! Followers remember the current holder (its URL), which is where their relays forward bets and
//! cashouts. A draining leader finishes its current round, stops, and releases the lease at once.

use super::room::{CrashRoom, Depose, DriverStopped, Retire, RoomDependencies};
use super::store;
use crate::cluster::bus::EventBus;
use crate::cluster::lease::{self, LeaseHolder};
use crate::cluster::Namespace;
use crate::configuration::{ClusterSettings, RoomSettings};
use crate::wallet::Wallet;
use actix::prelude::*;
use fred::prelude::{Client, EventInterface};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Each room's leader as this node knows it.
#[derive(Clone, Default)]
pub struct CrashLeaders {
    pub rooms: BTreeMap<String, LeaderHandle>,
}

impl CrashLeaders {
    /// The rooms this node leads right now.
    pub fn led_here(&self) -> Vec<String> {
        self.rooms
            .iter()
            .filter(|(_, handle)| handle.is_local())
            .map(|(room, _)| room.clone())
            .collect()
    }
}

/// Where a room's requests go from this node.
#[derive(Clone)]
pub enum Route {
    Local(Addr<CrashRoom>),
    Remote(LeaseHolder),
    Unknown,
}

#[derive(Default)]
struct LeaderState {
    local: Option<Addr<CrashRoom>>,
    remote: Option<LeaseHolder>,
}

/// The room's current leader as this node knows it; shared by the leadership, the relay and the API.
#[derive(Clone, Default)]
pub struct LeaderHandle(Arc<RwLock<LeaderState>>);

impl LeaderHandle {
    pub fn route(&self) -> Route {
        let state = self.0.read().expect("the leader lock is never poisoned");
        match (&state.local, &state.remote) {
            (Some(driver), _) => Route::Local(driver.clone()),
            (None, Some(holder)) => Route::Remote(holder.clone()),
            (None, None) => Route::Unknown,
        }
    }

    /// The round actor, when this node leads the room.
    pub fn local(&self) -> Option<Addr<CrashRoom>> {
        self.0.read().expect("the leader lock is never poisoned").local.clone()
    }

    pub fn is_local(&self) -> bool {
        self.local().is_some()
    }

    fn set_local(&self, driver: Option<Addr<CrashRoom>>) {
        self.0.write().expect("the leader lock is never poisoned").local = driver;
    }

    pub fn set_remote(&self, holder: Option<LeaseHolder>) {
        self.0.write().expect("the leader lock is never poisoned").remote = holder;
    }
}

/// Everything a leadership needs to start a round actor.
#[derive(Clone)]
pub struct LeadershipDependencies {
    pub pool: PgPool,
    pub wallet: Wallet,
    pub redis: Client,
    pub bus: EventBus,
    pub cluster: ClusterSettings,
    pub namespace: Namespace,
    pub node_id: String,
    pub url: String,
    pub chain_auto_generate_length: u32,
    pub chain_retry: Duration,
    pub closing_wait_max: Duration,
}

enum State {
    Following,
    Leading {
        holder: LeaseHolder,
        driver: Addr<CrashRoom>,
        last_renewed: Instant,
    },
}

pub struct RoomLeadership {
    room: String,
    settings: RoomSettings,
    dependencies: LeadershipDependencies,
    key: String,
    handle: LeaderHandle,
    state: State,
    /// A lease or fence operation is under way; steps never overlap.
    busy: bool,
    /// A step was asked for while one was under way: take it as soon as that one ends.
    step_soon: bool,
    /// When this follower first found the lease vacant (it takes it only on a second look).
    vacant_since: Option<Instant>,
    draining: bool,
}

/// A leader that has not renewed its lease for this many TTLs steps down even without proof of losing it.
const RENEWAL_SILENCE_TTLS_MAX: u32 = 3;

/// Renew (or try to lead) now: Redis has just reconnected.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StepNow;

/// What one attempt to lead found.
enum Attempt {
    /// Someone holds the lease (or it could not be read).
    Held(Option<LeaseHolder>),
    /// Nobody holds it; seen once, to be confirmed a retry interval later.
    Vacant,
    Won(store::Fence, LeaseHolder, Instant),
}

/// Stop leading: finish the current round, then release the lease; never lead again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl RoomLeadership {
    pub fn new(
        room: String,
        settings: RoomSettings,
        dependencies: LeadershipDependencies,
        handle: LeaderHandle,
    ) -> RoomLeadership {
        RoomLeadership {
            key: dependencies.namespace.lease_key(&room),
            room,
            settings,
            dependencies,
            handle,
            state: State::Following,
            busy: false,
            step_soon: false,
            vacant_since: None,
            draining: false,
        }
    }

    fn claim(&self) -> LeaseHolder {
        LeaseHolder {
            node_id: self.dependencies.node_id.clone(),
            url: self.dependencies.url.clone(),
            token: None,
        }
    }

    fn ttl_ms(&self) -> u64 {
        self.dependencies.cluster.lease_ttl_ms
    }

    fn renew_interval(&self) -> Duration {
        Duration::from_millis(self.dependencies.cluster.lease_renew_interval_ms)
    }

    /// One lease step: renew while leading, otherwise try to take the lease (or learn who holds it).
    fn step(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            self.step_soon = true;
            return;
        }
        self.busy = true;
        match &self.state {
            State::Leading { holder, .. } => self.renew(holder.clone(), true, ctx),
            State::Following if self.draining => self.busy = false,
            State::Following => self.try_lead(ctx),
        }
    }

    fn retry_interval(&self) -> Duration {
        Duration::from_millis(self.dependencies.cluster.lease_retry_interval_ms)
    }

    fn schedule_next_step(&mut self, ctx: &mut Context<Self>) {
        let delay = match self.state {
            _ if std::mem::take(&mut self.step_soon) => Duration::ZERO,
            State::Leading { .. } => self.renew_interval(),
            State::Following => self.retry_interval(),
        };
        ctx.run_later(delay, |leadership, ctx| {
            leadership.step(ctx);
        });
    }

    /// Renews the lease. A `scheduled` renewal is the step in progress and schedules the next one; an
    /// extra one (right after a reconnect) runs alongside it, since renewing twice is harmless.
    fn renew(&mut self, holder: LeaseHolder, scheduled: bool, ctx: &mut Context<Self>) {
        let redis = self.dependencies.redis.clone();
        let (key, ttl, timeout) = (self.key.clone(), self.ttl_ms(), self.renew_interval());
        let started = Instant::now();
        let renewed_holder = holder.clone();
        let renewal = async move { tokio::time::timeout(timeout, lease::renew(&redis, &key, &holder, ttl)).await };
        ctx.spawn(renewal.into_actor(self).map(move |result, leadership, ctx| {
            if scheduled {
                leadership.busy = false;
            }
            match result {
                Ok(Ok(true)) => match &mut leadership.state {
                    State::Leading { last_renewed, .. } => *last_renewed = started,
                    // The watchdog stepped down while this renewal was on its way: give the lease back.
                    State::Following => leadership.release(renewed_holder, ctx),
                },
                Ok(Ok(false)) => leadership.step_down("the lease passed to another node", ctx),
                Ok(Err(error)) => tracing::warn!(room = leadership.room, %error, "failed to renew the lease"),
                Err(_) => tracing::warn!(room = leadership.room, "renewing the lease timed out"),
            }
            if scheduled {
                leadership.schedule_next_step(ctx);
            }
        }));
    }

    /// Gives up a room whose lease has not been renewed for several TTLs (Redis unreachable for much
    /// longer than a failover takes): some other node should lead it.
    fn check_lease_age(&mut self, ctx: &mut Context<Self>) {
        let limit = Duration::from_millis(self.ttl_ms()) * RENEWAL_SILENCE_TTLS_MAX;
        if let State::Leading { last_renewed, .. } = &self.state {
            if last_renewed.elapsed() >= limit {
                self.step_down("the lease could not be renewed for several TTLs", ctx);
            }
        }
    }

    /// Stops the round actor at once and gives the lease back if it is still ours (best effort), so the
    /// room is not left without a leader until the TTL runs out.
    fn step_down(&mut self, reason: &str, ctx: &mut Context<Self>) {
        if let State::Leading { driver, holder, .. } = std::mem::replace(&mut self.state, State::Following) {
            tracing::warn!(room = self.room, token = holder.token, reason, "stepping down");
            driver.do_send(Depose);
            self.record_change("stepped_down");
            self.handle.set_local(None);
            self.handle.set_remote(None);
            self.release(holder, ctx);
        }
    }

    fn try_lead(&mut self, ctx: &mut Context<Self>) {
        let dependencies = self.dependencies.clone();
        let (room, key, claim, ttl) = (self.room.clone(), self.key.clone(), self.claim(), self.ttl_ms());
        let confirmed_vacant = self
            .vacant_since
            .is_some_and(|since| since.elapsed() >= self.retry_interval());
        let attempt = async move {
            let acquired_at = Instant::now();
            let holder = lease::holder(&dependencies.redis, &key).await?;
            if holder.is_some() {
                return Ok::<_, anyhow::Error>(Attempt::Held(holder));
            }
            if !confirmed_vacant {
                return Ok(Attempt::Vacant);
            }
            if !lease::try_acquire(&dependencies.redis, &key, &claim, ttl).await? {
                let holder = lease::holder(&dependencies.redis, &key).await?;
                return Ok(Attempt::Held(holder));
            }
            // Half the TTL for the fence; the lease is checked (and extended) just before it commits.
            let still_held = async {
                let renewed = lease::renew(&dependencies.redis, &key, &claim, ttl).await;
                renewed.unwrap_or(false)
            };
            let limit = Duration::from_millis(ttl / 2);
            let fence = store::take_fence_while(&dependencies.pool, &room, &dependencies.node_id, limit, still_held);
            let Some(fence) = fence.await? else {
                return Ok(Attempt::Held(None));
            };
            let holder = LeaseHolder {
                token: Some(fence.token),
                ..claim.clone()
            };
            // Publishing the token in the lease also proves the lease is still ours after the fence.
            if !lease::replace(&dependencies.redis, &key, &claim, &holder).await? {
                return Ok(Attempt::Held(None));
            }
            Ok(Attempt::Won(fence, holder, acquired_at))
        };
        ctx.spawn(attempt.into_actor(self).map(|result, leadership, ctx| {
            leadership.busy = false;
            match result {
                Ok(Attempt::Won(fence, holder, acquired_at)) if !leadership.draining => {
                    leadership.vacant_since = None;
                    leadership.lead(fence, holder, acquired_at, ctx);
                }
                Ok(Attempt::Won(_, holder, _)) => leadership.release(holder, ctx),
                Ok(Attempt::Vacant) => {
                    leadership.vacant_since.get_or_insert_with(Instant::now);
                }
                Ok(Attempt::Held(holder)) => {
                    leadership.vacant_since = None;
                    leadership.handle.set_remote(holder);
                }
                Err(error) => {
                    tracing::debug!(
                        room = leadership.room,
                        error = format!("{error:#}"),
                        "could not take the lease"
                    );
                }
            }
            leadership.schedule_next_step(ctx);
        }));
    }

    fn lead(&mut self, fence: store::Fence, holder: LeaseHolder, acquired_at: Instant, ctx: &mut Context<Self>) {
        tracing::info!(room = self.room, token = fence.token, "leading the room");
        let dependencies = RoomDependencies {
            pool: self.dependencies.pool.clone(),
            wallet: self.dependencies.wallet.clone(),
            chain_auto_generate_length: self.dependencies.chain_auto_generate_length,
            chain_retry: self.dependencies.chain_retry,
            closing_wait_max: self.dependencies.closing_wait_max,
            bus: self.dependencies.bus.clone(),
            channel: self.dependencies.namespace.room_channel(&self.room),
            view_key: self.dependencies.namespace.room_view_key(&self.room),
            leadership: ctx.address().recipient(),
        };
        let driver = CrashRoom::new(self.room.clone(), self.settings.clone(), fence, dependencies).start();
        self.handle.set_local(Some(driver.clone()));
        self.handle.set_remote(Some(holder.clone()));
        self.record_change("acquired");
        self.state = State::Leading {
            holder,
            driver,
            last_renewed: acquired_at,
        };
    }

    /// Counts this node taking or giving up the room, and shows whether it leads it now.
    fn record_change(&self, change: &'static str) {
        metrics::counter!("crash_leadership_changes_total", "room" => self.room.clone(), "change" => change)
            .increment(1);
        let leading = if change == "acquired" { 1.0 } else { 0.0 };
        metrics::gauge!("crash_room_leader", "room" => self.room.clone()).set(leading);
    }

    fn release(&mut self, holder: LeaseHolder, ctx: &mut Context<Self>) {
        let redis = self.dependencies.redis.clone();
        let key = self.key.clone();
        let release = async move { lease::release(&redis, &key, &holder).await };
        ctx.spawn(release.into_actor(self).map(|result, leadership, _| {
            if let Err(error) = result {
                tracing::warn!(room = leadership.room, %error, "failed to release the lease; it will expire");
            }
        }));
    }
}

impl Actor for RoomLeadership {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.step(ctx);
        // After a reconnect (a Sentinel failover, say) the leader renews at once, ahead of the followers.
        let mut reconnects = self.dependencies.redis.reconnect_rx();
        let leadership = ctx.address();
        tokio::spawn(async move {
            while reconnects.recv().await.is_ok() {
                if leadership.try_send(StepNow).is_err() && !leadership.connected() {
                    return;
                }
            }
        });
        let watchdog = self.renew_interval() / 4;
        ctx.run_interval(watchdog, |leadership, ctx| leadership.check_lease_age(ctx));
    }
}

impl Handler<StepNow> for RoomLeadership {
    type Result = ();

    /// Redis reconnected: a leader renews at once, even while a renewal sent on the old connection is
    /// still waiting for its timeout, so that it takes back its lease before any follower can.
    fn handle(&mut self, _: StepNow, ctx: &mut Context<Self>) {
        match &self.state {
            State::Leading { holder, .. } => self.renew(holder.clone(), false, ctx),
            State::Following => self.step(ctx),
        }
    }
}

impl Handler<DriverStopped> for RoomLeadership {
    type Result = ();

    /// The round actor stopped by itself (its fence was refused, or it retired): give the lease up.
    fn handle(&mut self, stopped: DriverStopped, ctx: &mut Context<Self>) {
        let State::Leading { holder, .. } = &self.state else {
            return;
        };
        if holder.token != Some(stopped.token) {
            return;
        }
        let holder = holder.clone();
        self.state = State::Following;
        self.record_change("released");
        self.handle.set_local(None);
        self.handle.set_remote(None);
        self.release(holder, ctx);
    }
}

impl Handler<Drain> for RoomLeadership {
    type Result = ();

    fn handle(&mut self, _: Drain, _: &mut Context<Self>) {
        self.draining = true;
        if let State::Leading { driver, .. } = &self.state {
            driver.do_send(Retire);
        }
    }
}
