//! Exact analysis of the base game's first board, from the reel strips alone: the expected line or ways
//! win of a spun board (before cascades, scatter pays and the cap), the distribution of the scatter count
//! on it, and from that the trigger probability and the expected scatter pay. Pure: the simulator checks
//! itself against these numbers.
//!
//! Why this is cheap: reels stop independently and uniformly, so each visible cell of reel `i` shows
//! symbol `s` with the strip's frequency of `s`, whatever its row. A payline reads one cell per reel,
//! so its symbols are independent with those frequencies and every line has the same expected win; it is
//! enumerated by (leading wilds, first other symbol, run length), not by stop combinations. Ways factorise
//! per reel: E[ways of `s` for exactly `k` reels] = (Π_{i<k} E[s-or-wild cells on reel i] -
//! Π_{i<k} E[wild cells on reel i]) × P(reel k shows neither), the second product removing the paths of
//! wilds alone, which do not pay; P(reel k shows neither) is counted by scanning the strip's windows.
//! The scatter count is the convolution of the per-reel window counts.
//!
//! Rules followed from `evaluate`: on a line, the better of "the leading wilds alone" and "the leading
//! wilds with the first other symbol"; a scatter ends a run and has no line pay; a phase without wild
//! multipliers multiplies every first-board win by its first cascade multiplier only. A base game that
//! draws wild multipliers is refused (its line pays would need the multipliers' joint distribution).

use super::definition::{Definition, Evaluation, PhaseRules, SymbolKind, NO_SYMBOL, SYMBOLS_MAX};

#[derive(Debug, Clone, PartialEq)]
pub struct BaseAnalysis {
    /// Expected line or ways win of the base game's spun board, centi-bet per round (cascade step 0).
    pub first_board_centibet: f64,
    /// `scatter_count[c]`: probability of `c` scatters on a spun base board.
    pub scatter_count: Vec<f64>,
    /// Probability that a spun base board awards free spins (what triggers them on a game without
    /// cascades; with cascades the final board decides).
    pub trigger_probability: f64,
    /// Expected scatter pay of a spun base board, centi-bet (the round's scatter pay without cascades).
    pub scatter_pay_centibet: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("the base game draws wild multipliers; its first board is not analysed exactly")]
    WildMultipliers,
}

/// Symbol frequencies of one reel: `p[s]` = stops showing `s` / strip length (`p[NO_SYMBOL]` = 0).
type Frequencies = [f64; SYMBOLS_MAX + 1];

/// The exact figures of `definition`'s base game (see the module docs).
pub fn analyse_base(definition: &Definition) -> Result<BaseAnalysis, AnalysisError> {
    let rules = &definition.base;
    if rules.wild_multipliers.is_some() {
        return Err(AnalysisError::WildMultipliers);
    }
    let frequencies: Vec<Frequencies> = rules.strips.iter().map(|strip| frequencies(strip.stops())).collect();
    let per_board = match &definition.evaluation {
        Evaluation::Lines(paylines) => paylines.lines.len() as f64 * line_expectation(definition, &frequencies),
        Evaluation::Ways => ways_expectation(definition, rules, &frequencies),
    };
    let scatter_count = scatter_distribution(definition, rules);
    let trigger_probability = scatter_count
        .iter()
        .enumerate()
        .filter(|(count, _)| rules.award(*count as u32) > 0)
        .map(|(_, p)| p)
        .sum();
    let scatter_pay_centibet = scatter_count
        .iter()
        .enumerate()
        .map(|(count, p)| p * definition.scatter_pays.get(count).copied().unwrap_or(0) as f64)
        .sum();
    Ok(BaseAnalysis {
        first_board_centibet: per_board * f64::from(rules.cascade_multiplier(0)),
        scatter_count,
        trigger_probability,
        scatter_pay_centibet,
    })
}

fn frequencies(stops: &[u8]) -> Frequencies {
    let mut counts = [0u32; SYMBOLS_MAX + 1];
    for symbol in stops {
        counts[usize::from(*symbol)] += 1;
    }
    // f64 division: the probabilities are sums of these, each exact to half an ulp.
    counts.map(|count| f64::from(count) / stops.len() as f64)
}

/// The expected win of one payline.
fn line_expectation(definition: &Definition, reels: &[Frequencies]) -> f64 {
    let wild = usize::from(definition.wild);
    let pays = &definition.pays;
    let count = reels.len();
    let mut expectation = 0.0;
    // P(the first `wilds` reels all show the wild).
    let mut leading = 1.0;
    for wilds in 0..=count {
        if wilds == count {
            expectation += leading * pays[wild][count] as f64;
            break;
        }
        for symbol in (0..SYMBOLS_MAX).filter(|symbol| *symbol != wild) {
            // The first other symbol is `symbol`; its run (with wilds) reaches `length` reels.
            let mut run = leading * reels[wilds][symbol];
            for length in wilds + 1..=count {
                if run == 0.0 {
                    break;
                }
                let continues = if length < count {
                    reels[length][symbol] + reels[length][wild]
                } else {
                    0.0
                };
                let ends = if length < count { 1.0 - continues } else { 1.0 };
                let pay = pays[symbol][length].max(pays[wild][wilds]);
                expectation += run * ends * pay as f64;
                run *= continues;
            }
        }
        leading *= reels[wilds][wild];
    }
    expectation
}

/// The expected ways win of a board (see the module docs).
fn ways_expectation(definition: &Definition, rules: &PhaseRules, reels: &[Frequencies]) -> f64 {
    let rows = definition.rows();
    let wild = usize::from(definition.wild);
    let mut expectation = 0.0;
    let regular = definition
        .symbols
        .iter()
        .enumerate()
        .filter(|(_, symbol)| symbol.kind == SymbolKind::Regular);
    for (symbol, _) in regular {
        let (mut matches, mut wilds) = (1.0, 1.0);
        for length in 1..=reels.len() {
            let reel = &reels[length - 1];
            matches *= rows as f64 * (reel[symbol] + reel[wild]);
            wilds *= rows as f64 * reel[wild];
            let pay = definition.pays[symbol][length];
            if pay == 0 {
                continue;
            }
            let ends = match rules.strips.get(length) {
                Some(next) => no_match_probability(next.stops(), rows, symbol as u8, definition.wild),
                None => 1.0,
            };
            expectation += (matches - wilds) * ends * pay as f64;
        }
    }
    expectation
}

/// The share of a strip's stops whose window of `rows` shows neither `symbol` nor `wild`.
fn no_match_probability(stops: &[u8], rows: usize, symbol: u8, wild: u8) -> f64 {
    let len = stops.len();
    let clear = (0..len)
        .filter(|stop| (0..rows).all(|row| ![symbol, wild].contains(&stops[(stop + row) % len])))
        .count();
    clear as f64 / len as f64
}

/// P(c scatters on the board) for c = 0 ..= reels * rows: the per-reel window counts, convolved.
fn scatter_distribution(definition: &Definition, rules: &PhaseRules) -> Vec<f64> {
    let rows = definition.rows();
    let mut distribution = vec![1.0];
    for strip in &rules.strips {
        let stops = strip.stops();
        let len = stops.len();
        let mut reel = vec![0.0; rows + 1];
        for stop in 0..len {
            let count = (0..rows)
                .filter(|row| definition.scatter != NO_SYMBOL && stops[(stop + row) % len] == definition.scatter)
                .count();
            reel[count] += 1.0 / len as f64;
        }
        let mut next = vec![0.0; distribution.len() + rows];
        for (so_far, p) in distribution.iter().enumerate() {
            for (here, q) in reel.iter().enumerate() {
                next[so_far + here] += p * q;
            }
        }
        distribution = next;
    }
    distribution
}

#[cfg(test)]
mod tests {
    use super::super::board::Board;
    use super::super::evaluate::{evaluate, scatter_count, scatter_win};
    use super::super::load::list_games;
    use super::super::sim::stats::Z_99;
    use super::super::sim::{simulate, Plan};
    use super::super::testkit::{game, lines_game, ways_game, Script};
    use super::*;
    use std::sync::atomic::AtomicU64;

    const SMALL_SYMBOLS: &str = r#"
[[symbols]]
name = "W"
kind = "wild"
pays = { 2 = 30, 3 = 200 }

[[symbols]]
name = "S"
kind = "scatter"
pays = { 2 = 100, 3 = 500 }

[[symbols]]
name = "A"
pays = { 2 = 20, 3 = 100 }

[[symbols]]
name = "B"
pays = { 2 = 10, 3 = 40 }

[base]
reels = "base.csv"
trigger = { 2 = 5 }

[free_spins]
reels = "base.csv"

[[modes]]
name = "base"
cost = 1
"#;

    /// Strips of 7, 6 and 5 stops with wilds, scatters and two symbols.
    const SMALL_REELS: &str = "W,A,B\nA,S,A\nB,W,S\nS,A,W\nA,B,B\nB,B,\nA,,\n";

    /// A 3x2 game of either evaluation, without cascades; the strips above.
    fn small(evaluation: &str) -> Definition {
        let ways = evaluation == "ways";
        let top = if ways {
            "reels = 3\nrows = 2\nevaluation = \"ways\"\n".to_string()
        } else {
            "reels = 3\nrows = 2\nevaluation = \"lines\"\npaylines = [[0, 0, 0], [1, 1, 1], [0, 1, 0]]\n".to_string()
        };
        let symbols = if ways {
            SMALL_SYMBOLS.replacen("pays = { 2 = 30, 3 = 200 }\n", "", 1)
        } else {
            SMALL_SYMBOLS.to_string()
        };
        let toml = format!("{top}win_cap = 5000\nfree_spins_max = 50\n{symbols}");
        game("small", &toml, &[("base.csv", SMALL_REELS)]).expect("the small game loads")
    }

    /// The exact figures by brute force: every stop combination evaluated by the engine.
    fn enumerate(definition: &Definition) -> (f64, Vec<f64>, f64) {
        let strips = &definition.base.strips;
        let lens: Vec<u32> = strips.iter().map(|strip| strip.len()).collect();
        let combinations: u32 = lens.iter().product();
        let (mut win, mut scatter_pay) = (0u64, 0u64);
        let mut counts = vec![0u64; definition.reels() * definition.rows() + 1];
        for index in 0..combinations {
            let mut rest = index;
            let stops: Vec<u32> = lens
                .iter()
                .map(|len| {
                    let stop = rest % len;
                    rest /= len;
                    stop
                })
                .collect();
            let mut board = Board::new(definition);
            board.spin(strips, &mut Script::new(&stops));
            win += evaluate(definition, &board, 1, |_| {}).amount;
            let count = scatter_count(definition, &board);
            counts[count as usize] += 1;
            scatter_pay += scatter_win(definition, &board, count).map_or(0, |win| win.amount);
        }
        let total = f64::from(combinations);
        let distribution = counts.iter().map(|count| *count as f64 / total).collect();
        (win as f64 / total, distribution, scatter_pay as f64 / total)
    }

    #[test]
    fn the_exact_figures_equal_a_brute_force_enumeration() {
        // 210 stop combinations of a small lines game and a small ways game, each board evaluated by the
        // engine: the per-reel formulas give the same expectations.
        for evaluation in ["lines", "ways"] {
            let definition = small(evaluation);
            let exact = analyse_base(&definition).unwrap();
            let (win, distribution, scatter_pay) = enumerate(&definition);
            assert!(win > 0.0);
            assert!(
                (exact.first_board_centibet - win).abs() < 1e-9,
                "{evaluation}: {exact:?} vs {win}"
            );
            assert!((exact.scatter_pay_centibet - scatter_pay).abs() < 1e-9, "{evaluation}");
            for (exact, counted) in exact.scatter_count.iter().zip(&distribution) {
                assert!((exact - counted).abs() < 1e-12, "{evaluation}: {exact} vs {counted}");
            }
            let triggers: f64 = distribution.iter().skip(2).sum();
            assert!((exact.trigger_probability - triggers).abs() < 1e-12);
        }
    }

    /// Simulated first-board return and trigger frequency of a game's base mode against the exact values:
    /// each inside its 99% interval (a fixed seed, so the verdict is reproducible).
    fn check_against_simulation(definition: &Definition, rounds: u64) {
        let exact = analyse_base(definition).unwrap();
        let mode = definition.mode("base").expect("a base mode");
        let plan = Plan {
            rounds,
            threads: 2,
            seed: 20_261_204,
        };
        let stats = simulate(definition, mode, plan, &AtomicU64::new(0)).stats;
        let (mean, sd) =
            super::super::sim::stats::mean_sd(rounds, stats.first_board_win_centibet, stats.first_board_squares);
        let half = Z_99 * sd / (rounds as f64).sqrt();
        let id = definition.id();
        assert!(
            (mean - exact.first_board_centibet).abs() <= half,
            "{id}: simulated {mean} vs exact {} ± {half}",
            exact.first_board_centibet
        );
        if !definition.cascades() {
            let p = exact.trigger_probability;
            let triggered: u64 = stats.triggers_by_scatters.values().sum();
            let half = Z_99 * (p * (1.0 - p) / rounds as f64).sqrt();
            let frequency = triggered as f64 / rounds as f64;
            assert!(
                (frequency - p).abs() <= half,
                "{id}: trigger {frequency} vs {p} ± {half}"
            );
        }
    }

    #[test]
    fn the_fixtures_simulate_inside_the_exact_first_board_interval() {
        // 60k rounds each (a debug build plays them in about a second).
        for definition in [lines_game(), ways_game()] {
            check_against_simulation(&definition, 60_000);
        }
    }

    #[test]
    fn shipped_games_simulate_inside_the_exact_first_board_interval() {
        // Every game under games/slots/ that has a base mode and no base wild multipliers; none is fine.
        let root = std::path::Path::new(super::super::load::GAMES_DIR);
        for id in list_games(root).unwrap_or_default() {
            let definition = super::super::load::load_game(root, &id).unwrap();
            if definition.mode("base").is_some() && analyse_base(&definition).is_ok() {
                check_against_simulation(&definition, 60_000);
            }
        }
    }

    #[test]
    fn a_base_game_with_wild_multipliers_is_refused() {
        // The lines fixture with its free-spin multipliers moved to the base game.
        let toml = include_str!("testdata/lines20/game.toml").replacen(
            "trigger = { 3 = 10, 4 = 12, 5 = 15 }",
            "trigger = { 3 = 10, 4 = 12, 5 = 15 }\nwild_multipliers = { values = [2], weights = [1] }",
            1,
        );
        let files = [
            ("base.csv", include_str!("testdata/lines20/base.csv")),
            ("free.csv", include_str!("testdata/lines20/free.csv")),
        ];
        let definition = game("lines20", &toml, &files).unwrap();
        assert_eq!(analyse_base(&definition), Err(AnalysisError::WildMultipliers));
    }
}
