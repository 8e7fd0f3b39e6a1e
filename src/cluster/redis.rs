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
    count_reconnects(client.reconnect_rx(), "commands");
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

/// Counts a client's reconnections (after a Sentinel failover, or a dropped connection) for the metrics.
fn count_reconnects(
    mut reconnects: tokio::sync::broadcast::Receiver<fred::types::config::Server>,
    client: &'static str,
) {
    tokio::spawn(async move {
        while reconnects.recv().await.is_ok() {
            metrics::counter!("redis_reconnects_total", "client" => client).increment(1);
        }
    });
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

/// Asks the Sentinels which Redis is the primary and how many failovers they have done, for the admin
/// dashboard. Holds one client per Sentinel (connected in the background) and asks them in turn.
#[derive(Clone)]
pub struct SentinelProbe {
    sentinels: Vec<(String, Client)>,
    service_name: String,
    timeout: Duration,
}

/// What the Sentinels say about the service.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SentinelView {
    /// The Sentinel that answered.
    pub asked: String,
    pub primary: String,
    /// The service's configuration epoch: it grows by one with every failover the Sentinels performed.
    pub failovers: u64,
    /// The Sentinels watching the service (the one asked and the others it knows).
    pub sentinels: u64,
}

impl SentinelProbe {
    /// Clients for every configured Sentinel; empty when Redis is reached directly.
    pub fn new(settings: &RedisSettings) -> anyhow::Result<SentinelProbe> {
        let addresses = settings
            .sentinel_addresses()
            .map_err(|reason| anyhow::anyhow!("redis.sentinels: {reason}"))?;
        let mut sentinels = Vec::with_capacity(addresses.len());
        for (host, port) in addresses {
            let config = Config {
                server: ServerConfig::new_centralized(host.clone(), port),
                ..Config::default()
            };
            let client = Builder::from_config(config)
                .set_connection_config(ConnectionConfig {
                    connection_timeout: Duration::from_millis(settings.connect_timeout_ms),
                    ..ConnectionConfig::default()
                })
                .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
                .build()
                .context("failed to build a Sentinel client")?;
            client.connect();
            sentinels.push((format!("{host}:{port}"), client));
        }
        Ok(SentinelProbe {
            sentinels,
            service_name: settings.service_name.clone(),
            timeout: Duration::from_millis(settings.command_timeout_ms),
        })
    }

    pub fn configured(&self) -> bool {
        !self.sentinels.is_empty()
    }

    /// The first answer of a Sentinel, or why none answered.
    pub async fn view(&self) -> anyhow::Result<SentinelView> {
        let mut last_error = anyhow::anyhow!("no Sentinel is configured");
        for (address, client) in &self.sentinels {
            match tokio::time::timeout(self.timeout, self.ask(client)).await {
                Ok(Ok((primary, failovers, others))) => {
                    return Ok(SentinelView {
                        asked: address.clone(),
                        primary,
                        failovers,
                        sentinels: others + 1,
                    })
                }
                Ok(Err(error)) => last_error = error.context(format!("Sentinel {address}")),
                Err(_) => last_error = anyhow::anyhow!("Sentinel {address} did not answer in time"),
            }
        }
        Err(last_error)
    }

    async fn ask(&self, client: &Client) -> anyhow::Result<(String, u64, u64)> {
        let fields: Vec<String> = client
            .custom(fred::cmd!("SENTINEL"), vec!["master", self.service_name.as_str()])
            .await?;
        let field = |name: &str| {
            fields
                .chunks(2)
                .find(|pair| pair[0] == name)
                .and_then(|pair| pair.get(1).cloned())
                .with_context(|| format!("the Sentinel's answer has no {name}"))
        };
        let primary = format!("{}:{}", field("ip")?, field("port")?);
        let failovers = field("config-epoch")?.parse().context("config-epoch is not a number")?;
        let others = field("num-other-sentinels")?
            .parse()
            .context("num-other-sentinels is not a number")?;
        Ok((primary, failovers, others))
    }
}
