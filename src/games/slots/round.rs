//! One round, start to end: the base spin with its cascades, the free spins it triggers (with theirs),
//! the win cap, the final win. [`play_round_into`] is the only code that decides an outcome; it is generic
//! over its event sink, so simulations ([`super::NoEvents`]) and recorded rounds ([`play_round`]) run the
//! same code.
//!
//! The order of draws, part of the public verification recipe (each draw by the rules of `draws`):
//! 1. A bonus buy with a `free_spins_table` picks its number of free spins first (a fixed count draws
//!    nothing); a bonus buy then skips the base game.
//! 2. The base spin: one uniform stop per reel, left to right (`uniform(strip length)`).
//! 3. If the phase has wild multipliers: one weighted pick for each wild on the board, reel by reel
//!    from the left, each reel top to bottom.
//! 4. Cascades draw nothing: the strip above a reel refills it, and a wild that falls in carries no
//!    multiplier.
//! 5. Each free spin, in order: steps 2 to 4 with the free-spin reels and tables.
//!
//! Scatters pay and trigger on a spin's final board (after its last cascade; they are never removed).
//! Free spins: the base-game trigger table gives the spins for the scatter count; during free spins the
//! retrigger table adds spins, and no award ever takes the round's total above `free_spins_max`. The win
//! cap: once the round's running win reaches it (checked after each board's wins and after a scatter
//! pay), a `win_cap_reached` event is recorded, nothing more is played, and the round wins the cap exactly.

use super::board::Board;
use super::definition::{BonusBuy, Definition, Mode, Phase, PhaseRules, CASCADES_MAX};
use super::draws::Draws;
use super::evaluate::{evaluate, scatter_count, scatter_win};
use super::events::{board_multipliers, board_names, positions, win_event, Event, EventSink};
use serde::Serialize;

/// What a round came to. Amounts are centi-bet; `win_centibet = min(cap, base + free spins)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RoundSummary {
    /// The round's win, capped.
    pub win_centibet: u64,
    /// What the base spin won (before the cap).
    pub base_win_centibet: u64,
    /// What the base spin's first board won on its lines or ways, before cascades, scatter pays and the
    /// cap: the part of the return that `analysis` computes exactly.
    pub first_board_win_centibet: u64,
    /// What the free spins won (before the cap).
    pub free_spins_win_centibet: u64,
    /// The scatters that triggered free spins in the base game, if they did.
    pub trigger_scatters: Option<u32>,
    /// Free spins awarded, retriggers included (at most `free_spins_max`).
    pub free_spins_awarded: u32,
    pub free_spins_played: u32,
    /// Retriggers that added spins.
    pub retriggers: u32,
    /// Cascade steps over the whole round.
    pub cascades: u32,
    pub cap_hit: bool,
    /// The round started in free spins, bought.
    pub bonus_buy: bool,
}

/// A recorded round: its events in order and its summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Round {
    pub events: Vec<Event>,
    pub summary: RoundSummary,
}

/// Plays one round of `mode`, recording every event.
pub fn play_round<D: Draws + ?Sized>(definition: &Definition, mode: &Mode, draws: &mut D) -> Round {
    let mut events = Vec::new();
    let summary = play_round_into(definition, mode, draws, &mut events);
    Round { events, summary }
}

/// Plays one round of `mode`, handing its events to `sink`.
pub fn play_round_into<D: Draws + ?Sized, S: EventSink>(
    definition: &Definition,
    mode: &Mode,
    draws: &mut D,
    sink: &mut S,
) -> RoundSummary {
    let mut play = Play {
        definition,
        draws,
        sink,
        board: Board::new(definition),
        summary: RoundSummary::default(),
        running: 0,
    };
    let spins = match &mode.buy {
        Some(buy) => play.buy(buy),
        None => play.base_game(),
    };
    if spins > 0 {
        play.free_spins(spins);
    }
    play.finish()
}

/// The state of a round in play.
struct Play<'a, D: ?Sized, S> {
    definition: &'a Definition,
    draws: &'a mut D,
    sink: &'a mut S,
    board: Board,
    summary: RoundSummary,
    /// Base plus free-spin win so far, uncapped.
    running: u64,
}

impl<D: Draws + ?Sized, S: EventSink> Play<'_, D, S> {
    /// The base spin; the free spins it triggers (0 for none).
    fn base_game(&mut self) -> u32 {
        let definition = self.definition;
        let scatters = self.spin(Phase::Base, 0, &definition.base);
        let spins = definition.base.award(scatters).min(definition.free_spins_max);
        if self.summary.cap_hit || spins == 0 {
            return 0;
        }
        self.summary.trigger_scatters = Some(scatters);
        if S::RECORDS {
            self.sink.record(Event::FreeSpinsTriggered {
                scatters,
                spins,
                bought: false,
            });
        }
        spins
    }

    /// A bonus buy's free spins.
    fn buy(&mut self, buy: &BonusBuy) -> u32 {
        let spins = match buy {
            BonusBuy::Fixed(spins) => *spins,
            BonusBuy::Table(table) => table.pick(self.draws),
        };
        let spins = spins.min(self.definition.free_spins_max);
        self.summary.bonus_buy = true;
        if S::RECORDS {
            self.sink.record(Event::FreeSpinsTriggered {
                scatters: 0,
                spins,
                bought: true,
            });
        }
        spins
    }

    /// Plays `awarded` free spins plus their retriggers, never more than `free_spins_max` in all.
    fn free_spins(&mut self, awarded: u32) {
        let definition = self.definition;
        let Some(rules) = definition.free_spins.as_ref() else {
            debug_assert!(false, "compile refuses awards without [free_spins]");
            return;
        };
        let mut total = awarded.min(definition.free_spins_max);
        let mut played = 0;
        // Bounded: `total` never exceeds free_spins_max <= FREE_SPINS_MAX_LIMIT.
        while played < total {
            played += 1;
            let scatters = self.spin(Phase::FreeSpins, played, rules);
            if self.summary.cap_hit {
                break;
            }
            let spins = rules.award(scatters).min(definition.free_spins_max - total);
            if spins > 0 {
                total += spins;
                self.summary.retriggers += 1;
                if S::RECORDS {
                    self.sink.record(Event::FreeSpinsRetriggered { scatters, spins, total });
                }
            }
        }
        self.summary.free_spins_awarded = total;
        self.summary.free_spins_played = played;
        if S::RECORDS {
            let win = self.summary.free_spins_win_centibet;
            self.sink.record(Event::FreeSpinsEnded { played, win });
        }
    }

    /// One spin with its cascades and scatter pay; the scatters on its final board (0 once capped).
    fn spin(&mut self, phase: Phase, spin: u32, rules: &PhaseRules) -> u32 {
        let definition = self.definition;
        self.board.spin(&rules.strips, self.draws);
        if let Some(table) = &rules.wild_multipliers {
            self.board.draw_wild_multipliers(table, definition.wild, self.draws);
        }
        if S::RECORDS {
            self.sink.record(Event::Reveal {
                phase,
                spin,
                stops: self.board.stops().to_vec(),
                board: board_names(definition, &self.board),
                wild_multipliers: board_multipliers(&self.board),
            });
        }
        let mut step = 0;
        loop {
            let (board, sink) = (&self.board, &mut *self.sink);
            let wins = evaluate(definition, board, rules.cascade_multiplier(step), |win| {
                if S::RECORDS {
                    sink.record(win_event(definition, board, phase, spin, step, win));
                }
            });
            if phase == Phase::Base && step == 0 {
                self.summary.first_board_win_centibet = wins.amount;
            }
            if self.add(phase, wins.amount) {
                return 0;
            }
            if !definition.cascades || wins.cells == 0 || step == CASCADES_MAX {
                break;
            }
            step += 1;
            self.cascade(phase, spin, step, rules, wins.cells);
        }
        let count = scatter_count(definition, &self.board);
        if let Some(win) = scatter_win(definition, &self.board, count) {
            if S::RECORDS {
                self.sink
                    .record(win_event(definition, &self.board, phase, spin, step, &win));
            }
            if self.add(phase, win.amount) {
                return 0;
            }
        }
        count
    }

    fn cascade(&mut self, phase: Phase, spin: u32, step: u32, rules: &PhaseRules, removed: u64) {
        let removed_positions = if S::RECORDS {
            positions(removed, &self.board)
        } else {
            Vec::new()
        };
        self.board.cascade(&rules.strips, removed);
        self.summary.cascades += 1;
        if S::RECORDS {
            self.sink.record(Event::Cascade {
                phase,
                spin,
                step,
                removed: removed_positions,
                stops: self.board.stops().to_vec(),
                board: board_names(self.definition, &self.board),
            });
        }
    }

    /// Adds a win; true once the round has reached its cap (and so ends).
    fn add(&mut self, phase: Phase, amount: u64) -> bool {
        if amount == 0 {
            return false;
        }
        let bucket = match phase {
            Phase::Base => &mut self.summary.base_win_centibet,
            Phase::FreeSpins => &mut self.summary.free_spins_win_centibet,
        };
        *bucket = bucket.saturating_add(amount);
        self.running = self.running.saturating_add(amount);
        let cap = self.definition.win_cap_centibet;
        if self.running < cap {
            return false;
        }
        self.summary.cap_hit = true;
        if S::RECORDS {
            let excess = self.running - cap;
            self.sink.record(Event::WinCapReached { cap, excess });
        }
        true
    }

    fn finish(mut self) -> RoundSummary {
        self.summary.win_centibet = self.running.min(self.definition.win_cap_centibet);
        if S::RECORDS {
            let amount = self.summary.win_centibet;
            self.sink.record(Event::FinalWin { amount });
        }
        self.summary
    }
}
