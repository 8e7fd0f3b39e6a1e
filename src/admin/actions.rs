//! The operators' audit trail: every control action is written to the log (target `audit`) and to the
//! `admin_actions` table, which the dashboard lists.

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

/// The most actions one listing returns.
pub const ACTIONS_LISTED_MAX: i64 = 200;

/// One operator action as recorded.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct AdminAction {
    pub at: DateTime<Utc>,
    pub admin: String,
    pub action: String,
    pub target: String,
    pub details: Value,
    pub node_id: String,
}

/// Who did what to which target, from which node.
pub struct Action<'a> {
    pub admin: &'a str,
    pub action: &'static str,
    pub target: &'a str,
    pub details: Value,
    pub node_id: &'a str,
}

/// Writes the action to the log and the table. The log line is written first and always: an action
/// whose table row fails (Postgres away) is still audited.
pub async fn record(pool: &PgPool, action: Action<'_>) -> Result<(), ApiError> {
    tracing::info!(
        target: "audit",
        admin = action.admin,
        action = action.action,
        target_name = action.target,
        details = %action.details,
        node_id = action.node_id,
        "operator action"
    );
    sqlx::query("INSERT INTO admin_actions (admin, action, target, details, node_id) VALUES ($1, $2, $3, $4, $5)")
        .bind(action.admin)
        .bind(action.action)
        .bind(action.target)
        .bind(&action.details)
        .bind(action.node_id)
        .execute(pool)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// The latest actions, newest first.
pub async fn latest(pool: &PgPool, limit: i64) -> Result<Vec<AdminAction>, ApiError> {
    sqlx::query_as::<_, AdminAction>(
        "SELECT at, admin, action, target, details, node_id FROM admin_actions ORDER BY id DESC LIMIT $1",
    )
    .bind(limit.clamp(1, ACTIONS_LISTED_MAX))
    .fetch_all(pool)
    .await
    .map_err(ApiError::internal)
}
