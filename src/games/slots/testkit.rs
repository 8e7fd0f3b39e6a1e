//! Test helpers: the fixture games, definitions from inline text, hand-built boards, scripted draws.

use super::board::Board;
use super::definition::{cell, Definition};
use super::draws::Draws;
use super::load::{from_sources, LoadError};
use std::collections::{BTreeMap, VecDeque};

/// The 5x3 20-line fixture: wild multipliers (added) in free spins, a bonus buy of 10 spins for 100x.
pub fn lines_game() -> Definition {
    let [lines, _] = fixtures(None);
    lines
}

/// The 6x4 ways fixture: cascades, cascade and wild multipliers (multiplied) in free spins, a bonus buy
/// whose spins are drawn.
pub fn ways_game() -> Definition {
    let [_, ways] = fixtures(None);
    ways
}

/// Both fixtures, optionally with another win cap (in bet multiples) to make the cap likely.
pub fn fixtures(win_cap: Option<u64>) -> [Definition; 2] {
    let cap = |text: &str| match win_cap {
        None => text.to_string(),
        Some(cap) => text
            .lines()
            .map(|line| {
                if line.starts_with("win_cap =") {
                    format!("win_cap = {cap}")
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
    };
    let lines = game(
        "lines20",
        &cap(include_str!("testdata/lines20/game.toml")),
        &[
            ("base.csv", include_str!("testdata/lines20/base.csv")),
            ("free.csv", include_str!("testdata/lines20/free.csv")),
        ],
    );
    let ways = game(
        "ways6x4",
        &cap(include_str!("testdata/ways6x4/game.toml")),
        &[
            ("base.csv", include_str!("testdata/ways6x4/base.csv")),
            ("free.csv", include_str!("testdata/ways6x4/free.csv")),
        ],
    );
    [
        lines.expect("the lines fixture loads"),
        ways.expect("the ways fixture loads"),
    ]
}

/// A definition from inline `game.toml` text and reel files.
pub fn game(id: &str, game_toml: &str, files: &[(&str, &str)]) -> Result<Definition, LoadError> {
    let files: BTreeMap<String, String> = files
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect();
    from_sources(id, game_toml, &files)
}

/// A board from rows of symbol names, top row first ("W A S B B").
pub fn board(definition: &Definition, rows: &[&str]) -> Board {
    let mut board = Board::new(definition);
    assert_eq!(rows.len(), definition.rows());
    for (row, line) in rows.iter().enumerate() {
        let names: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(names.len(), definition.reels());
        for (reel, name) in names.into_iter().enumerate() {
            board.cells[cell(reel, row)] = definition.symbol_id(name).expect("a symbol of the game");
        }
    }
    board
}

/// Sets wild multipliers on a hand-built board: (reel, row, multiplier).
pub fn with_multipliers(mut board: Board, multipliers: &[(usize, usize, u32)]) -> Board {
    for (reel, row, multiplier) in multipliers {
        board.multipliers[cell(*reel, *row)] = *multiplier;
    }
    board.multiplied = true;
    board
}

/// Hands out scripted words; a word below a range's rejection limit draws `word mod n`, so small words
/// are the draws themselves.
pub struct Script(VecDeque<u32>);

impl Script {
    pub fn new(words: &[u32]) -> Script {
        Script(words.iter().copied().collect())
    }

    pub fn left(&self) -> usize {
        self.0.len()
    }
}

impl Draws for Script {
    fn next_u32(&mut self) -> u32 {
        self.0.pop_front().expect("the script has a word left")
    }
}

/// The chi-square statistic of `counts` against equal expected counts.
pub fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|count| (*count as f64 - expected).powi(2) / expected)
        .sum()
}
