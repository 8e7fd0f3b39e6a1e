//! The node's HTTP server: every handler's shared state, the middleware and the routes, on the listener
//! the node bound.

use super::*;

/// What the HTTP server shares with its handlers.
pub(super) struct ServerParts {
    pub(super) forwarder: Forwarder,
    pub(super) sentinels: cluster::redis::SentinelProbe,
    pub(super) connections: Arc<AtomicU64>,
    pub(super) drain: Arc<DrainSwitch>,
    pub(super) namespace: Namespace,
    pub(super) games: InstantGames,
    pub(super) slots: SlotService,
    pub(super) provider_wallet: ProviderWallet,
    pub(super) database: Database,
    pub(super) wallet: Wallet,
    pub(super) rooms: CrashRooms,
    pub(super) leaders: CrashLeaders,
    pub(super) redis: fred::prelude::Client,
    pub(super) readiness: Arc<Readiness>,
    pub(super) pubsub: Arc<PubsubHealth>,
    pub(super) node: NodeInfo,
    pub(super) players: Addr<PlayerSockets>,
    pub(super) push: PlayerPush,
    pub(super) revocations: TokenRevocations,
}

pub(super) fn build_server(
    listener: TcpListener,
    settings: &Settings,
    parts: ServerParts,
    sockets: OpenSockets,
) -> anyhow::Result<Server> {
    let ServerParts {
        forwarder,
        sentinels,
        connections,
        drain,
        namespace,
        games,
        slots,
        provider_wallet,
        database,
        wallet,
        rooms,
        leaders,
        redis,
        readiness,
        pubsub,
        node,
        players,
        push,
        revocations,
    } = parts;
    let auto_cashout_max = settings
        .crash
        .rooms
        .values()
        .map(|room| room.auto_cashout_max)
        .max()
        .unwrap_or(0);
    let (rate_limiter, rate_limits) = rate_limit::from_settings(settings, &redis)?;
    let header_policy = web::Data::new(HeaderPolicy::from_settings(&settings.http_headers)?);
    let room_relays = web::Data::new(rooms.clone());
    let forwarder = web::Data::new(forwarder);
    let sentinels = web::Data::new(sentinels);
    let sessions = web::Data::new(SessionContext {
        rooms,
        keys: TokenKeys::new(&settings.auth),
        pool: database.writer.clone(),
        reader: database.reader.clone(),
        reality_check_interval: std::time::Duration::from_secs(settings.responsible_gaming.reality_check_interval_s),
        settings: settings.session.clone(),
        auto_cashout_max,
        connections,
        players,
        rate_limiter: rate_limiter.clone(),
        rate_limits: rate_limits.clone(),
        revocations: revocations.clone(),
    });
    let rate_limiter = web::Data::new(rate_limiter);
    let rate_limits = web::Data::new(rate_limits);
    let revocations = web::Data::new(revocations);
    let push = web::Data::new(push);
    let drain = web::Data::from(drain);
    let namespace = web::Data::new(namespace);
    let shared_settings = web::Data::new(settings.clone());
    let metrics = web::Data::new(crate::metrics::install());
    let games = web::Data::new(games);
    let slots = web::Data::new(slots);
    let provider_wallet = web::Data::new(provider_wallet);
    let leaderboards = web::Data::new(Leaderboards::new(
        database.reader.clone(),
        Duration::from_millis(settings.games.leaderboard_cache_ttl_ms),
    ));
    let node = web::Data::new(node);
    let leaders = web::Data::new(leaders);
    let pubsub = web::Data::from(pubsub);
    let cluster_secret = web::Data::new(ClusterSecret(settings.cluster.secret.clone()));
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
    let app = move || {
        App::new()
            .wrap(from_fn(middleware::refuse_nul_characters))
            .wrap(from_fn(middleware::catch_panics))
            .wrap(from_fn(rate_limit::limit_requests))
            .wrap(from_fn(middleware::record_requests))
            .wrap(from_fn(headers::add_headers))
            .app_data(rate_limiter.clone())
            .app_data(rate_limits.clone())
            .app_data(header_policy.clone())
            .app_data(metrics.clone())
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(middleware::query_config())
            .app_data(middleware::path_config())
            .app_data(node.clone())
            .app_data(drain.clone())
            .app_data(room_relays.clone())
            .app_data(forwarder.clone())
            .app_data(sentinels.clone())
            .app_data(namespace.clone())
            .app_data(leaders.clone())
            .app_data(pubsub.clone())
            .app_data(cluster_secret.clone())
            .app_data(database.clone())
            .app_data(wallet.clone())
            .app_data(redis.clone())
            .app_data(readiness.clone())
            .app_data(keys.clone())
            .app_data(revocations.clone())
            .app_data(hasher.clone())
            .app_data(admin.clone())
            .app_data(limits.clone())
            .app_data(top_up.clone())
            .app_data(sessions.clone())
            .app_data(push.clone())
            .app_data(games.clone())
            .app_data(slots.clone())
            .app_data(provider_wallet.clone())
            .app_data(leaderboards.clone())
            .app_data(shared_settings.clone())
            .configure(crate::openapi::configure)
            .configure(|config| crate::api::configure(config, dev_top_up_enabled, crate::admin::configure))
            .default_service(web::to(middleware::not_found))
    };
    let options = ServerOptions {
        workers: settings.application.workers,
        shutdown_timeout_s: settings.application.shutdown_timeout_s,
        client_request_timeout: Duration::from_secs(10),
        sockets,
        sockets_max: settings.session.sockets_max,
    };
    Ok(server::serve(listener, options, app)?)
}
