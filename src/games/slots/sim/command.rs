//! `game-cluster slots sim | replay | list`: the command line of the simulator (wired in `cli.rs`).
//! Operating errors (an unknown game or mode, an unreadable file) come back as errors, which the CLI
//! prints and exits 2 on; a failed baseline check exits 1.

use super::files::{check_books, write_all};
use super::par::{text, ParSheet};
use super::{baseline, simulate, Plan, ROUNDS_MAX, THREADS_MAX};
use crate::games::slots::load::GAMES_DIR;
use crate::games::slots::{list_games, load_dir, load_game, play_round, Definition, FairDraws, FastDraws, Mode};
use anyhow::Context;
use clap::{value_parser, ArgGroup, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum SlotsCommand {
    /// Simulate rounds of a mode and print its PAR sheet; optionally write files, check or write the
    /// game's baseline.
    Sim(SimOptions),
    /// Replay one round (a simulation round from its seed and id, or a paid round from its seeds) and
    /// print its events and summary as JSON.
    Replay(ReplayOptions),
    /// List the shipped games under games/slots/ with their math versions and modes.
    List,
}

#[derive(Debug, clap::Args)]
pub struct SimOptions {
    /// A shipped game's id (under games/slots/ of the working directory) or a path to a game directory.
    #[arg(long)]
    pub game: String,
    #[arg(long, default_value = "base")]
    pub mode: String,
    #[arg(long, value_parser = value_parser!(u64).range(1..=ROUNDS_MAX))]
    pub rounds: u64,
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u32).range(1..=i64::from(THREADS_MAX)))]
    pub threads: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the PAR sheet (JSON, HTML), the force record and the lookup table here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --out: also write every round's events as Stake Engine books (JSON lines).
    #[arg(long, requires = "out")]
    pub books: bool,
    /// Compare with the game's baseline.json; exit 1 on drift or on another math version.
    #[arg(long, conflicts_with = "write_baseline")]
    pub check_baseline: bool,
    /// Record this run as the mode's baseline in the game's baseline.json.
    #[arg(long)]
    pub write_baseline: bool,
    /// Print the PAR sheet as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("round").required(true).args(["sim_id", "server_seed"])))]
pub struct ReplayOptions {
    #[arg(long)]
    pub game: String,
    #[arg(long, default_value = "base")]
    pub mode: String,
    /// The simulation's seed (with --sim-id).
    #[arg(long, requires = "sim_id")]
    pub seed: Option<u64>,
    /// The simulation round id (the book id), from 1.
    #[arg(long, requires = "seed", conflicts_with_all = ["server_seed", "client_seed", "nonce"])]
    pub sim_id: Option<u64>,
    /// A paid round's revealed server seed (with --client-seed and --nonce).
    #[arg(long, requires_all = ["client_seed", "nonce"])]
    pub server_seed: Option<String>,
    #[arg(long, requires = "server_seed")]
    pub client_seed: Option<String>,
    #[arg(long, requires = "server_seed")]
    pub nonce: Option<u64>,
}

pub fn run(command: SlotsCommand) -> anyhow::Result<ExitCode> {
    match command {
        SlotsCommand::Sim(options) => sim(&options),
        SlotsCommand::Replay(options) => replay(&options),
        SlotsCommand::List => list(Path::new(GAMES_DIR)),
    }
}

/// A game given as an id (loaded from games/slots/) or as a path (anything with a separator or dot),
/// with its directory.
pub fn resolve_game(game: &str) -> anyhow::Result<(Definition, PathBuf)> {
    let is_path = game.contains('/') || game.contains(std::path::MAIN_SEPARATOR) || game.starts_with('.');
    let (definition, dir) = if is_path {
        (load_dir(Path::new(game)), PathBuf::from(game))
    } else {
        (load_game(Path::new(GAMES_DIR), game), Path::new(GAMES_DIR).join(game))
    };
    // The load error already names its cause; a context chain would repeat it.
    let definition = definition.map_err(|error| anyhow::anyhow!("cannot load slot game {game:?}: {error}"))?;
    Ok((definition, dir))
}

pub fn resolve_mode<'a>(definition: &'a Definition, name: &str) -> anyhow::Result<&'a Mode> {
    definition.mode(name).ok_or_else(|| {
        let names: Vec<&str> = definition.modes().iter().map(Mode::name).collect();
        anyhow::anyhow!(
            "game {} has no mode {name:?} (its modes: {})",
            definition.id(),
            names.join(", ")
        )
    })
}

fn sim(options: &SimOptions) -> anyhow::Result<ExitCode> {
    let (definition, dir) = resolve_game(&options.game)?;
    let mode = resolve_mode(&definition, &options.mode)?;
    if options.books {
        check_books(options.rounds)?;
    }
    let plan = Plan {
        rounds: options.rounds,
        threads: options.threads,
        seed: options.seed,
    };
    let outcome = simulate_with_progress(&definition, mode, plan);
    let sheet = ParSheet::new(&definition, mode, &outcome);
    if options.json {
        println!("{}", serde_json::to_string_pretty(&sheet)?);
    } else {
        print!("{}", text(&sheet));
    }
    if let Some(out) = &options.out {
        let written = write_all(out, &definition, mode, &outcome, &sheet, options.books)?;
        for file in &written.files {
            eprintln!("wrote {}", file.display());
        }
        for note in &written.notes {
            eprintln!("{note}");
        }
    }
    if options.write_baseline {
        baseline::write(&dir, &definition, mode, &outcome, &sheet)?;
        eprintln!("wrote {}", dir.join(baseline::BASELINE_FILE).display());
    }
    if options.check_baseline {
        let drifts = baseline::check(&dir, &definition, mode, &sheet)?;
        if !drifts.is_empty() {
            for drift in &drifts {
                eprintln!(
                    "baseline check failed for {} mode {}: {drift}",
                    definition.id(),
                    mode.name()
                );
            }
            return Ok(ExitCode::FAILURE);
        }
        eprintln!("baseline check passed for {} mode {}", definition.id(), mode.name());
    }
    Ok(ExitCode::SUCCESS)
}

/// Width of the progress bar, in characters.
const PROGRESS_BAR_WIDTH: u64 = 40;
/// How often the progress bar is redrawn.
const PROGRESS_REDRAW_MS: u64 = 200;

/// Runs the simulation, drawing a progress bar on stderr meanwhile when stderr is a terminal.
fn simulate_with_progress(definition: &Definition, mode: &Mode, plan: Plan) -> super::Outcome {
    let progress = AtomicU64::new(0);
    if !std::io::stderr().is_terminal() {
        return simulate(definition, mode, plan, &progress);
    }
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| simulate(definition, mode, plan, &progress));
        while !worker.is_finished() {
            draw_progress(progress.load(Ordering::Relaxed), plan.rounds);
            std::thread::sleep(Duration::from_millis(PROGRESS_REDRAW_MS));
        }
        draw_progress(plan.rounds, plan.rounds);
        eprintln!();
        worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn draw_progress(done: u64, total: u64) {
    // Both divisions round down: the bar never shows more than is done.
    let filled = (u128::from(done) * u128::from(PROGRESS_BAR_WIDTH) / u128::from(total.max(1))) as usize;
    let percent = u128::from(done) * 100 / u128::from(total.max(1));
    let bar = "#".repeat(filled) + &"-".repeat(PROGRESS_BAR_WIDTH as usize - filled.min(PROGRESS_BAR_WIDTH as usize));
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "\r[{bar}] {percent:>3}% {done}/{total}");
    let _ = stderr.flush();
}

fn replay(options: &ReplayOptions) -> anyhow::Result<ExitCode> {
    let (definition, _) = resolve_game(&options.game)?;
    let mode = resolve_mode(&definition, &options.mode)?;
    let round = match (&options.server_seed, options.seed, options.sim_id) {
        (Some(server_seed), _, _) => {
            let client_seed = options.client_seed.as_deref().unwrap_or_default();
            let nonce = options.nonce.context("--server-seed needs --nonce")?;
            play_round(&definition, mode, &mut FairDraws::new(server_seed, client_seed, nonce))
        }
        (None, Some(seed), Some(id)) => play_round(&definition, mode, &mut FastDraws::for_round(seed, id)),
        _ => anyhow::bail!("give --seed and --sim-id, or --server-seed, --client-seed and --nonce"),
    };
    let json = serde_json::json!({
        "game": definition.id(),
        "math_version": definition.math_version(),
        "mode": mode.name(),
        "events": round.events,
        "summary": round.summary,
    });
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(ExitCode::SUCCESS)
}

/// One line per shipped game: id, math version, modes (name:cost), tab-separated.
fn list(root: &Path) -> anyhow::Result<ExitCode> {
    if !root.is_dir() {
        eprintln!("no shipped slot games: {} does not exist", root.display());
        return Ok(ExitCode::SUCCESS);
    }
    let ids = list_games(root).with_context(|| format!("cannot list {}", root.display()))?;
    if ids.is_empty() {
        eprintln!("no shipped slot games under {}", root.display());
    }
    let mut failed = false;
    for id in ids {
        match load_game(root, &id) {
            Ok(definition) => {
                let modes: Vec<String> = definition
                    .modes()
                    .iter()
                    .map(|mode| format!("{}:{}", mode.name(), mode.cost()))
                    .collect();
                println!("{id}\t{}\t{}", definition.math_version(), modes.join(","));
            }
            Err(error) => {
                eprintln!("{id}: {error}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The `slots` subcommands as the CLI parses them (the tests need nothing else of it).
    #[derive(Debug, Parser)]
    struct SlotsCli {
        #[command(subcommand)]
        command: SlotsCommand,
    }

    const FIXTURE: &str = "src/games/slots/testdata/lines20";

    fn parse(args: &[&str]) -> Result<SlotsCli, clap::Error> {
        SlotsCli::try_parse_from(["game-cluster slots"].iter().chain(args))
    }

    fn slots(args: &[&str]) -> SlotsCommand {
        parse(args).unwrap().command
    }

    #[test]
    fn bad_arguments_are_refused_by_the_parser() {
        // Zero rounds, zero or too many threads, books without --out, both baseline flags, a replay
        // with neither kind of seed: each a usage error (clap exits 2 on them).
        let cases: &[&[&str]] = &[
            &["sim", "--game", "x", "--rounds", "0"],
            &["sim", "--game", "x", "--rounds", "10", "--threads", "0"],
            &["sim", "--game", "x", "--rounds", "10", "--threads", "257"],
            &["sim", "--game", "x", "--rounds", "10", "--books"],
            &[
                "sim",
                "--game",
                "x",
                "--rounds",
                "10",
                "--check-baseline",
                "--write-baseline",
            ],
            &["sim", "--game", "x"],
            &["replay", "--game", "x"],
            &["replay", "--game", "x", "--seed", "1"],
            &["replay", "--game", "x", "--server-seed", "s"],
            &[
                "replay",
                "--game",
                "x",
                "--seed",
                "1",
                "--sim-id",
                "2",
                "--server-seed",
                "s",
                "--client-seed",
                "c",
                "--nonce",
                "1",
            ],
        ];
        for args in cases {
            let error = parse(args).expect_err(&args.join(" "));
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn an_unknown_game_or_mode_is_an_error_not_a_panic() {
        // Each comes back as an error naming what was wrong.
        let error = run(slots(&["sim", "--game", "no-such-game", "--rounds", "10"])).unwrap_err();
        assert!(format!("{error:#}").contains("no-such-game"));
        let error = run(slots(&["sim", "--game", "Bad Id", "--rounds", "10"])).unwrap_err();
        assert!(format!("{error:#}").contains("not a game id"));
        let error = run(slots(&["sim", "--game", FIXTURE, "--mode", "turbo", "--rounds", "10"])).unwrap_err();
        assert!(format!("{error:#}").contains("no mode \"turbo\" (its modes: base, bonus)"));
        let error = run(slots(&[
            "replay", "--game", FIXTURE, "--mode", "turbo", "--seed", "1", "--sim-id", "1",
        ]));
        assert!(error.is_err());
    }

    #[test]
    fn a_fixture_simulates_and_replays_from_its_path() {
        // The happy paths end with success.
        let code = run(slots(&[
            "sim",
            "--game",
            FIXTURE,
            "--rounds",
            "200",
            "--threads",
            "2",
            "--json",
        ]))
        .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let code = run(slots(&["replay", "--game", FIXTURE, "--seed", "1", "--sim-id", "5"])).unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let code = run(slots(&[
            "replay",
            "--game",
            FIXTURE,
            "--server-seed",
            "s",
            "--client-seed",
            "c",
            "--nonce",
            "3",
        ]))
        .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
    }

    #[test]
    fn out_writes_the_par_sheet_force_record_lookup_and_books() {
        // Every promised file exists in the output directory.
        let dir = std::env::temp_dir().join(format!("slots-out-{}", std::process::id()));
        let out = dir.to_str().unwrap();
        let args = [
            "sim", "--game", FIXTURE, "--mode", "bonus", "--rounds", "50", "--out", out, "--books",
        ];
        assert_eq!(run(slots(&args)).unwrap(), ExitCode::SUCCESS);
        for file in [
            "par_bonus.json",
            "par_bonus.html",
            "force_bonus.json",
            "lookUpTable_bonus_0.csv",
            "books_bonus.jsonl",
        ] {
            assert!(dir.join(file).is_file(), "{file}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
        let rounds = (super::super::files::BOOKS_ROUNDS_MAX + 1).to_string();
        let too_many = ["sim", "--game", FIXTURE, "--rounds", &rounds, "--out", out, "--books"];
        assert!(run(slots(&too_many)).is_err(), "books are bounded before anything runs");
    }
}
