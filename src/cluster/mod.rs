//! Cluster coordination: the node's identity, its Redis clients, room leases, the event bus and the
//! pub/sub listener that feeds every room relay and checks that pub/sub really works.

pub mod bus;
pub mod drain;
pub mod lease;
pub mod listener;
pub mod push;
pub mod rate_limit;
pub mod redis;
pub mod registry;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The prefix of every Redis key and channel of one cluster, so that several clusters (or test runs)
/// can share a Redis without seeing each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    pub fn new(prefix: &str) -> Namespace {
        Namespace(prefix.to_owned())
    }

    /// The channel of a room's events.
    pub fn room_channel(&self, room: &str) -> String {
        format!("{}:crash:events:{room}", self.0)
    }

    /// The key of a room's last stored view.
    pub fn room_view_key(&self, room: &str) -> String {
        format!("{}:crash:view:{room}", self.0)
    }

    /// The key of a room's leader lease.
    pub fn lease_key(&self, room: &str) -> String {
        format!("{}:lease:crash:{room}", self.0)
    }

    /// The sorted set of registered nodes, scored by when each record expires (ms since the epoch).
    pub fn nodes_key(&self) -> String {
        format!("{}:nodes", self.0)
    }

    /// The key of one node's record in the registry.
    pub fn node_key(&self, node_id: &str) -> String {
        format!("{}:node:{node_id}", self.0)
    }

    /// The channel of pushes to single players (see `push`), which every node listens to.
    pub fn players_channel(&self) -> String {
        format!("{}:players", self.0)
    }

    /// The channel every node publishes its heartbeat on, and listens to for its own.
    pub fn heartbeat_channel(&self) -> String {
        format!("{}:heartbeat", self.0)
    }
}

/// Who this node is, for health reports and the cluster registry.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    pub node_id: String,
    pub version: &'static str,
    pub started_at: DateTime<Utc>,
    /// The URL other nodes reach this one at.
    pub url: String,
}
