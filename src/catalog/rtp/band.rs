//! The statistics of RTP tracking, as pure functions over integers: a window's measured RTP, the band
//! its number of rounds allows around the declared RTP, and whether it is flagged.
//!
//! The band is `declared ± z·σ/√rounds`: the measured RTP of `n` rounds is a mean of `n` payout ratios
//! (won / staked of each round), whose standard deviation is `σ/√n` when `σ` is that of one round. It
//! treats every round as the same stake; when stakes differ widely, a few large ones weigh more and the
//! real spread is wider, which the minimum number of rounds before any flag partly absorbs.
//!
//! Every quantity is in basis points (1/10,000) of the stake, every division states how it rounds, and
//! every rounding widens the band: a game is never flagged by a rounding error.

use crate::fair::plinko::{self, Risk};
use serde::Serialize;

/// Basis points in 1 (100%).
const BPS: i128 = 10_000;

/// What the rollups of one game add up to over a window.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub staked_micros: i64,
    pub won_micros: i64,
    pub rounds: i64,
}

/// The measured RTPs a number of rounds allows by chance, inclusive, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Band {
    pub low_bps: i64,
    pub high_bps: i64,
}

/// When a game is flagged (from `settings.rtp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// The band's half width in standard deviations of the mean, in hundredths (300 = 3σ).
    pub band_sigma_hundredths: u32,
    /// Fewer rounds than this in a window are never flagged.
    pub flag_rounds_min: u64,
}

/// A window judged: the measured RTP, the band and the flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `won · 10000 / staked`, rounded down; none while nothing (or less than nothing) is staked.
    pub measured_rtp_bps: Option<i64>,
    /// None before the first round.
    pub band: Option<Band>,
    pub flagged: bool,
}

/// Judges one window of a game declared at `declared_bps` whose rounds spread `sigma_bps`.
pub fn judge(tally: Tally, declared_bps: i32, sigma_bps: i64, thresholds: Thresholds) -> Verdict {
    let measured_rtp_bps = measured_rtp_bps(tally);
    let band = band(declared_bps, sigma_bps, tally.rounds, thresholds.band_sigma_hundredths);
    let enough_rounds = u64::try_from(tally.rounds).is_ok_and(|rounds| rounds >= thresholds.flag_rounds_min);
    let outside = match (measured_rtp_bps, band) {
        (Some(measured), Some(band)) => measured < band.low_bps || measured > band.high_bps,
        _ => false,
    };
    Verdict {
        measured_rtp_bps,
        band,
        flagged: enough_rounds && outside,
    }
}

/// `won · 10000 / staked`, rounded down (toward zero); none while the stakes add up to nothing.
pub fn measured_rtp_bps(tally: Tally) -> Option<i64> {
    if tally.staked_micros <= 0 {
        return None;
    }
    let ratio = i128::from(tally.won_micros) * BPS / i128::from(tally.staked_micros);
    Some(i64::try_from(ratio).unwrap_or(if ratio < 0 { i64::MIN } else { i64::MAX }))
}

/// `declared ± z·σ/√rounds` with `z = band_sigma_hundredths / 100`; none before the first round. The
/// half width is `z_hundredths · σ / √(10000 · rounds)` with the root rounded down and the quotient up, so
/// it is never narrower than the exact one. The low end is never below 0.
pub fn band(declared_bps: i32, sigma_bps: i64, rounds: i64, band_sigma_hundredths: u32) -> Option<Band> {
    if rounds <= 0 {
        return None;
    }
    let root = (10_000u128 * rounds as u128).isqrt();
    let spread = u128::from(band_sigma_hundredths) * sigma_bps.max(0) as u128;
    let half = i64::try_from(spread.div_ceil(root)).unwrap_or(i64::MAX);
    let declared = i64::from(declared_bps);
    Some(Band {
        low_bps: declared.saturating_sub(half).max(0),
        high_bps: declared.saturating_add(half),
    })
}

/// Where a game's per-round standard deviation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SigmaSource {
    /// The game's metadata (`rtp_sigma_bps`), as its provider publishes it.
    Metadata,
    /// Computed from the rules of one of our games.
    Rules,
    /// The default of the game's volatility class.
    Volatility,
    /// Nothing known: the medium class's default.
    Default,
}

/// One round's standard deviation of the payout ratio, in basis points of the stake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sigma {
    pub bps: i64,
    pub source: SigmaSource,
}

/// What the choice of σ looks at in a catalog game.
#[derive(Debug, Clone, Copy)]
pub struct SigmaFacts<'a> {
    pub provider_id: &'a str,
    pub code: &'a str,
    pub category: &'a str,
    pub rtp_bps: i32,
    pub volatility: Option<&'a str>,
    /// `metadata.rtp_sigma_bps` when it is a positive integer.
    pub metadata_sigma_bps: Option<i64>,
}

/// Defaults by volatility class, for outside games that publish no σ (and our slots, when their PAR
/// sheet's figure is not in their metadata). Typical standard deviations of a slot's round in bets:
/// low-volatility games 3 to 5, medium 6 to 10, high 10 to 20 (our shipped slots measure 16.5 to 17),
/// very high 20 and more. Each default sits at the top of its range, so that it widens the band rather
/// than narrows it.
const SIGMA_LOW_BPS: i64 = 50_000;
const SIGMA_MEDIUM_BPS: i64 = 100_000;
const SIGMA_HIGH_BPS: i64 = 200_000;
const SIGMA_VERY_HIGH_BPS: i64 = 400_000;

/// The cash-out target the crash σ is computed at (3.00x, in basis points): most cash-outs are between
/// 1.5x and 3x, and the longer shots some players take widen the spread.
const CRASH_REFERENCE_MULTIPLIER_BPS: i64 = 30_000;
/// Dice at a 50% chance (the usual bet) and Mines cashed out at about 2x are the same binary bet.
const EVEN_MONEY_MULTIPLIER_BPS: i64 = 20_000;

/// The σ of a game's rounds: its metadata's when given; computed from the rules for our crash rooms,
/// Dice, Mines and Plinko; else its volatility class's default.
pub fn sigma(game: &SigmaFacts<'_>) -> Sigma {
    if let Some(bps) = game.metadata_sigma_bps.filter(|bps| *bps > 0) {
        return Sigma {
            bps,
            source: SigmaSource::Metadata,
        };
    }
    if game.provider_id == crate::catalog::HOUSE_PROVIDER {
        let by_rules = match (game.category, game.code) {
            ("crash", _) => Some(binary_sigma_bps(game.rtp_bps, CRASH_REFERENCE_MULTIPLIER_BPS)),
            (_, "dice" | "mines") => Some(binary_sigma_bps(game.rtp_bps, EVEN_MONEY_MULTIPLIER_BPS)),
            (_, "plinko") => Some(plinko_sigma_bps()),
            _ => None,
        };
        if let Some(bps) = by_rules {
            return Sigma {
                bps,
                source: SigmaSource::Rules,
            };
        }
    }
    let (bps, source) = match game.volatility {
        Some("low") => (SIGMA_LOW_BPS, SigmaSource::Volatility),
        Some("medium") => (SIGMA_MEDIUM_BPS, SigmaSource::Volatility),
        Some("high") => (SIGMA_HIGH_BPS, SigmaSource::Volatility),
        Some("very_high") => (SIGMA_VERY_HIGH_BPS, SigmaSource::Volatility),
        _ => (SIGMA_MEDIUM_BPS, SigmaSource::Default),
    };
    Sigma { bps, source }
}

/// The σ of a bet that pays `m` times the stake with probability `r / m` and nothing otherwise, `r` being
/// the RTP. That is a crash bet with cash-out target `m`: the crash point is at least `m` with probability
/// `r / m` (the house edge scales the fair `1 / m`). It is a Dice bet too: a chance `p` pays `r / p`, so
/// `m = r / p`; and a Mines cash-out after `k` reveals, which survives with probability `p_k` and pays
/// `r / p_k`. Then `E[X] = m · r/m = r`, `E[X²] = m² · r/m = r·m`, so `σ² = r·m − r²`. In basis points
/// (`r` and `m` times 10000) the square root is rounded up.
pub fn binary_sigma_bps(rtp_bps: i32, multiplier_bps: i64) -> i64 {
    let rtp = i128::from(rtp_bps.max(0));
    let variance = (rtp * i128::from(multiplier_bps) - rtp * rtp).max(0) as u128;
    ceil_sqrt(variance) as i64
}

/// The σ of a Plinko drop over a player population spread evenly over its 27 tables (8 to 16 rows, three
/// risks): the root mean square of each table's σ (the tables' means all round to 99%, so their spread
/// adds nothing that matters). A table's variance is `Σ P(k)·m_k² − (Σ P(k)·m_k)²` with
/// `P(k) = C(rows, k) / 2^rows` (the ball lands in slot k after k rights out of `rows` fair bounces).
pub fn plinko_sigma_bps() -> i64 {
    let mut variance_sum = 0u128;
    let mut tables = 0u128;
    for rows in plinko::ROWS_MIN..=plinko::ROWS_MAX {
        for risk in [Risk::Low, Risk::Medium, Risk::High] {
            if let Some(table) = plinko::table(rows, risk) {
                variance_sum += table_variance_bps2(rows, &table);
                tables += 1;
            }
        }
    }
    ceil_sqrt(variance_sum.div_ceil(tables.max(1))) as i64
}

/// A Plinko table's variance in bps², rounded up: with multipliers in hundredths (100 bps each) and
/// `w_k = C(rows, k)`, it is `10000 · (2^rows · Σ w·m² − (Σ w·m)²) / 4^rows`.
fn table_variance_bps2(rows: u32, table: &[u32]) -> u128 {
    let weights = pascal_row(rows);
    let first: u128 = weights.iter().zip(table).map(|(w, m)| w * u128::from(*m)).sum();
    let second: u128 = weights
        .iter()
        .zip(table)
        .map(|(w, m)| w * u128::from(*m) * u128::from(*m))
        .sum();
    let spread = (second << rows) - first * first;
    (10_000 * spread).div_ceil(1u128 << (2 * rows))
}

/// `C(n, 0), ..., C(n, n)`, built row by row.
fn pascal_row(n: u32) -> Vec<u128> {
    let mut row = vec![1u128];
    for _ in 0..n {
        let mut next = vec![1u128; row.len() + 1];
        for k in 1..row.len() {
            next[k] = row[k - 1] + row[k];
        }
        row = next;
    }
    row
}

fn ceil_sqrt(value: u128) -> u128 {
    let root = value.isqrt();
    if root * root < value {
        root + 1
    } else {
        root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE_SIGMA: Thresholds = Thresholds {
        band_sigma_hundredths: 300,
        flag_rounds_min: 1_000,
    };

    fn tally(staked_micros: i64, won_micros: i64, rounds: i64) -> Tally {
        Tally {
            staked_micros,
            won_micros,
            rounds,
        }
    }

    #[test]
    fn the_measured_rtp_rounds_down_and_needs_a_stake() {
        assert_eq!(measured_rtp_bps(tally(3_000_000, 2_970_000, 3)), Some(9_900));
        assert_eq!(measured_rtp_bps(tally(3, 2, 3)), Some(6_666));
        assert_eq!(measured_rtp_bps(tally(0, 5, 0)), None);
        assert_eq!(measured_rtp_bps(tally(-10, 5, 1)), None, "more rolled back than staked");
        assert_eq!(measured_rtp_bps(tally(1, i64::MAX, 1)), Some(i64::MAX), "saturates");
        assert_eq!(
            measured_rtp_bps(tally(i64::MAX, i64::MAX, 1)),
            Some(10_000),
            "no overflow"
        );
    }

    #[test]
    fn the_band_narrows_with_the_square_root_of_the_rounds() {
        // σ = 1.0 (10000 bps), 3σ: 10000 rounds give 3 · 10000 / 100 = 300 bps each side.
        assert_eq!(
            band(9_900, 10_000, 10_000, 300),
            Some(Band {
                low_bps: 9_600,
                high_bps: 10_200
            })
        );
        // Four times the rounds, half the width.
        assert_eq!(
            band(9_900, 10_000, 40_000, 300),
            Some(Band {
                low_bps: 9_750,
                high_bps: 10_050
            })
        );
        assert_eq!(band(9_900, 10_000, 0, 300), None);
        assert_eq!(band(9_900, 10_000, -3, 300), None);
    }

    #[test]
    fn rounding_only_widens_the_band_and_it_never_goes_below_zero() {
        // 3 rounds: exact half width 3 · 10000 / √3 = 17320.5; √30000 rounds down to 173, the quotient up.
        let wide = band(9_900, 10_000, 3, 300).unwrap();
        assert_eq!(wide.low_bps, 0);
        assert_eq!(wide.high_bps, 9_900 + 3_000_000u64.div_ceil(173) as i64);
        assert!(wide.high_bps - 9_900 >= 17_321);
        // 7 rounds of σ = 7 bps at 1σ: exact 7 / √7 = 2.65 → 3.
        let narrow = band(5_000, 7, 7, 100).unwrap();
        assert_eq!((narrow.low_bps, narrow.high_bps), (4_997, 5_003));
    }

    #[test]
    fn a_game_is_flagged_only_outside_its_band_and_with_enough_rounds() {
        let declared = 9_600;
        let sigma = 10_000;
        // 10000 rounds: band 9300..=9900.
        let inside = judge(
            tally(10_000_000_000, 9_900_000_000, 10_000),
            declared,
            sigma,
            THREE_SIGMA,
        );
        assert_eq!(inside.measured_rtp_bps, Some(9_900));
        assert!(!inside.flagged, "on the edge is inside: {inside:?}");
        let above = judge(
            tally(10_000_000_000, 9_901_000_000, 10_000),
            declared,
            sigma,
            THREE_SIGMA,
        );
        assert!(above.flagged, "{above:?}");
        let below = judge(
            tally(10_000_000_000, 9_299_000_000, 10_000),
            declared,
            sigma,
            THREE_SIGMA,
        );
        assert!(below.flagged, "{below:?}");
        // Far outside, but 999 rounds say nothing.
        let few = judge(tally(999_000_000, 5_000_000_000, 999), declared, sigma, THREE_SIGMA);
        assert!(!few.flagged, "{few:?}");
        let enough = judge(tally(1_000_000_000, 5_000_000_000, 1_000), declared, sigma, THREE_SIGMA);
        assert!(enough.flagged, "{enough:?}");
        // Nothing staked: nothing measured, nothing flagged.
        let empty = judge(Tally::default(), declared, sigma, THREE_SIGMA);
        assert_eq!((empty.measured_rtp_bps, empty.band, empty.flagged), (None, None, false));
    }

    #[test]
    fn a_binary_bet_spreads_as_its_rules_say() {
        // 99% at even money: σ² = 0.99 · 2 − 0.99² = 0.9999, σ = 0.99995 → 9999.5 bps, up to 10000.
        assert_eq!(binary_sigma_bps(9_900, 20_000), 10_000);
        // A fair coin paying 2x: σ = 1 exactly.
        assert_eq!(binary_sigma_bps(10_000, 20_000), 10_000);
        // Crash at 3x with 1% edge: σ² = 2.97 − 0.9801 = 1.9899, σ ≈ 1.41064.
        assert_eq!(binary_sigma_bps(9_900, 30_000), 14_107);
        // A payout that can only return the stake does not spread at all.
        assert_eq!(binary_sigma_bps(10_000, 10_000), 0);
    }

    #[test]
    fn plinko_tables_have_the_variance_of_their_binomial_slots() {
        // 8 rows, low risk: slots 5.6 2.1 1.1 1.0 0.5 1.0 1.1 2.1 5.6 with weights C(8, k) out of 256.
        let table = plinko::table(8, Risk::Low).unwrap();
        let (masses, multipliers) = ([2.0, 16.0, 56.0, 112.0, 70.0], [5.6f64, 2.1, 1.1, 1.0, 0.5]);
        let moment = |power: i32| -> f64 {
            masses
                .iter()
                .zip(multipliers)
                .map(|(mass, m)| mass * m.powi(power))
                .sum::<f64>()
                / 256.0
        };
        let expected_bps2 = (moment(2) - moment(1).powi(2)) * 1e8;
        let computed = table_variance_bps2(8, &table) as f64;
        assert!((computed - expected_bps2).abs() <= 2.0, "{computed} vs {expected_bps2}");
        // The mix of every table lies between the calmest (0.32) and the wildest (6.57) table.
        let sigma = plinko_sigma_bps();
        assert!((20_000..50_000).contains(&sigma), "{sigma}");
    }

    #[test]
    fn sigma_comes_from_metadata_then_rules_then_volatility() {
        let facts = |provider_id, code, category, volatility, metadata_sigma_bps| SigmaFacts {
            provider_id,
            code,
            category,
            rtp_bps: 9_900,
            volatility,
            metadata_sigma_bps,
        };
        let published = sigma(&facts("studio", "x", "slots", Some("low"), Some(123_456)));
        assert_eq!((published.bps, published.source), (123_456, SigmaSource::Metadata));
        let crash = sigma(&facts("house", "aviator", "crash", None, None));
        assert_eq!((crash.bps, crash.source), (14_107, SigmaSource::Rules));
        let dice = sigma(&facts("house", "dice", "originals", None, None));
        assert_eq!((dice.bps, dice.source), (10_000, SigmaSource::Rules));
        let plinko = sigma(&facts("house", "plinko", "originals", None, None));
        assert_eq!(plinko.bps, plinko_sigma_bps());
        let slot = sigma(&facts("house", "gem-cascade", "slots", Some("high"), None));
        assert_eq!((slot.bps, slot.source), (SIGMA_HIGH_BPS, SigmaSource::Volatility));
        // An outside game named like ours gets no house rules.
        let outside_dice = sigma(&facts("studio", "dice", "originals", None, Some(0)));
        assert_eq!(
            (outside_dice.bps, outside_dice.source),
            (SIGMA_MEDIUM_BPS, SigmaSource::Default)
        );
    }
}
