//! Postgres pools: a writer pool on the primary and a reader pool on the replica (or the primary).

use crate::configuration::DatabaseSettings;
use anyhow::Context;
use sqlx::postgres::{PgPool, PgPoolOptions};

/// The two pools every part of the node shares. Money reads that precede a write use `writer`.
#[derive(Clone, Debug)]
pub struct Database {
    pub writer: PgPool,
    pub reader: PgPool,
}

impl Database {
    /// Builds both pools lazily, so a node starts (and reports itself unhealthy) while Postgres is down.
    pub fn connect_lazy(settings: &DatabaseSettings) -> Database {
        let writer = pool_options(settings, settings.writer_pool_size).connect_lazy_with(settings.primary_options());
        let reader = pool_options(settings, settings.reader_pool_size).connect_lazy_with(settings.reader_options());
        Database { writer, reader }
    }

    /// Applies the migrations in `migrations/` to the primary.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("./migrations")
            .run(&self.writer)
            .await
            .context("failed to apply database migrations")
    }
}

/// SQLSTATEs of a server that cannot take the work now: 57P01-57P03 shutting down or starting, 25006 a
/// read-only transaction (the writer address still reached a demoted primary or a replica).
const OUT_OF_REACH_CODES: [&str; 4] = ["57P01", "57P02", "57P03", "25006"];

/// Whether `error` means the database is out of reach rather than that the work was wrong: the
/// connection was lost or could not be had, the server is going down or starting, or it is no longer
/// the primary. During a failover every query fails this way for a few seconds; the same work succeeds
/// once the new primary is up, so callers retry it (with its idempotency key, for money).
pub fn is_out_of_reach(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => {
            let code = database.code().unwrap_or_default();
            OUT_OF_REACH_CODES.contains(&code.as_ref()) || code.starts_with("08")
        }
        _ => false,
    }
}

/// The options both pools share. A pooled connection is pinged before it is handed out
/// (`test_before_acquire`), so one cut by a failover (its server died, or HAProxy shut the sessions of a
/// member it marked down) is replaced instead of failing the caller's first query; a dead server is noticed
/// within `acquire_timeout_ms`, and a hung statement within `statement_timeout_ms`.
fn pool_options(settings: &DatabaseSettings, size: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(settings.acquire_timeout())
        .idle_timeout(settings.idle_timeout())
        .max_lifetime(settings.max_lifetime())
        .test_before_acquire(true)
}
