//! Pure evaluation of one board: line or ways wins, and the scatters. Nothing here allocates: wins are
//! handed to a callback one at a time, counts live in fixed arrays on the stack.
//!
//! Every win is `amount = pay * multiplier * cascade_multiplier` in centi-bet, with saturating
//! arithmetic (saturation needs multipliers far beyond any win cap, which clips the round anyway):
//! - Lines: per payline the best of "the leading wilds alone" (the wild's own pay) and "the leading wilds
//!   with the first other symbol" (that symbol's pay for the run of it and wilds from the left); wilds
//!   alone win only when strictly better. A scatter (never substituted) ends a run. `multiplier` is the
//!   wild multipliers of the run's cells combined by the definition's rule (add: their sum, at least 1;
//!   multiply: their product).
//! - Ways: per paying symbol, the reels from the left that show it or a wild; `ways` is the number of
//!   paths through them with at least one real symbol (paths of wilds alone do not pay: wilds have no
//!   ways pay of their own), `multiplier` is the sum over those paths of each path's wild multiplier
//!   (equal to `ways` without wild multipliers). Both factorise per reel, so no path is enumerated.
//! - Scatters: by their count anywhere on the board, in total-bet centi-bet, never multiplied.

use super::board::Board;
use super::definition::{
    cell, Combine, Definition, Evaluation, Payline, Paylines, NO_SYMBOL, REELS_MAX, ROWS_MAX, SYMBOLS_MAX,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WinKind {
    Line,
    Ways,
    Scatter,
}

/// One win on a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Win {
    pub symbol: u8,
    pub kind: WinKind,
    /// Symbols in a row on the line, reels of the ways, or scatters on the board.
    pub count: u8,
    /// The payline's index (lines only, else 0).
    pub line: u16,
    /// The number of ways (ways only, else 0).
    pub ways: u64,
    pub multiplier: u64,
    pub cascade_multiplier: u32,
    /// The paytable value, in centi-bet.
    pub pay: u64,
    pub amount: u64,
    /// The winning cells, one bit per cell (reel * ROWS_MAX + row).
    pub cells: u64,
}

/// What a board's line or ways wins add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BoardWins {
    pub amount: u64,
    /// Every winning cell: what a cascade removes.
    pub cells: u64,
}

/// The line or ways wins of `board`, each handed to `on_win`, at the cascade multiplier of this step.
#[inline]
pub fn evaluate<F: FnMut(&Win)>(
    definition: &Definition,
    board: &Board,
    cascade_multiplier: u32,
    mut on_win: F,
) -> BoardWins {
    let mut total = BoardWins::default();
    let mut add = |mut win: Win| {
        win.cascade_multiplier = cascade_multiplier;
        win.amount = win
            .pay
            .saturating_mul(win.multiplier)
            .saturating_mul(u64::from(cascade_multiplier));
        total.amount = total.amount.saturating_add(win.amount);
        total.cells |= win.cells;
        on_win(&win);
    };
    match &definition.evaluation {
        Evaluation::Lines(paylines) => {
            let mut candidates = candidate_lines(paylines, board, definition.wild);
            // Bounded by the set bits: at most PAYLINES_MAX iterations.
            while candidates != 0 {
                let index = candidates.trailing_zeros() as usize;
                candidates &= candidates - 1;
                if let Some(mut win) = line_win(definition, board, &paylines.lines[index]) {
                    win.line = index as u16;
                    add(win);
                }
            }
        }
        Evaluation::Ways => ways_wins(definition, board, add),
    }
    total
}

// Symbol ids (and NO_SYMBOL) are bits of a u64 symbol mask and bytes below 0x80 in a column word.
const _: () = assert!(SYMBOLS_MAX < 64 && SYMBOLS_MAX < 0x80);

/// Every byte's high bit.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
/// Every byte's low seven bits.
const LOW_BITS: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// One reel's `ROWS_MAX` cells as a word, row 0 in the lowest byte (rows below the grid included).
#[inline]
fn column(board: &Board, reel: usize) -> u64 {
    let top = cell(reel, 0);
    let mut bytes = [0u8; ROWS_MAX];
    bytes.copy_from_slice(&board.cells[top..top + ROWS_MAX]);
    u64::from_le_bytes(bytes)
}

/// The high bit of each byte of a column that belongs to the grid's rows.
#[inline]
fn visible_bytes(rows: usize) -> u64 {
    if rows == ROWS_MAX {
        HIGH_BITS
    } else {
        HIGH_BITS & ((1u64 << (8 * rows)) - 1)
    }
}

/// The high bit of each visible byte of `column` equal to `symbol`. Ids are below 0x80, so adding 0x7f
/// to a byte of `column ^ symbol` sets its high bit exactly when it is not zero, with no carry.
#[inline]
fn equal_bytes(column: u64, symbol: u8, visible: u64) -> u64 {
    let differences = column ^ (u64::from(symbol) * 0x0101_0101_0101_0101);
    !(differences + LOW_BITS) & visible
}

/// Byte high bits to row bits (byte `i` to bit `i`): the multiplier sends each byte's bit to a distinct
/// position of the top byte, with no carries.
#[inline]
fn pack_rows(bytes: u64) -> u64 {
    (bytes >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The scatters on the board, a word per reel (branch-free).
#[inline]
pub fn scatter_count(definition: &Definition, board: &Board) -> u32 {
    if definition.scatter == NO_SYMBOL {
        return 0;
    }
    let visible = visible_bytes(definition.rows());
    (0..definition.reels())
        .map(|reel| equal_bytes(column(board, reel), definition.scatter, visible).count_ones())
        .sum()
}

/// The cells showing a scatter.
pub fn scatter_cells(definition: &Definition, board: &Board) -> u64 {
    let mut cells = 0u64;
    for reel in 0..definition.reels() {
        for row in 0..definition.rows() {
            let index = cell(reel, row);
            cells |= u64::from(board.cells[index] == definition.scatter) << index;
        }
    }
    cells
}

/// The scatter pay of a board showing `count` scatters, if it pays.
pub fn scatter_win(definition: &Definition, board: &Board, count: u32) -> Option<Win> {
    let pay = definition.scatter_pays.get(count as usize).copied().unwrap_or(0);
    (pay > 0).then(|| Win {
        symbol: definition.scatter,
        kind: WinKind::Scatter,
        count: count as u8,
        line: 0,
        ways: 0,
        multiplier: 1,
        cascade_multiplier: 1,
        pay,
        amount: pay,
        cells: scatter_cells(definition, board),
    })
}

/// The lines that may pay, as bits by index: all of them, or (when every pay needs two symbols) those
/// whose first two cells can start a run: the same symbol, or a wild on either. Branch-free; most boards
/// leave a few lines out of twenty to evaluate.
#[inline]
fn candidate_lines(paylines: &Paylines, board: &Board, wild: u8) -> u128 {
    if !paylines.filtered {
        return u128::MAX >> (128 - paylines.lines.len());
    }
    let mut candidates = 0u128;
    for ([first, second], lines) in &paylines.prefixes {
        let (a, b) = (board.cells[usize::from(*first)], board.cells[usize::from(*second)]);
        let open = a == b || a == wild || b == wild;
        candidates |= lines & 0u128.wrapping_sub(u128::from(open));
    }
    candidates
}

/// The best win of one payline (see the module docs), before the cascade multiplier. Branch-free up to
/// the pay lookups: runs are trailing ones of per-reel match masks. A scatter's and a plain symbol's rows
/// of the line paytable are zero, so a run led by one pays nothing.
#[inline]
fn line_win(definition: &Definition, board: &Board, line: &Payline) -> Option<Win> {
    let reels = definition.reels();
    let wild = definition.wild;
    let mut symbols = [NO_SYMBOL; REELS_MAX];
    let mut wild_mask = 0u32;
    for (reel, (shown, index)) in symbols.iter_mut().zip(&line.cells).enumerate().take(reels) {
        *shown = board.cells[usize::from(*index)];
        wild_mask |= u32::from(*shown == wild) << reel;
    }
    // Bit `reels` of the complement is always set, so both runs stop at the grid's edge.
    let wilds = (!wild_mask).trailing_zeros() as usize;
    let symbol = symbols[wilds.min(REELS_MAX - 1)];
    let mut run_mask = wild_mask;
    for (reel, shown) in symbols.iter().enumerate().take(reels) {
        run_mask |= u32::from(*shown == symbol) << reel;
    }
    let count = (!run_mask).trailing_zeros() as usize;
    let symbol_pay = definition.pays[usize::from(symbol)][count];
    let wild_pay = definition.pays[usize::from(wild)][wilds];
    if symbol_pay | wild_pay == 0 {
        return None;
    }
    let (symbol_multiplier, wild_multiplier) = if board.multiplied {
        let combine = definition.combine;
        (
            line_multiplier(combine, board, line, count),
            line_multiplier(combine, board, line, wilds),
        )
    } else {
        (1, 1)
    };
    let wilds_better = wild_pay.saturating_mul(wild_multiplier) > symbol_pay.saturating_mul(symbol_multiplier);
    let (symbol, count, pay, multiplier) = if wilds_better {
        (wild, wilds, wild_pay, wild_multiplier)
    } else {
        (symbol, count, symbol_pay, symbol_multiplier)
    };
    Some(Win {
        symbol,
        kind: WinKind::Line,
        count: count as u8,
        line: 0,
        ways: 0,
        multiplier,
        cascade_multiplier: 1,
        pay,
        amount: 0,
        cells: line.masks[count],
    })
}

/// The wild multipliers of a line's first `count` cells, combined.
fn line_multiplier(combine: Combine, board: &Board, line: &Payline, count: usize) -> u64 {
    let multipliers = line.cells[..count]
        .iter()
        .map(|index| u64::from(board.multipliers[usize::from(*index)]));
    match combine {
        Combine::Add => multipliers.sum::<u64>().max(1),
        Combine::Multiply => multipliers.fold(1u64, |product, m| product.saturating_mul(m.max(1))),
    }
}

/// Per reel: the wilds and their multipliers, as the ways formulas need them.
#[derive(Debug, Clone, Copy, Default)]
struct ReelWilds {
    count: u64,
    /// Sum of the multipliers (0 for a wild without one): for "add".
    sum: u64,
    /// Sum of max(1, multiplier): for "multiply".
    factor_sum: u64,
    /// Wilds without a multiplier: for "add" paths whose sum is 0 (they count x1).
    plain: u64,
}

fn ways_wins<F: FnMut(Win)>(definition: &Definition, board: &Board, mut add: F) {
    let (reels, rows) = (definition.reels(), definition.rows());
    let visible = visible_bytes(rows);
    let mut columns = [0u64; REELS_MAX];
    let mut wilds = [ReelWilds::default(); REELS_MAX];
    // Symbols (bits by id) whose run from the left is still going, and where each paying run ended.
    let mut running = u64::MAX;
    let mut won = 0u64;
    let mut lengths = [0u8; SYMBOLS_MAX + 1];
    for reel in 0..=reels {
        let continuing = if reel < reels {
            columns[reel] = column(board, reel);
            wilds[reel] = reel_wilds(definition, board, reel, columns[reel], visible);
            let shown = (0..rows).fold(0u64, |shown, row| shown | 1 << board.cells[cell(reel, row)]);
            running & (shown | 0u64.wrapping_sub(u64::from(wilds[reel].count > 0)))
        } else {
            0
        };
        // Bounded by the set bits: at most SYMBOLS_MAX iterations over the whole board.
        let mut ended = running & !continuing & definition.ways_pay_masks[reel];
        won |= ended;
        while ended != 0 {
            lengths[ended.trailing_zeros() as usize] = reel as u8;
            ended &= ended - 1;
        }
        running = continuing;
    }
    while won != 0 {
        let symbol = won.trailing_zeros() as u8;
        won &= won - 1;
        let length = usize::from(lengths[usize::from(symbol)]);
        let own: [u64; REELS_MAX] =
            std::array::from_fn(|reel| u64::from(equal_bytes(columns[reel], symbol, visible).count_ones()));
        let (ways, multiplier) = ways_of(definition.combine, board.multiplied, &own[..length], &wilds[..length]);
        if ways == 0 {
            continue;
        }
        let cells = (0..length).fold(0u64, |cells, reel| {
            let matching =
                equal_bytes(columns[reel], symbol, visible) | equal_bytes(columns[reel], definition.wild, visible);
            cells | pack_rows(matching) << cell(reel, 0)
        });
        add(Win {
            symbol,
            kind: WinKind::Ways,
            count: length as u8,
            line: 0,
            ways,
            multiplier,
            cascade_multiplier: 1,
            pay: definition.pays[usize::from(symbol)][length],
            amount: 0,
            cells,
        });
    }
}

/// The wilds of one reel; their multipliers are only read on a board that carries them.
fn reel_wilds(definition: &Definition, board: &Board, reel: usize, column: u64, visible: u64) -> ReelWilds {
    let count = u64::from(equal_bytes(column, definition.wild, visible).count_ones());
    let mut wilds = ReelWilds {
        count,
        sum: 0,
        factor_sum: count,
        plain: count,
    };
    if board.multiplied && count > 0 {
        wilds.factor_sum = 0;
        wilds.plain = 0;
        for row in (0..definition.rows()).filter(|row| board.cells[cell(reel, *row)] == definition.wild) {
            let multiplier = u64::from(board.multipliers[cell(reel, row)]);
            wilds.sum += multiplier;
            wilds.factor_sum += multiplier.max(1);
            wilds.plain += u64::from(multiplier == 0);
        }
    }
    wilds
}

/// The ways through reels showing `own[r]` of the symbol and `wilds[r]`, with at least one real symbol,
/// and the sum of their multipliers. All paths minus the paths of wilds alone, each a product per reel.
fn ways_of(combine: Combine, multiplied: bool, own: &[u64], wilds: &[ReelWilds]) -> (u64, u64) {
    let all = product(own.iter().zip(wilds).map(|(own, wild)| own + wild.count));
    let wild_only = product(wilds.iter().map(|wild| wild.count));
    let ways = all - wild_only;
    if !multiplied {
        return (ways, ways);
    }
    let weighted = match combine {
        Combine::Multiply => {
            let all = product(own.iter().zip(wilds).map(|(own, wild)| own + wild.factor_sum));
            all.saturating_sub(product(wilds.iter().map(|wild| wild.factor_sum)))
        }
        Combine::Add => {
            let all = added_paths(
                own.iter()
                    .zip(wilds)
                    .map(|(own, wild)| (own + wild.count, wild.sum, own + wild.plain)),
            );
            let wild_only = added_paths(wilds.iter().map(|wild| (wild.count, wild.sum, wild.plain)));
            all.saturating_sub(wild_only)
        }
    };
    (ways, weighted)
}

fn product(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(1u64, |product, value| product.saturating_mul(value))
}

/// Sum over the paths through reels `(cells, multiplier sum, cells without multiplier)` of
/// max(1, the path's multiplier sum): the sum of all path sums (each reel's sum times the paths through
/// the other reels, built up reel by reel) plus one for each path whose sum is 0.
fn added_paths(reels: impl Iterator<Item = (u64, u64, u64)>) -> u64 {
    let (mut sums, mut paths, mut zero_paths) = (0u64, 1u64, 1u64);
    for (cells, sum, plain) in reels {
        sums = sums.saturating_mul(cells).saturating_add(sum.saturating_mul(paths));
        paths = paths.saturating_mul(cells);
        zero_paths = zero_paths.saturating_mul(plain);
    }
    sums.saturating_add(zero_paths)
}
