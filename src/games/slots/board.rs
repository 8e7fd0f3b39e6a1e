//! The board: the visible symbols of every reel, the wild multipliers on them and the reels' stops, in
//! fixed-size arrays (cell = reel * ROWS_MAX + row, row 0 at the top) so that spinning, evaluating and
//! cascading never allocate. One board is reused for every spin of a round.

use super::definition::{cell, Definition, Strip, WeightedTable, CELLS_MAX, NO_SYMBOL, REELS_MAX, ROWS_MAX};
use super::draws::Draws;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    pub(super) cells: [u8; CELLS_MAX],
    /// The multiplier each wild carries, 0 for none; only read while `multiplied` is set.
    pub(super) multipliers: [u32; CELLS_MAX],
    /// The stop of each reel: the strip position of its top row (it moves up as cascades refill it).
    pub(super) stops: [u32; REELS_MAX],
    /// Whether any cell may carry a multiplier (the phase drew wild multipliers for this spin).
    pub(super) multiplied: bool,
    reels: u8,
    rows: u8,
}

impl Board {
    /// An empty board of the definition's grid.
    pub fn new(definition: &Definition) -> Board {
        Board {
            cells: [NO_SYMBOL; CELLS_MAX],
            multipliers: [0; CELLS_MAX],
            stops: [0; REELS_MAX],
            multiplied: false,
            reels: definition.reels,
            rows: definition.rows,
        }
    }

    pub fn reels(&self) -> usize {
        usize::from(self.reels)
    }

    pub fn rows(&self) -> usize {
        usize::from(self.rows)
    }

    pub fn symbol(&self, reel: usize, row: usize) -> u8 {
        self.cells[cell(reel, row)]
    }

    /// The wild multiplier at a cell, 0 for none.
    pub fn multiplier(&self, reel: usize, row: usize) -> u32 {
        if self.multiplied {
            self.multipliers[cell(reel, row)]
        } else {
            0
        }
    }

    pub fn stops(&self) -> &[u32] {
        &self.stops[..self.reels()]
    }

    /// Spins every reel: one uniform stop per strip, left to right, then shows its window. A whole
    /// column of `ROWS_MAX` cells is copied (a fixed-size copy, no call); rows below the grid are never
    /// read.
    #[inline]
    pub fn spin<D: Draws + ?Sized>(&mut self, strips: &[Strip], draws: &mut D) {
        for (reel, strip) in strips.iter().enumerate() {
            let stop = strip.draw_stop(draws);
            self.stops[reel] = stop;
            let top = cell(reel, 0);
            self.cells[top..top + ROWS_MAX].copy_from_slice(strip.window(stop, ROWS_MAX));
        }
        self.multiplied = false;
    }

    /// Draws a multiplier for every wild on the board, reel by reel, each reel top to bottom.
    pub fn draw_wild_multipliers<D: Draws + ?Sized>(&mut self, table: &WeightedTable, wild: u8, draws: &mut D) {
        for reel in 0..self.reels() {
            for row in 0..self.rows() {
                let index = cell(reel, row);
                self.multipliers[index] = if self.cells[index] == wild {
                    table.pick(draws)
                } else {
                    0
                };
            }
        }
        self.multiplied = true;
    }

    /// Removes the cells of `removed` (a cell mask): on each reel the survivors fall to the bottom, keeping
    /// their order and multipliers, and the `k` symbols above the window on the strip fall in on top. The
    /// reel's stop moves up by `k`, so its top `k` rows show `strip[stop - k .. stop - 1]`. Nothing is
    /// drawn; a wild that falls in carries no multiplier.
    pub fn cascade(&mut self, strips: &[Strip], removed: u64) {
        let rows = self.rows();
        for (reel, strip) in strips.iter().enumerate() {
            let column = (removed >> cell(reel, 0)) & ((1u64 << rows) - 1);
            if column == 0 {
                continue;
            }
            let top = cell(reel, 0);
            // Survivors fill the column from the bottom up, keeping their order. Branch-free: every row
            // is copied to the next free slot, which only a survivor keeps (a removed symbol there is
            // overwritten by the next survivor or the refill); the slot is never a row still to read.
            let mut free = rows;
            for row in (0..rows).rev() {
                self.cells[top + free - 1] = self.cells[top + row];
                self.multipliers[top + free - 1] = self.multipliers[top + row];
                free -= usize::from(column & (1 << row) == 0);
            }
            let fallen = column.count_ones();
            let stop = (self.stops[reel] + strip.len() - fallen) % strip.len();
            self.stops[reel] = stop;
            // The top `fallen` rows from the strip, the rest kept: a byte blend of two words.
            let mut refill = [0u8; ROWS_MAX];
            refill.copy_from_slice(strip.window(stop, ROWS_MAX));
            let mut shown = [0u8; ROWS_MAX];
            shown.copy_from_slice(&self.cells[top..top + ROWS_MAX]);
            let fell = u64::MAX >> (64 - 8 * fallen);
            let blended = (u64::from_le_bytes(refill) & fell) | (u64::from_le_bytes(shown) & !fell);
            self.cells[top..top + ROWS_MAX].copy_from_slice(&blended.to_le_bytes());
            for (row, multiplier) in self.multipliers[top..top + ROWS_MAX].iter_mut().enumerate() {
                *multiplier = if row < fallen as usize { 0 } else { *multiplier };
            }
        }
    }

    /// Whether the board holds only symbols of the game (for debug assertions and tests).
    pub fn is_within(&self, definition: &Definition) -> bool {
        (0..self.reels())
            .all(|reel| (0..self.rows()).all(|row| usize::from(self.symbol(reel, row)) < definition.symbols.len()))
    }
}

const _: () = assert!(ROWS_MAX < 64 && CELLS_MAX <= 64, "a board's cells fit one u64 mask");
