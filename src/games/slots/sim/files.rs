//! The files a simulation writes with `--out DIR`: the PAR sheet (JSON and HTML), the force record and
//! Stake Engine's formats: the lookup table `lookUpTable_<mode>_0.csv` (`id,weight,payoutMultiplier`,
//! weight 1 each, the win in centi-bet) and, with `--books`, `books_<mode>.jsonl` (one round per line:
//! `{"id", "payoutMultiplier", "events", "baseGameWins", "freeGameWins"}`, the last two in bet
//! multiples). Ids are simulation ids, from 1 as Stake Engine numbers books; both files replay the rounds
//! from the seed (the statistics were gathered without keeping any round).

use super::par::{html, ParSheet};
use super::{play, Outcome};
use crate::games::slots::{play_round, Definition, FastDraws, Mode};
use anyhow::Context;
use serde::Serialize;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The most rounds a lookup table holds (about 15 MB); a larger simulation writes none, and says so.
pub const LOOKUP_ROUNDS_MAX: u64 = 1_000_000;
/// The most rounds `--books` may write; more is refused. A bonus-buy book of the ways fixture is about
/// 20 KB (every free spin's board and wins), so this is at most about 400 MB.
pub const BOOKS_ROUNDS_MAX: u64 = 20_000;

/// One line of a books file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Book<'a> {
    pub id: u64,
    pub payout_multiplier: u64,
    pub events: &'a [crate::games::slots::Event],
    pub base_game_wins: f64,
    pub free_game_wins: f64,
}

/// What was written, for the terminal.
#[derive(Debug, Default)]
pub struct Written {
    pub files: Vec<PathBuf>,
    pub notes: Vec<String>,
}

/// Writes everything `--out` asks for into `dir` (created if missing).
pub fn write_all(
    dir: &Path,
    definition: &Definition,
    mode: &Mode,
    outcome: &Outcome,
    sheet: &ParSheet,
    books: bool,
) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Written::default();
    let name = mode.name();
    let par_json = dir.join(format!("par_{name}.json"));
    write_file(&par_json, serde_json::to_string_pretty(sheet)?.as_bytes())?;
    let par_html = dir.join(format!("par_{name}.html"));
    write_file(&par_html, html(sheet).as_bytes())?;
    let force = dir.join(format!("force_{name}.json"));
    write_file(
        &force,
        serde_json::to_string_pretty(&outcome.force.to_json())?.as_bytes(),
    )?;
    written.files.extend([par_json, par_html, force]);
    let (rounds, seed) = (outcome.plan.rounds, outcome.plan.seed);
    if rounds <= LOOKUP_ROUNDS_MAX {
        let path = dir.join(format!("lookUpTable_{name}_0.csv"));
        write_lookup(&mut create(&path)?, definition, mode, seed, rounds)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.files.push(path);
    } else {
        written.notes.push(format!(
            "no lookup table: {rounds} rounds is more than its limit of {LOOKUP_ROUNDS_MAX}"
        ));
    }
    if books {
        let path = dir.join(format!("books_{name}.jsonl"));
        write_books(&mut create(&path)?, definition, mode, seed, rounds)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.files.push(path);
    }
    Ok(written)
}

/// Refuses `--books` beyond [`BOOKS_ROUNDS_MAX`] before anything is simulated.
pub fn check_books(rounds: u64) -> anyhow::Result<()> {
    anyhow::ensure!(
        rounds <= BOOKS_ROUNDS_MAX,
        "--books writes at most {BOOKS_ROUNDS_MAX} rounds (up to about 400 MB); asked for {rounds}"
    );
    Ok(())
}

fn create(path: &Path) -> anyhow::Result<BufWriter<std::fs::File>> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::new(file))
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Rows `id,1,payoutMultiplier` for rounds `1..=rounds` (a header row first).
pub fn write_lookup<W: Write>(
    out: &mut W,
    definition: &Definition,
    mode: &Mode,
    seed: u64,
    rounds: u64,
) -> anyhow::Result<()> {
    writeln!(out, "id,weight,payoutMultiplier")?;
    for id in 1..=rounds.min(LOOKUP_ROUNDS_MAX) {
        let summary = play(definition, mode, seed, id);
        writeln!(out, "{id},1,{}", summary.win_centibet)?;
    }
    out.flush()?;
    Ok(())
}

/// One JSON line per round `1..=rounds`, each round played again with its events recorded.
pub fn write_books<W: Write>(
    out: &mut W,
    definition: &Definition,
    mode: &Mode,
    seed: u64,
    rounds: u64,
) -> anyhow::Result<()> {
    check_books(rounds)?;
    for id in 1..=rounds {
        let round = play_round(definition, mode, &mut FastDraws::for_round(seed, id));
        let book = Book {
            id,
            payout_multiplier: round.summary.win_centibet,
            events: &round.events,
            base_game_wins: round.summary.base_win_centibet as f64 / 100.0,
            free_game_wins: round.summary.free_spins_win_centibet as f64 / 100.0,
        };
        serde_json::to_writer(&mut *out, &book)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{simulate, Plan};
    use super::*;
    use crate::games::slots::testkit::{lines_game, ways_game};
    use std::sync::atomic::AtomicU64;

    #[test]
    fn the_lookup_table_lists_each_round_with_weight_one_and_its_win() {
        // Rows match the simulation: same count, ids from 1, and the same total win.
        let definition = ways_game();
        let mode = definition.mode("base").unwrap();
        let mut out = Vec::new();
        write_lookup(&mut out, &definition, mode, 5, 500).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("id,weight,payoutMultiplier"));
        let rows: Vec<Vec<u64>> = lines
            .map(|line| line.split(',').map(|field| field.parse().unwrap()).collect())
            .collect();
        assert_eq!(rows.len(), 500);
        assert_eq!(rows[0][0], 1);
        assert!(rows.iter().all(|row| row.len() == 3 && row[1] == 1));
        let plan = Plan {
            rounds: 500,
            threads: 2,
            seed: 5,
        };
        let outcome = simulate(&definition, mode, plan, &AtomicU64::new(0));
        let total: u64 = rows.iter().map(|row| row[2]).sum();
        assert_eq!(u128::from(total), outcome.stats.win_centibet);
    }

    #[test]
    fn books_hold_one_round_per_line_in_stake_engine_fields() {
        // Each line parses, carries the five fields, and its final event is the round's win.
        let definition = lines_game();
        let mode = definition.mode("bonus").unwrap();
        let mut out = Vec::new();
        write_books(&mut out, &definition, mode, 2, 20).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 20);
        for (index, line) in text.lines().enumerate() {
            let book: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(book["id"], index as u64 + 1);
            let events = book["events"].as_array().unwrap();
            assert_eq!(events.last().unwrap()["type"], "final_win");
            assert_eq!(events.last().unwrap()["amount"], book["payoutMultiplier"]);
            assert!(book["baseGameWins"].is_number() && book["freeGameWins"].is_number());
        }
        assert!(write_books(&mut Vec::new(), &definition, mode, 2, BOOKS_ROUNDS_MAX + 1).is_err());
    }
}
