//! Mines on a 5x5 board: for i = 0..24, `index = floor(f_i * (25 - i))` picks a position from the tiles
//! still in the list `[0..24]`, removed and appended to the order; the first `m` positions are the mines.
//! After `k` safe reveals the multiplier is `(1 - edge) * C(25, k) / C(25 - m, k)`, so cashing out after
//! any number of reveals returns exactly `1 - edge` (the chance of surviving k reveals is the inverse
//! ratio).

use super::seeds::{SeedInput, Stream};

pub const TILES: u32 = 25;
pub const MINES_MIN: u32 = 1;
pub const MINES_MAX: u32 = 24;

/// The positions of `mines` mines, in the order they were drawn.
pub fn mine_positions(input: SeedInput<'_>, mines: u32) -> Vec<u32> {
    let mut stream = Stream::new(input);
    let mut remaining: Vec<u32> = (0..TILES).collect();
    let mut order = Vec::with_capacity(TILES as usize);
    for drawn in 0..TILES - 1 {
        let index = stream.next_below(TILES - drawn) as usize;
        order.push(remaining.remove(index));
    }
    order.extend(remaining);
    order.truncate(mines as usize);
    order
}

fn binomial(n: u32, k: u32) -> u128 {
    (0..k).fold(1u128, |acc, i| acc * u128::from(n - i) / u128::from(i + 1))
}

/// The payout of a bet of `amount` after `safe` safe reveals with `mines` mines, rounded down:
/// `amount * (10000 - edge_bps) * C(25, k) / (10000 * C(25 - m, k))`.
pub fn payout(amount: i64, mines: u32, safe: u32, edge_bps: u32) -> i64 {
    assert!(safe <= TILES - mines, "at most the safe tiles can be revealed");
    let numerator = amount as u128 * u128::from(10_000 - edge_bps) * binomial(TILES, safe);
    let denominator = 10_000 * binomial(TILES - mines, safe);
    i64::try_from(numerator / denominator).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::seeds::VECTOR_SEEDS;
    use super::*;

    #[test]
    fn the_reference_vector() {
        let (server_seed, client_seed) = VECTOR_SEEDS;
        assert_eq!(
            mine_positions(
                SeedInput {
                    server_seed,
                    client_seed,
                    nonce: 1
                },
                3
            ),
            [18, 15, 5]
        );
    }

    #[test]
    fn the_board_is_a_permutation() {
        let (server_seed, client_seed) = VECTOR_SEEDS;
        let mut all = mine_positions(
            SeedInput {
                server_seed,
                client_seed,
                nonce: 7,
            },
            24,
        );
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 24, "24 distinct mines");
        assert!(all.iter().all(|tile| *tile < TILES));
    }

    /// Cashing out after any number of safe reveals returns 99% (at a 1% edge) within 0.01 percentage
    /// points (only the rounding down of micro-units takes anything more), and never 100% or more.
    #[test]
    fn every_option_returns_100_percent_minus_the_edge() {
        let amount = 1_000_000_000i64;
        for mines in MINES_MIN..=MINES_MAX {
            for safe in 1..=TILES - mines {
                let survive = binomial(TILES - mines, safe) as f64 / binomial(TILES, safe) as f64;
                let rtp = payout(amount, mines, safe, 100) as f64 * survive / amount as f64 * 100.0;
                assert!(
                    (rtp - 99.0).abs() <= 0.01 && rtp < 100.0,
                    "{mines} mines, {safe} safe: {rtp}"
                );
            }
        }
    }

    #[test]
    fn a_simulation_returns_what_the_closed_form_says() {
        let (server_seed, client_seed) = VECTOR_SEEDS;
        // Three mines, cash out after two safe reveals (tiles 0 and 1).
        let (mines, bets, amount) = (3u32, 100_000u64, 1_000_000i64);
        let win = payout(amount, mines, 2, 100);
        let mut paid = 0i64;
        for nonce in 0..bets {
            let board = mine_positions(
                SeedInput {
                    server_seed,
                    client_seed,
                    nonce,
                },
                mines,
            );
            if !board.contains(&0) && !board.contains(&1) {
                paid += win;
            }
        }
        let p = binomial(22, 2) as f64 / binomial(25, 2) as f64;
        let expected = bets as f64 * win as f64 * p;
        let tolerance = 5.0 * win as f64 * (p * (1.0 - p)).sqrt() * (bets as f64).sqrt();
        assert!(
            ((paid as f64) - expected).abs() < tolerance,
            "paid {paid}, expected {expected} ± {tolerance}"
        );
    }
}
