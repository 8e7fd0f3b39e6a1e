//! Property tests: rounds are functions of their draws, never exceed their caps, and their events add up
//! to their summaries; the ways formulas match a path-by-path count; reel stops are unbiased.

use super::board::Board;
use super::definition::{cell, Definition, Evaluation};
use super::draws::{Draws, FairDraws, FastDraws};
use super::evaluate::{evaluate, scatter_cells, scatter_count, Win};
use super::events::{Event, NoEvents};
use super::round::{play_round, play_round_into, Round};
use super::testkit::{board, chi_square, fixtures, with_multipliers};
use super::tests::ways_for_boards;
use proptest::prelude::*;
use std::sync::OnceLock;

/// The two fixtures as shipped, then with a 3x cap that many rounds reach.
fn games() -> &'static [Definition; 4] {
    static GAMES: OnceLock<[Definition; 4]> = OnceLock::new();
    GAMES.get_or_init(|| {
        let [lines, ways] = fixtures(None);
        let [lines_capped, ways_capped] = fixtures(Some(3));
        [lines, ways, lines_capped, ways_capped]
    })
}

/// Checks what every round must satisfy, against its definition.
fn check_round(definition: &Definition, bonus_buy: bool, round: &Round) -> Result<(), TestCaseError> {
    let summary = round.summary;
    let cap = definition.win_cap_centibet();
    let uncapped = summary.base_win_centibet + summary.free_spins_win_centibet;
    prop_assert!(summary.win_centibet <= cap);
    prop_assert_eq!(summary.win_centibet, uncapped.min(cap));
    prop_assert_eq!(summary.cap_hit, uncapped >= cap);
    prop_assert!(summary.free_spins_awarded <= definition.free_spins_max());
    prop_assert!(summary.free_spins_played <= summary.free_spins_awarded);
    if !summary.cap_hit {
        prop_assert_eq!(summary.free_spins_played, summary.free_spins_awarded);
    }
    prop_assert_eq!(summary.bonus_buy, bonus_buy);
    let (mut wins, mut excess, mut reveals, mut cascades) = (0u64, 0u64, 0u32, 0u32);
    for event in &round.events {
        match event {
            Event::Win { amount, .. } => wins += amount,
            Event::WinCapReached { excess: over, .. } => excess += over,
            Event::Reveal { .. } => reveals += 1,
            Event::Cascade { .. } => cascades += 1,
            _ => {}
        }
    }
    prop_assert_eq!(wins - excess, summary.win_centibet, "the win events add up to the win");
    prop_assert_eq!(
        round.events.last(),
        Some(&Event::FinalWin {
            amount: summary.win_centibet
        })
    );
    prop_assert_eq!(reveals, u32::from(!bonus_buy) + summary.free_spins_played);
    prop_assert_eq!(cascades, summary.cascades);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The same draws give the same round, and the silent path computes the same summary.
    #[test]
    fn a_round_is_a_function_of_its_draws(seed: u64, game in 0..4usize, mode in 0..2usize) {
        let definition = &games()[game];
        let mode = &definition.modes()[mode];
        let first = play_round(definition, mode, &mut FastDraws::new(seed, 0));
        let again = play_round(definition, mode, &mut FastDraws::new(seed, 0));
        prop_assert_eq!(&first, &again);
        let silent = play_round_into(definition, mode, &mut FastDraws::new(seed, 0), &mut NoEvents);
        prop_assert_eq!(silent, first.summary);
    }

    /// Caps hold and the events account for the win, uncapped and capped, base and bought.
    #[test]
    fn rounds_respect_their_caps_and_add_up(seed: u64, game in 0..4usize, mode in 0..2usize) {
        let definition = &games()[game];
        let mode = &definition.modes()[mode];
        let round = play_round(definition, mode, &mut FastDraws::new(seed, 1));
        check_round(definition, mode.is_bonus_buy(), &round)?;
    }

    /// The factorised ways count and multiplier sum equal a count of every path.
    #[test]
    fn ways_formulas_match_every_path(
        cells in proptest::collection::vec(0..4usize, 15),
        multipliers in proptest::collection::vec(0..4u32, 15),
        multiply: bool,
    ) {
        let combine = if multiply { "multiply" } else { "add" };
        let definition = ways_for_boards(combine);
        let names = ["W", "A", "B", "C"];
        let rows: Vec<String> = (0..3)
            .map(|row| (0..5).map(|reel| names[cells[reel * 3 + row]]).collect::<Vec<_>>().join(" "))
            .collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let plain = board(&definition, &rows);
        let wild_cells: Vec<(usize, usize, u32)> = (0..15)
            .filter(|index| cells[*index] == 0)
            .map(|index| (index / 3, index % 3, multipliers[index]))
            .collect();
        let board = with_multipliers(plain, &wild_cells);
        let mut a_win: Option<Win> = None;
        evaluate(&definition, &board, 1, |win| {
            if definition.symbol_name(win.symbol) == "A" {
                a_win = Some(*win);
            }
        });
        let expected = paths(&definition, &board, multiply);
        prop_assert_eq!(a_win.map(|win| (win.count, win.ways, win.multiplier)), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Skipping lines by their first two cells never changes the wins, and the word-at-a-time scatter
    /// count equals a cell-by-cell count, on any board of the lines fixture.
    #[test]
    fn shortcuts_never_change_an_evaluation(
        cells in proptest::collection::vec(0..9u8, 15),
        multipliers in proptest::collection::vec(0..12u32, 15),
        multiplied: bool,
    ) {
        let [definition, _] = fixtures(None);
        let mut unfiltered = definition.clone();
        if let Evaluation::Lines(paylines) = &mut unfiltered.evaluation {
            prop_assert!(paylines.filtered, "the fixture's pays all need three symbols");
            paylines.filtered = false;
        }
        let mut board = Board::new(&definition);
        for (index, symbol) in cells.iter().enumerate() {
            board.cells[cell(index / 3, index % 3)] = *symbol;
            board.multipliers[cell(index / 3, index % 3)] = multipliers[index];
        }
        board.multiplied = multiplied;
        let mut fast = Vec::new();
        let mut slow = Vec::new();
        let fast_total = evaluate(&definition, &board, 2, |win| fast.push(*win));
        let slow_total = evaluate(&unfiltered, &board, 2, |win| slow.push(*win));
        prop_assert_eq!(fast, slow);
        prop_assert_eq!(fast_total, slow_total);
        let scatters = scatter_cells(&definition, &board).count_ones();
        prop_assert_eq!(scatter_count(&definition, &board), scatters);
    }
}

/// Every path through the reels showing A or W from the left, with at least one A: (reels, paths,
/// summed multipliers), if A pays for that many reels.
fn paths(definition: &Definition, board: &Board, multiply: bool) -> Option<(u8, u64, u64)> {
    let a = definition.symbol_id("A")?;
    let w = definition.symbol_id("W")?;
    let mut columns: Vec<Vec<(bool, u64)>> = Vec::new();
    for reel in 0..board.reels() {
        let column: Vec<(bool, u64)> = (0..board.rows())
            .filter(|row| [a, w].contains(&board.symbol(reel, *row)))
            .map(|row| (board.symbol(reel, row) == a, u64::from(board.multiplier(reel, row))))
            .collect();
        if column.is_empty() {
            break;
        }
        columns.push(column);
    }
    // Paths as (has an A, multiplier sum or product), reel by reel.
    let mut all: Vec<(bool, u64)> = vec![(false, if multiply { 1 } else { 0 })];
    for column in &columns {
        all = all
            .iter()
            .flat_map(|(has_a, value)| {
                column.iter().map(move |(is_a, m)| {
                    let next = if multiply { value * (*m).max(1) } else { value + m };
                    (*has_a || *is_a, next)
                })
            })
            .collect();
    }
    let counted: Vec<u64> = all
        .iter()
        .filter(|(has_a, _)| *has_a)
        .map(|(_, value)| (*value).max(1))
        .collect();
    let pays = [0, 0, 5, 20, 40, 100];
    (!counted.is_empty() && pays[columns.len()] > 0)
        .then(|| (columns.len() as u8, counted.len() as u64, counted.iter().sum()))
}

#[test]
fn reel_stops_are_unbiased() {
    // Spin the lines fixture's 60-stop base reels and count each reel's stops: with 59 degrees of freedom
    // the 0.1% critical value is 98.3, far below what a biased stop mapping would give.
    let [definition, _] = fixtures(None);
    let strips = definition.phase(super::Phase::Base).unwrap().strips();
    let fair: Box<dyn Draws> = Box::new(FairDraws::new("stops", "unbiased", 1));
    for (mut draws, spins) in [
        (fair, 30_000),
        (Box::new(FastDraws::new(11, 0)) as Box<dyn Draws>, 120_000),
    ] {
        let mut board = Board::new(&definition);
        let mut counts = vec![vec![0u64; 60]; strips.len()];
        for _ in 0..spins {
            board.spin(strips, &mut *draws);
            for (reel, stop) in board.stops().iter().enumerate() {
                counts[reel][*stop as usize] += 1;
            }
        }
        for (reel, counts) in counts.iter().enumerate() {
            let statistic = chi_square(counts);
            assert!(statistic < 98.3, "reel {reel}: chi-square {statistic}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A cascade equals its plain description: per reel, the kept symbols in order, below the strip's
    /// `k` symbols above the old stop (`strip[s - k] .. strip[s - 1]`).
    #[test]
    fn cascades_match_their_description(seed: u64, removed: u64) {
        let [_, definition] = fixtures(None);
        let strips = definition.phase(super::Phase::Base).unwrap().strips();
        let (reels, rows) = (definition.reels(), definition.rows());
        let mut board = Board::new(&definition);
        board.spin(strips, &mut FastDraws::new(seed, 0));
        let before = board.clone();
        let removed = (0..reels).fold(0u64, |mask, reel| mask | (removed & (((1u64 << rows) - 1) << cell(reel, 0))));
        board.cascade(strips, removed);
        for (reel, strip) in strips.iter().enumerate() {
            let kept: Vec<u8> = (0..rows)
                .filter(|row| removed & (1 << cell(reel, *row)) == 0)
                .map(|row| before.symbol(reel, row))
                .collect();
            let fallen = rows - kept.len();
            let length = strip.len() as usize;
            let old_stop = before.stops()[reel] as usize;
            let mut expected: Vec<u8> =
                (0..fallen).map(|row| strip.stops()[(old_stop + length - fallen + row) % length]).collect();
            expected.extend(kept);
            let shown: Vec<u8> = (0..rows).map(|row| board.symbol(reel, row)).collect();
            prop_assert_eq!(shown, expected, "reel {}", reel);
            prop_assert_eq!(board.stops()[reel] as usize, (old_stop + length - fallen) % length);
        }
    }
}
