//! The command line: `serve`, `migrate`, `audit` and `bench-wallet`.

use crate::configuration::Settings;
use crate::db::Database;
use crate::startup::Application;
use crate::wallet::audit;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Recompute a crash round from its revealed hash: by round id (from the database) or from a hash and
    /// salt given here (no database needed). Exits 1 when a check fails.
    Verify(VerifyOptions),
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
}

#[derive(Debug, clap::Args)]
pub struct VerifyOptions {
    /// A crashed round's id, looked up in the database.
    #[arg(long, conflicts_with_all = ["hash", "salt"])]
    pub round: Option<i64>,
    /// A revealed game hash (64 hex digits).
    #[arg(long, requires = "salt")]
    pub hash: Option<String>,
    #[arg(long)]
    pub salt: Option<String>,
    /// The hash of the game before it (or the terminating hash for the first game), to check the link.
    #[arg(long)]
    pub previous: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub house_edge_bps: u32,
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
        Command::Verify(options) => verify(&settings, options).await,
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

async fn verify(settings: &Settings, options: VerifyOptions) -> anyhow::Result<ExitCode> {
    use crate::fair::crash::parse_hash;
    use crate::games::crash::{chain, store};
    let verdict = if let Some(round) = options.round {
        let database = Database::connect_lazy(&settings.database);
        let evidence = store::round_evidence(&database.reader, round)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no crashed round {round}"))?;
        let edge = settings
            .crash
            .rooms
            .get(&evidence.room)
            .map_or(options.house_edge_bps, |room| room.house_edge_bps);
        chain::verify(
            &evidence.hash,
            &evidence.salt,
            edge,
            evidence.previous_hash.as_ref(),
            Some(evidence.crash_point),
        )
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
