//! The compiled definition: a validated game, laid out for evaluation. Symbols are small integer ids,
//! reel strips are byte vectors (extended past their end so a window never wraps), pays are fixed arrays
//! indexed by symbol and count, paylines are cell indices, weighted tables carry their prefix sums.
//! Only the `compile` module builds one, so everything here already holds the limits below.

use super::draws::{Draws, Uniform};

/// Reels on a grid.
pub const REELS_MAX: usize = 8;
/// Rows on a grid.
pub const ROWS_MAX: usize = 8;
/// Cells of the largest grid: one bit each in a `u64` mask (cell = reel * ROWS_MAX + row).
pub const CELLS_MAX: usize = REELS_MAX * ROWS_MAX;
/// Symbols of a game.
pub const SYMBOLS_MAX: usize = 32;
/// Paylines of a lines game (each a bit of a `u128`).
pub const PAYLINES_MAX: usize = 100;
/// Stops on one reel strip.
pub const STRIP_LEN_MAX: usize = 10_000;
/// Cascades after one spin: a strip that keeps refilling wins stops cascading here.
pub const CASCADES_MAX: u32 = 64;
/// The largest `free_spins_max` a definition may set.
pub const FREE_SPINS_MAX_LIMIT: u32 = 1_000;
/// The largest win cap, in bet multiples.
pub const WIN_CAP_MAX: u64 = 1_000_000;
/// The largest single pay in a paytable, in centi-bet (1,000,000x).
pub const PAY_MAX: u64 = 100_000_000;
/// The largest wild or cascade multiplier.
pub const MULTIPLIER_MAX: u32 = 1_000;
/// Entries of one weighted table.
pub const WEIGHTED_VALUES_MAX: usize = 64;
/// Bet modes of a game.
pub const MODES_MAX: usize = 8;
/// The largest cost multiplier of a mode.
pub const MODE_COST_MAX: u32 = 10_000;
/// The id that stands for "no such symbol" (no wild, no scatter): never on a board, pays nothing.
pub const NO_SYMBOL: u8 = SYMBOLS_MAX as u8;

const _: () = assert!(PAYLINES_MAX <= 128);

/// The cell index of a reel and row, the bit of that cell in a board mask.
pub const fn cell(reel: usize, row: usize) -> usize {
    reel * ROWS_MAX + row
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    /// Pays on lines or ways; wilds substitute for it.
    Regular,
    /// Substitutes for regular symbols; on lines it may also pay on its own.
    Wild,
    /// Pays by its count anywhere on the board and triggers free spins; never substituted.
    Scatter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
}

/// The two phases of a round, each with its own reels and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Base,
    FreeSpins,
}

/// How wins are formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    Lines(Paylines),
    Ways,
}

/// The paylines of a lines game, indexed by the cells they start on so that evaluation can skip lines
/// that cannot pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paylines {
    pub(super) lines: Vec<Payline>,
    /// Each distinct pair of cells on the first two reels, with the lines (bits by index) starting on it.
    pub(super) prefixes: Vec<([u8; 2], u128)>,
    /// Set when no pay needs fewer than two symbols: a line whose first two cells cannot start a run
    /// (two different symbols, neither wild) then pays nothing, and is skipped.
    pub(super) filtered: bool,
}

impl Paylines {
    /// `pays_from_two`: whether every line pay (wilds' included) needs at least two symbols.
    pub(super) fn new(lines: Vec<Payline>, reels: usize, pays_from_two: bool) -> Paylines {
        let mut prefixes: Vec<([u8; 2], u128)> = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let cells = [line.cells[0], line.cells[1]];
            match prefixes.iter_mut().find(|(known, _)| *known == cells) {
                Some((_, starting)) => *starting |= 1 << index,
                None => prefixes.push((cells, 1 << index)),
            }
        }
        Paylines {
            lines,
            prefixes,
            filtered: pays_from_two && reels >= 2,
        }
    }

    pub fn lines(&self) -> &[Payline] {
        &self.lines
    }
}

/// One payline: its row on each reel, and the matching cell indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payline {
    pub(super) rows: [u8; REELS_MAX],
    pub(super) cells: [u8; REELS_MAX],
    /// `masks[n]`: the cells of the line's first `n` reels.
    pub(super) masks: [u64; REELS_MAX + 1],
}

impl Payline {
    pub(super) fn new(rows: &[u8]) -> Payline {
        let mut line = Payline {
            rows: [0; REELS_MAX],
            cells: [0; REELS_MAX],
            masks: [0; REELS_MAX + 1],
        };
        for (reel, row) in rows.iter().enumerate() {
            let index = cell(reel, usize::from(*row));
            line.rows[reel] = *row;
            line.cells[reel] = index as u8;
            line.masks[reel + 1] = line.masks[reel] | 1 << index;
        }
        line
    }

    pub fn rows(&self) -> &[u8; REELS_MAX] {
        &self.rows
    }
}

/// How the multipliers of the wilds in one win combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// The multipliers add up (x2 and x3 make x5); a win without one is x1.
    Add,
    /// The multipliers multiply (x2 and x3 make x6).
    Multiply,
}

/// Integer values with integer weights, picked by the reference weighted rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedTable {
    values: Vec<u32>,
    weights: Vec<u32>,
    /// `cumulative[i] = weights[0] + ... + weights[i]`.
    cumulative: Vec<u64>,
    range: Uniform,
}

impl WeightedTable {
    /// `None` unless the lengths match, there is at least one value and the weights sum to 1..=2^32.
    pub fn new(values: Vec<u32>, weights: Vec<u32>) -> Option<WeightedTable> {
        if values.len() != weights.len() || values.is_empty() {
            return None;
        }
        let cumulative: Vec<u64> = weights
            .iter()
            .scan(0u64, |sum, weight| {
                *sum += u64::from(*weight);
                Some(*sum)
            })
            .collect();
        let range = Uniform::new(*cumulative.last()?)?;
        Some(WeightedTable {
            values,
            weights,
            cumulative,
            range,
        })
    }

    /// One pick: the value at the first index whose prefix sum exceeds a uniform draw below the total.
    #[inline]
    pub fn pick<D: Draws + ?Sized>(&self, draws: &mut D) -> u32 {
        let u = u64::from(self.range.draw(draws));
        let index = self.cumulative.partition_point(|prefix| *prefix <= u);
        self.values[index]
    }

    pub fn values(&self) -> &[u32] {
        &self.values
    }

    pub fn weights(&self) -> &[u32] {
        &self.weights
    }
}

/// One reel strip. `symbols` repeats the first `ROWS_MAX` stops after the last one, so the window of
/// any stop is a plain slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strip {
    symbols: Vec<u8>,
    len: u32,
    stop: Uniform,
}

impl Strip {
    /// `None` for an empty strip or one longer than `STRIP_LEN_MAX`.
    pub(super) fn new(stops: &[u8]) -> Option<Strip> {
        if stops.is_empty() || stops.len() > STRIP_LEN_MAX {
            return None;
        }
        let symbols: Vec<u8> = stops.iter().cycle().take(stops.len() + ROWS_MAX).copied().collect();
        let len = stops.len() as u32;
        Some(Strip {
            symbols,
            len,
            stop: Uniform::new(u64::from(len))?,
        })
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The strip as loaded, one symbol id per stop.
    pub fn stops(&self) -> &[u8] {
        &self.symbols[..self.len as usize]
    }

    /// A uniform stop in `[0, len)`.
    #[inline]
    pub fn draw_stop<D: Draws + ?Sized>(&self, draws: &mut D) -> u32 {
        self.stop.draw(draws)
    }

    /// The symbols at `stop, stop + 1, ...` (wrapping), at most `ROWS_MAX` of them.
    #[inline]
    pub fn window(&self, stop: u32, rows: usize) -> &[u8] {
        let start = stop as usize;
        &self.symbols[start..start + rows]
    }
}

/// What one phase (base game or free spins) plays with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseRules {
    pub(super) strips: Vec<Strip>,
    /// Drawn for every wild on a freshly spun board, when present.
    pub(super) wild_multipliers: Option<WeightedTable>,
    /// The multiplier of the wins at cascade step `i` (0 is the spun board); the last one repeats.
    pub(super) cascade_multipliers: Vec<u32>,
    /// Free spins awarded by a scatter count (a trigger in the base game, a retrigger in free spins).
    pub(super) awards: [u32; CELLS_MAX + 1],
}

impl PhaseRules {
    pub fn strips(&self) -> &[Strip] {
        &self.strips
    }

    /// The cascade multiplier of step `step`.
    #[inline]
    pub fn cascade_multiplier(&self, step: u32) -> u32 {
        let last = self.cascade_multipliers.len().saturating_sub(1);
        self.cascade_multipliers
            .get((step as usize).min(last))
            .copied()
            .unwrap_or(1)
    }

    /// Whether wilds spun in this phase carry multipliers.
    pub fn has_wild_multipliers(&self) -> bool {
        self.wild_multipliers.is_some()
    }

    /// Free spins awarded for `scatters` scatters on the board (0 for none).
    #[inline]
    pub fn award(&self, scatters: u32) -> u32 {
        self.awards.get(scatters as usize).copied().unwrap_or(0)
    }
}

/// How a bonus buy sets the number of free spins it starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BonusBuy {
    /// A fixed number: nothing is drawn.
    Fixed(u32),
    /// A weighted pick, the first draw of the round.
    Table(WeightedTable),
}

/// A bet mode: its cost in base bets and whether it buys its way into free spins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mode {
    pub(super) name: String,
    pub(super) cost: u32,
    pub(super) buy: Option<BonusBuy>,
}

impl Mode {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stake in base bets (1 for the base mode).
    pub fn cost(&self) -> u32 {
        self.cost
    }

    pub fn is_bonus_buy(&self) -> bool {
        self.buy.is_some()
    }

    /// What this mode charges for a base bet of `bet_micros`: `bet * cost`, `None` on overflow.
    pub fn stake_micros(&self, bet_micros: i64) -> Option<i64> {
        bet_micros.checked_mul(i64::from(self.cost))
    }
}

/// The volatility a game is labelled with (a label for players; the PAR sheet measures the real one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Volatility {
    Low,
    Medium,
    High,
    VeryHigh,
}

/// The return a certifiable game may target, in basis points of the cost (slots.md: 90% to 98%).
pub const TARGET_RTP_BP_RANGE: std::ops::RangeInclusive<u32> = 9_000..=9_800;

/// A validated game.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub(super) id: String,
    pub(super) name: String,
    /// The return the game is designed for, in basis points (9600 is 96.00%), when declared.
    pub(super) target_rtp_bp: Option<u32>,
    pub(super) volatility: Option<Volatility>,
    pub(super) math_version: String,
    pub(super) reels: u8,
    pub(super) rows: u8,
    pub(super) symbols: Vec<Symbol>,
    /// Line or ways pay in centi-bet by symbol id and count (`NO_SYMBOL`'s row is all zero).
    pub(super) pays: [[u64; REELS_MAX + 1]; SYMBOLS_MAX + 1],
    /// Scatter pay in centi-bet of the total bet by the number of scatters on the board.
    pub(super) scatter_pays: [u64; CELLS_MAX + 1],
    pub(super) wild: u8,
    pub(super) scatter: u8,
    /// For ways: the regular symbols (bits by id) that pay for a run of each length.
    pub(super) ways_pay_masks: [u64; REELS_MAX + 1],
    pub(super) evaluation: Evaluation,
    pub(super) cascades: bool,
    pub(super) combine: Combine,
    pub(super) win_cap_centibet: u64,
    pub(super) free_spins_max: u32,
    pub(super) base: PhaseRules,
    pub(super) free_spins: Option<PhaseRules>,
    pub(super) modes: Vec<Mode>,
}

impl Definition {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn target_rtp_bp(&self) -> Option<u32> {
        self.target_rtp_bp
    }

    pub fn volatility(&self) -> Option<Volatility> {
        self.volatility
    }

    /// Hex SHA-256 of the loaded files: every round records it, a change of maths changes it.
    pub fn math_version(&self) -> &str {
        &self.math_version
    }

    pub fn reels(&self) -> usize {
        usize::from(self.reels)
    }

    pub fn rows(&self) -> usize {
        usize::from(self.rows)
    }

    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    /// The name of a symbol id ("" for an id the game does not have).
    pub fn symbol_name(&self, id: u8) -> &str {
        self.symbols
            .get(usize::from(id))
            .map_or("", |symbol| symbol.name.as_str())
    }

    pub fn symbol_id(&self, name: &str) -> Option<u8> {
        self.symbols
            .iter()
            .position(|symbol| symbol.name == name)
            .map(|id| id as u8)
    }

    /// What `count` of a symbol pay on a line or way, in centi-bet (0 when they pay nothing).
    pub fn pay(&self, symbol: u8, count: usize) -> u64 {
        self.pays
            .get(usize::from(symbol))
            .and_then(|pays| pays.get(count))
            .copied()
            .unwrap_or(0)
    }

    /// What `count` scatters anywhere pay, in centi-bet of the total bet.
    pub fn scatter_pay(&self, count: usize) -> u64 {
        self.scatter_pays.get(count).copied().unwrap_or(0)
    }

    pub fn evaluation(&self) -> &Evaluation {
        &self.evaluation
    }

    pub fn cascades(&self) -> bool {
        self.cascades
    }

    /// The win cap in centi-bet (bet multiples times 100).
    pub fn win_cap_centibet(&self) -> u64 {
        self.win_cap_centibet
    }

    /// The most free spins one round may play (0 for a game without free spins).
    pub fn free_spins_max(&self) -> u32 {
        self.free_spins_max
    }

    pub fn phase(&self, phase: Phase) -> Option<&PhaseRules> {
        match phase {
            Phase::Base => Some(&self.base),
            Phase::FreeSpins => self.free_spins.as_ref(),
        }
    }

    pub fn modes(&self) -> &[Mode] {
        &self.modes
    }

    pub fn mode(&self, name: &str) -> Option<&Mode> {
        self.modes.iter().find(|mode| mode.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::slots::draws::FastDraws;

    #[test]
    fn a_strip_window_wraps_past_the_end() {
        // Stop 3 of a 4-stop strip shows stops 3, 0, 1.
        let strip = Strip::new(&[0, 1, 2, 3]).unwrap();
        assert_eq!(strip.window(3, 3), &[3, 0, 1]);
        assert_eq!(strip.stops(), &[0, 1, 2, 3]);
        assert!(Strip::new(&[]).is_none());
    }

    #[test]
    fn weighted_tables_refuse_what_cannot_be_drawn() {
        // Mismatched lengths, no values, zero or oversized totals.
        assert!(WeightedTable::new(vec![1, 2], vec![1]).is_none());
        assert!(WeightedTable::new(vec![], vec![]).is_none());
        assert!(WeightedTable::new(vec![1], vec![0]).is_none());
        assert!(WeightedTable::new(vec![1, 2], vec![u32::MAX, 2]).is_none());
        let table = WeightedTable::new(vec![2, 3], vec![0, 5]).unwrap();
        let mut draws = FastDraws::new(1, 0);
        assert!(
            (0..100).all(|_| table.pick(&mut draws) == 3),
            "a zero weight is never picked"
        );
    }

    #[test]
    fn the_last_cascade_multiplier_repeats() {
        // Steps beyond the table keep its last value; an empty table means x1.
        let mut rules = PhaseRules {
            strips: Vec::new(),
            wild_multipliers: None,
            cascade_multipliers: vec![1, 2, 4],
            awards: [0; CELLS_MAX + 1],
        };
        assert_eq!(
            (0..5).map(|step| rules.cascade_multiplier(step)).collect::<Vec<_>>(),
            [1, 2, 4, 4, 4]
        );
        rules.cascade_multipliers.clear();
        assert_eq!(rules.cascade_multiplier(3), 1);
    }
}
