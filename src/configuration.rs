//! Layered configuration: `config/default.toml`, then `config/{APP_ENV}.toml`, then `APP__SECTION__KEY`
//! environment variables. Every value is validated at start-up and a bad one names its field.

use crate::money::Currency;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use std::path::Path;
use std::time::Duration;

mod economy;
mod games;
pub use games::{
    BetLimits, CrashSettings, DiceSettings, GamesSettings, MinesSettings, PlinkoSettings, RoomSettings, SlotsSettings,
    SLOT_BET_LEVELS_MAX,
};
mod providers;
pub use economy::ShopSettings;
mod bonus;
pub use bonus::{BonusSettings, ReferralPayOn, ReferralSettings, StakeOrder, WAGERING_MULTIPLIER_MAX};
pub use providers::{ProvidersSettings, RtpSettings};
mod client_version;
pub use client_version::{ClientVersion, CLIENT_VERSION_LENGTH_MAX};
pub mod edge;
pub use edge::{HttpHeadersSettings, IpRange, RateLimitSettings};
mod responsible_gaming;
pub use responsible_gaming::ResponsibleGamingSettings;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub application: ApplicationSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub cluster: ClusterSettings,
    pub auth: AuthSettings,
    pub admin: AdminSettings,
    pub wallet: WalletSettings,
    pub crash: CrashSettings,
    pub games: GamesSettings,
    pub session: SessionSettings,
    pub logging: LoggingSettings,
    pub providers: ProvidersSettings,
    pub rtp: RtpSettings,
    pub shop: ShopSettings,
    pub responsible_gaming: ResponsibleGamingSettings,
    pub bonus: BonusSettings,
    pub referral: ReferralSettings,
    pub rate_limits: RateLimitSettings,
    pub http_headers: HttpHeadersSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// Messages queued for one session actor (its own frames and control messages); a session that lets
    /// it fill is dropped from its room. Socket frames are bounded by the transport (see `transport`).
    pub mailbox_capacity: usize,
    pub heartbeat_interval_ms: u64,
    /// Silence after which a client is considered gone; at least twice the heartbeat interval.
    pub client_timeout_ms: u64,
    pub frame_size_max_bytes: usize,
    /// Bytes read from the kernel at a time; an idle socket holds no read buffer.
    pub read_buffer_bytes: usize,
    /// Frames queued for one socket before it is closed as a slow consumer (4008).
    pub write_queue_frames_max: usize,
    /// A write that makes no progress this long (the client stopped reading and the kernel's buffers are
    /// full) drops the connection, close frame or not.
    pub write_stall_timeout_ms: u64,
    /// WebSockets this node holds at once; an upgrade past it is answered 503 `server_busy`.
    pub sockets_max: usize,
    /// How long a socket opened without a token may wait before its `auth` message.
    pub auth_timeout_ms: u64,
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
    /// On shutdown, how long the rooms this node leads may take to finish their round and hand over
    /// (a round still running then is refunded by the next leader).
    pub handover_timeout_s: u64,
    pub migrate_on_start: bool,
    /// How often the process gives its heap's free pages back to the system (`malloc_trim`); 0 never.
    pub memory_trim_interval_ms: u64,
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
    /// How long a caller waits for a pooled connection, connecting included: with no primary behind the
    /// writer address (a failover), this is how soon a query gives up and its caller retries.
    pub acquire_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    /// An idle pooled connection is closed after this long, below the idle limit of a proxy in between
    /// (HAProxy's `timeout client`/`timeout server`, 10 min in scripts/patroni.sh), so the pool never hands
    /// out a connection the proxy has already cut.
    pub idle_timeout_ms: u64,
    /// Every connection is replaced after this long, so that connections follow a moved primary or a new
    /// replica even without a failure to notice.
    pub max_lifetime_ms: u64,
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

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub fn max_lifetime(&self) -> Duration {
        Duration::from_millis(self.max_lifetime_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// The Redis server when no sentinels are configured.
    pub host: String,
    pub port: u16,
    /// Comma-separated `host:port` of the Sentinels watching `service_name`; empty: connect to `host:port`.
    pub sentinels: String,
    pub service_name: String,
    pub connect_timeout_ms: u64,
    pub command_timeout_ms: u64,
}

impl RedisSettings {
    /// The configured Sentinels as (host, port) pairs; empty when Redis is reached directly.
    pub fn sentinel_addresses(&self) -> Result<Vec<(String, u16)>, String> {
        self.sentinels
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let (host, port) = entry
                    .rsplit_once(':')
                    .ok_or_else(|| format!("{entry:?} is not host:port"))?;
                let port = port.parse().map_err(|_| format!("{entry:?} has no valid port"))?;
                Ok((host.to_owned(), port))
            })
            .collect()
    }
}

/// The largest `cluster.forward_batch_bets_max`: a leader bounds a batch's body by it before parsing.
pub const FORWARD_BATCH_BETS_LIMIT: u32 = 1_024;

/// How the nodes of a cluster coordinate: room leases, the event bus and forwarded requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Prefixes every Redis key and channel of this cluster (clusters or test runs may share a Redis).
    pub namespace: String,
    /// The base URL other nodes use to reach this one; empty: `http://{host}:{bound port}`.
    pub advertise_url: String,
    /// Shared by every node; authenticates forwarded bets and cashouts.
    pub secret: SecretString,
    /// A room leader's Redis lease lives this long unless renewed.
    pub lease_ttl_ms: u64,
    /// The leader renews its lease this often (well inside the TTL).
    pub lease_renew_interval_ms: u64,
    /// A node without the lease tries to take it this often.
    pub lease_retry_interval_ms: u64,
    /// A bet or cashout forwarded to the leader fails after this long.
    pub forward_timeout_ms: u64,
    /// Forwarded requests in flight from this node at once; past it players get `room_unavailable`.
    pub forward_in_flight_max: u32,
    /// A follower gathers the bets that arrive this long after the first waiting one into one call to
    /// the leader (0: only those already waiting)...
    pub forward_batch_window_ms: u64,
    /// ...and at most this many.
    pub forward_batch_bets_max: u32,
    /// Events waiting to be published to Redis; past it the oldest are dropped and nodes resync.
    pub publish_queue_capacity: u32,
    /// Events waiting for one room's relay on this node; past it the relay resyncs.
    pub relay_mailbox_capacity: u32,
    /// Every node publishes a heartbeat through pub/sub this often...
    pub pubsub_heartbeat_interval_ms: u64,
    /// ...and reports itself unhealthy when its own has not come back for this long.
    pub pubsub_heartbeat_stale_ms: u64,
    /// Every node writes its record to the cluster registry in Redis this often...
    pub node_heartbeat_interval_ms: u64,
    /// ...and a record not rewritten for this long expires (the node is gone).
    pub node_record_ttl_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub token_ttl_s: u64,
    /// How long a node trusts what it read of a player's token version and logged-out tokens before
    /// reading them again (a revocation also clears every node's copy at once through pub/sub; this bounds
    /// a lost message).
    pub token_version_cache_ms: u64,
    /// Players whose token standing a node keeps at most (past it, the oldest copies are dropped).
    pub token_version_cache_entries_max: u32,
    /// Single logged-out tokens of one player remembered at most until they expire; one more logout
    /// revokes all the player's tokens instead, so each check reads a bounded list.
    pub revoked_tokens_per_player_max: u32,
    /// Argon2id cost: memory in KiB and passes. Lower only in tests.
    pub password_hash_memory_kib: u32,
    pub password_hash_iterations: u32,
    /// Hashes computed at once (each takes `password_hash_memory_kib`): a burst of sign-ups or logins
    /// queues instead of taking the node's memory.
    pub password_hash_concurrency_max: u32,
    /// How long a sign-up or login waits for a hashing slot before `auth_busy` (503).
    pub password_hash_queue_timeout_ms: u64,
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
    /// Attempts to commit one batch (or one operation alone) before it fails as unavailable, when the
    /// failure is contention (a serialization failure, a deadlock, a resource limit).
    pub commit_attempts_max: u32,
    pub commit_retry_backoff_ms: u64,
    /// How long a batch keeps retrying while the ledger is out of reach (a lost connection, no primary
    /// behind the writer address, a primary turned read-only): long enough to ride through a Postgres
    /// failover. A batch whose commit outcome was lost is resolved by its idempotency keys on the retry.
    pub commit_retry_window_ms: u64,
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
        if app.handover_timeout_s > 600 {
            return invalid("application.handover_timeout_s", "must be at most 600");
        }
        if app.memory_trim_interval_ms != 0 && !(1_000..=3_600_000).contains(&app.memory_trim_interval_ms) {
            return invalid(
                "application.memory_trim_interval_ms",
                "must be 0 (never) or 1000 to 3600000",
            );
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
        if !(1_000..=3_600_000).contains(&db.idle_timeout_ms) {
            return invalid("database.idle_timeout_ms", "must be 1 s to 1 h");
        }
        if db.max_lifetime_ms < db.idle_timeout_ms || db.max_lifetime_ms > 86_400_000 {
            return invalid(
                "database.max_lifetime_ms",
                "must be at least database.idle_timeout_ms and at most 24 h",
            );
        }
        if self.auth.jwt_secret.expose_secret().len() < 32 {
            return invalid("auth.jwt_secret", "must be at least 32 bytes");
        }
        if self.auth.token_ttl_s == 0 || self.auth.token_ttl_s > 30 * 86_400 {
            return invalid("auth.token_ttl_s", "must be 1 s to 30 days");
        }
        if self.auth.token_version_cache_ms > 60_000 {
            return invalid("auth.token_version_cache_ms", "must be 0 to 60000");
        }
        if !(1..=10_000_000).contains(&self.auth.token_version_cache_entries_max) {
            return invalid("auth.token_version_cache_entries_max", "must be 1 to 10000000");
        }
        if !(1..=1_000).contains(&self.auth.revoked_tokens_per_player_max) {
            return invalid("auth.revoked_tokens_per_player_max", "must be 1 to 1000");
        }
        if !(1024..=1_048_576).contains(&self.auth.password_hash_memory_kib) {
            return invalid("auth.password_hash_memory_kib", "must be 1024 to 1048576");
        }
        if !(1..=16).contains(&self.auth.password_hash_iterations) {
            return invalid("auth.password_hash_iterations", "must be 1 to 16");
        }
        if !(1..=256).contains(&self.auth.password_hash_concurrency_max) {
            return invalid("auth.password_hash_concurrency_max", "must be 1 to 256");
        }
        if !(1..=60_000).contains(&self.auth.password_hash_queue_timeout_ms) {
            return invalid("auth.password_hash_queue_timeout_ms", "must be 1 to 60000");
        }
        if self.admin.username.is_empty() {
            return invalid("admin.username", "must not be empty");
        }
        if self.admin.password.expose_secret().len() < 12 {
            return invalid("admin.password", "must be at least 12 characters");
        }
        self.validate_wallet()?;
        self.validate_cluster()?;
        self.providers.validate()?;
        self.rtp.validate()?;
        self.shop.validate()?;
        self.responsible_gaming.validate()?;
        self.rate_limits.validate()?;
        self.http_headers.validate()?;
        self.bonus.validate()?;
        self.referral.validate()?;
        self.validate_game()
    }

    fn validate_cluster(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        if let Err(reason) = self.redis.sentinel_addresses() {
            return invalid("redis.sentinels", &reason);
        }
        if self.redis.service_name.is_empty() {
            return invalid("redis.service_name", "must not be empty");
        }
        let cluster = &self.cluster;
        let namespace_ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if cluster.namespace.is_empty() || cluster.namespace.len() > 64 || !cluster.namespace.chars().all(namespace_ok)
        {
            return invalid("cluster.namespace", "must be 1 to 64 letters, digits, '_' or '-'");
        }
        if !cluster.advertise_url.is_empty() && !cluster.advertise_url.starts_with("http://") {
            return invalid("cluster.advertise_url", "must be empty or an http:// URL");
        }
        if cluster.secret.expose_secret().len() < 32 {
            return invalid("cluster.secret", "must be at least 32 bytes");
        }
        if !(500..=60_000).contains(&cluster.lease_ttl_ms) {
            return invalid("cluster.lease_ttl_ms", "must be 500 to 60000");
        }
        if cluster.lease_renew_interval_ms == 0 || cluster.lease_renew_interval_ms * 3 > cluster.lease_ttl_ms {
            return invalid(
                "cluster.lease_renew_interval_ms",
                "must be positive and at most a third of cluster.lease_ttl_ms",
            );
        }
        if cluster.lease_retry_interval_ms == 0 || cluster.lease_retry_interval_ms > cluster.lease_ttl_ms {
            return invalid("cluster.lease_retry_interval_ms", "must be 1 to cluster.lease_ttl_ms");
        }
        if !(100..=30_000).contains(&cluster.forward_timeout_ms) {
            return invalid("cluster.forward_timeout_ms", "must be 100 to 30000");
        }
        if !(1..=100_000).contains(&cluster.forward_in_flight_max) {
            return invalid("cluster.forward_in_flight_max", "must be 1 to 100000");
        }
        if cluster.forward_batch_window_ms > 100 || cluster.forward_batch_window_ms >= cluster.forward_timeout_ms {
            return invalid(
                "cluster.forward_batch_window_ms",
                "must be 0 to 100 and below cluster.forward_timeout_ms",
            );
        }
        if !(1..=FORWARD_BATCH_BETS_LIMIT).contains(&cluster.forward_batch_bets_max) {
            return invalid("cluster.forward_batch_bets_max", "must be 1 to 1024");
        }
        if !(16..=1_000_000).contains(&cluster.publish_queue_capacity) {
            return invalid("cluster.publish_queue_capacity", "must be 16 to 1000000");
        }
        if !(16..=1_000_000).contains(&cluster.relay_mailbox_capacity) {
            return invalid("cluster.relay_mailbox_capacity", "must be 16 to 1000000");
        }
        if cluster.pubsub_heartbeat_interval_ms == 0
            || cluster.pubsub_heartbeat_stale_ms < 2 * cluster.pubsub_heartbeat_interval_ms
        {
            return invalid(
                "cluster.pubsub_heartbeat_stale_ms",
                "must be at least twice cluster.pubsub_heartbeat_interval_ms (which must be positive)",
            );
        }
        if !(100..=60_000).contains(&cluster.node_heartbeat_interval_ms) {
            return invalid("cluster.node_heartbeat_interval_ms", "must be 100 to 60000");
        }
        if cluster.node_record_ttl_ms < 3 * cluster.node_heartbeat_interval_ms || cluster.node_record_ttl_ms > 600_000 {
            return invalid(
                "cluster.node_record_ttl_ms",
                "must be at least three times cluster.node_heartbeat_interval_ms and at most 600000",
            );
        }
        Ok(())
    }

    fn validate_game(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: String| Err(ConfigError { field, reason });
        let session = &self.session;
        if !(4..=4096).contains(&session.mailbox_capacity) {
            return invalid("session.mailbox_capacity", "must be 4 to 4096".into());
        }
        if session.heartbeat_interval_ms == 0 || session.client_timeout_ms < 2 * session.heartbeat_interval_ms {
            return invalid(
                "session.client_timeout_ms",
                "must be at least twice session.heartbeat_interval_ms (which must be positive)".into(),
            );
        }
        if !(256..=1_048_576).contains(&session.frame_size_max_bytes) {
            return invalid("session.frame_size_max_bytes", "must be 256 B to 1 MiB".into());
        }
        if !(64..=65_536).contains(&session.read_buffer_bytes) {
            return invalid("session.read_buffer_bytes", "must be 64 B to 64 KiB".into());
        }
        if !(2..=4_096).contains(&session.write_queue_frames_max) {
            return invalid("session.write_queue_frames_max", "must be 2 to 4,096 frames".into());
        }
        if !(100..=600_000).contains(&session.write_stall_timeout_ms) {
            return invalid("session.write_stall_timeout_ms", "must be 100 ms to 10 minutes".into());
        }
        if !(1..=1_000_000).contains(&session.sockets_max) {
            return invalid("session.sockets_max", "must be 1 to 1,000,000 sockets".into());
        }
        if self.crash.rooms.is_empty() {
            return invalid("crash.rooms", "at least one room must be configured".into());
        }
        for (name, room) in &self.crash.rooms {
            if let Err(reason) = room.validate(name) {
                return invalid("crash.rooms", format!("room {name}: {reason}"));
            }
        }
        self.games.validate()
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
        if wallet.commit_retry_window_ms > 120_000 {
            return invalid("wallet.commit_retry_window_ms", "must be at most 120000 (2 min)");
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
