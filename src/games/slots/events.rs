//! The events of a round, as books and the API show them (`{"type": "reveal", ...}`), and the sinks that
//! receive them. The round's code builds an event only when its sink records ([`EventSink::RECORDS`]), so
//! with [`NoEvents`] the events compile away and a simulated round allocates nothing.

use super::board::Board;
use super::definition::{cell, Definition, ROWS_MAX};
use super::evaluate::Win;
use serde::Serialize;

pub use super::definition::Phase;
pub use super::evaluate::WinKind;

/// A cell of the board: reel from the left, row from the top, both from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    pub reel: u8,
    pub row: u8,
}

/// A wild's multiplier on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CellMultiplier {
    pub reel: u8,
    pub row: u8,
    pub multiplier: u32,
}

/// One step of a round, in order. Amounts are centi-bet (hundredths of the base bet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A spun board: `spin` is 0 for the base game, 1.. for free spins; `board` lists each reel's
    /// symbols top to bottom.
    Reveal {
        phase: Phase,
        spin: u32,
        stops: Vec<u32>,
        board: Vec<Vec<String>>,
        wild_multipliers: Vec<CellMultiplier>,
    },
    /// One win: `amount = pay * multiplier * cascade_multiplier` (see `evaluate` for each kind).
    Win {
        phase: Phase,
        spin: u32,
        cascade: u32,
        symbol: String,
        kind: WinKind,
        count: u8,
        positions: Vec<Position>,
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ways: Option<u64>,
        multiplier: u64,
        cascade_multiplier: u32,
        pay: u64,
        amount: u64,
    },
    /// The winning symbols were removed and the reels refilled from above: the board after step `step`.
    Cascade {
        phase: Phase,
        spin: u32,
        step: u32,
        removed: Vec<Position>,
        stops: Vec<u32>,
        board: Vec<Vec<String>>,
    },
    /// Free spins start: `scatters` is 0 for a bonus buy.
    FreeSpinsTriggered {
        scatters: u32,
        spins: u32,
        bought: bool,
    },
    /// Spins added during free spins (`spins` after the round's cap), `total` awarded so far.
    FreeSpinsRetriggered {
        scatters: u32,
        spins: u32,
        total: u32,
    },
    FreeSpinsEnded {
        played: u32,
        win: u64,
    },
    /// The round reached its cap: it ends here at exactly `cap`; `excess` is what the win events above
    /// add up to beyond it.
    WinCapReached {
        cap: u64,
        excess: u64,
    },
    FinalWin {
        amount: u64,
    },
}

/// Where a round's events go. `RECORDS = false` lets the compiler drop every event.
pub trait EventSink {
    const RECORDS: bool;
    fn record(&mut self, event: Event);
}

/// Records nothing: for simulations.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    const RECORDS: bool = false;

    #[inline(always)]
    fn record(&mut self, _event: Event) {}
}

impl EventSink for Vec<Event> {
    const RECORDS: bool = true;

    fn record(&mut self, event: Event) {
        self.push(event);
    }
}

/// The board's symbol names, reel by reel, each top to bottom.
pub(super) fn board_names(definition: &Definition, board: &Board) -> Vec<Vec<String>> {
    (0..board.reels())
        .map(|reel| {
            (0..board.rows())
                .map(|row| definition.symbol_name(board.symbol(reel, row)).to_string())
                .collect()
        })
        .collect()
}

/// The multipliers the board's wilds carry, in board order.
pub(super) fn board_multipliers(board: &Board) -> Vec<CellMultiplier> {
    let mut multipliers = Vec::new();
    for reel in 0..board.reels() {
        for row in 0..board.rows() {
            let multiplier = board.multiplier(reel, row);
            if multiplier > 0 {
                multipliers.push(CellMultiplier {
                    reel: reel as u8,
                    row: row as u8,
                    multiplier,
                });
            }
        }
    }
    multipliers
}

/// The cells of a mask, in board order.
pub(super) fn positions(cells: u64, board: &Board) -> Vec<Position> {
    let mut positions = Vec::new();
    for reel in 0..board.reels() {
        for row in 0..board.rows() {
            if cells & (1 << cell(reel, row)) != 0 {
                positions.push(Position {
                    reel: reel as u8,
                    row: row as u8,
                });
            }
        }
    }
    positions
}

/// The event of a win at a spin and cascade step.
pub(super) fn win_event(
    definition: &Definition,
    board: &Board,
    phase: Phase,
    spin: u32,
    step: u32,
    win: &Win,
) -> Event {
    Event::Win {
        phase,
        spin,
        cascade: step,
        symbol: definition.symbol_name(win.symbol).to_string(),
        kind: win.kind,
        count: win.count,
        positions: positions(win.cells, board),
        line: (win.kind == WinKind::Line).then_some(win.line),
        ways: (win.kind == WinKind::Ways).then_some(win.ways),
        multiplier: win.multiplier,
        cascade_multiplier: win.cascade_multiplier,
        pay: win.pay,
        amount: win.amount,
    }
}

const _: () = assert!(ROWS_MAX <= u8::MAX as usize);
