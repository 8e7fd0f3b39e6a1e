//! Dice on the game contract: the player picks a target and over or under; one roll decides.

use super::contract::{BetTerms, Game, Mode, RuleError};
use crate::fair::dice::{self, Direction, ROLL_MAX};
use crate::fair::seeds::SeedInput;
use crate::games::crash::multiplier_json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Dice with its house edge and the win chances it offers, in hundredths of a percent.
#[derive(Debug, Clone, Copy)]
pub struct Dice {
    pub house_edge_bps: u32,
    pub chance_min_hundredths: u32,
    pub chance_max_hundredths: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiceRequest {
    /// The target in percent with at most two decimals (`49.5`).
    target: serde_json::Number,
    direction: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiceOptions {
    /// In hundredths: 4950 is 49.50.
    pub target: u32,
    pub direction: Direction,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DiceState {
    /// In hundredths: 7467 is 74.67.
    pub roll: u32,
}

impl Dice {
    fn chance(options: &DiceOptions) -> u32 {
        dice::chance_hundredths(options.target, options.direction)
    }

    /// The payout multiplier in hundredths, rounded down (display only; payouts use exact arithmetic).
    fn multiplier(&self, options: &DiceOptions) -> u32 {
        (dice::payout(100, Self::chance(options), self.house_edge_bps)) as u32
    }
}

impl Game for Dice {
    type Request = DiceRequest;
    type Options = DiceOptions;
    type State = DiceState;
    type Action = serde::de::IgnoredAny;

    fn kind(&self) -> &'static str {
        "dice"
    }

    fn mode(&self) -> Mode {
        Mode::Instant
    }

    fn options(&self, request: DiceRequest) -> Result<DiceOptions, RuleError> {
        let direction = match request.direction.as_str() {
            "over" => Direction::Over,
            "under" => Direction::Under,
            _ => {
                return Err(RuleError::invalid(
                    "invalid_direction",
                    "direction must be \"over\" or \"under\"",
                ))
            }
        };
        let (low, high) = (self.chance_min_hundredths, self.chance_max_hundredths);
        let range = || {
            format!(
                "target must be 0.00 to 100.00 with at most two decimals, for a win chance of {} to {} percent",
                multiplier_json(low),
                multiplier_json(high)
            )
        };
        let target = crate::fair::parse_hundredths(&request.target)
            .filter(|target| *target <= ROLL_MAX)
            .ok_or_else(|| RuleError::invalid("invalid_target", range()))?;
        let options = DiceOptions { target, direction };
        if !(low..=high).contains(&Self::chance(&options)) {
            return Err(RuleError::invalid("invalid_target", range()));
        }
        Ok(options)
    }

    fn first_payout_max(&self, amount: i64, options: &DiceOptions) -> i64 {
        dice::payout(amount, Self::chance(options), self.house_edge_bps)
    }

    fn start(&self, _options: &DiceOptions, seeds: SeedInput<'_>) -> DiceState {
        DiceState {
            roll: dice::roll(seeds),
        }
    }

    fn outcome(&self, state: &DiceState) -> Value {
        json!({ "roll": multiplier_json(state.roll) })
    }

    fn is_finished(&self, _terms: BetTerms, _options: &DiceOptions, _state: &DiceState) -> bool {
        true
    }

    fn payout(&self, terms: BetTerms, options: &DiceOptions, state: &DiceState) -> i64 {
        if dice::wins(state.roll, options.target, options.direction) {
            dice::payout(terms.amount, Self::chance(options), self.house_edge_bps)
        } else {
            0
        }
    }

    fn public_state(&self, options: &DiceOptions, state: &DiceState, _finished: bool) -> Value {
        json!({
            "roll": multiplier_json(state.roll),
            "target": multiplier_json(options.target),
            "direction": options.direction,
            "win_chance": multiplier_json(Self::chance(options)),
            "multiplier": multiplier_json(self.multiplier(options)),
            "won": dice::wins(state.roll, options.target, options.direction),
        })
    }

    /// Every option wins on `chance` of the 10001 rolls and pays `(100 - edge) / chance`.
    fn expected_return_ppm(&self, _options: &DiceOptions) -> u64 {
        u64::from(10_000 - self.house_edge_bps) * 1_000_000 / u64::from(ROLL_MAX + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::contract::AnyGame;

    fn game() -> Dice {
        Dice {
            house_edge_bps: 100,
            chance_min_hundredths: 1,
            chance_max_hundredths: 9800,
        }
    }

    #[test]
    fn targets_are_checked_against_the_chance_bounds() {
        let game = game();
        let options = |body: Value| AnyGame::options(&game, body);
        assert_eq!(
            options(json!({"target": 49.5, "direction": "over"})).unwrap(),
            json!({"target": 4950, "direction": "over"})
        );
        assert!(options(json!({"target": 98, "direction": "under"})).is_ok());
        for (body, code) in [
            (json!({"target": 98.01, "direction": "under"}), "invalid_target"),
            (json!({"target": 1.99, "direction": "over"}), "invalid_target"),
            (json!({"target": 0, "direction": "under"}), "invalid_target"),
            (json!({"target": 100, "direction": "over"}), "invalid_target"),
            (json!({"target": 50.001, "direction": "over"}), "invalid_target"),
            (json!({"target": -5, "direction": "over"}), "invalid_target"),
            (json!({"target": 50, "direction": "sideways"}), "invalid_direction"),
            (json!({"target": "50", "direction": "over"}), "invalid_request"),
            (
                json!({"target": 50, "direction": "over", "extra": 1}),
                "invalid_request",
            ),
        ] {
            assert_eq!(options(body.clone()).unwrap_err().code, code, "{body}");
        }
    }

    #[test]
    fn a_roll_pays_only_on_the_chosen_side() {
        let game = game();
        let terms = BetTerms {
            amount: 1_000_000,
            payout_max: i64::MAX,
        };
        let over = DiceOptions {
            target: 5000,
            direction: Direction::Over,
        };
        assert_eq!(Game::payout(&game, terms, &over, &DiceState { roll: 5001 }), 1_980_000);
        assert_eq!(Game::payout(&game, terms, &over, &DiceState { roll: 5000 }), 0);
    }
}
