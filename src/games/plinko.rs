//! Plinko on the game contract: the player picks the rows and the risk; the ball's path decides the slot.

use super::contract::{whole_number, BetTerms, Game, Mode, RuleError};
use crate::fair::plinko::{self, Risk, ROWS_MAX, ROWS_MIN};
use crate::fair::seeds::SeedInput;
use crate::games::crash::multiplier_json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Plinko; its edge lives in the published payout tables.
#[derive(Debug, Clone, Copy)]
pub struct Plinko;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlinkoRequest {
    rows: serde_json::Number,
    risk: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlinkoOptions {
    pub rows: u32,
    pub risk: Risk,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PlinkoState {
    /// One entry per row: 1 = right, 0 = left.
    pub path: Vec<u8>,
    pub slot: u32,
}

fn table(options: &PlinkoOptions) -> Vec<u32> {
    plinko::table(options.rows, options.risk).expect("rows are checked when the options are read")
}

fn pays(amount: i64, multiplier_hundredths: u32) -> i64 {
    i64::try_from(i128::from(amount) * i128::from(multiplier_hundredths) / 100).unwrap_or(i64::MAX)
}

impl Game for Plinko {
    type Request = PlinkoRequest;
    type Options = PlinkoOptions;
    type State = PlinkoState;
    type Action = serde::de::IgnoredAny;

    fn kind(&self) -> &'static str {
        "plinko"
    }

    fn mode(&self) -> Mode {
        Mode::Instant
    }

    fn options(&self, request: PlinkoRequest) -> Result<PlinkoOptions, RuleError> {
        let rows = whole_number(&request.rows, ROWS_MIN..=ROWS_MAX, "invalid_rows", "rows")?;
        let risk = match request.risk.as_str() {
            "low" => Risk::Low,
            "medium" => Risk::Medium,
            "high" => Risk::High,
            _ => {
                return Err(RuleError::invalid(
                    "invalid_risk",
                    "risk must be \"low\", \"medium\" or \"high\"",
                ))
            }
        };
        Ok(PlinkoOptions { rows, risk })
    }

    fn first_payout_max(&self, amount: i64, options: &PlinkoOptions) -> i64 {
        pays(amount, table(options).into_iter().max().unwrap_or(0))
    }

    fn start(&self, options: &PlinkoOptions, seeds: SeedInput<'_>) -> PlinkoState {
        let (path, slot) = plinko::drop_ball(seeds, options.rows);
        PlinkoState {
            path: path.into_iter().map(u8::from).collect(),
            slot,
        }
    }

    fn outcome(&self, state: &PlinkoState) -> Value {
        json!({ "path": state.path, "slot": state.slot })
    }

    fn is_finished(&self, _terms: BetTerms, _options: &PlinkoOptions, _state: &PlinkoState) -> bool {
        true
    }

    fn payout(&self, terms: BetTerms, options: &PlinkoOptions, state: &PlinkoState) -> i64 {
        pays(terms.amount, table(options)[state.slot as usize])
    }

    fn public_state(&self, options: &PlinkoOptions, state: &PlinkoState, _finished: bool) -> Value {
        json!({
            "rows": options.rows,
            "risk": options.risk,
            "path": state.path,
            "slot": state.slot,
            "multiplier": multiplier_json(table(options)[state.slot as usize]),
        })
    }

    fn expected_return_ppm(&self, options: &PlinkoOptions) -> u64 {
        plinko::expected_return_ppm(options.rows, options.risk).expect("rows are checked")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::contract::AnyGame;

    #[test]
    fn rows_and_risk_are_checked() {
        assert_eq!(
            AnyGame::options(&Plinko, json!({"rows": 16, "risk": "high"})).unwrap(),
            json!({"rows": 16, "risk": "high"})
        );
        for (body, code) in [
            (json!({"rows": 7, "risk": "low"}), "invalid_rows"),
            (json!({"rows": 17, "risk": "low"}), "invalid_rows"),
            (json!({"rows": 8.5, "risk": "low"}), "invalid_rows"),
            (json!({"rows": 8, "risk": "extreme"}), "invalid_risk"),
            (json!({"rows": 8}), "invalid_request"),
        ] {
            assert_eq!(
                AnyGame::options(&Plinko, body.clone()).unwrap_err().code,
                code,
                "{body}"
            );
        }
    }
}
