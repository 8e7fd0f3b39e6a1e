//! The command line: `serve`, `migrate`, `audit`, `bench-wallet`, `chain generate`, `verify`,
//! `loadtest-players`, `admin` and `slots` (the slot simulator, replay and game list).

use crate::configuration::Settings;
use crate::db::Database;
use crate::fair::seeds::SeedInput;
use crate::games::instant::{self, InstantError};
use crate::games::registry::{Registry, CRASH};
use crate::startup::Application;
use crate::wallet::audit;
use anyhow::Context;
use clap::{ArgGroup, Parser, Subcommand};
use serde_json::Value;
use std::process::ExitCode;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "game-cluster", version, about = "Real-time casino game server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node: HTTP API, wallet shards and (with later features) game actors.
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Check the ledger invariants; exits 1 when any is breached.
    Audit,
    /// Drive transfers through the wallet shards and report throughput and latency as JSON.
    BenchWallet(crate::wallet::bench::BenchOptions),
    /// Manage crash hash chains.
    #[command(subcommand)]
    Chain(ChainCommand),
    /// Recompute a result from its revealed seeds: a crash round (by id from the database, or from a hash
    /// and salt given here), a Dice, Plinko or Mines bet (by id from the database), or a per-player game's
    /// result from seeds and options given here. The forms given here need no database. Exits 1 when a
    /// check fails.
    Verify(VerifyOptions),
    /// Development and load tests only: create funded players without the HTTP sign-up (one password
    /// hash for all) and print one token per line. Refused unless `wallet.dev_top_up_enabled`.
    LoadtestPlayers(LoadtestPlayersOptions),
    /// Operator controls through the admin API (pause/resume a room, broadcast, drain a node, ...).
    Admin(crate::admin::cli::AdminOptions),
    /// Slot games: simulate (PAR sheet, Stake Engine files, baseline check), replay a round, list games.
    #[command(subcommand)]
    Slots(crate::games::slots::sim::command::SlotsCommand),
    /// Development and load tests only: a fake studio that launches sessions and plays rounds against the
    /// seamless-wallet API (bets, wins, rollbacks, retries, duplicates, rollbacks before their bet), checks
    /// every balance against its own record and reports calls/s and latency as JSON; exits 1 on a mismatch.
    ProviderSim(crate::providers::sim::ProviderSimOptions),
}

#[derive(Debug, clap::Args)]
pub struct LoadtestPlayersOptions {
    #[arg(long)]
    pub count: u32,
    /// Usernames are `{prefix}{index}`; an existing one is reused (and not funded twice).
    #[arg(long)]
    pub prefix: String,
    #[arg(long, default_value_t = 1_000_000_000)]
    pub funds_micros: i64,
}

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Generate and store a new chain for a room; prints the terminating hash to publish.
    Generate {
        #[arg(long)]
        room: String,
        #[arg(long, default_value_t = 100_000)]
        length: u32,
    },
    /// Development and tests only: store chains for a room whose every game crashes at or below
    /// `--crash-point-max`, so that no round outlasts a known time and tests never wait on a long one.
    /// Refused unless `wallet.dev_top_up_enabled`.
    GenerateShort {
        /// One room; every configured room without it.
        #[arg(long)]
        room: Option<String>,
        /// How many games each room's chains hold together.
        #[arg(long, default_value_t = 500)]
        games: u32,
        /// The highest crash point of any game, as a multiplier (`5.00`).
        #[arg(long, value_parser = parse_multiplier)]
        crash_point_max: u32,
    },
}

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("subject").required(true).args(["round", "hash", "bet", "spin", "game"])))]
#[command(group(
    ArgGroup::new("inputs")
        .multiple(true)
        .args(["server_seed", "client_seed", "nonce", "options"])
        .requires("game")
        .conflicts_with_all(["round", "hash", "bet"])
))]
pub struct VerifyOptions {
    /// A crashed round's id, looked up in the database.
    #[arg(long, conflicts_with_all = ["hash", "salt"])]
    pub round: Option<i64>,
    /// A revealed game hash (64 hex digits).
    #[arg(long, requires = "salt")]
    pub hash: Option<String>,
    /// The room's public salt, as `GET /api/v1/game/rounds` shows it.
    #[arg(long, conflicts_with_all = ["bet", "game"])]
    pub salt: Option<String>,
    /// The hash of the game before it (or the terminating hash for the first game), to check the link.
    #[arg(long, conflicts_with_all = ["bet", "game"])]
    pub previous: Option<String>,
    /// The house edge for --hash (a round from the database uses its room's configured edge).
    #[arg(long, default_value_t = 100, conflicts_with_all = ["bet", "game"])]
    pub house_edge_bps: u32,
    /// A Dice, Plinko or Mines bet's id, looked up in the database; its seed pair must have been revealed
    /// (rotated).
    #[arg(long)]
    pub bet: Option<Uuid>,
    /// A slot round's id (the `spin_id`), looked up in the database; its seed pair must have been
    /// revealed. It is played again under the math version it recorded and compared event by event.
    #[arg(long, conflicts_with_all = ["bet", "game", "round", "hash"])]
    pub spin: Option<Uuid>,
    /// A per-player game (dice, plinko or mines) whose result to compute from the inputs below.
    #[arg(long, value_parser = parse_game, requires_all = ["server_seed", "client_seed", "nonce", "options"])]
    pub game: Option<String>,
    /// The revealed server seed, as text.
    #[arg(long)]
    pub server_seed: Option<String>,
    /// The client seed of the same pair.
    #[arg(long)]
    pub client_seed: Option<String>,
    /// The bet's nonce (a seed pair's first bet has nonce 0).
    #[arg(long)]
    pub nonce: Option<u64>,
    /// The bet's options as JSON, as a bet request writes them: `{"target": 49.5, "direction": "over"}`,
    /// `{"rows": 8, "risk": "low"}`, `{"mines": 3}`.
    #[arg(long, value_parser = parse_json)]
    pub options: Option<Value>,
}

/// `--game`: any name but crash, whose rounds have their own flags (the registry judges the rest).
fn parse_game(text: &str) -> Result<String, String> {
    if text == CRASH {
        return Err("crash rounds are verified with --round ID or --hash H --salt S [--previous P]".into());
    }
    Ok(text.to_owned())
}

/// A multiplier with at most two decimals (`5.00`), in hundredths.
fn parse_multiplier(text: &str) -> Result<u32, String> {
    text.parse::<serde_json::Number>()
        .ok()
        .and_then(|number| crate::fair::parse_hundredths(&number))
        .ok_or_else(|| format!("{text:?} is not a multiplier such as 5.00"))
}

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))
}

/// Runs a command inside the actix system and returns the process exit code.
pub async fn run(cli: Cli, settings: Settings) -> ExitCode {
    let result = match cli.command {
        Command::Serve => serve(settings).await,
        Command::Migrate => Database::connect_lazy(&settings.database).migrate().await.map(|()| {
            tracing::info!("migrations applied");
            ExitCode::SUCCESS
        }),
        Command::Audit => run_audit(&settings).await,
        Command::BenchWallet(options) => crate::wallet::bench::run(&settings, options)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Chain(ChainCommand::Generate { room, length }) => generate_chain(&settings, &room, length).await,
        Command::Chain(ChainCommand::GenerateShort {
            room,
            games,
            crash_point_max,
        }) => generate_short_chains(&settings, room.as_deref(), games, crash_point_max).await,
        Command::Verify(options) => verify(&settings, options).await,
        Command::LoadtestPlayers(options) => loadtest_players(&settings, options).await,
        Command::Admin(options) => crate::admin::cli::run(&settings, options)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Slots(command) => crate::games::slots::sim::command::run(command),
        Command::ProviderSim(options) => crate::providers::sim::run(&settings, options).await.map(|passed| {
            if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }),
    };
    result.unwrap_or_else(|error| {
        tracing::error!(error = format!("{error:#}"), "command failed");
        eprintln!("error: {error:#}");
        ExitCode::from(2)
    })
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let application = Application::build(settings).await?;
    application.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

async fn run_audit(settings: &Settings) -> anyhow::Result<ExitCode> {
    let database = Database::connect_lazy(&settings.database);
    let report = audit::run(&database.writer).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn generate_chain(settings: &Settings, room: &str, length: u32) -> anyhow::Result<ExitCode> {
    let room_settings = settings
        .crash
        .rooms
        .get(room)
        .ok_or_else(|| anyhow::anyhow!("no room {room:?} is configured"))?;
    let database = Database::connect_lazy(&settings.database);
    database.migrate().await?;
    let terminating = crate::games::crash::chain::generate(&database.writer, room, &room_settings.salt, length).await?;
    println!(
        "{}",
        serde_json::json!({ "room": room, "length": length, "salt": room_settings.salt, "terminating_hash": terminating })
    );
    Ok(ExitCode::SUCCESS)
}

async fn generate_short_chains(
    settings: &Settings,
    room: Option<&str>,
    games: u32,
    crash_point_max: u32,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        settings.wallet.dev_top_up_enabled,
        "short chains are only made where wallet.dev_top_up_enabled is set (development, test, local)"
    );
    let rooms: Vec<&String> = match room {
        Some(room) => vec![
            settings
                .crash
                .rooms
                .get_key_value(room)
                .ok_or_else(|| anyhow::anyhow!("no room {room:?} is configured"))?
                .0,
        ],
        None => settings.crash.rooms.keys().collect(),
    };
    let database = Database::connect_lazy(&settings.database);
    database.migrate().await?;
    for room in rooms {
        let room_settings = &settings.crash.rooms[room];
        let terminating = crate::games::crash::chain::generate_short(
            &database.writer,
            room,
            &room_settings.salt,
            room_settings.house_edge_bps,
            games,
            crash_point_max,
        )
        .await?;
        println!(
            "{}",
            serde_json::json!({
                "room": room,
                "games": games,
                "crash_point_max": crate::games::crash::multiplier_json(crash_point_max),
                "salt": room_settings.salt,
                "terminating_hashes": terminating,
            })
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify(settings: &Settings, options: VerifyOptions) -> anyhow::Result<ExitCode> {
    if let Some(bet) = options.bet {
        return verify_bet(settings, bet).await;
    }
    if let Some(spin) = options.spin {
        return verify_spin(settings, spin).await;
    }
    if let Some(game) = options.game {
        let (Some(server_seed), Some(client_seed), Some(nonce), Some(bet_options)) =
            (options.server_seed, options.client_seed, options.nonce, options.options)
        else {
            anyhow::bail!("--game needs --server-seed, --client-seed, --nonce and --options");
        };
        let seeds = SeedInput {
            server_seed: &server_seed,
            client_seed: &client_seed,
            nonce,
        };
        let result = instant::verify::verify_inputs(&Registry::from_settings(settings), &game, seeds, bet_options)
            .map_err(instant_error)
            .with_context(|| format!("cannot compute the {game} result"))?;
        println!("{}", serde_json::to_string_pretty(&result)?);
        return Ok(ExitCode::SUCCESS);
    }
    verify_crash(settings, options).await
}

/// Recomputes a recorded Dice, Plinko or Mines bet from its revealed seed pair.
async fn verify_bet(settings: &Settings, id: Uuid) -> anyhow::Result<ExitCode> {
    let database = Database::connect_lazy(&settings.database);
    let bet = instant::store::find(&database.reader, id)
        .await
        .context("failed to load the bet")?
        .ok_or_else(|| anyhow::anyhow!("no Dice, Plinko or Mines bet {id}"))?;
    let verdict = instant::verify::verify_bet(&Registry::from_settings(settings), &bet)
        .map_err(instant_error)
        .with_context(|| format!("cannot verify bet {id}"))?;
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    Ok(if verdict.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Replays a recorded slot round from its revealed seed pair under its recorded math version.
async fn verify_spin(settings: &Settings, id: Uuid) -> anyhow::Result<ExitCode> {
    use crate::games::slots::server::{catalog::Catalog, store, verify};
    let database = Database::connect_lazy(&settings.database);
    let round = store::find_round(&database.reader, id)
        .await
        .context("failed to load the round")?
        .ok_or_else(|| anyhow::anyhow!("no slot round {id}"))?;
    let catalog = Catalog::load(&settings.games.slots)?;
    let verdict = verify::verify_round(&catalog, &database.reader, &round)
        .await
        .with_context(|| format!("cannot verify slot round {id}"))?;
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    Ok(if verdict.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A per-player game's error as the CLI reports it: the stable code of a rule error, then the message.
fn instant_error(error: InstantError) -> anyhow::Error {
    match error {
        InstantError::Rule(rule) => anyhow::anyhow!("{}: {}", rule.code, rule.message),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn verify_crash(settings: &Settings, options: VerifyOptions) -> anyhow::Result<ExitCode> {
    use crate::fair::crash::parse_hash;
    use crate::games::crash::{chain, store};
    let verdict = if let Some(round) = options.round {
        let database = Database::connect_lazy(&settings.database);
        let evidence = store::round_evidence(&database.reader, round)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no finished (crashed or aborted) round {round}"))?;
        let edge = settings
            .crash
            .rooms
            .get(&evidence.room)
            .map_or(options.house_edge_bps, |room| room.house_edge_bps);
        chain::verify_stored(&evidence, edge)
    } else {
        let hash = options
            .hash
            .as_deref()
            .and_then(parse_hash)
            .ok_or_else(|| anyhow::anyhow!("--hash must be 64 hex digits"))?;
        let salt = options
            .salt
            .ok_or_else(|| anyhow::anyhow!("--salt is required with --hash"))?;
        let previous = options
            .previous
            .as_deref()
            .map(|text| parse_hash(text).ok_or_else(|| anyhow::anyhow!("--previous must be 64 hex digits")))
            .transpose()?;
        chain::verify(&hash, &salt, options.house_edge_bps, previous.as_ref(), None)
    };
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    let failed = verdict.previous_hash_matches == Some(false) || verdict.crash_point_matches == Some(false);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn loadtest_players(settings: &Settings, options: LoadtestPlayersOptions) -> anyhow::Result<ExitCode> {
    let tokens =
        crate::loadtest::create_players(settings, options.count, &options.prefix, options.funds_micros).await?;
    let mut out = String::with_capacity(tokens.len() * 400);
    for token in tokens {
        out.push_str(&token);
        out.push('\n');
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
