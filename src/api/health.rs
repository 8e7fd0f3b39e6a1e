//! `/health` reports the node and its dependencies (503 when one is down); `/ready` says whether the
//! node takes new work (503 while it drains).

use crate::cluster::{redis, NodeInfo};
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

pub async fn health(
    node: web::Data<NodeInfo>,
    database: web::Data<Database>,
    redis_client: web::Data<fred::prelude::Client>,
) -> HttpResponse {
    let postgres = check(async {
        sqlx::query("SELECT 1").execute(&database.writer).await?;
        Ok(())
    });
    let redis = check(redis::ping(
        &redis_client,
        Duration::from_millis(DEPENDENCY_CHECK_TIMEOUT_MS),
    ));
    let (postgres, redis) = tokio::join!(postgres, redis);
    let healthy = postgres.ok && redis.ok;
    let body = json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "node_id": node.node_id,
        "version": node.version,
        "started_at": node.started_at,
        "checks": { "postgres": postgres, "redis": redis },
    });
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub async fn ready(readiness: web::Data<Readiness>) -> HttpResponse {
    if readiness.is_draining() {
        HttpResponse::ServiceUnavailable().json(json!({ "ready": false, "reason": "draining" }))
    } else {
        HttpResponse::Ok().json(json!({ "ready": true }))
    }
}
