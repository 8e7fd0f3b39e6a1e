//! Builds a node: pools, migrations, Redis, wallet shards, the room relays and leaderships, the pub/sub
//! listener and the HTTP server on its own listener (so port 0 works in tests), then runs it until a
//! signal and shuts down in order: hand rooms over, close sockets, finish in-flight requests, drain the
//! wallet.

use crate::admin::AdminCredential;
use crate::api::headers::{self, HeaderPolicy};
use crate::api::internal::ClusterSecret;
use crate::api::json::JsonLimits;
use crate::api::middleware;
use crate::api::rate_limit;
use crate::api::wallet::TopUpPolicy;
use crate::auth::revocation::TokenRevocations;
use crate::auth::{PasswordHasherConfig, TokenKeys};
use crate::catalog::rtp;
use crate::cluster::bus::EventBus;
use crate::cluster::drain::{DrainSwitch, Readiness};
use crate::cluster::listener::{self, Listener, PubsubHealth};
use crate::cluster::push::PlayerPush;
use crate::cluster::registry::{self, Registration};
use crate::cluster::{self, Namespace, NodeInfo};
use crate::configuration::Settings;
use crate::db::Database;
use crate::economy::referrals::{self, ReferralPolicy};
use crate::games::crash::forward::{BatchLimits, Forwarder, ForwarderSettings};
use crate::games::crash::leadership::CrashLeaders;
use crate::games::crash::leadership::{Drain, LeaderHandle, LeadershipDependencies, RoomLeadership};
use crate::games::instant::recovery::{self, RecoverySettings};
use crate::games::instant::InstantGames;
use crate::games::leaderboard::Leaderboards;
use crate::games::registry::Registry;
use crate::games::slots::server::recovery as slot_recovery;
use crate::games::slots::server::{SlotService, SweepSettings};
use crate::providers::service::ProviderWallet;
use crate::session::actor::SessionContext;
use crate::session::balance::{self, BALANCE_FEED_CAPACITY};
use crate::session::close_code;
use crate::session::players::PlayerSockets;
use crate::session::relay::CrashRooms;
use crate::session::relay::{CloseAll, RelayDependencies, RoomRelay};
use crate::session::transport::server::{self, OpenSockets, ServerOptions};
use crate::wallet::observer::BalanceFeed;
use crate::wallet::Wallet;
use actix::{Actor, Addr};
use actix_web::dev::Server;
use actix_web::{middleware::from_fn, web, App};
use anyhow::Context;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often shutdown checks whether the rooms this node led have been handed over.
const HANDOVER_POLL_MS: u64 = 50;

mod http_server;
mod memory_trim;
mod services;
use http_server::{build_server, ServerParts};
use services::{start_instant_games, start_player_pushes, start_rooms, start_slot_games};

/// A built node, bound to its port and ready to run.
pub struct Application {
    port: u16,
    redis: fred::prelude::Client,
    namespace: Namespace,
    node_id: String,
    drain: Arc<DrainSwitch>,
    server: Server,
    /// The node's open WebSockets: each lives in a task of its own, which a stop of the server would
    /// drop, so a graceful stop waits for them (up to `shutdown_timeout`) first.
    sockets: OpenSockets,
    shutdown_timeout: Duration,
    wallet: Wallet,
    rooms: CrashRooms,
    leaders: CrashLeaders,
    leaderships: Vec<Addr<RoomLeadership>>,
    readiness: Arc<Readiness>,
    database: Database,
    handover_timeout: Duration,
    push: PlayerPush,
}

/// The rooms of a node: relays for its players, leaderships competing to drive each room.
struct Rooms {
    forwarder: Forwarder,
    relays: CrashRooms,
    leaders: CrashLeaders,
    leaderships: Vec<Addr<RoomLeadership>>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        // Before any actor registers its series: a handle taken without a recorder records nothing.
        crate::metrics::install();
        memory_trim::start(Duration::from_millis(settings.application.memory_trim_interval_ms));
        let database = Database::connect_lazy(&settings.database);
        if settings.application.migrate_on_start {
            database.migrate().await?;
        }
        let redis = cluster::redis::connect(&settings.redis).await?;
        let subscriber = cluster::redis::connect_subscriber(&settings.redis).await?;
        let wallet = Wallet::start_with(
            &database,
            &settings.wallet,
            settings.currency(),
            settings.bonus.stake_order,
        )
        .await
        .context("failed to start the wallet")?;
        let address = format!("{}:{}", settings.application.host, settings.application.port);
        let listener = TcpListener::bind(&address).with_context(|| format!("failed to bind {address}"))?;
        let port = listener.local_addr()?.port();
        let node = NodeInfo {
            node_id: settings.application.node_id.clone(),
            version: env!("CARGO_PKG_VERSION"),
            started_at: chrono::Utc::now(),
            url: advertised_url(&settings, port),
        };
        let namespace = Namespace::new(&settings.cluster.namespace);
        let rooms = start_rooms(&settings, &database, &wallet, &redis, &node, &namespace)?;
        let pubsub = Arc::new(PubsubHealth::new(Duration::from_millis(
            settings.cluster.pubsub_heartbeat_stale_ms,
        )));
        let mut relays = rooms
            .relays
            .rooms
            .iter()
            .map(|(name, relay)| (namespace.room_channel(name), relay.clone().recipient()))
            .collect::<HashMap<_, _>>();
        let revocations = TokenRevocations::new(database.writer.clone(), &settings.auth);
        let (players, push) = start_player_pushes(&settings, &wallet, &redis, &namespace, &revocations);
        relays.insert(namespace.players_channel(), players.clone().recipient());
        listener::start(Listener {
            subscriber,
            publisher: redis.clone(),
            node_id: node.node_id.clone(),
            heartbeat_channel: namespace.heartbeat_channel(),
            heartbeat_interval: Duration::from_millis(settings.cluster.pubsub_heartbeat_interval_ms),
            relays,
            health: pubsub.clone(),
        })
        .await;
        let games = start_instant_games(&settings, &database, &wallet);
        let slots = start_slot_games(&settings, &database, &wallet, &push).await?;
        // Before the node serves: the lobby, launches and RTP tracking find every house game in the catalog.
        crate::games::house::sync(&database.writer, &settings, slots.catalog()).await?;
        let provider_wallet = ProviderWallet::start(database.writer.clone(), wallet.clone(), &settings.providers);
        let referral_policy = ReferralPolicy::new(&settings.referral, &settings.bonus);
        referrals::start_sweeper(database.writer.clone(), wallet.clone(), referral_policy);
        let rtp_refresh = Duration::from_millis(settings.rtp.refresh_interval_ms);
        rtp::gauges::start(database.reader.clone(), rtp::thresholds(&settings.rtp), rtp_refresh);
        let readiness = Arc::new(Readiness::default());
        let connections = Arc::new(AtomicU64::new(0));
        let drain = Arc::new(DrainSwitch::default());
        registry::start(Registration {
            redis: redis.clone(),
            namespace: namespace.clone(),
            node: node.clone(),
            rooms_led_here: {
                let leaders = rooms.leaders.clone();
                Box::new(move || leaders.led_here())
            },
            readiness: readiness.clone(),
            pubsub: pubsub.clone(),
            connections: connections.clone(),
            interval: Duration::from_millis(settings.cluster.node_heartbeat_interval_ms),
            ttl: Duration::from_millis(settings.cluster.node_record_ttl_ms),
        });
        let parts = ServerParts {
            forwarder: rooms.forwarder.clone(),
            sentinels: cluster::redis::SentinelProbe::new(&settings.redis)?,
            connections,
            drain: drain.clone(),
            namespace: namespace.clone(),
            games,
            slots,
            provider_wallet,
            database: database.clone(),
            wallet: wallet.clone(),
            rooms: rooms.relays.clone(),
            leaders: rooms.leaders.clone(),
            redis: redis.clone(),
            readiness: readiness.clone(),
            pubsub,
            node: node.clone(),
            players,
            push: push.clone(),
            revocations,
        };
        let sockets = OpenSockets::default();
        let server = build_server(listener, &settings, parts, sockets.clone())?;
        tracing::info!(node_id = %node.node_id, port, url = %node.url, "node listening");
        Ok(Application {
            port,
            redis,
            namespace,
            node_id: node.node_id.clone(),
            drain,
            server,
            sockets,
            shutdown_timeout: Duration::from_secs(settings.application.shutdown_timeout_s),
            wallet,
            rooms: rooms.relays,
            leaders: rooms.leaders,
            leaderships: rooms.leaderships,
            readiness,
            database,
            handover_timeout: Duration::from_secs(settings.application.handover_timeout_s),
            push,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    pub fn rooms(&self) -> &CrashRooms {
        &self.rooms
    }

    /// Pushes to single players on every node (see `cluster::push`).
    pub fn player_push(&self) -> &PlayerPush {
        &self.push
    }

    /// Serves until SIGINT or SIGTERM, then shuts down in order: mark the node not ready, ask the rooms
    /// it leads to finish their current round and hand over, close every player socket with a reason (so
    /// clients reconnect elsewhere), wait for the handover (bounded by the handover timeout) while still
    /// answering forwarded requests, stop accepting and let in-flight requests finish, and commit
    /// whatever the wallet shards still hold.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let mut server = actix_web::rt::spawn(self.server);
        let stop_requested = async {
            tokio::select! {
                () = shutdown_signal() => tracing::info!("shutdown signal received"),
                () = self.drain.requested() => tracing::info!("drain requested by an operator"),
            }
        };
        let result = tokio::select! {
            result = &mut server => result,
            () = stop_requested => {
                self.readiness.start_draining();
                for leadership in &self.leaderships {
                    leadership.do_send(Drain);
                }
                for room in self.rooms.rooms.values() {
                    room.do_send(CloseAll { code: close_code::GOING_AWAY, reason: "server shutting down; reconnect".into() });
                }
                wait_for_handover(&self.leaders, self.handover_timeout).await;
                let still_open = self.sockets.wait_until_closed(self.shutdown_timeout).await;
                if still_open > 0 {
                    tracing::warn!(still_open, "sockets still open at the shutdown timeout; dropping them");
                }
                handle.stop(true).await;
                server.await
            }
        };
        self.readiness.start_draining();
        tracing::info!("HTTP server stopped; draining the wallet");
        self.wallet.drain().await;
        registry::deregister(&self.redis, &self.namespace, &self.node_id).await;
        tracing::info!("wallet drained; node stopped");
        result
            .context("the HTTP server task failed")?
            .context("the HTTP server failed")
    }
}

/// Waits until this node leads no room (each finished its round and released its lease), or `limit`.
async fn wait_for_handover(leaders: &CrashLeaders, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !leaders.led_here().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(HANDOVER_POLL_MS)).await;
    }
    let still_led = leaders.led_here();
    if still_led.is_empty() {
        tracing::info!("rooms handed over");
    } else {
        tracing::warn!(
            ?still_led,
            "rooms not handed over in time; the next leader will recover them"
        );
    }
}

/// The URL other nodes reach this one at: configured, or derived from the bound port on loopback.
fn advertised_url(settings: &Settings, port: u16) -> String {
    if !settings.cluster.advertise_url.is_empty() {
        return settings.cluster.advertise_url.trim_end_matches('/').to_owned();
    }
    let host = match settings.application.host.as_str() {
        "0.0.0.0" | "::" => "127.0.0.1",
        host => host,
    };
    format!("http://{host}:{port}")
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
