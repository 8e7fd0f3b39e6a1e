//! Layered configuration: `config/default.toml`, then `config/{APP_ENV}.toml`, then `APP__SECTION__KEY`
//! environment variables. Every value is validated at start-up and a bad one names its field.

use crate::money::Currency;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub application: ApplicationSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub admin: AdminSettings,
    pub wallet: WalletSettings,
    pub logging: LoggingSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSettings {
    pub host: String,
    pub port: u16,
    pub node_id: String,
    /// HTTP worker threads; 0 means one per CPU.
    pub workers: usize,
    pub request_body_limit_bytes: usize,
    pub json_depth_max: u32,
    pub shutdown_timeout_s: u64,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: SecretString,
    pub database_name: String,
    pub require_ssl: bool,
    pub writer_pool_size: u32,
    pub reader_pool_size: u32,
    pub acquire_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    /// A streaming replica for reads; the primary serves reads when it is absent.
    pub replica_host: Option<String>,
    pub replica_port: Option<u16>,
}

impl DatabaseSettings {
    /// Connection options for the server itself, without choosing a database.
    pub fn server_options(&self) -> PgConnectOptions {
        self.options_for(&self.host, self.port)
    }

    /// Connection options for the primary and the configured database.
    pub fn primary_options(&self) -> PgConnectOptions {
        self.server_options().database(&self.database_name)
    }

    /// Connection options for the read replica, or the primary when no replica is configured.
    pub fn reader_options(&self) -> PgConnectOptions {
        match &self.replica_host {
            Some(host) => self
                .options_for(host, self.replica_port.unwrap_or(self.port))
                .database(&self.database_name),
            None => self.primary_options(),
        }
    }

    fn options_for(&self, host: &str, port: u16) -> PgConnectOptions {
        let ssl_mode = if self.require_ssl {
            PgSslMode::Require
        } else {
            PgSslMode::Prefer
        };
        let statement_timeout = format!("{}", self.statement_timeout_ms);
        PgConnectOptions::new()
            .host(host)
            .port(port)
            .username(&self.username)
            .password(self.password.expose_secret())
            .ssl_mode(ssl_mode)
            .application_name("game-cluster")
            .options([("statement_timeout", statement_timeout.as_str())])
    }

    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub host: String,
    pub port: u16,
    pub connect_timeout_ms: u64,
    pub command_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub token_ttl_s: u64,
    /// Argon2id cost: memory in KiB and passes. Lower only in tests.
    pub password_hash_memory_kib: u32,
    pub password_hash_iterations: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    pub username: String,
    pub password: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletSettings {
    pub currency: String,
    /// Shard actors per node. Must be equal on every node: it also fixes the house sub-accounts.
    pub shard_count: u32,
    /// Operations admitted to one shard and not yet answered; past it callers get `wallet_overloaded`.
    pub mailbox_capacity: u32,
    pub batch_size_max: u32,
    /// How long the first operation of a batch waits for company before the batch is committed.
    pub batch_delay_ms: u64,
    /// How long a caller waits for room in a full shard mailbox before `wallet_overloaded`.
    pub admission_timeout_ms: u64,
    /// Attempts to commit one batch (or one operation alone) before it fails as unavailable.
    pub commit_attempts_max: u32,
    pub commit_retry_backoff_ms: u64,
    pub dev_top_up_enabled: bool,
    pub top_up_max_micros: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingSettings {
    /// `pretty` for people, `json` for machines.
    pub format: String,
    pub filter: String,
}

/// A configuration value that cannot work, naming the field.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {field}: {reason}")]
pub struct ConfigError {
    pub field: &'static str,
    pub reason: String,
}

impl Settings {
    /// Loads the layers for `environment` from `config_dir` and validates the result.
    pub fn load_from(config_dir: &Path, environment: &str) -> anyhow::Result<Settings> {
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from(config_dir.join("default.toml")))
            .add_source(config::File::from(config_dir.join(format!("{environment}.toml"))).required(false))
            .add_source(
                config::Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()?
            .try_deserialize()
            .map_err(|error| anyhow::anyhow!("invalid configuration: {error}"))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Loads the configuration from `./config` for the environment named by `APP_ENV` (default `local`).
    pub fn load() -> anyhow::Result<Settings> {
        let environment = std::env::var("APP_ENV").unwrap_or_else(|_| "local".into());
        Settings::load_from(Path::new("config"), &environment)
    }

    pub fn currency(&self) -> Currency {
        Currency::parse(&self.wallet.currency).expect("currency is validated at start-up")
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        let app = &self.application;
        if app.node_id.is_empty() || app.node_id.len() > 64 {
            return invalid("application.node_id", "must be 1 to 64 characters");
        }
        if !(1024..=1_048_576).contains(&app.request_body_limit_bytes) {
            return invalid("application.request_body_limit_bytes", "must be 1 KiB to 1 MiB");
        }
        if !(2..=128).contains(&app.json_depth_max) {
            return invalid("application.json_depth_max", "must be 2 to 128");
        }
        let db = &self.database;
        if db.writer_pool_size == 0 || db.writer_pool_size > 256 {
            return invalid("database.writer_pool_size", "must be 1 to 256");
        }
        if db.reader_pool_size == 0 || db.reader_pool_size > 256 {
            return invalid("database.reader_pool_size", "must be 1 to 256");
        }
        if db.statement_timeout_ms == 0 {
            return invalid("database.statement_timeout_ms", "must be positive");
        }
        if self.auth.jwt_secret.expose_secret().len() < 32 {
            return invalid("auth.jwt_secret", "must be at least 32 bytes");
        }
        if self.auth.token_ttl_s == 0 || self.auth.token_ttl_s > 30 * 86_400 {
            return invalid("auth.token_ttl_s", "must be 1 s to 30 days");
        }
        if !(1024..=1_048_576).contains(&self.auth.password_hash_memory_kib) {
            return invalid("auth.password_hash_memory_kib", "must be 1024 to 1048576");
        }
        if !(1..=16).contains(&self.auth.password_hash_iterations) {
            return invalid("auth.password_hash_iterations", "must be 1 to 16");
        }
        if self.admin.username.is_empty() {
            return invalid("admin.username", "must not be empty");
        }
        if self.admin.password.expose_secret().len() < 12 {
            return invalid("admin.password", "must be at least 12 characters");
        }
        self.validate_wallet()
    }

    fn validate_wallet(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        let wallet = &self.wallet;
        if let Err(error) = Currency::parse(&wallet.currency) {
            return invalid("wallet.currency", &error.to_string());
        }
        if !(1..=256).contains(&wallet.shard_count) {
            return invalid("wallet.shard_count", "must be 1 to 256");
        }
        if wallet.shard_count > self.database.writer_pool_size {
            return invalid(
                "wallet.shard_count",
                "must not exceed database.writer_pool_size (each shard commits on its own connection)",
            );
        }
        if !(1..=65_536).contains(&wallet.mailbox_capacity) {
            return invalid("wallet.mailbox_capacity", "must be 1 to 65536");
        }
        if !(1..=4096).contains(&wallet.batch_size_max) {
            return invalid("wallet.batch_size_max", "must be 1 to 4096");
        }
        if wallet.batch_delay_ms > 1000 {
            return invalid("wallet.batch_delay_ms", "must be at most 1000");
        }
        if !(1..=10).contains(&wallet.commit_attempts_max) {
            return invalid("wallet.commit_attempts_max", "must be 1 to 10");
        }
        if crate::money::Amount::parse(wallet.top_up_max_micros).is_err() {
            return invalid("wallet.top_up_max_micros", "must be a valid positive amount");
        }
        if !matches!(self.logging.format.as_str(), "pretty" | "json") {
            return invalid("logging.format", "must be \"pretty\" or \"json\"");
        }
        Ok(())
    }
}
