//! The crash game's fairness (bustabit-style): a SHA-256 hash chain used backwards, the crash point of a
//! game from `HMAC_SHA256(salt, game_hash)`, and the multiplier curve `floor(100 * e^(0.00006 t)) / 100`.
//! Multipliers are integers in hundredths (`208` means 2.08x), so no float ever decides a payout.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A 32-byte game hash (one link of a chain).
pub type GameHash = [u8; 32];

/// The curve's growth rate per millisecond: 2x after about 11.55 s.
const GROWTH_PER_MS: f64 = 0.000_06;

/// The smallest multiplier, 1.00x, in hundredths.
pub const MULTIPLIER_MIN: u32 = 100;

/// The largest multiplier the curve is evaluated for (1,000,000x). Larger crash points are capped here:
/// the curve would need about 3.8 hours to reach it, far beyond any configured round.
pub const MULTIPLIER_MAX: u32 = 100_000_000;

/// `h[i+1] = SHA256(h[i])` over the binary bytes.
pub fn next_link(hash: &GameHash) -> GameHash {
    Sha256::digest(hash).into()
}

/// Generates a chain of `length` links from a fresh random seed: `chain[0]` is the secret seed and
/// `chain[length - 1]` the terminating hash that is published first.
pub fn generate_chain(length: usize) -> Vec<GameHash> {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    chain_from_seed(seed, length)
}

pub fn chain_from_seed(seed: GameHash, length: usize) -> Vec<GameHash> {
    let mut chain = Vec::with_capacity(length);
    let mut link = seed;
    for _ in 0..length {
        chain.push(link);
        link = next_link(&link);
    }
    chain
}

/// The crash point, in hundredths, of the game with hash `game_hash` under `salt` and a house edge in
/// basis points (100 = 1%). Integer arithmetic throughout: with `r` the top 52 bits of the HMAC,
/// `floor((100 - edge%) * 2^52 / (2^52 - r))`, at least 100.
pub fn crash_point(salt: &str, game_hash: &GameHash, house_edge_bps: u32) -> u32 {
    debug_assert!(house_edge_bps < 10_000, "the house edge is below 100%");
    let mut mac = Hmac::<Sha256>::new_from_slice(salt.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(game_hash);
    let digest = mac.finalize().into_bytes();
    let top_64 = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    let r = u128::from(top_64 >> 12);
    let two_52 = 1u128 << 52;
    // (100 - edge%) * 2^52 / (2^52 - r), with the edge in basis points: (10000 - bps) / 100.
    let numerator = u128::from(10_000 - house_edge_bps) * two_52;
    let denominator = 100 * (two_52 - r);
    let hundredths = (numerator / denominator).min(u128::from(MULTIPLIER_MAX));
    (hundredths as u32).max(MULTIPLIER_MIN)
}

/// The multiplier shown `elapsed_ms` after the round started, in hundredths.
pub fn multiplier_at(elapsed_ms: u64) -> u32 {
    let value = (100.0 * (GROWTH_PER_MS * elapsed_ms as f64).exp()).floor();
    if value >= f64::from(MULTIPLIER_MAX) {
        MULTIPLIER_MAX
    } else {
        value as u32
    }
}

/// The first millisecond at which the curve shows at least `multiplier` (hundredths): the moment an
/// auto-cashout at that target pays, and for the crash point, the moment of the crash. Exact: it
/// corrects the logarithm's rounding against `multiplier_at` itself.
pub fn elapsed_for(multiplier: u32) -> u64 {
    let multiplier = multiplier.clamp(MULTIPLIER_MIN, MULTIPLIER_MAX);
    let estimate = ((f64::from(multiplier) / 100.0).ln() / GROWTH_PER_MS).floor().max(0.0) as u64;
    let mut elapsed = estimate.saturating_sub(2);
    while multiplier_at(elapsed) < multiplier {
        elapsed += 1;
    }
    elapsed
}

/// A payout in micro-units: `stake * multiplier / 100`, rounded down (the house never pays a fraction).
pub fn payout(stake_micros: i64, multiplier: u32) -> i64 {
    let wide = i128::from(stake_micros) * i128::from(multiplier) / 100;
    i64::try_from(wide).unwrap_or(i64::MAX)
}

/// Formats hundredths as the decimal players see, for example `208` as `"2.08"`.
pub fn format_multiplier(multiplier: u32) -> String {
    format!("{}.{:02}", multiplier / 100, multiplier % 100)
}

/// Parses a decimal hex string of exactly 32 bytes.
pub fn parse_hash(text: &str) -> Option<GameHash> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    const SALT: &str = "0000000000000000000301e2801a9a9598bfb114e574a91a887f2132f33047e6";

    /// The published test vector from the reference: this hash under this salt crashes at 2.08x.
    #[test]
    fn reference_vector() {
        let hash = parse_hash("4f2db4ab02306aec0ed87dfffae25d5f4fcad1b9b425ba3d075f58d3dccec29a").unwrap();
        assert_eq!(crash_point(SALT, &hash, 100), 208);
    }

    #[test]
    fn chains_hash_the_binary_bytes_forward() {
        let chain = chain_from_seed([7u8; 32], 5);
        for pair in chain.windows(2) {
            assert_eq!(next_link(&pair[0]), pair[1]);
        }
        assert_eq!(chain[1].to_vec(), Sha256::digest([7u8; 32]).to_vec());
    }

    #[test]
    fn curve_reaches_two_at_about_eleven_and_a_half_seconds() {
        assert_eq!(multiplier_at(0), 100);
        assert_eq!(elapsed_for(100), 0);
        let two = elapsed_for(200);
        assert!((11_550..=11_553).contains(&two), "2x at {two} ms");
        assert_eq!(format_multiplier(208), "2.08");
        assert_eq!(format_multiplier(100), "1.00");
    }

    #[test]
    fn payouts_round_down() {
        assert_eq!(payout(1_000_000, 208), 2_080_000);
        assert_eq!(payout(333, 150), 499);
        assert_eq!(payout(1, 199), 1);
    }

    /// The crash distribution follows P(crash >= x) = 0.99 / x. With 200,000 seeded games the empirical
    /// frequency at each x must lie within 5 standard deviations of the binomial expectation
    /// (a false alarm has probability below 1e-6 per point).
    #[test]
    fn crash_distribution_matches_the_house_edge() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261121);
        let games = 200_000u32;
        let points: Vec<u32> = (0..games)
            .map(|_| {
                let hash: GameHash = rng.gen();
                crash_point(SALT, &hash, 100)
            })
            .collect();
        for x in [101u32, 110, 150, 200, 300, 500, 1_000, 2_000, 10_000] {
            let expected = 0.99 / (f64::from(x) / 100.0);
            // Flooring to hundredths makes P(result >= x) exactly 0.99 / x for x on the grid (x > 1).
            let observed = points.iter().filter(|point| **point >= x).count() as f64 / f64::from(games);
            let sigma = (expected * (1.0 - expected) / f64::from(games)).sqrt();
            assert!(
                (observed - expected).abs() <= 5.0 * sigma,
                "P(crash >= {x}) = {observed}, expected {expected} ± {}",
                5.0 * sigma
            );
        }
        // Everything below 1.01x shows as 1.00x: P = 1 - 0.99 / 1.01.
        let instant = points.iter().filter(|point| **point == 100).count() as f64 / f64::from(games);
        let expected = 1.0 - 0.99 / 1.01;
        let sigma = (expected * (1.0 - expected) / f64::from(games)).sqrt();
        assert!(
            (instant - expected).abs() <= 5.0 * sigma,
            "1.00x share {instant}, expected {expected}"
        );
    }

    /// Where the browser tests (tests/browser/curve.spec.js) read the server's curve from.
    const CURVE_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/crash_curve.json");

    /// The server's curve as the pages must reproduce it (static/curve.js): the multiplier every 37 ms up
    /// to 60 s, the first millisecond of every hundredth up to 60 s (together they pin down every
    /// millisecond of that range, the curve being monotonic), and a few points up to the cap.
    fn curve_fixture() -> String {
        let step_ms = 37;
        let elapsed_max_ms = 60_000u64;
        let sampled: Vec<u32> = (0..=elapsed_max_ms).step_by(step_ms).map(multiplier_at).collect();
        let first_ms: Vec<u64> = (MULTIPLIER_MIN + 1..=multiplier_at(elapsed_max_ms))
            .map(elapsed_for)
            .collect();
        let far: Vec<[u64; 2]> = [115_129u64, 230_258, 230_259, 300_000, 10_000_000]
            .iter()
            .map(|&elapsed| [elapsed, u64::from(multiplier_at(elapsed))])
            .collect();
        let fixture = serde_json::json!({
            "about": "src/fair/crash.rs multiplier_at, in hundredths; written by its test \
                      crash_curve_fixture_matches_the_server (UPDATE_FIXTURES=1 rewrites it)",
            "step_ms": step_ms,
            "multipliers": sampled,
            "first_ms_from_multiplier": MULTIPLIER_MIN + 1,
            "first_ms": first_ms,
            "far": far,
        });
        // One key per line, each array on one line: small enough to read, and stable.
        let lines: Vec<String> = fixture
            .as_object()
            .expect("an object")
            .iter()
            .map(|(key, value)| format!("{key:?}: {value}"))
            .collect();
        format!("{{\n{}\n}}\n", lines.join(",\n"))
    }

    #[test]
    fn crash_curve_fixture_matches_the_server() {
        let expected = curve_fixture();
        if std::env::var_os("UPDATE_FIXTURES").is_some() {
            std::fs::write(CURVE_FIXTURE, &expected).expect("write the curve fixture");
        }
        let stored = std::fs::read_to_string(CURVE_FIXTURE).unwrap_or_default();
        assert!(
            stored == expected,
            "{CURVE_FIXTURE} is not the server's curve: run this test with UPDATE_FIXTURES=1"
        );
    }

    proptest! {
        /// The inverse is exact to the millisecond: at `elapsed_for(x)` the curve shows at least x, one
        /// millisecond earlier it shows less.
        #[test]
        fn curve_and_inverse_agree(multiplier in 101u32..2_000_000) {
            let elapsed = elapsed_for(multiplier);
            prop_assert!(multiplier_at(elapsed) >= multiplier);
            prop_assert!(multiplier_at(elapsed - 1) < multiplier);
        }

        /// The curve never decreases.
        #[test]
        fn curve_is_monotonic(elapsed in 0u64..10_000_000) {
            prop_assert!(multiplier_at(elapsed + 1) >= multiplier_at(elapsed));
        }
    }
}
