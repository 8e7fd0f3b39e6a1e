//! `/health` reports the node and its dependencies (503 when one is down); `/ready` says whether the
//! node takes new work (503 while it drains).

use super::internal::CrashLeaders;
use crate::cluster::listener::PubsubHealth;
use crate::cluster::{redis, NodeInfo};
use crate::configuration::Settings;
use crate::db::Database;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long one dependency check may take before it counts as down.
const DEPENDENCY_CHECK_TIMEOUT_MS: u64 = 1_000;

/// Set when the node starts draining; read by `/ready` and by load balancers.
#[derive(Debug, Default)]
pub struct Readiness {
    draining: AtomicBool,
}

impl Readiness {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

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
        (status = 200, description = "healthy", body = serde_json::Value),
        (status = 503, description = "a dependency is unhealthy (same shape)", body = serde_json::Value),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::api::error::Envelope)
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
    let healthy = postgres.ok && redis.ok && replica.ok && pubsub.is_fresh();
    let body = json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "node_id": node.node_id,
        "url": node.url,
        "version": node.version,
        "started_at": node.started_at,
        "leader_of": leaders.led_here(),
        "checks": { "postgres": postgres, "redis": redis, "pubsub": pubsub_status(&pubsub), "replica": replica },
    });
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
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
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::api::error::Envelope)
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
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::api::error::Envelope)
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
