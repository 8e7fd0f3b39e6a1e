//! Builds a node: pools, migrations, Redis, wallet shards and the HTTP server on its own listener (so
//! port 0 works in tests), then runs it until a signal and shuts down in order: stop accepting, finish
//! in-flight requests, drain the wallet.

use crate::admin::AdminCredential;
use crate::api::health::Readiness;
use crate::api::json::JsonLimits;
use crate::api::middleware;
use crate::api::wallet::TopUpPolicy;
use crate::auth::{PasswordHasherConfig, TokenKeys};
use crate::cluster::{self, NodeInfo};
use crate::configuration::Settings;
use crate::db::Database;
use crate::games::crash::room::{CloseAll, CrashRoom, RoomDependencies};
use crate::games::crash::{recovery, CrashRooms};
use crate::session::actor::{close_code, SessionContext};
use crate::wallet::Wallet;
use actix::Actor;
use actix_web::dev::Server;
use actix_web::{middleware::from_fn, web, App, HttpServer};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// A built node, bound to its port and ready to run.
pub struct Application {
    port: u16,
    server: Server,
    wallet: Wallet,
    rooms: CrashRooms,
    readiness: Arc<Readiness>,
    database: Database,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let database = Database::connect_lazy(&settings.database);
        if settings.application.migrate_on_start {
            database.migrate().await?;
        }
        let redis = cluster::redis::connect(&settings.redis).await?;
        let wallet = Wallet::start(&database, &settings.wallet, settings.currency())
            .await
            .context("failed to start the wallet")?;
        let rooms = start_rooms(&settings, &database, &wallet).await?;
        let address = format!("{}:{}", settings.application.host, settings.application.port);
        let listener = TcpListener::bind(&address).with_context(|| format!("failed to bind {address}"))?;
        let port = listener.local_addr()?.port();
        let readiness = Arc::new(Readiness::default());
        let parts = ServerParts {
            database: database.clone(),
            wallet: wallet.clone(),
            rooms: rooms.clone(),
            redis,
            readiness: readiness.clone(),
        };
        let server = build_server(listener, &settings, parts)?;
        tracing::info!(node_id = %settings.application.node_id, port, "node listening");
        Ok(Application {
            port,
            server,
            wallet,
            rooms,
            readiness,
            database,
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

    /// Serves until SIGINT or SIGTERM, then shuts down in order: mark the node not ready, close every
    /// player socket with a reason (so clients reconnect elsewhere), stop accepting and let in-flight
    /// requests finish within the shutdown timeout, and commit whatever the wallet shards still hold.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let mut server = actix_web::rt::spawn(self.server);
        let result = tokio::select! {
            result = &mut server => result,
            () = shutdown_signal() => {
                tracing::info!("shutdown signal received");
                self.readiness.start_draining();
                for room in self.rooms.rooms.values() {
                    room.do_send(CloseAll { code: close_code::GOING_AWAY, reason: "server shutting down; reconnect".into() });
                }
                handle.stop(true).await;
                server.await
            }
        };
        self.readiness.start_draining();
        tracing::info!("HTTP server stopped; draining the wallet");
        self.wallet.drain().await;
        tracing::info!("wallet drained; node stopped");
        result
            .context("the HTTP server task failed")?
            .context("the HTTP server failed")
    }
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

/// Finishes what a previous process left unsettled, then starts one round actor per configured room.
async fn start_rooms(settings: &Settings, database: &Database, wallet: &Wallet) -> anyhow::Result<CrashRooms> {
    let mut rooms = CrashRooms::default();
    for (name, room_settings) in &settings.crash.rooms {
        let report = recovery::recover_room(&database.writer, wallet, name)
            .await
            .with_context(|| format!("failed to recover room {name}"))?;
        if report.rounds > 0 {
            tracing::warn!(room = name, ?report, "recovered unsettled rounds");
        }
        let dependencies = RoomDependencies {
            pool: database.writer.clone(),
            wallet: wallet.clone(),
            chain_auto_generate_length: settings.crash.chain_auto_generate_length,
            chain_retry: Duration::from_millis(settings.crash.chain_retry_ms),
            closing_wait_max: Duration::from_millis(settings.crash.closing_wait_max_ms),
        };
        let room = CrashRoom::new(name.clone(), room_settings.clone(), dependencies).start();
        rooms.rooms.insert(name.clone(), room);
    }
    Ok(rooms)
}

/// What the HTTP server shares with its handlers.
struct ServerParts {
    database: Database,
    wallet: Wallet,
    rooms: CrashRooms,
    redis: fred::prelude::Client,
    readiness: Arc<Readiness>,
}

fn build_server(listener: TcpListener, settings: &Settings, parts: ServerParts) -> anyhow::Result<Server> {
    let ServerParts {
        database,
        wallet,
        rooms,
        redis,
        readiness,
    } = parts;
    let auto_cashout_max = settings
        .crash
        .rooms
        .values()
        .map(|room| room.auto_cashout_max)
        .max()
        .unwrap_or(0);
    let sessions = web::Data::new(SessionContext {
        rooms,
        keys: TokenKeys::new(&settings.auth),
        pool: database.writer.clone(),
        settings: settings.session.clone(),
        auto_cashout_max,
    });
    let shared_settings = web::Data::new(settings.clone());
    let node = web::Data::new(NodeInfo {
        node_id: settings.application.node_id.clone(),
        version: env!("CARGO_PKG_VERSION"),
        started_at: chrono::Utc::now(),
    });
    let database = web::Data::new(database);
    let wallet = web::Data::new(wallet);
    let redis = web::Data::new(redis);
    let readiness = web::Data::from(readiness);
    let keys = web::Data::new(TokenKeys::new(&settings.auth));
    let hasher = web::Data::new(PasswordHasherConfig::new(&settings.auth)?);
    let admin = web::Data::new(AdminCredential {
        username: settings.admin.username.clone(),
        password: settings.admin.password.clone(),
    });
    let limits = web::Data::new(JsonLimits {
        body_bytes_max: settings.application.request_body_limit_bytes,
        depth_max: settings.application.json_depth_max,
    });
    let top_up = web::Data::new(TopUpPolicy {
        max_micros: settings.wallet.top_up_max_micros,
    });
    let dev_top_up_enabled = settings.wallet.dev_top_up_enabled;
    let body_limit = settings.application.request_body_limit_bytes;
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(middleware::catch_panics))
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(middleware::query_config())
            .app_data(middleware::path_config())
            .app_data(node.clone())
            .app_data(database.clone())
            .app_data(wallet.clone())
            .app_data(redis.clone())
            .app_data(readiness.clone())
            .app_data(keys.clone())
            .app_data(hasher.clone())
            .app_data(admin.clone())
            .app_data(limits.clone())
            .app_data(top_up.clone())
            .app_data(sessions.clone())
            .app_data(shared_settings.clone())
            .configure(|config| crate::api::configure(config, dev_top_up_enabled))
            .default_service(web::to(middleware::not_found))
    })
    .disable_signals()
    .shutdown_timeout(settings.application.shutdown_timeout_s)
    .client_request_timeout(Duration::from_secs(10))
    .listen(listener)?;
    if settings.application.workers > 0 {
        server = server.workers(settings.application.workers);
    }
    Ok(server.run())
}
