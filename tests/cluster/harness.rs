//! A cluster of real processes in a scratch directory, driven through `scripts/cluster.sh`.

use game_cluster::games::crash::chain;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The lease TTL the test clusters run with (the default configuration's).
const LEASE_TTL_MS: u64 = 3_000;

/// Games in the chain installed for a test, and the highest crash point among them (in hundredths):
/// rounds then last at most about 30 s, so the tests' waits stay short and never flaky.
const CHAIN_GAMES: u32 = 40;
const CRASH_POINT_MAX: u32 = 600;

pub struct Cluster {
    dir: PathBuf,
    pub env: HashMap<String, String>,
    pub lease_ttl_ms: u64,
    pool: PgPool,
    http: reqwest::Client,
    stopped: bool,
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `scripts/cluster.sh ARGS` for the cluster in `dir`, with a clean environment: the suite's own
/// `APP__*` variables (which point at its throwaway servers) must not reach the cluster's nodes.
fn script(dir: &Path, args: &[&str], extra: &[(&str, String)]) -> Output {
    let mut command = Command::new(repo_root().join("scripts/cluster.sh"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
        .env("CLUSTER_DIR", dir)
        .current_dir(repo_root());
    for (name, value) in extra {
        command.env(name, value);
    }
    let output = command.output().expect("scripts/cluster.sh runs");
    if !output.status.success() {
        panic!(
            "cluster.sh {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

fn parse_env_file(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .expect("cluster.env exists")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.trim_matches('"').to_owned()))
        .collect()
}

/// Installs an aviator chain whose games all crash by `CRASH_POINT_MAX` (the leader picks it up within
/// `crash.chain_retry_ms`). Any chain is as fair as any other; this one only keeps rounds short.
async fn install_short_chain(pool: &PgPool) {
    let settings =
        game_cluster::configuration::Settings::load_from(&repo_root().join("config"), "test").expect("test settings");
    let room = &settings.crash.rooms["aviator"];
    let chain = chain::short_chain(&room.salt, room.house_edge_bps, CHAIN_GAMES, CRASH_POINT_MAX)
        .expect("a short chain within the attempt limit");
    game_cluster::games::crash::store::insert_chain(pool, "aviator", &room.salt, &chain)
        .await
        .expect("the chain is stored");
}

/// One `scripts/cluster.sh start` at a time (see `Cluster::start_with`).
static CLUSTER_STARTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Cluster {
    pub async fn start(name: &str) -> Cluster {
        Cluster::start_with(name, &[]).await
    }

    /// Starts a cluster whose nodes get `overrides` (APP__ variables) on top of the test configuration.
    pub async fn start_with(name: &str, overrides: &[(&str, &str)]) -> Cluster {
        let dir = std::env::temp_dir().join(format!("gc-fault-{name}-{}", Uuid::new_v4().simple()));
        let binary = env!("CARGO_BIN_EXE_game-cluster");
        let mut environment: Vec<(&str, String)> = vec![
            ("CLUSTER_PORTS", "auto".into()),
            ("CLUSTER_NODES", "3".into()),
            ("CLUSTER_APP_ENV", "test".into()),
            ("GAME_BIN", binary.into()),
            ("SKIP_BUILD", "1".into()),
            ("APP__CRASH__CHAIN_AUTO_GENERATE_LENGTH", "0".into()),
            ("APP__CLUSTER__LEASE_TTL_MS", LEASE_TTL_MS.to_string()),
            ("APP__LOGGING__FILTER", "info,sqlx=warn".into()),
        ];
        // The caller's overrides come last, so they win (the script sets the variables in order).
        environment.extend(overrides.iter().map(|(key, value)| (*key, value.to_string())));
        let lease_ttl_ms = environment
            .iter()
            .rev()
            .find(|(key, _)| *key == "APP__CLUSTER__LEASE_TTL_MS")
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(LEASE_TTL_MS);
        {
            // Ports are picked free and bound only as the services start: two clusters starting at once
            // could pick the same one, so starts take turns (a failed start's poison is harmless).
            let _starting = CLUSTER_STARTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            script(&dir, &["start"], &environment);
        }
        let env = parse_env_file(&dir.join("cluster.env"));
        let url = format!(
            "postgres://postgres:{}@127.0.0.1:{}/{}",
            env["PG_PASSWORD"], env["PG_PORT"], env["DB_NAME"]
        );
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect_lazy(&url)
            .expect("a pool");
        install_short_chain(&pool).await;
        Cluster {
            dir,
            env,
            lease_ttl_ms,
            pool,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("a client"),
            stopped: false,
        }
    }

    /// The admin dashboard's view of the cluster (`GET /api/v1/admin/cluster` through nginx), polled
    /// until `accept` holds or `limit` passes; the last view either way.
    pub async fn admin_view_until(&self, limit: Duration, accept: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        let mut view = Value::Null;
        while Instant::now() < deadline {
            if let Some(fresh) = self.admin_view().await {
                view = fresh;
                if accept(&view) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        view
    }

    async fn admin_view(&self) -> Option<Value> {
        let credential = json!({ "username": self.env["ADMIN_USERNAME"], "password": self.env["ADMIN_PASSWORD"] });
        let login = self
            .http
            .post(format!("{}/api/v1/admin/login", self.public_url()))
            .json(&credential)
            .send()
            .await
            .ok()?;
        let token = login.json::<Value>().await.ok()?["token"].as_str()?.to_owned();
        let view = self
            .http
            .get(format!("{}/api/v1/admin/cluster", self.public_url()))
            .bearer_auth(token)
            .send()
            .await
            .ok()?;
        view.json().await.ok()
    }

    pub fn public_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.env["NGINX_PORT"])
    }

    /// The port of node `index` (from 1).
    pub fn node_port(&self, index: usize) -> u16 {
        self.env["NODE_PORTS"]
            .split_whitespace()
            .nth(index - 1)
            .expect("the node exists")
            .parse()
            .expect("a port")
    }

    async fn health(&self, index: usize) -> Option<Value> {
        let url = format!("http://127.0.0.1:{}/health", self.node_port(index));
        let response = self.http.get(url).send().await.ok()?;
        response.json().await.ok()
    }

    /// The node (index) that leads `room`, as the nodes report it.
    pub async fn leader_of(&self, room: &str) -> Option<usize> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            for index in 1..=3 {
                if let Some(health) = self.health(index).await {
                    let leads = health["leader_of"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|led| led == room);
                    if leads {
                        return Some(index);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// Waits until a node other than `old` reports leading aviator.
    pub async fn wait_for_leader_other_than(&self, old: usize, limit: Duration) -> Option<usize> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            for index in (1..=3).filter(|index| *index != old) {
                if let Some(health) = self.health(index).await {
                    if health["leader_of"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|led| led == "aviator")
                    {
                        return Some(index);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    pub fn kill_node(&self, index: usize) {
        script(&self.dir, &["kill-node", &index.to_string()], &[]);
    }

    /// Drains node `index` and waits for it to exit (a leader first finishes its round).
    pub fn drain_node(&self, index: usize) {
        script(
            &self.dir,
            &["drain-node", &index.to_string()],
            &[("DRAIN_TIMEOUT_S", "60".into())],
        );
    }

    pub fn kill_redis_primary(&self) -> String {
        let output = script(&self.dir, &["kill-redis-primary"], &[]);
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    pub fn restart_postgres(&self) {
        script(&self.dir, &["restart-postgres"], &[]);
    }

    /// Runs `scripts/cluster.sh ARGS` on this cluster and returns its standard output, trimmed.
    pub fn run_script(&self, args: &[&str]) -> String {
        let output = script(&self.dir, args, &[]);
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// The HTTP client the harness uses (2 s timeout).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Every key in `keys` is a posted transfer, exactly once.
    pub async fn assert_transfers_posted(&self, keys: &[String]) {
        let posted: i64 =
            sqlx::query_scalar("SELECT count(*) FROM transfers WHERE idempotency_key = ANY($1) AND status = 'posted'")
                .bind(keys)
                .fetch_one(&self.pool)
                .await
                .expect("the transfers load");
        assert_eq!(
            posted,
            keys.len() as i64,
            "every acknowledged transfer is posted exactly once"
        );
        println!("{} acknowledged transfers, all posted", keys.len());
    }

    async fn unsettled_bets(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM crash_bets WHERE status IN ('pending', 'open', 'cashing_out')")
            .fetch_one(&self.pool)
            .await
            .expect("the primary answers")
    }

    /// Waits until no bet is pending, open or being cashed out (the last rounds crashed or were settled).
    /// A bet sent just before the players stopped betting may still be on its way to the leader, so no bet
    /// must be unsettled in two looks a second apart.
    pub async fn wait_all_bets_settled(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut settled_looks = 0;
        loop {
            let unsettled = self.unsettled_bets().await;
            settled_looks = if unsettled == 0 { settled_looks + 1 } else { 0 };
            if settled_looks == 2 {
                return;
            }
            if unsettled == 0 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            assert!(
                Instant::now() < deadline,
                "{unsettled} bets still unsettled after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Every staked bet ended exactly one way: lost, cashed out with one win, or refunded with one refund.
    pub async fn assert_every_bet_settled_once(&self) {
        let rows: Vec<(Uuid, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT b.id, b.status,
                    (SELECT count(*) FROM transfers t WHERE t.idempotency_key = 'crash:stake:' || b.id AND t.status = 'posted'),
                    (SELECT count(*) FROM transfers t WHERE t.idempotency_key = 'crash:win:' || b.id AND t.status = 'posted'),
                    (SELECT count(*) FROM transfers t WHERE t.idempotency_key = 'crash:refund:' || b.id AND t.status = 'posted')
             FROM crash_bets b",
        )
        .fetch_all(&self.pool)
        .await
        .expect("the bets load");
        assert!(!rows.is_empty(), "the players placed bets");
        for (bet, status, stakes, wins, refunds) in &rows {
            let expected = match status.as_str() {
                "lost" => (1, 0, 0),
                "cashed_out" => (1, 1, 0),
                "refunded" => (1, 0, 1),
                "void" => (0, 0, 0),
                other => panic!("bet {bet} is still {other}"),
            };
            assert_eq!((*stakes, *wins, *refunds), expected, "bet {bet} ({status})");
        }
        println!("{} bets, each settled exactly once", rows.len());
    }

    /// Every cashout a player was told about was paid exactly that payout.
    pub async fn assert_acknowledged_cashouts_paid(&self, cashouts: &[(Uuid, i64)]) {
        for (bet, payout) in cashouts {
            let paid: Option<i64> = sqlx::query_scalar(
                "SELECT amount FROM transfers WHERE idempotency_key = 'crash:win:' || $1::text AND status = 'posted'",
            )
            .bind(bet.to_string())
            .fetch_optional(&self.pool)
            .await
            .expect("the win loads");
            assert_eq!(paid, Some(*payout), "acknowledged cashout of bet {bet}");
        }
        println!("{} acknowledged cashouts, all paid", cashouts.len());
    }

    /// Runs `game-cluster audit` against the cluster's primary, as an operator would.
    pub fn assert_audit_passes(&self) {
        let output = self.cli(&["audit"]);
        assert!(
            output.status.success(),
            "the audit failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs `game-cluster ARGS` configured for the cluster (`scripts/cluster.sh env`), as an operator would.
    pub fn cli(&self, args: &[&str]) -> Output {
        let command = format!(
            "eval \"$({} env)\" && cd {} && {} {}",
            repo_root().join("scripts/cluster.sh").display(),
            repo_root().display(),
            env!("CARGO_BIN_EXE_game-cluster"),
            args.join(" "),
        );
        Command::new("bash")
            .args(["-c", &command])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CLUSTER_DIR", &self.dir)
            .output()
            .expect("the CLI runs")
    }

    pub fn stop(mut self) {
        self.stopped = true;
        script(&self.dir, &["stop", "--purge"], &[]);
    }
}

impl Drop for Cluster {
    /// A failing test still stops its processes (the logs are kept for a look).
    fn drop(&mut self) {
        if !self.stopped {
            eprintln!("stopping the cluster in {} (kept for its logs)", self.dir.display());
            // HOME too, as in `script`: cluster.sh runs under `set -u` and reads it.
            let _ = Command::new(repo_root().join("scripts/cluster.sh"))
                .arg("stop")
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("HOME", std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .env("CLUSTER_DIR", &self.dir)
                .output();
        }
    }
}
