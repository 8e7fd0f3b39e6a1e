//! Every mechanic on hand-built boards and scripted rounds: lines, ways, scatters, wild multipliers,
//! cascades, free spins, the win cap, bonus buys and the order of draws.

use super::definition::{cell, Definition};
use super::draws::FastDraws;
use super::evaluate::{evaluate, scatter_count, scatter_win, Win, WinKind};
use super::events::{CellMultiplier, Event, Phase, Position};
use super::round::play_round;
use super::testkit::{board, game, lines_game, ways_game, with_multipliers, Script};

const LINES_SYMBOLS: &str = r#"
[[symbols]]
name = "W"
kind = "wild"
pays = { 3 = 300, 4 = 600, 5 = 1000 }

[[symbols]]
name = "S"
kind = "scatter"
pays = { 3 = 200, 4 = 500 }

[[symbols]]
name = "A"
pays = { 2 = 5, 3 = 20, 4 = 40, 5 = 100 }

[[symbols]]
name = "B"
pays = { 3 = 10, 4 = 30, 5 = 60 }

[[symbols]]
name = "C"

[[symbols]]
name = "D"

[[symbols]]
name = "H"
pays = { 3 = 50, 4 = 200, 5 = 2000 }
"#;

/// Strip rows with every symbol on every reel (appended to a strip so that every paying symbol is on it).
const EVERY_SYMBOL: &str = "W,W,W,W,W\nS,S,S,S,S\nA,A,A,A,A\nB,B,B,B,B\nC,C,C,C,C\nD,D,D,D,D\nH,H,H,H,H\n";

/// A 5x3 game on the three horizontal lines (middle, top, bottom): `top` holds game-level keys,
/// `phases` the phase and extra mode tables.
fn lines(top: &str, phases: &str, files: &[(&str, &str)]) -> Definition {
    let toml = format!(
        "reels = 5\nrows = 3\nevaluation = \"lines\"\npaylines = [[1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [2, 2, 2, 2, 2]]\n\
         {top}\n{LINES_SYMBOLS}\n{phases}\n[[modes]]\nname = \"base\"\ncost = 1\n"
    );
    game("mini", &toml, files).unwrap()
}

/// The mini lines game for hand-built boards, wild multipliers combined by `combine`.
fn lines_for_boards(combine: &str) -> Definition {
    let top = format!("win_cap = 1000\nwild_multiplier_combine = \"{combine}\"");
    let phases = "[base]\nreels = \"base.csv\"\nwild_multipliers = { values = [2], weights = [1] }";
    lines(&top, phases, &[("base.csv", EVERY_SYMBOL)])
}

/// A 5x3 ways game (243 ways) for hand-built boards; wilds have no pay of their own.
pub(super) fn ways_for_boards(combine: &str) -> Definition {
    let symbols = LINES_SYMBOLS.replace("pays = { 3 = 300, 4 = 600, 5 = 1000 }\n", "");
    let toml = format!(
        "reels = 5\nrows = 3\nevaluation = \"ways\"\nwin_cap = 1000\nwild_multiplier_combine = \"{combine}\"\n\
         {symbols}\n[base]\nreels = \"base.csv\"\nwild_multipliers = {{ values = [2], weights = [1] }}\n\
         [[modes]]\nname = \"base\"\ncost = 1\n"
    );
    game("mini", &toml, &[("base.csv", EVERY_SYMBOL)]).unwrap()
}

fn wins(definition: &Definition, board: &super::Board) -> Vec<Win> {
    let mut wins = Vec::new();
    evaluate(definition, board, 1, |win| wins.push(*win));
    wins
}

fn name(definition: &Definition, win: &Win) -> String {
    definition.symbol_name(win.symbol).to_string()
}

#[test]
fn leading_wilds_alone_pay_when_that_is_better() {
    // W W W A B: three wilds pay 300, the wilds with A pay 4 x A = 40.
    let definition = lines_for_boards("add");
    let board = board(&definition, &["C D C D C", "W W W A B", "D C D C D"]);
    let wins = wins(&definition, &board);
    assert_eq!(wins.len(), 1);
    let win = wins[0];
    assert_eq!(
        (name(&definition, &win), win.count, win.line, win.amount),
        ("W".into(), 3, 0, 300)
    );
    assert_eq!(win.cells, (0..3).map(|reel| 1u64 << cell(reel, 1)).sum::<u64>());
}

#[test]
fn leading_wilds_pay_with_the_first_symbol_when_that_is_better() {
    // W W H H H pays 5 x H = 2000; two wilds alone pay nothing.
    let definition = lines_for_boards("add");
    let board = board(&definition, &["C D C D C", "W W H H H", "D C D C D"]);
    let wins = wins(&definition, &board);
    assert_eq!(wins.len(), 1);
    assert_eq!(
        (name(&definition, &wins[0]), wins[0].count, wins[0].amount),
        ("H".into(), 5, 2000)
    );
}

#[test]
fn a_scatter_breaks_a_line_and_is_never_substituted() {
    // A A S A A is two A (5); W S A A A on the top line pays nothing (one wild, then a scatter).
    let definition = lines_for_boards("add");
    let board = board(&definition, &["W S A A A", "A A S A A", "D C D C D"]);
    let wins = wins(&definition, &board);
    assert_eq!(wins.len(), 1);
    assert_eq!(
        (name(&definition, &wins[0]), wins[0].count, wins[0].line, wins[0].amount),
        ("A".into(), 2, 0, 5)
    );
}

#[test]
fn wild_multipliers_on_a_line_add_or_multiply() {
    // W(x2) W(x3) A A A pays 100 x 5 when multipliers add and 100 x 6 when they multiply.
    for (combine, amount) in [("add", 500), ("multiply", 600)] {
        let definition = lines_for_boards(combine);
        let board = board(&definition, &["C D C D C", "W W A A A", "D C D C D"]);
        let board = with_multipliers(board, &[(0, 1, 2), (1, 1, 3)]);
        let wins = wins(&definition, &board);
        assert_eq!(wins.len(), 1, "{combine}");
        assert_eq!(
            (name(&definition, &wins[0]), wins[0].amount),
            ("A".into(), amount),
            "{combine}"
        );
    }
}

#[test]
fn multiplied_wilds_alone_can_beat_the_symbol_they_lead() {
    // W(x2) W(x2) W(x2) B C: wilds alone 300 x 6 = 1800 against B 4 x 30 x 6 = 180 (add).
    let definition = lines_for_boards("add");
    let board = board(&definition, &["C D C D C", "W W W B C", "D C D C D"]);
    let board = with_multipliers(board, &[(0, 1, 2), (1, 1, 2), (2, 1, 2)]);
    let wins = wins(&definition, &board);
    assert_eq!(
        (name(&definition, &wins[0]), wins[0].count, wins[0].multiplier),
        ("W".into(), 3, 6)
    );
    assert_eq!(wins[0].amount, 1800);
}

#[test]
fn ways_multiply_the_matches_of_each_reel() {
    // A on reel 1 twice, reel 2 once, reel 3 twice plus a wild: 2 * 1 * 3 = 6 ways of three A.
    let definition = ways_for_boards("add");
    let board = board(&definition, &["A C A B C", "A A W C D", "B D A D B"]);
    let wins = wins(&definition, &board);
    assert_eq!(wins.len(), 1);
    let win = wins[0];
    assert_eq!(
        (name(&definition, &win), win.kind, win.count),
        ("A".into(), WinKind::Ways, 3)
    );
    assert_eq!((win.ways, win.multiplier, win.pay, win.amount), (6, 6, 20, 120));
    assert_eq!(win.cells.count_ones(), 6);
}

#[test]
fn ways_of_wilds_alone_do_not_pay() {
    // W W W A: one way of four A; B, with no B on reel 4, would only have the all-wild way.
    let definition = ways_for_boards("add");
    let board = board(&definition, &["W W W A C", "C D C D D", "D C D C C"]);
    let wins = wins(&definition, &board);
    assert_eq!(wins.len(), 1);
    assert_eq!(
        (name(&definition, &wins[0]), wins[0].count, wins[0].ways, wins[0].amount),
        ("A".into(), 4, 1, 40)
    );
}

#[test]
fn ways_with_wild_multipliers_sum_each_path() {
    // Reels [A, W x2], [W x3, A], [A]: paths A-W-A (x3), A-A-A (x1), W-W-A (x5 or x6), W-A-A (x2).
    for (combine, weighted) in [("add", 11), ("multiply", 12)] {
        let definition = ways_for_boards(combine);
        let board = board(&definition, &["A W A C D", "W A D D C", "B C C C D"]);
        let board = with_multipliers(board, &[(0, 1, 2), (1, 0, 3)]);
        let wins = wins(&definition, &board);
        assert_eq!(wins.len(), 1, "{combine}");
        assert_eq!(
            (wins[0].ways, wins[0].multiplier, wins[0].amount),
            (4, weighted, 20 * weighted),
            "{combine}"
        );
    }
}

#[test]
fn scatters_pay_anywhere_and_more_than_the_table_pays_its_last_entry() {
    // Three scatters on three rows pay 200; five pay the entry for four (500).
    let definition = lines_for_boards("add");
    let three = board(&definition, &["S C D C D", "C D S D C", "D C D C S"]);
    assert_eq!(scatter_count(&definition, &three), 3);
    let win = scatter_win(&definition, &three, 3).unwrap();
    let cells = [(0, 0), (2, 1), (4, 2)]
        .iter()
        .map(|(reel, row)| 1u64 << cell(*reel, *row))
        .sum();
    assert_eq!((win.kind, win.amount, win.cells), (WinKind::Scatter, 200, cells));
    let five = board(&definition, &["S C S C D", "C D S D C", "D S D C S"]);
    assert_eq!(scatter_count(&definition, &five), 5);
    assert_eq!(scatter_win(&definition, &five, 5).map(|win| win.amount), Some(500));
    assert_eq!(scatter_win(&definition, &five, 2), None);
}

/// A 3x3 ways game with cascades whose strips are written out so that the scripted stops [2, 2, 3] show
/// A A A on top, then B B B after the A fall, then nothing.
fn cascading() -> Definition {
    let toml = "reels = 3\nrows = 3\nevaluation = \"ways\"\ncascades = true\nwin_cap = 1000\n\
        [[symbols]]\nname = \"A\"\npays = { 3 = 100 }\n[[symbols]]\nname = \"B\"\npays = { 3 = 50 }\n\
        [[symbols]]\nname = \"C\"\n[[symbols]]\nname = \"D\"\n\
        [base]\nreels = \"base.csv\"\n[[modes]]\nname = \"base\"\ncost = 1\n";
    let strips = "C,D,C\nB,B,D\nA,A,B\nD,C,A\nC,D,C\nD,C,D\n";
    game("cascading", toml, &[("base.csv", strips)]).unwrap()
}

#[test]
fn cascades_remove_winners_refill_from_above_and_win_again() {
    // A A A wins, falls out, the stops above (B B B) fall in and win, then C/D boards end the spin.
    let definition = cascading();
    let mut draws = Script::new(&[2, 2, 3]);
    let round = play_round(&definition, &definition.modes()[0], &mut draws);
    assert_eq!(draws.left(), 0, "cascades draw nothing");
    assert_eq!(round.summary.base_win_centibet, 150);
    assert_eq!(round.summary.cascades, 2);
    let boards: Vec<(u32, Vec<u32>, Vec<Vec<String>>)> = round
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Cascade { step, stops, board, .. } => Some((*step, stops.clone(), board.clone())),
            _ => None,
        })
        .collect();
    let names = |reels: [[&str; 3]; 3]| -> Vec<Vec<String>> {
        reels
            .iter()
            .map(|reel| reel.iter().map(|name| name.to_string()).collect())
            .collect()
    };
    assert_eq!(
        boards[0],
        (
            1,
            vec![1, 1, 2],
            names([["B", "D", "C"], ["B", "C", "D"], ["B", "C", "D"]])
        )
    );
    assert_eq!(
        boards[1],
        (
            2,
            vec![0, 0, 1],
            names([["C", "D", "C"], ["D", "C", "D"], ["D", "C", "D"]])
        )
    );
    let amounts: Vec<(u32, u64)> = round
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Win { cascade, amount, .. } => Some((*cascade, *amount)),
            _ => None,
        })
        .collect();
    assert_eq!(amounts, [(0, 100), (1, 50)]);
}

#[test]
fn survivors_fall_below_the_refill_keeping_their_order_and_multipliers() {
    // Removing the middle of [A, B, C] at stop 2 leaves [strip[1], A, C]; the A keeps its multiplier.
    let definition = cascading();
    let mut board = super::Board::new(&definition);
    board.spin(definition.base.strips(), &mut Script::new(&[2, 2, 3]));
    board = with_multipliers(board, &[(0, 0, 7)]);
    board.cascade(definition.base.strips(), 1 << cell(0, 1));
    let reel: Vec<&str> = (0..3).map(|row| definition.symbol_name(board.symbol(0, row))).collect();
    assert_eq!(reel, ["B", "A", "C"]);
    assert_eq!((board.multiplier(0, 0), board.multiplier(0, 1)), (0, 7));
    assert_eq!(board.stops(), &[1, 2, 3]);
}

/// Base strips whose stop 0 shows H H H H H in the middle and three scatters; free strips whose first
/// three reels are all scatters (nine on every free spin).
fn triggering(top: &str) -> Definition {
    let base = format!("S,C,D,C,D\nH,H,H,H,H\nD,C,S,C,S\n{EVERY_SYMBOL}");
    let free = "S,S,S,C,D\nS,S,S,D,C\nS,S,S,C,D\n";
    let phases = "[base]\nreels = \"base.csv\"\ntrigger = { 3 = 10 }\n\
        [free_spins]\nreels = \"free.csv\"\nretrigger = { 3 = 5 }\n";
    lines(top, phases, &[("base.csv", &base), ("free.csv", free)])
}

#[test]
fn free_spins_trigger_retrigger_and_stop_at_their_hard_cap() {
    // 10 spins, a retrigger of 5 on every spin, a cap of 12: one retrigger adds 2, then none add more.
    let definition = triggering("win_cap = 1000\nfree_spins_max = 12");
    let mut draws = Script::new(&[0; 5 * 13]);
    let round = play_round(&definition, &definition.modes()[0], &mut draws);
    assert_eq!(
        draws.left(),
        0,
        "five stops for the base spin and for each of the 12 free spins"
    );
    let summary = round.summary;
    assert_eq!(summary.trigger_scatters, Some(3));
    assert_eq!(
        (
            summary.free_spins_awarded,
            summary.free_spins_played,
            summary.retriggers
        ),
        (12, 12, 1)
    );
    assert_eq!(summary.base_win_centibet, 2000 + 200, "five H and three scatters");
    assert_eq!(
        summary.free_spins_win_centibet,
        12 * 500,
        "nine scatters pay the entry for four"
    );
    let spins: Vec<&Event> = round
        .events
        .iter()
        .filter(|event| {
            matches!(
                event,
                Event::FreeSpinsTriggered { .. } | Event::FreeSpinsRetriggered { .. } | Event::FreeSpinsEnded { .. }
            )
        })
        .collect();
    assert_eq!(
        spins,
        [
            &Event::FreeSpinsTriggered {
                scatters: 3,
                spins: 10,
                bought: false
            },
            &Event::FreeSpinsRetriggered {
                scatters: 9,
                spins: 2,
                total: 12
            },
            &Event::FreeSpinsEnded { played: 12, win: 6000 },
        ]
    );
}

#[test]
fn the_win_cap_ends_the_round_at_exactly_the_cap() {
    // The base spin wins 22x on a 5x cap: the round wins 5x, and the free spins it triggered never start.
    let definition = triggering("win_cap = 5\nfree_spins_max = 12");
    let mut draws = Script::new(&[0; 5]);
    let round = play_round(&definition, &definition.modes()[0], &mut draws);
    let summary = round.summary;
    assert!(summary.cap_hit);
    assert_eq!((summary.win_centibet, summary.free_spins_played), (500, 0));
    let tail = &round.events[round.events.len() - 2..];
    assert_eq!(
        tail,
        [
            Event::WinCapReached { cap: 500, excess: 1500 },
            Event::FinalWin { amount: 500 }
        ]
    );
}

#[test]
fn wild_multipliers_are_drawn_after_the_stops_in_board_order() {
    // Stop 0 shows wilds at reel 2 top and bottom and reel 4 middle; words 0, 1, 2 pick x2, x3, x5.
    let top = "win_cap = 1000\nwild_multiplier_combine = \"add\"";
    let phases = "[base]\nreels = \"base.csv\"\nwild_multipliers = { values = [2, 3, 5], weights = [1, 1, 1] }";
    let base = format!("C,W,D,C,D\nD,C,C,W,C\nC,W,D,C,D\n{EVERY_SYMBOL}");
    let definition = lines(top, phases, &[("base.csv", &base)]);
    let mut draws = Script::new(&[0, 0, 0, 0, 0, 0, 1, 2]);
    let round = play_round(&definition, &definition.modes()[0], &mut draws);
    assert_eq!(draws.left(), 0);
    let Event::Reveal { wild_multipliers, .. } = &round.events[0] else {
        panic!("a round opens with its board");
    };
    let expected =
        [(1, 0, 2), (1, 2, 3), (3, 1, 5)].map(|(reel, row, multiplier)| CellMultiplier { reel, row, multiplier });
    assert_eq!(wild_multipliers, &expected);
}

#[test]
fn a_bonus_buy_starts_in_free_spins() {
    // The fixture's bonus mode: no base spin, ten free spins (more with retriggers), bought.
    let definition = lines_game();
    let bonus = definition.mode("bonus").unwrap();
    let round = play_round(&definition, bonus, &mut FastDraws::new(3, 0));
    assert_eq!(
        round.events[0],
        Event::FreeSpinsTriggered {
            scatters: 0,
            spins: 10,
            bought: true
        }
    );
    assert!(matches!(
        round.events[1],
        Event::Reveal {
            phase: Phase::FreeSpins,
            spin: 1,
            ..
        }
    ));
    assert!(round.summary.bonus_buy && round.summary.free_spins_played >= 10);
    assert_eq!(round.summary.base_win_centibet, 0);
    assert_eq!(bonus.stake_micros(2_000_000), Some(200_000_000));
}

#[test]
fn a_drawn_bonus_buy_picks_its_spins_from_its_table() {
    // The ways fixture's bonus draws 10, 12 or 15 spins before anything else.
    let definition = ways_game();
    let bonus = definition.mode("bonus").unwrap();
    for seed in 0..20 {
        let round = play_round(&definition, bonus, &mut FastDraws::new(seed, 0));
        let Event::FreeSpinsTriggered {
            spins, bought: true, ..
        } = round.events[0]
        else {
            panic!("a bought round opens with its free spins");
        };
        assert!([10, 12, 15].contains(&spins), "{spins}");
    }
}

#[test]
fn events_serialize_with_a_snake_case_type_tag() {
    // Books and the API read `type`; optional fields are left out when empty.
    let event = Event::Win {
        phase: Phase::FreeSpins,
        spin: 2,
        cascade: 0,
        symbol: "A".into(),
        kind: WinKind::Line,
        count: 3,
        positions: vec![Position { reel: 0, row: 1 }],
        line: Some(4),
        ways: None,
        multiplier: 1,
        cascade_multiplier: 1,
        pay: 20,
        amount: 20,
    };
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["type"], "win");
    assert_eq!(json["phase"], "free_spins");
    assert_eq!(json["kind"], "line");
    assert!(json.get("ways").is_none());
    let capped = serde_json::to_value(Event::WinCapReached { cap: 1, excess: 0 }).unwrap();
    assert_eq!(capped["type"], "win_cap_reached");
}
