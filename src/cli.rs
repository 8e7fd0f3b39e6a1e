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
