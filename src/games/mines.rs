//! Mines on the game contract: the bet places the mines (from the seeds, stored with the bet); the player
//! reveals tiles one at a time and may cash out after any safe one. A mine ends the game; so does the
//! last safe tile, or a next reveal that would pay more than the payout limit (both cash out).

use super::contract::{whole_number, BetTerms, Game, Mode, RuleError};
use crate::fair::mines::{self, MINES_MAX, MINES_MIN, TILES};
use crate::fair::seeds::SeedInput;
use crate::games::crash::multiplier_json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy)]
pub struct Mines {
    pub house_edge_bps: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinesRequest {
    mines: serde_json::Number,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinesOptions {
    pub mines: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MinesState {
    /// The mine positions, in the order the seeds drew them. Secret until the game ends.
    pub mines: Vec<u32>,
    /// Safe tiles revealed so far, in order.
    pub revealed: Vec<u32>,
    pub mine_hit: Option<u32>,
    pub cashed_out: bool,
}

#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum MinesAction {
    Reveal { tile: serde_json::Number },
    Cashout,
}

impl Mines {
    fn payout_after(&self, amount: i64, options: &MinesOptions, safe: usize) -> i64 {
        mines::payout(amount, options.mines, safe as u32, self.house_edge_bps)
    }

    fn safe_tiles(options: &MinesOptions) -> usize {
        (TILES - options.mines) as usize
    }
}

impl Game for Mines {
    type Request = MinesRequest;
    type Options = MinesOptions;
    type State = MinesState;
    type Action = MinesAction;

    fn kind(&self) -> &'static str {
        "mines"
    }

    fn mode(&self) -> Mode {
        Mode::Stepwise
    }

    fn options(&self, request: MinesRequest) -> Result<MinesOptions, RuleError> {
        let mines = whole_number(&request.mines, MINES_MIN..=MINES_MAX, "invalid_mines", "mines")?;
        Ok(MinesOptions { mines })
    }

    /// The first safe reveal's payout: later reveals that would pass the limit end the game instead.
    fn first_payout_max(&self, amount: i64, options: &MinesOptions) -> i64 {
        self.payout_after(amount, options, 1)
    }

    fn start(&self, options: &MinesOptions, seeds: SeedInput<'_>) -> MinesState {
        MinesState {
            mines: mines::mine_positions(seeds, options.mines),
            revealed: Vec::new(),
            mine_hit: None,
            cashed_out: false,
        }
    }

    fn outcome(&self, state: &MinesState) -> Value {
        json!({ "mines": state.mines })
    }

    fn act(
        &self,
        _terms: BetTerms,
        _options: &MinesOptions,
        state: &mut MinesState,
        action: MinesAction,
    ) -> Result<(), RuleError> {
        match action {
            MinesAction::Reveal { tile } => {
                let tile = whole_number(&tile, 0..=TILES - 1, "invalid_tile", "tile")?;
                if state.revealed.contains(&tile) {
                    return Err(RuleError::conflict(
                        "tile_already_revealed",
                        format!("tile {tile} is already revealed"),
                    ));
                }
                if state.mines.contains(&tile) {
                    state.mine_hit = Some(tile);
                } else {
                    state.revealed.push(tile);
                }
            }
            MinesAction::Cashout => {
                if state.revealed.is_empty() {
                    return Err(RuleError::conflict(
                        "nothing_revealed",
                        "reveal a safe tile before cashing out",
                    ));
                }
                state.cashed_out = true;
            }
        }
        Ok(())
    }

    fn is_finished(&self, terms: BetTerms, options: &MinesOptions, state: &MinesState) -> bool {
        let safe = state.revealed.len();
        state.mine_hit.is_some()
            || state.cashed_out
            || safe >= Self::safe_tiles(options)
            || self.payout_after(terms.amount, options, safe + 1) > terms.payout_max
    }

    fn payout(&self, terms: BetTerms, options: &MinesOptions, state: &MinesState) -> i64 {
        if state.mine_hit.is_some() || state.revealed.is_empty() {
            return 0;
        }
        self.payout_after(terms.amount, options, state.revealed.len())
    }

    fn public_state(&self, options: &MinesOptions, state: &MinesState, finished: bool) -> Value {
        let safe = state.revealed.len();
        let multiplier = |safe: usize| multiplier_json(self.payout_after(100, options, safe) as u32);
        let mut view = json!({
            "mines_count": options.mines,
            "revealed": state.revealed,
            "mine_hit": state.mine_hit,
            // Nothing is won before the first safe reveal (and cashing out is refused until then).
            "multiplier": if safe == 0 { Value::Null } else { multiplier(safe) },
        });
        if finished {
            view["mines"] = json!(state.mines);
        } else if safe < Self::safe_tiles(options) {
            view["next_multiplier"] = multiplier(safe + 1);
        }
        view
    }

    /// Cashing out after any number of safe reveals returns exactly `1 - edge`.
    fn expected_return_ppm(&self, _options: &MinesOptions) -> u64 {
        u64::from(10_000 - self.house_edge_bps) * 100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERMS: BetTerms = BetTerms {
        amount: 1_000_000,
        payout_max: i64::MAX,
    };

    fn game_with_mines_at(mines: Vec<u32>) -> (Mines, MinesOptions, MinesState) {
        let options = MinesOptions {
            mines: mines.len() as u32,
        };
        let state = MinesState {
            mines,
            revealed: Vec::new(),
            mine_hit: None,
            cashed_out: false,
        };
        (Mines { house_edge_bps: 100 }, options, state)
    }

    fn reveal(tile: u32) -> MinesAction {
        MinesAction::Reveal { tile: tile.into() }
    }

    #[test]
    fn a_mine_ends_the_game_with_nothing_paid() {
        let (game, options, mut state) = game_with_mines_at(vec![3, 7, 11]);
        game.act(TERMS, &options, &mut state, reveal(0)).unwrap();
        assert!(!game.is_finished(TERMS, &options, &state));
        game.act(TERMS, &options, &mut state, reveal(7)).unwrap();
        assert!(game.is_finished(TERMS, &options, &state));
        assert_eq!(game.payout(TERMS, &options, &state), 0);
        assert_eq!(game.public_state(&options, &state, true)["mines"], json!([3, 7, 11]));
    }

    #[test]
    fn repeated_and_out_of_range_tiles_are_refused() {
        let (game, options, mut state) = game_with_mines_at(vec![3]);
        assert_eq!(
            game.act(TERMS, &options, &mut state, MinesAction::Cashout)
                .unwrap_err()
                .code,
            "nothing_revealed"
        );
        game.act(TERMS, &options, &mut state, reveal(0)).unwrap();
        assert_eq!(
            game.act(TERMS, &options, &mut state, reveal(0)).unwrap_err().code,
            "tile_already_revealed"
        );
        assert_eq!(
            game.act(TERMS, &options, &mut state, reveal(25)).unwrap_err().code,
            "invalid_tile"
        );
        assert!(
            game.public_state(&options, &state, false).get("mines").is_none(),
            "mines stay secret"
        );
    }

    #[test]
    fn the_last_safe_tile_cashes_out() {
        let (game, options, mut state) = game_with_mines_at((1..25).collect());
        game.act(TERMS, &options, &mut state, reveal(0)).unwrap();
        assert!(game.is_finished(TERMS, &options, &state));
        assert_eq!(game.payout(TERMS, &options, &state), 24_750_000, "0.99 * 25");
    }

    #[test]
    fn a_reveal_that_would_pass_the_payout_limit_ends_the_game_first() {
        let (game, options, mut state) = game_with_mines_at(vec![20, 21, 22, 23, 24]);
        let capped = BetTerms {
            amount: 1_000_000,
            payout_max: 1_900_000,
        };
        game.act(capped, &options, &mut state, reveal(0)).unwrap();
        game.act(capped, &options, &mut state, reveal(1)).unwrap();
        // 2 safe reveals with 5 mines pay 1.56x; a third would pay 1.99x, past the limit.
        assert!(game.is_finished(capped, &options, &state));
        assert_eq!(game.payout(capped, &options, &state), 1_563_157);
    }
}
