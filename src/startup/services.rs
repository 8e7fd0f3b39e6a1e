//! What a node starts before it serves: each room's relay and leadership, the players' balance pushes,
//! the instant games and the slot games with their recovery sweeps.

use super::*;

/// Starts, for every configured room, the relay that serves this node's players and the leadership
/// that competes for the room's lease (and runs its round actor while it holds it).
pub(super) fn start_rooms(
    settings: &Settings,
    database: &Database,
    wallet: &Wallet,
    redis: &fred::prelude::Client,
    node: &NodeInfo,
    namespace: &Namespace,
) -> anyhow::Result<Rooms> {
    let cluster = &settings.cluster;
    let forwarder = Forwarder::new(ForwarderSettings {
        redis: redis.clone(),
        namespace: namespace.clone(),
        secret: cluster.secret.clone(),
        timeout: Duration::from_millis(cluster.forward_timeout_ms),
        in_flight_max: cluster.forward_in_flight_max,
        batching: BatchLimits {
            window: Duration::from_millis(cluster.forward_batch_window_ms),
            bets_max: cluster.forward_batch_bets_max as usize,
        },
    })
    .context("failed to build the forwarding client")?;
    let bus = EventBus::start(redis.clone(), cluster.publish_queue_capacity as usize, "rooms");
    let leadership_dependencies = LeadershipDependencies {
        pool: database.writer.clone(),
        wallet: wallet.clone(),
        redis: redis.clone(),
        bus,
        cluster: cluster.clone(),
        namespace: namespace.clone(),
        node_id: node.node_id.clone(),
        url: node.url.clone(),
        chain_auto_generate_length: settings.crash.chain_auto_generate_length,
        chain_retry: Duration::from_millis(settings.crash.chain_retry_ms),
        closing_wait_max: Duration::from_millis(settings.crash.closing_wait_max_ms),
    };
    let mut rooms = Rooms {
        forwarder: forwarder.clone(),
        relays: CrashRooms::default(),
        leaders: CrashLeaders::default(),
        leaderships: Vec::new(),
    };
    // The relays fan every tick out to this node's sockets, writing to each: on a thread of their own,
    // a tick never waits behind the rounds', the wallet's or the leaderships' work on the main one.
    let relay_thread = actix::Arbiter::new().handle();
    for (name, room_settings) in &settings.crash.rooms {
        let leader = LeaderHandle::default();
        let relay = RoomRelay::new(
            name.clone(),
            RelayDependencies {
                leader: leader.clone(),
                forwarder: forwarder.clone(),
                redis: redis.clone(),
                pool: database.writer.clone(),
                mailbox_capacity: cluster.relay_mailbox_capacity as usize,
                tick_interval_ms: room_settings.tick_interval_ms,
                view_key: namespace.room_view_key(name),
            },
        );
        let relay = RoomRelay::start_in_arbiter(&relay_thread, |_| relay);
        let leadership = RoomLeadership::new(
            name.clone(),
            room_settings.clone(),
            leadership_dependencies.clone(),
            leader.clone(),
        )
        .start();
        rooms.relays.rooms.insert(name.clone(), relay);
        rooms.leaders.rooms.insert(name.clone(), leader);
        rooms.leaderships.push(leadership);
    }
    Ok(rooms)
}

/// The directory of this node's player sockets (fed by the players channel) and the publisher of pushes
/// to single players, with the wallet's balance changes wired to it as `balance_updated` pushes.
pub(super) fn start_player_pushes(
    settings: &Settings,
    wallet: &Wallet,
    redis: &fred::prelude::Client,
    namespace: &Namespace,
    revocations: &TokenRevocations,
) -> (Addr<PlayerSockets>, PlayerPush) {
    let cluster = &settings.cluster;
    let players = PlayerSockets::new(cluster.relay_mailbox_capacity as usize, revocations.clone()).start();
    let bus = EventBus::start(redis.clone(), cluster.publish_queue_capacity as usize, "players");
    let push = PlayerPush::new(bus, namespace);
    let (feed, changes) = BalanceFeed::channel(BALANCE_FEED_CAPACITY);
    if wallet.report_balances_to(feed) {
        tokio::spawn(balance::push_balance_changes(changes, push.clone()));
    }
    (players, push)
}

/// The per-player games, and the sweep that finishes their bets after a failure.
pub(super) fn start_instant_games(settings: &Settings, database: &Database, wallet: &Wallet) -> InstantGames {
    let games = &settings.games;
    recovery::start(
        database.writer.clone(),
        wallet.clone(),
        RecoverySettings {
            interval: Duration::from_millis(games.recovery_interval_ms),
            age: Duration::from_millis(games.recovery_age_ms),
            batch_max: games.recovery_batch_max,
        },
    );
    InstantGames::new(
        Registry::from_settings(settings),
        database.writer.clone(),
        wallet.clone(),
    )
}

/// The slot server, and the sweeps that finish its rounds after a failure or when a player leaves one.
pub(super) async fn start_slot_games(
    settings: &Settings,
    database: &Database,
    wallet: &Wallet,
    push: &PlayerPush,
) -> anyhow::Result<SlotService> {
    let games = &settings.games;
    let slots = SlotService::start(
        &games.slots,
        database.writer.clone(),
        database.reader.clone(),
        wallet.clone(),
        push.clone(),
    )
    .await?;
    slot_recovery::start(
        database.writer.clone(),
        wallet.clone(),
        push.clone(),
        SweepSettings {
            interval: Duration::from_millis(games.recovery_interval_ms),
            unsettled_age: Duration::from_millis(games.recovery_age_ms),
            batch_max: games.recovery_batch_max,
            abandoned_after: Duration::from_secs(games.slots.abandoned_round_after_s),
            abandoned_batch_max: games.slots.abandoned_batch_max,
        },
    );
    Ok(slots)
}
