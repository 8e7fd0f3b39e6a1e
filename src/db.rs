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
        let writer = PgPoolOptions::new()
            .max_connections(settings.writer_pool_size)
            .acquire_timeout(settings.acquire_timeout())
            .connect_lazy_with(settings.primary_options());
        let reader = PgPoolOptions::new()
            .max_connections(settings.reader_pool_size)
            .acquire_timeout(settings.acquire_timeout())
            .connect_lazy_with(settings.reader_options());
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
