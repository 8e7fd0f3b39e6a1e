//! The node's Redis clients (fred). Redis holds live coordination only, never money: leases, the event bus
//! and room views. With Sentinels configured the clients ask them for the current primary, and find the
//! new one after a failover by reconnecting.

use crate::configuration::RedisSettings;
use anyhow::Context;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::config::Server;
use std::time::Duration;

/// Pub/sub messages buffered per receiver before a slow one lags (and resyncs).
const BROADCAST_CHANNEL_CAPACITY: usize = 4096;

fn builder(settings: &RedisSettings) -> anyhow::Result<Builder> {
    let sentinels = settings
        .sentinel_addresses()
        .map_err(|reason| anyhow::anyhow!("redis.sentinels: {reason}"))?;
    let server = if sentinels.is_empty() {
        ServerConfig::new_centralized(settings.host.clone(), settings.port)
    } else {
        ServerConfig::Sentinel {
            hosts: sentinels
                .into_iter()
                .map(|(host, port)| Server::new(host, port))
                .collect(),
            service_name: settings.service_name.clone(),
        }
    };
    let connection = ConnectionConfig {
        connection_timeout: Duration::from_millis(settings.connect_timeout_ms),
        internal_command_timeout: Duration::from_millis(settings.command_timeout_ms),
        ..ConnectionConfig::default()
    };
    let performance = PerformanceConfig {
        default_command_timeout: Duration::from_millis(settings.command_timeout_ms),
        broadcast_channel_capacity: BROADCAST_CHANNEL_CAPACITY,
        ..PerformanceConfig::default()
    };
    let mut builder = Builder::from_config(Config {
        server,
        ..Config::default()
    });
    builder
        .set_connection_config(connection)
        .set_performance_config(performance)
        // Reconnect quickly (a Sentinel failover takes a few seconds) and forever.
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 1_000, 2));
    Ok(builder)
}

/// Connects the command client. A Redis that is down at start-up does not stop the node: it keeps
/// reconnecting in the background and `/health` reports Redis as down meanwhile.
pub async fn connect(settings: &RedisSettings) -> anyhow::Result<Client> {
    let client = builder(settings)?.build().context("failed to build the Redis client")?;
    client.connect();
    wait_briefly(settings, client.wait_for_connect()).await;
    Ok(client)
}

/// Connects the pub/sub client, which resubscribes to its channels after every reconnect.
pub async fn connect_subscriber(settings: &RedisSettings) -> anyhow::Result<SubscriberClient> {
    let client = builder(settings)?
        .build_subscriber_client()
        .context("failed to build the Redis subscriber client")?;
    client.connect();
    client.manage_subscriptions();
    wait_briefly(settings, client.wait_for_connect()).await;
    Ok(client)
}

async fn wait_briefly(settings: &RedisSettings, connected: impl std::future::Future<Output = Result<(), Error>>) {
    let wait = Duration::from_millis(settings.connect_timeout_ms);
    let target = if settings.sentinels.is_empty() {
        format!("{}:{}", settings.host, settings.port)
    } else {
        format!("sentinels {} ({})", settings.sentinels, settings.service_name)
    };
    match tokio::time::timeout(wait, connected).await {
        Ok(Ok(())) => tracing::info!(%target, "connected to Redis"),
        _ => tracing::warn!(%target, "Redis is not reachable yet; retrying in the background"),
    }
}

/// Round-trips a PING within `timeout`.
pub async fn ping(client: &Client, timeout: Duration) -> anyhow::Result<()> {
    let reply: String = tokio::time::timeout(timeout, client.ping(None))
        .await
        .context("Redis did not answer PING in time")?
        .context("Redis PING failed")?;
    anyhow::ensure!(reply == "PONG", "unexpected PING reply {reply:?}");
    Ok(())
}
