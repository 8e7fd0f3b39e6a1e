//! The slot engine (in progress): game definitions loaded from `games/slots/<game_id>/`, the draws every
//! round takes its randomness from, and the money edge.
//!
//! Units: every win is an integer in hundredths of the total base bet ("centi-bet", Stake Engine's
//! `payoutMultiplier`: 150 is 1.5x), and so is every pay in a definition. The only division happens at
//! the money edge, in [`payout_micros`], and rounds down (in the house's favour).

mod compile;
mod csv;
pub mod definition;
pub mod draws;
pub mod load;
mod raw;

pub use definition::{Definition, Mode};
pub use draws::{uniform, weighted, Draws, FairDraws, FastDraws, Uniform};
pub use load::{from_sources, list_games, load_dir, load_game, LoadError};

/// The payout of a win of `win_centibet` hundredths of the bet on a bet of `bet_micros`:
/// `floor(bet_micros * win_centibet / 100)`, computed in i128. The division rounds down (toward negative
/// infinity), in the house's favour; a result beyond `i64` saturates at `i64::MAX` (never reached by a
/// capped win on a real bet).
pub fn payout_micros(bet_micros: i64, win_centibet: u64) -> i64 {
    let product = i128::from(bet_micros) * i128::from(win_centibet);
    i64::try_from(product.div_euclid(100)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod payout_tests {
    use super::payout_micros;

    #[test]
    fn payout_rounds_down_in_the_house_favour() {
        // 1.5x of 1 unit, then remainders that must be dropped, then a win bigger than i64 allows.
        assert_eq!(payout_micros(1_000_000, 150), 1_500_000);
        assert_eq!(payout_micros(3, 50), 1, "1.5 micro-units round down to 1");
        assert_eq!(payout_micros(1, 99), 0);
        assert_eq!(payout_micros(0, 1_000_000), 0);
        assert_eq!(payout_micros(i64::MAX, u64::MAX), i64::MAX);
    }
}
