//! Dice: `roll = floor(f * 10001) / 100` in [0.00, 100.00] (kept in hundredths, 0..=10000). The player bets
//! over or under a target; the win chance is `100 - target` (over) or `target` (under) percent, and the
//! payout multiplier `(100 - edge%) / chance%`. Over `t` wins on rolls above `t`, under `t` on rolls below
//! it, so each option wins on exactly `chance * 100` of the 10001 rolls: the exact return is
//! `(100 - edge%) * 10000 / 10001` percent for every option (98.99% at a 1% edge).

use super::seeds::{SeedInput, Stream};

/// Rolls in hundredths: 0..=ROLL_MAX.
pub const ROLL_MAX: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Over,
    Under,
}

/// The roll of one bet, in hundredths.
pub fn roll(input: SeedInput<'_>) -> u32 {
    Stream::new(input).next_below(ROLL_MAX + 1)
}

/// The win chance of a target, in hundredths of a percent (5000 = 50.00%).
pub fn chance_hundredths(target: u32, direction: Direction) -> u32 {
    match direction {
        Direction::Over => ROLL_MAX.saturating_sub(target),
        Direction::Under => target,
    }
}

pub fn wins(roll: u32, target: u32, direction: Direction) -> bool {
    match direction {
        Direction::Over => roll > target,
        Direction::Under => roll < target,
    }
}

/// The payout of a winning bet of `amount` micro-units, rounded down:
/// `amount * (10000 - edge_bps) / chance_hundredths`.
pub fn payout(amount: i64, chance_hundredths: u32, edge_bps: u32) -> i64 {
    let numerator = i128::from(amount) * i128::from(10_000 - edge_bps);
    i64::try_from(numerator / i128::from(chance_hundredths)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::seeds::VECTOR_SEEDS;
    use super::*;

    fn vector(nonce: u64) -> u32 {
        let (server_seed, client_seed) = VECTOR_SEEDS;
        roll(SeedInput {
            server_seed,
            client_seed,
            nonce,
        })
    }

    #[test]
    fn the_reference_vectors() {
        assert_eq!(vector(1), 7467, "74.67");
        assert_eq!(vector(2), 5386, "53.86");
    }

    #[test]
    fn every_option_returns_the_same_exact_amount_below_100_percent() {
        let edge_bps = 100;
        for direction in [Direction::Over, Direction::Under] {
            // Chances from 0.01% to 98% (both ends and a spread between), each counted over all 10001 rolls.
            for chance in (1..=9800u32).step_by(97).chain([9800]) {
                let target = match direction {
                    Direction::Over => ROLL_MAX - chance,
                    Direction::Under => chance,
                };
                let winning_rolls = (0..=ROLL_MAX).filter(|roll| wins(*roll, target, direction)).count() as f64;
                assert_eq!(winning_rolls, f64::from(chance));
                let multiplier = f64::from(10_000 - edge_bps) / f64::from(chance);
                let rtp = multiplier * winning_rolls / f64::from(ROLL_MAX + 1) * 100.0;
                assert!((rtp - 99.0).abs() <= 0.01 && rtp < 100.0, "chance {chance}: {rtp}");
            }
        }
    }

    #[test]
    fn a_simulation_returns_what_the_closed_form_says() {
        let (server_seed, client_seed) = VECTOR_SEEDS;
        let (bets, target, amount) = (200_000u64, 5000u32, 1_000_000i64);
        let chance = chance_hundredths(target, Direction::Over);
        let win = payout(amount, chance, 100);
        let mut paid = 0i64;
        for nonce in 0..bets {
            let roll = roll(SeedInput {
                server_seed,
                client_seed,
                nonce,
            });
            if wins(roll, target, Direction::Over) {
                paid += win;
            }
        }
        let p: f64 = 5000.0 / 10001.0;
        let per_bet_sd = (win as f64) * (p * (1.0 - p)).sqrt();
        let expected = bets as f64 * win as f64 * p;
        let tolerance = 5.0 * per_bet_sd * (bets as f64).sqrt();
        assert!(
            ((paid as f64) - expected).abs() < tolerance,
            "paid {paid}, expected {expected} ± {tolerance}"
        );
    }
}
