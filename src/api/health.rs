//! `/health` reports the node and its dependencies (503 when one is down); `/ready` says whether the
//! node takes new work (503 while it drains).

use crate::cluster::drain::Readiness;
use crate::cluster::listener::PubsubHealth;
use crate::cluster::{redis, NodeInfo};
use crate::configuration::Settings;
use crate::db::Database;
use crate::games::crash::leadership::CrashLeaders;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::json;
use std::time::{Duration, Instant};

/// How long one dependency check may take before it counts as down.
const DEPENDENCY_CHECK_TIMEOUT_MS: u64 = 1_000;

#[derive(Serialize)]
struct DependencyStatus {
    ok: bool,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn check<F>(probe: F) -> DependencyStatus
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_millis(DEPENDENCY_CHECK_TIMEOUT_MS), probe).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let error = match result {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(_) => Some("timed out".to_owned()),
    };
    DependencyStatus {
        ok: error.is_none(),
        latency_ms,
        error,
    }
}

/// How far the replica's replay is behind, in milliseconds: zero when it has replayed everything it
/// received (an idle primary sends nothing, which is not lag).
const REPLICA_LAG_SQL: &str = "SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0::float8
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0)::float8 END";

#[derive(Serialize)]
pub struct ReplicaStatus {
    pub ok: bool,
    pub configured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub async fn replica_status(database: &Database, configured: bool) -> ReplicaStatus {
    let lag = tokio::time::timeout(
        Duration::from_millis(DEPENDENCY_CHECK_TIMEOUT_MS),
        sqlx::query_scalar::<_, f64>(REPLICA_LAG_SQL).fetch_one(&database.reader),
    )
    .await;
    match lag {
        Ok(Ok(lag_ms)) => ReplicaStatus {
            ok: true,
            configured,
            lag_ms: Some(lag_ms),
            error: None,
        },
        Ok(Err(error)) => ReplicaStatus {
            ok: false,
            configured,
            lag_ms: None,
            error: Some(error.to_string()),
        },
        Err(_) => ReplicaStatus {
            ok: false,
            configured,
            lag_ms: None,
            error: Some("timed out".into()),
        },
    }
}

/// The node's own heartbeat through pub/sub: red when it has not come back for a few seconds, even if
/// the connections look fine.
fn pubsub_status(pubsub: &PubsubHealth) -> serde_json::Value {
    json!({ "ok": pubsub.is_fresh(), "last_heartbeat_ms_ago": pubsub.silence_ms() })
}

#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health_health",
    tag = "operations",
    summary = "Liveness with the node's dependency checks",
    responses(
        (status = 200, description = "`status` `ok`, or `degraded` while no Postgres primary answers but reads are served (a failover is under way: money movements wait, the node stays in the load balancer)", body = serde_json::Value),
        (status = 503, description = "`status` `unhealthy`: the database or Redis is out of reach (same shape)", body = serde_json::Value),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
pub async fn health(
    node: web::Data<NodeInfo>,
    database: web::Data<Database>,
    redis_client: web::Data<fred::prelude::Client>,
    pubsub: web::Data<PubsubHealth>,
    leaders: web::Data<CrashLeaders>,
    settings: web::Data<Settings>,
) -> HttpResponse {
    let postgres = check(async {
        sqlx::query("SELECT 1").execute(&database.writer).await?;
        Ok(())
    });
    let redis = check(redis::ping(
        &redis_client,
        Duration::from_millis(DEPENDENCY_CHECK_TIMEOUT_MS),
    ));
    let replica = replica_status(&database, settings.database.replica_host.is_some());
    let (postgres, redis, replica) = tokio::join!(postgres, redis, replica);
    let database = database_state(postgres.ok, replica.ok);
    let status = overall_status(database, redis.ok && pubsub.is_fresh());
    let body = json!({
        "status": status,
        "database": database,
        "node_id": node.node_id,
        "url": node.url,
        "version": node.version,
        "started_at": node.started_at,
        "leader_of": leaders.led_here(),
        "checks": { "postgres": postgres, "redis": redis, "pubsub": pubsub_status(&pubsub), "replica": replica },
    });
    if status == Status::Unhealthy {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

/// The database as a whole: `degraded` while the writer address reaches no primary (a failover is under
/// way) but reads are still served by the reader address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum DatabaseState {
    Ok,
    Degraded,
    Down,
}

fn database_state(primary_ok: bool, reader_ok: bool) -> DatabaseState {
    match (primary_ok, reader_ok) {
        (true, true) => DatabaseState::Ok,
        (false, true) => DatabaseState::Degraded,
        // A primary without a working reader address: writes go on, reads that use the reader fail.
        (true, false) => DatabaseState::Degraded,
        (false, false) => DatabaseState::Down,
    }
}

/// The node's answer: `degraded` (200) keeps it in the load balancer while the database fails over, so
/// players keep their sockets and reads; money movements wait in the wallet for the new primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Ok,
    Degraded,
    Unhealthy,
}

fn overall_status(database: DatabaseState, coordination_ok: bool) -> Status {
    match (database, coordination_ok) {
        (DatabaseState::Ok, true) => Status::Ok,
        (DatabaseState::Degraded, true) => Status::Degraded,
        _ => Status::Unhealthy,
    }
}

#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "health_ready",
    tag = "operations",
    summary = "Readiness: false while the node drains",
    responses(
        (status = 200, description = "ready", body = serde_json::Value),
        (status = 503, description = "draining", body = serde_json::Value),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
pub async fn ready(readiness: web::Data<Readiness>) -> HttpResponse {
    if readiness.is_draining() {
        HttpResponse::ServiceUnavailable().json(json!({ "ready": false, "reason": "draining" }))
    } else {
        HttpResponse::Ok().json(json!({ "ready": true }))
    }
}

/// `GET /metrics`: every series in the Prometheus text format, with the connection pools, the wallet
/// shards' mailboxes and the replica's lag sampled now.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "health_metrics",
    tag = "operations",
    summary = "Prometheus metrics in the text format",
    responses(
        (status = 200, description = "the series", body = String, content_type = "text/plain"),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(())
)]
pub async fn metrics(
    handle: web::Data<metrics_exporter_prometheus::PrometheusHandle>,
    database: web::Data<Database>,
    wallet: web::Data<crate::wallet::Wallet>,
    settings: web::Data<Settings>,
) -> HttpResponse {
    for (shard, depth) in wallet.mailbox_depths().into_iter().enumerate() {
        metrics::gauge!("wallet_shard_mailbox_depth", "shard" => shard.to_string()).set(depth as f64);
    }
    let replica = replica_status(&database, settings.database.replica_host.is_some()).await;
    match replica.lag_ms {
        Some(lag_ms) => metrics::gauge!("db_replica_lag_seconds").set(lag_ms / 1000.0),
        None => metrics::gauge!("db_replica_lag_seconds").set(f64::NAN),
    }
    for (pool_name, pool) in [("writer", &database.writer), ("reader", &database.reader)] {
        let open = pool.size() as f64;
        let idle = pool.num_idle() as f64;
        metrics::gauge!("db_pool_connections", "pool" => pool_name, "state" => "in_use").set(open - idle);
        metrics::gauge!("db_pool_connections", "pool" => pool_name, "state" => "idle").set(idle);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_primary_with_reads_served_is_degraded_not_down() {
        assert_eq!(database_state(false, true), DatabaseState::Degraded);
        assert_eq!(overall_status(database_state(false, true), true), Status::Degraded);
        assert_eq!(overall_status(database_state(true, true), true), Status::Ok);
    }

    #[test]
    fn no_database_at_all_or_no_redis_is_unhealthy() {
        assert_eq!(overall_status(database_state(false, false), true), Status::Unhealthy);
        assert_eq!(overall_status(database_state(true, true), false), Status::Unhealthy);
        assert_eq!(overall_status(database_state(false, true), false), Status::Unhealthy);
    }

    #[test]
    fn states_are_written_in_snake_case() {
        assert_eq!(
            json!({ "s": Status::Degraded, "d": DatabaseState::Down }),
            json!({ "s": "degraded", "d": "down" })
        );
    }
}
