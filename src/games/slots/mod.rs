//! The slot engine: a data-driven slot game played one whole round at a time.
//!
//! A game is a definition loaded from `games/slots/<game_id>/` (see `games/slots/README.md`): a grid,
//! symbols with their pays, paylines or ways, reel strips per phase (base game, free spins), optional wild
//! multipliers, scatters that pay and trigger free spins, cascades, a win cap and bet modes (a bonus buy
//! among them).
//!
//! What is pure: everything but [`load`], [`sim`] (the simulator: threads, clocks, files) and [`server`]
//! (the slot server: Postgres and the ledger).
//! [`play_round`] and [`play_round_into`] take a definition, a mode and a source of draws and return the round; they read no clock, do no I/O and never allocate in the
//! no-event path. All randomness comes from [`Draws`] in a fixed, public order (see [`round`]), so a
//! production round replays from its seeds and a simulation from its seed.
//!
//! Units: every win is an integer in hundredths of the total base bet ("centi-bet", Stake Engine's
//! `payoutMultiplier`: 150 is 1.5x), and so is every pay in a definition, so evaluation is exact integer
//! arithmetic. A mode's stake is the base bet times the mode's integer cost. The only division happens at
//! the money edge, in [`payout_micros`], and rounds down (in the house's favour).

pub mod analysis;
pub mod board;
mod compile;
mod csv;
pub mod definition;
pub mod draws;
pub mod evaluate;
pub mod events;
pub mod load;
mod raw;
pub mod round;
pub mod server;
pub mod sim;
pub mod steps;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod props;
#[cfg(test)]
mod shipped;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use board::Board;
pub use definition::{Definition, Mode};
pub use draws::{uniform, weighted, Draws, FairDraws, FastDraws, Uniform};
pub use events::{Event, EventSink, NoEvents, Phase, Position, WinKind};
pub use load::{from_sources, list_games, load_dir, load_game, LoadError};
pub use round::{play_round, play_round_into, Round, RoundSummary};

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
