//! `game-cluster provider-sim`: a fake studio that plays against our seamless wallet the way real
//! providers do. It registers itself (development only), makes funded players, launches a game session
//! for each through the public API, then plays rounds until the duration ends: bets, wins (many zero),
//! rollbacks, end of round, retries with jitter after timeouts and unavailable answers, duplicate copies of
//! calls sent at once, and rollbacks sent before their bet. Every answer is checked against its own record
//! of each player's balance, and at the end every player's balance is read back and compared. It reports
//! calls per second and latency as JSON and exits 1 on any mismatch.

mod player;

use crate::configuration::Settings;
use anyhow::Context;
use hdrhistogram::Histogram;
use player::{PlayerReport, SimPlayer};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The most players one run plays.
pub const SIM_PLAYERS_MAX: u32 = 10_000;
/// The longest run.
pub const SIM_DURATION_MAX_S: u64 = 3_600;
/// Sessions launched at once while preparing.
const LAUNCH_IN_FLIGHT_MAX: usize = 32;

#[derive(Debug, Clone, clap::Args)]
pub struct ProviderSimOptions {
    /// The provider the simulator plays as (created with the generic protocol if missing).
    #[arg(long, default_value = "sim-studio")]
    pub provider: String,
    #[arg(long, default_value_t = 20)]
    pub players: u32,
    #[arg(long, default_value_t = 10)]
    pub duration_s: u64,
    /// Where the wallet is reached (nginx in front of a cluster, or one node).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The provider's HMAC secret (the one registered for it).
    #[arg(
        long,
        env = "PROVIDER_SIM_SECRET",
        default_value = "provider-sim-secret-for-development-only"
    )]
    pub secret: String,
    /// How long one call may take before the simulator treats it as timed out and retries.
    #[arg(long, default_value_t = 2_000)]
    pub call_timeout_ms: u64,
    /// Seed of the simulator's choices (the same seed plays the same rounds).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Usernames of the simulated players start with this.
    #[arg(long, default_value = "provsim")]
    pub player_prefix: String,
    /// Every round and transaction id of this run starts with it (default: a random one, so that runs
    /// never reuse each other's ids).
    #[arg(long, default_value_t = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned())]
    pub run_id: String,
}

/// The game the simulator plays.
pub const SIM_GAME_CODE: &str = "sim_fruits";

/// Runs the simulator; `Ok(false)` when any check failed.
pub async fn run(settings: &Settings, options: ProviderSimOptions) -> anyhow::Result<bool> {
    anyhow::ensure!(
        (1..=SIM_PLAYERS_MAX).contains(&options.players),
        "--players must be 1 to {SIM_PLAYERS_MAX}"
    );
    anyhow::ensure!(
        (1..=SIM_DURATION_MAX_S).contains(&options.duration_s),
        "--duration-s must be 1 to {SIM_DURATION_MAX_S}"
    );
    anyhow::ensure!(
        (1..=40).contains(&options.run_id.len())
            && options
                .run_id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-'),
        "--run-id must be 1 to 40 letters, digits or '-'"
    );
    anyhow::ensure!(
        options.url.starts_with("http://127.") || options.url.starts_with("http://localhost"),
        "the simulator only targets loopback addresses (http://127.x.x.x)"
    );
    register(settings, &options).await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(options.call_timeout_ms))
        .pool_max_idle_per_host(options.players as usize)
        .build()?;
    let players = prepare_players(settings, &options, &client).await?;
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(options.duration_s);
    let tasks: Vec<_> = players
        .into_iter()
        .map(|player| tokio::spawn(player.play_until(deadline)))
        .collect();
    let mut reports = Vec::with_capacity(tasks.len());
    for task in tasks {
        reports.push(task.await.context("a simulated player panicked")?);
    }
    let elapsed = started.elapsed();
    let mut final_mismatches = 0;
    for report in &mut reports {
        final_mismatches += report.check_final_balance(&client, &options.url).await?;
    }
    let summary = summarize(&reports, elapsed, final_mismatches);
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(summary["mismatches"].as_u64() == Some(0))
}

/// Creates the simulator's provider and game if missing (development only: it writes the catalog
/// directly, as an operator would through the admin API).
async fn register(settings: &Settings, options: &ProviderSimOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        settings.wallet.dev_top_up_enabled,
        "the provider simulator only runs where wallet.dev_top_up_enabled is set (development, test, local)"
    );
    let database = crate::db::Database::connect_lazy(&settings.database);
    let pool = &database.writer;
    sqlx::query(
        "INSERT INTO providers (id, name, protocol, secret, currencies, launch_url)
         VALUES ($1, 'Provider simulator', 'generic', $2, ARRAY[$3], 'http://127.0.0.1/sim?token={token}')
         ON CONFLICT (id) DO UPDATE SET secret = EXCLUDED.secret, active = true",
    )
    .bind(&options.provider)
    .bind(&options.secret)
    .bind(settings.currency().as_str())
    .execute(pool)
    .await
    .context("failed to register the simulator's provider")?;
    sqlx::query(
        "INSERT INTO games (provider_id, code, name, category, rtp_bps, volatility, bet_min_micros, bet_max_micros)
         VALUES ($1, $2, 'Simulated Fruits', 'slots', 9600, 'medium', 100000, 100000000)
         ON CONFLICT (provider_id, code) DO UPDATE SET active = true",
    )
    .bind(&options.provider)
    .bind(SIM_GAME_CODE)
    .execute(pool)
    .await
    .context("failed to register the simulator's game")?;
    Ok(())
}

/// Funded players, each with a launched session of the simulator's game.
async fn prepare_players(
    settings: &Settings,
    options: &ProviderSimOptions,
    client: &reqwest::Client,
) -> anyhow::Result<Vec<SimPlayer>> {
    let prefix = format!("{}{}", options.player_prefix, options.seed);
    let tokens = crate::loadtest::create_players(settings, options.players, &prefix, 1_000_000_000_000).await?;
    let game = find_game(client, &options.url, &options.provider).await?;
    let launches = tokens.into_iter().enumerate().map(|(index, token)| {
        let game = game.clone();
        async move {
            let launched = launch(client, &options.url, &token, &game).await?;
            Ok::<_, anyhow::Error>(SimPlayer::new(index, options, client.clone(), launched, &game))
        }
    });
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let mut players: Vec<SimPlayer> = stream::iter(launches)
        .buffer_unordered(LAUNCH_IN_FLIGHT_MAX)
        .try_collect()
        .await?;
    for player in &mut players {
        player.read_opening_balance().await?;
    }
    Ok(players)
}

/// The simulator's game as the lobby lists it.
#[derive(Debug, Clone)]
pub struct SimGame {
    pub id: i64,
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
}

async fn find_game(client: &reqwest::Client, url: &str, provider: &str) -> anyhow::Result<SimGame> {
    let lobby: Value = client
        .get(format!("{url}/api/v1/games?provider={provider}&limit=200"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let game = lobby["games"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|game| game["code"] == SIM_GAME_CODE)
        .with_context(|| format!("the lobby does not list {SIM_GAME_CODE} of {provider}: {lobby}"))?;
    Ok(SimGame {
        id: game["id"].as_i64().context("a game id")?,
        bet_min_micros: game["bet_min_micros"].as_i64().context("bet_min_micros")?,
        bet_max_micros: game["bet_max_micros"].as_i64().context("bet_max_micros")?,
    })
}

/// What launching a session gave a player.
pub struct Launched {
    pub player_id: String,
    pub player_token: String,
    pub session_token: String,
}

async fn launch(client: &reqwest::Client, url: &str, token: &str, game: &SimGame) -> anyhow::Result<Launched> {
    let me: Value = client
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let player_id = me["id"]
        .as_str()
        .or(me["player"]["id"].as_str())
        .with_context(|| format!("/api/v1/me has no id: {me}"))?
        .to_owned();
    let session: Value = client
        .post(format!("{url}/api/v1/games/{}/launch", game.id))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let session_token = session["token"]
        .as_str()
        .with_context(|| format!("the launch answer has no token: {session}"))?
        .to_owned();
    Ok(Launched {
        player_id,
        player_token: token.to_owned(),
        session_token,
    })
}

fn summarize(reports: &[PlayerReport], elapsed: Duration, final_mismatches: u64) -> Value {
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let (mut calls, mut retries, mut duplicates, mut early_rollbacks, mut rounds, mut mismatches) = (0, 0, 0, 0, 0, 0);
    for report in reports {
        latency.add(&report.latency_us).expect("same bounds");
        for (status, count) in &report.statuses {
            *statuses.entry(status.clone()).or_default() += count;
        }
        calls += report.calls;
        retries += report.retries;
        duplicates += report.duplicates;
        early_rollbacks += report.early_rollbacks;
        rounds += report.rounds;
        mismatches += report.mismatch_total();
    }
    let examples: Vec<&String> = reports
        .iter()
        .flat_map(|report| report.mismatches.iter())
        .take(20)
        .collect();
    let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
    json!({
        "players": reports.len(),
        "duration_s": seconds,
        "rounds": rounds,
        "calls": calls,
        "calls_per_s": (calls as f64 / seconds).round(),
        "latency_ms": {
            "p50": latency.value_at_quantile(0.50) as f64 / 1000.0,
            "p95": latency.value_at_quantile(0.95) as f64 / 1000.0,
            "p99": latency.value_at_quantile(0.99) as f64 / 1000.0,
            "max": latency.max() as f64 / 1000.0,
        },
        "statuses": statuses,
        "retries": retries,
        "duplicates_sent": duplicates,
        "rollbacks_before_their_bet": early_rollbacks,
        "mismatches": mismatches + final_mismatches,
        "final_balance_mismatches": final_mismatches,
        "mismatch_examples": examples,
    })
}
