//! The node's Redis client (fred). Redis holds live coordination only, never money.

use crate::configuration::RedisSettings;
use anyhow::Context;
use fred::prelude::*;
use std::time::Duration;

/// Connects with a reconnect policy. A Redis that is down at start-up does not stop the node: it keeps
/// reconnecting in the background and `/health` reports Redis as down meanwhile.
pub async fn connect(settings: &RedisSettings) -> anyhow::Result<Client> {
    let config = Config {
        server: ServerConfig::new_centralized(settings.host.clone(), settings.port),
        ..Config::default()
    };
    let connection = ConnectionConfig {
        connection_timeout: Duration::from_millis(settings.connect_timeout_ms),
        internal_command_timeout: Duration::from_millis(settings.command_timeout_ms),
        ..ConnectionConfig::default()
    };
    let performance = PerformanceConfig {
        default_command_timeout: Duration::from_millis(settings.command_timeout_ms),
        ..PerformanceConfig::default()
    };
    let client = Builder::from_config(config)
        .set_connection_config(connection)
        .set_performance_config(performance)
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
        .build()
        .context("failed to build the Redis client")?;
    client.connect();
    let wait = Duration::from_millis(settings.connect_timeout_ms);
    match tokio::time::timeout(wait, client.wait_for_connect()).await {
        Ok(Ok(())) => tracing::info!(host = %settings.host, port = settings.port, "connected to Redis"),
        _ => {
            tracing::warn!(host = %settings.host, port = settings.port, "Redis is not reachable yet; retrying in the background")
        }
    }
    Ok(client)
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
