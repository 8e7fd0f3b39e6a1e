//! Plinko: one float per row, `direction = floor(f * 2)` (1 = right); the landing slot is the number of
//! rights (0..=rows). Payout tables per row count and risk, from the published ones, in hundredths of the
//! stake; each table is written edge to centre and mirrored.

use super::seeds::{SeedInput, Stream};

pub const ROWS_MIN: u32 = 8;
pub const ROWS_MAX: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Medium,
    High,
}

/// Half tables (edge to centre) in hundredths, indexed by rows - 8, then low / medium / high.
const HALF_TABLES: [[&[u32]; 3]; 9] = [
    [
        &[560, 210, 110, 100, 50],
        &[1300, 300, 130, 70, 40],
        &[2900, 400, 150, 30, 20],
    ],
    [
        &[560, 200, 160, 100, 70],
        &[1800, 400, 170, 90, 50],
        &[4300, 700, 200, 60, 20],
    ],
    [
        &[890, 300, 140, 110, 100, 50],
        &[2200, 500, 200, 140, 60, 40],
        &[7600, 1000, 300, 90, 30, 20],
    ],
    [
        &[840, 300, 190, 130, 100, 70],
        &[2400, 600, 300, 180, 70, 50],
        &[12000, 1400, 520, 140, 40, 20],
    ],
    [
        &[1000, 300, 160, 140, 110, 100, 50],
        &[3300, 1100, 400, 200, 110, 60, 30],
        &[17000, 2400, 810, 200, 70, 20, 20],
    ],
    [
        &[810, 400, 300, 190, 120, 90, 70],
        &[4300, 1300, 600, 300, 130, 70, 40],
        &[26000, 3700, 1100, 400, 100, 20, 20],
    ],
    [
        &[710, 400, 190, 140, 130, 110, 100, 50],
        &[5800, 1500, 700, 400, 190, 100, 50, 20],
        &[42000, 5600, 1800, 500, 190, 30, 20, 20],
    ],
    [
        &[1500, 800, 300, 200, 150, 110, 100, 70],
        &[8800, 1800, 1100, 500, 300, 130, 50, 30],
        &[62000, 8300, 2700, 800, 300, 50, 20, 20],
    ],
    [
        &[1600, 900, 200, 140, 140, 120, 110, 100, 50],
        &[11000, 4100, 1000, 500, 300, 150, 100, 50, 30],
        &[100000, 13000, 2600, 900, 400, 200, 20, 20, 20],
    ],
];

/// The multiplier (in hundredths) of every slot, 0..=rows. `None` outside 8..=16 rows.
pub fn table(rows: u32, risk: Risk) -> Option<Vec<u32>> {
    if !(ROWS_MIN..=ROWS_MAX).contains(&rows) {
        return None;
    }
    let half = HALF_TABLES[(rows - ROWS_MIN) as usize][risk as usize];
    let slots = rows as usize + 1;
    Some((0..slots).map(|slot| half[slot.min(slots - 1 - slot)]).collect())
}

/// The path of one ball (true = right) and its slot.
pub fn drop_ball(input: SeedInput<'_>, rows: u32) -> (Vec<bool>, u32) {
    let mut stream = Stream::new(input);
    let path: Vec<bool> = (0..rows).map(|_| stream.next_below(2) == 1).collect();
    let slot = path.iter().filter(|right| **right).count() as u32;
    (path, slot)
}

/// The exact expected return of a table, in parts per million: sum of C(rows, k) / 2^rows * multiplier.
pub fn expected_return_ppm(rows: u32, risk: Risk) -> Option<u64> {
    let table = table(rows, risk)?;
    let weighted: u128 = table
        .iter()
        .enumerate()
        .map(|(slot, multiplier)| binomial(rows, slot as u32) * u128::from(*multiplier))
        .sum();
    // multiplier is in hundredths: ppm = weighted / 2^rows / 100 * 1_000_000.
    Some(((weighted * 10_000) >> rows) as u64)
}

fn binomial(n: u32, k: u32) -> u128 {
    (0..k).fold(1u128, |acc, i| acc * u128::from(n - i) / u128::from(i + 1))
}

#[cfg(test)]
mod tests {
    use super::super::seeds::VECTOR_SEEDS;
    use super::*;

    const RISKS: [Risk; 3] = [Risk::Low, Risk::Medium, Risk::High];

    #[test]
    fn the_reference_vector() {
        let (server_seed, client_seed) = VECTOR_SEEDS;
        let (path, slot) = drop_ball(
            SeedInput {
                server_seed,
                client_seed,
                nonce: 2,
            },
            8,
        );
        assert_eq!(path, [true, true, false, false, false, false, false, false]);
        assert_eq!(slot, 2);
    }

    /// Every published table returns between 98.9% and 99.2% (run with --nocapture for the list).
    #[test]
    fn every_table_returns_just_under_99_percent() {
        for rows in ROWS_MIN..=ROWS_MAX {
            for risk in RISKS {
                let ppm = expected_return_ppm(rows, risk).unwrap();
                println!("plinko rows {rows:2} {risk:?}: {:.4}%", ppm as f64 / 10_000.0);
                assert!((989_000..=992_000).contains(&ppm), "rows {rows} {risk:?}: {ppm} ppm");
                assert_eq!(table(rows, risk).unwrap().len(), rows as usize + 1);
            }
        }
        assert!(table(7, Risk::Low).is_none() && table(17, Risk::High).is_none());
    }

    #[test]
    fn a_simulation_returns_what_the_binomial_weights_say() {
        let (server_seed, client_seed) = VECTOR_SEEDS;
        let (rows, risk, bets) = (12, Risk::High, 200_000u64);
        let table = table(rows, risk).unwrap();
        let mut paid = 0u64;
        for nonce in 0..bets {
            let (_, slot) = drop_ball(
                SeedInput {
                    server_seed,
                    client_seed,
                    nonce,
                },
                rows,
            );
            paid += u64::from(table[slot as usize]);
        }
        let mean = expected_return_ppm(rows, risk).unwrap() as f64 / 10_000.0; // in hundredths
        let variance: f64 = table
            .iter()
            .enumerate()
            .map(|(slot, m)| {
                binomial(rows, slot as u32) as f64 / f64::from(1u32 << rows) * (f64::from(*m) - mean).powi(2)
            })
            .sum();
        let tolerance = 5.0 * variance.sqrt() * (bets as f64).sqrt();
        let expected = mean * bets as f64;
        assert!(
            ((paid as f64) - expected).abs() < tolerance,
            "paid {paid}, expected {expected} ± {tolerance}"
        );
    }
}
