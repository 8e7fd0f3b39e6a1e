//! The integer accumulators of a simulation and the figures of a PAR sheet derived from them. Everything
//! counted is exact (u64 counts, u128 sums of centi-bet and their squares); floats appear only when a
//! figure is derived, at the end.

use crate::games::slots::definition::CELLS_MAX;
use crate::games::slots::RoundSummary;
use std::collections::BTreeMap;

/// z of a two-sided 95% normal interval.
pub const Z_95: f64 = 1.960;
/// z of a two-sided 99% normal interval (`slots.md`).
pub const Z_99: f64 = 2.576;

/// Wins below this (1,000x) are counted in a dense array, one slot per centi-bet value (800 KB a thread).
pub const DENSE_CENTIBET_MAX: u64 = 100_000;
/// Distinct win values above the dense range kept exactly; past it, new values are rounded down (below).
pub const SPARSE_VALUES_MAX: usize = 100_000;
/// Significant bits a win keeps once the sparse map is full (relative error below 2^-10).
const COARSE_BITS: u32 = 10;

/// The lower edges of the win buckets in centi-bet after the zero bucket: (0,1), [1,2), [2,5), [5,10),
/// [10,20), [20,50), [50,100), [100,500), [500,1000), [1000,cap); a capped win has its own bucket.
pub const BUCKET_EDGES_CENTIBET: [u64; 10] = [1, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 50_000, 100_000];
/// The zero bucket, the ten above and the cap.
pub const BUCKETS: usize = BUCKET_EDGES_CENTIBET.len() + 2;
/// Bucket labels, in bet multiples.
pub const BUCKET_LABELS: [&str; BUCKETS] = [
    "0",
    "(0,1)",
    "[1,2)",
    "[2,5)",
    "[5,10)",
    "[10,20)",
    "[20,50)",
    "[50,100)",
    "[100,500)",
    "[500,1000)",
    "[1000,cap)",
    "cap",
];

/// An exact histogram of round wins in centi-bet with bounded memory: dense below
/// [`DENSE_CENTIBET_MAX`], a sorted map above holding at most [`SPARSE_VALUES_MAX`] values exactly and,
/// once full, further new values rounded down to [`COARSE_BITS`] significant bits.
#[derive(Debug, Clone)]
pub struct Histogram {
    dense: Vec<u64>,
    sparse: BTreeMap<u64, u64>,
    /// The smallest value that was rounded down, if any: percentiles at or above it are approximate.
    pub coarse_from_centibet: Option<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            dense: vec![0; DENSE_CENTIBET_MAX as usize],
            sparse: BTreeMap::new(),
            coarse_from_centibet: None,
        }
    }
}

impl Histogram {
    #[inline]
    pub fn add(&mut self, win_centibet: u64, count: u64) {
        if win_centibet < DENSE_CENTIBET_MAX {
            self.dense[win_centibet as usize] += count;
            return;
        }
        let key = if self.sparse.len() < SPARSE_VALUES_MAX || self.sparse.contains_key(&win_centibet) {
            win_centibet
        } else {
            let coarse = coarsen(win_centibet);
            self.coarse_from_centibet = Some(self.coarse_from_centibet.map_or(coarse, |from| from.min(coarse)));
            coarse
        };
        *self.sparse.entry(key).or_insert(0) += count;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (into, from) in self.dense.iter_mut().zip(&other.dense) {
            *into += from;
        }
        for (value, count) in &other.sparse {
            self.add(*value, *count);
        }
        if let Some(from) = other.coarse_from_centibet {
            self.coarse_from_centibet = Some(self.coarse_from_centibet.map_or(from, |mine| mine.min(from)));
        }
    }

    /// (value, count) in increasing value, zero counts left out.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let dense = self
            .dense
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(value, count)| (value as u64, *count));
        dense.chain(self.sparse.iter().map(|(value, count)| (*value, *count)))
    }

    /// The `q`-quantile (0 < q <= 1): the smallest value with at least `ceil(q * total)` rounds at or
    /// below it (the rank rounds up, so the median of two values is the lower one). `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let total: u64 = self.iter().map(|(_, count)| count).sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        self.iter().find_map(|(value, count)| {
            seen += count;
            (seen >= rank).then_some(value)
        })
    }
}

/// `value` with all but its top [`COARSE_BITS`] significant bits cleared (rounds down).
fn coarsen(value: u64) -> u64 {
    let bits = 64 - value.leading_zeros();
    if bits <= COARSE_BITS {
        return value;
    }
    let drop = bits - COARSE_BITS;
    (value >> drop) << drop
}

/// The bucket of a round's win (see [`BUCKET_LABELS`]).
pub fn bucket(win_centibet: u64, cap_hit: bool) -> usize {
    if cap_hit {
        return BUCKETS - 1;
    }
    BUCKET_EDGES_CENTIBET.partition_point(|edge| *edge <= win_centibet)
}

/// Everything counted over a simulation's rounds; one per thread, merged at the end.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub rounds: u64,
    pub win_centibet: u128,
    pub win_squares: u128,
    /// Sum of the fourth powers of the win in bet multiples (f64: only the volatility's tolerance uses it).
    pub win_fourth_bets: f64,
    pub base_win_centibet: u128,
    pub free_spins_win_centibet: u128,
    pub first_board_win_centibet: u128,
    pub first_board_squares: u128,
    pub hits: u64,
    /// Base-game triggers by the number of scatters.
    pub triggers_by_scatters: BTreeMap<u32, u64>,
    /// Rounds that played free spins (triggered or bought).
    pub free_spins_rounds: u64,
    pub free_spins_played: u64,
    pub rounds_with_retrigger: u64,
    pub retriggers: u64,
    pub cascades: u64,
    pub cap_hits: u64,
    pub buckets: [u64; BUCKETS],
    /// The win of each bucket, for its share of the return.
    pub bucket_wins_centibet: [u128; BUCKETS],
    pub max_win_centibet: u64,
    pub max_win_count: u64,
    pub histogram: Histogram,
}

impl Stats {
    #[inline]
    pub fn record(&mut self, summary: &RoundSummary) {
        let win = summary.win_centibet;
        self.rounds += 1;
        self.win_centibet += u128::from(win);
        self.win_squares += u128::from(win) * u128::from(win);
        if win > 0 {
            self.hits += 1;
            let bets = win as f64 / 100.0;
            self.win_fourth_bets += (bets * bets) * (bets * bets);
        }
        self.base_win_centibet += u128::from(summary.base_win_centibet);
        self.free_spins_win_centibet += u128::from(summary.free_spins_win_centibet);
        let first = u128::from(summary.first_board_win_centibet);
        self.first_board_win_centibet += first;
        self.first_board_squares += first * first;
        self.cascades += u64::from(summary.cascades);
        if summary.free_spins_played > 0 || summary.free_spins_awarded > 0 {
            self.free_spins_rounds += 1;
            self.free_spins_played += u64::from(summary.free_spins_played);
            self.record_free_spins(summary);
        }
        self.cap_hits += u64::from(summary.cap_hit);
        let bucket = bucket(win, summary.cap_hit);
        self.buckets[bucket] += 1;
        self.bucket_wins_centibet[bucket] += u128::from(win);
        if win > self.max_win_centibet {
            self.max_win_centibet = win;
            self.max_win_count = 0;
        }
        self.max_win_count += u64::from(win == self.max_win_centibet);
        self.histogram.add(win, 1);
    }

    /// Rare: only rounds with free spins come here.
    fn record_free_spins(&mut self, summary: &RoundSummary) {
        if let Some(scatters) = summary.trigger_scatters {
            *self.triggers_by_scatters.entry(scatters).or_insert(0) += 1;
        }
        if summary.retriggers > 0 {
            self.rounds_with_retrigger += 1;
            self.retriggers += u64::from(summary.retriggers);
        }
    }

    pub fn merge(&mut self, other: &Stats) {
        if other.max_win_centibet > self.max_win_centibet {
            self.max_win_centibet = other.max_win_centibet;
            self.max_win_count = other.max_win_count;
        } else if other.max_win_centibet == self.max_win_centibet {
            self.max_win_count += other.max_win_count;
        }
        self.rounds += other.rounds;
        self.win_centibet += other.win_centibet;
        self.win_squares += other.win_squares;
        self.win_fourth_bets += other.win_fourth_bets;
        self.base_win_centibet += other.base_win_centibet;
        self.free_spins_win_centibet += other.free_spins_win_centibet;
        self.first_board_win_centibet += other.first_board_win_centibet;
        self.first_board_squares += other.first_board_squares;
        self.hits += other.hits;
        for (scatters, count) in &other.triggers_by_scatters {
            *self.triggers_by_scatters.entry(*scatters).or_insert(0) += count;
        }
        self.free_spins_rounds += other.free_spins_rounds;
        self.free_spins_played += other.free_spins_played;
        self.rounds_with_retrigger += other.rounds_with_retrigger;
        self.retriggers += other.retriggers;
        self.cascades += other.cascades;
        self.cap_hits += other.cap_hits;
        for bucket in 0..BUCKETS {
            self.buckets[bucket] += other.buckets[bucket];
            self.bucket_wins_centibet[bucket] += other.bucket_wins_centibet[bucket];
        }
        self.histogram.merge(&other.histogram);
    }
}

/// Mean and population standard deviation of a quantity from its count, sum and sum of squares, in the
/// sums' unit. The variance's numerator `n * squares - sum^2` is exact in u128 while it fits (always, for
/// capped wins below 2^64 rounds), else computed in f64.
pub fn mean_sd(n: u64, sum: u128, squares: u128) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let n128 = u128::from(n);
    let numerator = n128
        .checked_mul(squares)
        .and_then(|product| product.checked_sub(sum.checked_mul(sum)?))
        .map_or_else(
            || n as f64 * squares as f64 - (sum as f64).powi(2),
            |exact| exact as f64,
        );
    let mean = sum as f64 / n as f64;
    (mean, (numerator.max(0.0)).sqrt() / n as f64)
}

/// The normal-approximation interval `mean ± z * sd / sqrt(n)` (`slots.md`).
pub fn interval(mean: f64, sd: f64, n: u64, z: f64) -> [f64; 2] {
    let half = half_width(sd, n, z);
    [mean - half, mean + half]
}

/// `z * sd / sqrt(n)`; infinite for no rounds.
pub fn half_width(sd: f64, n: u64, z: f64) -> f64 {
    if n == 0 {
        return f64::INFINITY;
    }
    z * sd / (n as f64).sqrt()
}

/// "1 in N" for `count` of `rounds`; `None` when it never happened.
pub fn one_in(rounds: u64, count: u64) -> Option<f64> {
    (count > 0).then(|| rounds as f64 / count as f64)
}

/// The triggers by scatter count as an array, for callers that index it.
pub fn triggers_array(stats: &Stats) -> [u64; CELLS_MAX + 1] {
    let mut array = [0; CELLS_MAX + 1];
    for (scatters, count) in &stats.triggers_by_scatters {
        if let Some(slot) = array.get_mut(*scatters as usize) {
            *slot = *count;
        }
    }
    array
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(win: u64) -> RoundSummary {
        RoundSummary {
            win_centibet: win,
            base_win_centibet: win,
            first_board_win_centibet: win,
            ..RoundSummary::default()
        }
    }

    #[test]
    fn mean_and_sd_of_a_known_distribution() {
        // Wins 0, 0, 100, 300 centi-bet: mean 100, population variance (0+0+100^2+300^2)/4 - 100^2 = 15,000.
        let mut stats = Stats::default();
        for win in [0, 0, 100, 300] {
            stats.record(&summary(win));
        }
        let (mean, sd) = mean_sd(stats.rounds, stats.win_centibet, stats.win_squares);
        assert_eq!(mean, 100.0);
        assert!((sd - 15_000f64.sqrt()).abs() < 1e-9);
        assert_eq!((stats.hits, stats.max_win_centibet, stats.max_win_count), (2, 300, 1));
        assert_eq!(mean_sd(0, 0, 0), (0.0, 0.0));
    }

    #[test]
    fn the_interval_is_z_sd_over_root_n() {
        // sd 2, n 400, z 2.576: half width 2.576 * 2 / 20 = 0.2576.
        let [low, high] = interval(1.0, 2.0, 400, Z_99);
        assert!((low - 0.7424).abs() < 1e-12 && (high - 1.2576).abs() < 1e-12);
        assert!(half_width(1.0, 0, Z_99).is_infinite());
    }

    #[test]
    fn buckets_follow_their_edges_and_the_cap_has_its_own() {
        // Each edge opens its bucket; a capped win goes to the last bucket whatever its size.
        let cases = [
            (0, 0),
            (1, 1),
            (99, 1),
            (100, 2),
            (199, 2),
            (200, 3),
            (999, 4),
            (1_000, 5),
            (5_000, 7),
            (9_999, 7),
            (10_000, 8),
            (99_999, 9),
            (100_000, 10),
            (u64::MAX, 10),
        ];
        for (win, expected) in cases {
            assert_eq!(bucket(win, false), expected, "{win}");
        }
        assert_eq!(bucket(500_000, true), BUCKETS - 1);
    }

    #[test]
    fn quantiles_come_from_the_exact_histogram() {
        // 90 zeros, 9 wins of 150 and one of 250,000 (sparse): the ranks decide each percentile.
        let mut histogram = Histogram::default();
        histogram.add(0, 90);
        histogram.add(150, 9);
        histogram.add(250_000, 1);
        assert_eq!(histogram.quantile(0.5), Some(0));
        assert_eq!(histogram.quantile(0.9), Some(0));
        assert_eq!(histogram.quantile(0.91), Some(150));
        assert_eq!(histogram.quantile(0.99), Some(150));
        assert_eq!(histogram.quantile(1.0), Some(250_000));
        assert_eq!(Histogram::default().quantile(0.5), None);
        assert_eq!(histogram.coarse_from_centibet, None);
    }

    #[test]
    fn the_sparse_histogram_is_bounded_and_rounds_down_once_full() {
        // SPARSE_VALUES_MAX distinct large values, then one more: it is rounded down, and flagged.
        let mut histogram = Histogram::default();
        for offset in 0..SPARSE_VALUES_MAX as u64 {
            histogram.add(DENSE_CENTIBET_MAX + offset, 1);
        }
        let late = 10_000_001;
        histogram.add(late, 1);
        assert!(histogram.sparse.len() <= SPARSE_VALUES_MAX + 1);
        let coarse = histogram.coarse_from_centibet.unwrap();
        assert!(coarse <= late && late - coarse < late >> COARSE_BITS);
        assert_eq!(coarsen(1_023), 1_023);
        assert_eq!(coarsen(0b111_1111_1111), 0b111_1111_1110);
    }

    #[test]
    fn merged_stats_equal_stats_of_all_rounds() {
        // Splitting rounds between two accumulators changes nothing once merged.
        let wins = [0, 50, 50, 700, 120_000, 120_000, 3];
        let mut whole = Stats::default();
        let (mut left, mut right) = (Stats::default(), Stats::default());
        for (index, win) in wins.iter().enumerate() {
            whole.record(&summary(*win));
            if index % 2 == 0 { &mut left } else { &mut right }.record(&summary(*win));
        }
        left.merge(&right);
        assert_eq!(left.win_squares, whole.win_squares);
        assert_eq!((left.max_win_centibet, left.max_win_count), (120_000, 2));
        assert_eq!(left.buckets, whole.buckets);
        assert_eq!(
            left.histogram.iter().collect::<Vec<_>>(),
            whole.histogram.iter().collect::<Vec<_>>()
        );
        assert_eq!(one_in(100, 4), Some(25.0));
        assert_eq!(one_in(100, 0), None);
    }
}
