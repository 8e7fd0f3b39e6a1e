//! Cluster coordination. For now: the node's identity and its Redis connection.

pub mod redis;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Who this node is, for health reports and (later) the cluster registry.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    pub node_id: String,
    pub version: &'static str,
    pub started_at: DateTime<Utc>,
}
