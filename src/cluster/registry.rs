//! The cluster registry: every node writes a record of itself to Redis on a heartbeat (who it is, where it
//! listens, how many players it holds, which rooms it leads, its load), with a TTL, so that a node that
//! dies drops out of the list on its own. The admin dashboard reads the list from any node.
//!
//! Records are plain keys with an expiry (`{ns}:node:{id}`) indexed by a sorted set (`{ns}:nodes`) scored
//! by when each record expires; listing trims the expired members first, so the set never grows with
//! nodes that are gone.

use super::drain::Readiness;
use super::listener::PubsubHealth;
use super::{Namespace, NodeInfo};
use chrono::{DateTime, Utc};
use fred::prelude::*;
use fred::types::Expiration;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many records one listing reads at most: far more nodes than any cluster runs.
const NODES_LISTED_MAX: i64 = 1_000;

/// What a node says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeRecord {
    pub node_id: String,
    pub url: String,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Its own heartbeat comes back through Redis pub/sub (the node's Redis path works end to end; a
    /// node that cannot reach Redis cannot write this record at all).
    pub healthy: bool,
    pub draining: bool,
    /// WebSocket sessions open on the node.
    pub connections: u64,
    pub leader_of: Vec<String>,
    pub load: NodeLoad,
}

/// The node process's load, read from `/proc` (absent where that is not available).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NodeLoad {
    /// CPU time used since the previous heartbeat, in percent of one core.
    pub cpu_percent: Option<f64>,
    pub rss_bytes: Option<u64>,
    pub load_average_1m: Option<f64>,
}

/// Everything the heartbeat reads to describe the node.
pub struct Registration {
    pub redis: Client,
    pub namespace: Namespace,
    pub node: NodeInfo,
    /// The rooms this node leads right now (the games know; the registry only reports them).
    pub rooms_led_here: Box<dyn Fn() -> Vec<String> + Send + Sync>,
    pub readiness: Arc<Readiness>,
    pub pubsub: Arc<PubsubHealth>,
    pub connections: Arc<AtomicU64>,
    pub interval: Duration,
    pub ttl: Duration,
}

impl Registration {
    fn record(&self, load: NodeLoad) -> NodeRecord {
        NodeRecord {
            node_id: self.node.node_id.clone(),
            url: self.node.url.clone(),
            version: self.node.version.to_owned(),
            started_at: self.node.started_at,
            updated_at: Utc::now(),
            healthy: self.pubsub.is_fresh(),
            draining: self.readiness.is_draining(),
            connections: self.connections.load(Ordering::Relaxed),
            leader_of: (self.rooms_led_here)(),
            load,
        }
    }

    async fn write(&self, record: &NodeRecord) -> Result<(), Error> {
        let json = serde_json::to_string(record).expect("a node record serializes");
        let expires_at_ms = (record.updated_at.timestamp_millis() + self.ttl.as_millis() as i64) as f64;
        let ttl_ms = self.ttl.as_millis() as i64;
        let pipeline = self.redis.pipeline();
        let _: () = pipeline
            .set(
                self.namespace.node_key(&record.node_id),
                json,
                Some(Expiration::PX(ttl_ms)),
                None,
                false,
            )
            .await?;
        let _: () = pipeline
            .zadd(
                self.namespace.nodes_key(),
                None,
                None,
                false,
                false,
                (expires_at_ms, record.node_id.as_str()),
            )
            .await?;
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }
}

/// Writes the node's record now and then every interval, for as long as the node runs.
pub fn start(registration: Registration) {
    tokio::spawn(async move {
        let mut cpu = CpuMeter::new();
        let mut ticker = tokio::time::interval(registration.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let record = registration.record(NodeLoad {
                cpu_percent: cpu.percent_since_last(),
                rss_bytes: resident_bytes(),
                load_average_1m: load_average_1m(),
            });
            if let Err(error) = registration.write(&record).await {
                tracing::debug!(%error, "could not write the node's registry record");
            }
        }
    });
}

/// Removes the node's record at once (on a clean exit), rather than leaving it to expire.
pub async fn deregister(redis: &Client, namespace: &Namespace, node_id: &str) {
    let removed: Result<(), Error> = async {
        let _: i64 = redis.del(namespace.node_key(node_id)).await?;
        let _: i64 = redis.zrem(namespace.nodes_key(), node_id).await?;
        Ok(())
    }
    .await;
    if let Err(error) = removed {
        tracing::warn!(%error, "could not remove the node's registry record");
    }
}

/// The live nodes, by id.
pub async fn list(redis: &Client, namespace: &Namespace) -> Result<Vec<NodeRecord>, Error> {
    let now_ms = Utc::now().timestamp_millis() as f64;
    let _: i64 = redis
        .zremrangebyscore(namespace.nodes_key(), f64::NEG_INFINITY, now_ms)
        .await?;
    let ids: Vec<String> = redis
        .zrange(namespace.nodes_key(), 0, NODES_LISTED_MAX - 1, None, false, None, false)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids.iter().map(|id| namespace.node_key(id)).collect();
    let records: Vec<Option<String>> = redis.mget(keys).await?;
    let mut nodes: Vec<NodeRecord> = records
        .into_iter()
        .flatten()
        .filter_map(|json| serde_json::from_str(&json).ok())
        .collect();
    nodes.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    Ok(nodes)
}

/// Linux reports process CPU time in clock ticks of 1/100 s (USER_HZ) on every mainstream architecture.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// The process's CPU use between two readings.
struct CpuMeter {
    last: Option<(Instant, u64)>,
}

impl CpuMeter {
    fn new() -> CpuMeter {
        CpuMeter {
            last: cpu_ticks().map(|ticks| (Instant::now(), ticks)),
        }
    }

    fn percent_since_last(&mut self) -> Option<f64> {
        let now = (Instant::now(), cpu_ticks()?);
        let (then, before) = self.last.replace(now)?;
        let wall = now.0.duration_since(then).as_secs_f64();
        if wall <= 0.0 {
            return None;
        }
        let used = now.1.saturating_sub(before) as f64 / CLOCK_TICKS_PER_SECOND;
        Some((used / wall * 1000.0).round() / 10.0)
    }
}

/// User plus system CPU time of this process, in clock ticks (fields 14 and 15 of `/proc/self/stat`,
/// counted after the command name, which may contain spaces but ends with the last ')').
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name, field 3 (state) comes first, so utime (14) and stime (15) are at 11 and 12.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// Resident memory from `/proc/self/statm` (pages of 4 KiB on the platforms this runs on).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn load_average_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_load_is_readable_on_linux() {
        assert!(cpu_ticks().is_some());
        assert!(resident_bytes().is_some_and(|bytes| bytes > 1_000_000));
        assert!(load_average_1m().is_some());
        let mut meter = CpuMeter::new();
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::black_box(spin.elapsed());
        }
        let percent = meter.percent_since_last().expect("a second reading");
        assert!((0.0..=400.0).contains(&percent), "{percent}");
    }
}
