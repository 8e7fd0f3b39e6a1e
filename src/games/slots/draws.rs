//! Where every random number of a slot round comes from, and how a 32-bit word becomes a draw.
//!
//! The rules are the public ones of `slots.md`: a uniform integer in `[0, n)` takes the next word `v`,
//! rejects it when `v >= 2^32 - (2^32 mod n)` and is otherwise `v mod n` (no modulo bias, no floats); a
//! weighted pick draws `u` uniformly below the total weight and takes the first index whose prefix sum
//! exceeds `u`. Production rounds draw their words from the provably fair stream ([`FairDraws`]);
//! simulations from a fast seeded generator ([`FastDraws`]) behind the same functions.

use crate::fair::seeds::{SeedInput, Stream};

/// A source of uniformly distributed 32-bit words, consumed in order and never reused.
pub trait Draws {
    fn next_u32(&mut self) -> u32;
}

impl<D: Draws + ?Sized> Draws for &mut D {
    fn next_u32(&mut self) -> u32 {
        (**self).next_u32()
    }
}

/// The largest range one 32-bit word can draw from: 2^32.
pub const RANGE_MAX: u64 = 1 << 32;

/// Each rejection has a probability below 1/2, so 128 in a row (below 2^-128) can only mean a broken
/// source of draws (a constant stub, say): a programmer error, not bad luck.
const REJECTIONS_MAX: u32 = 128;

/// A precomputed uniform range `[0, n)`, `1 <= n <= 2^32`: the reference rule with its rejection limit
/// computed once (reel strips and weighted tables keep one each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uniform {
    /// `n` as a u32, 0 standing for 2^32 (where `v mod n = v`).
    modulus: u32,
    /// Words at or above this limit are rejected: `2^32 - (2^32 mod n)`.
    limit: u64,
}

impl Uniform {
    /// `None` unless `1 <= n <= 2^32`.
    pub const fn new(n: u64) -> Option<Uniform> {
        if n == 0 || n > RANGE_MAX {
            return None;
        }
        Some(Uniform {
            modulus: n as u32, // 2^32 truncates to 0 on purpose.
            limit: RANGE_MAX - RANGE_MAX % n,
        })
    }

    /// The size of the range.
    pub fn n(&self) -> u64 {
        if self.modulus == 0 {
            RANGE_MAX
        } else {
            u64::from(self.modulus)
        }
    }

    /// One draw in `[0, n)`, consuming one word plus one per rejected word.
    #[inline]
    pub fn draw<D: Draws + ?Sized>(&self, draws: &mut D) -> u32 {
        for _ in 0..REJECTIONS_MAX {
            let word = draws.next_u32();
            if u64::from(word) < self.limit {
                return if self.modulus == 0 { word } else { word % self.modulus };
            }
        }
        panic!("{REJECTIONS_MAX} rejected words in a row: the source of draws is not random");
    }
}

/// A uniform integer in `[0, n)` by the reference rule; `None` unless `1 <= n <= 2^32`.
pub fn uniform<D: Draws + ?Sized>(draws: &mut D, n: u64) -> Option<u32> {
    Some(Uniform::new(n)?.draw(draws))
}

/// A weighted pick by the reference rule: the first index whose prefix sum of `weights` exceeds a uniform
/// draw below their total. `None` when the total is 0 or above 2^32 (nothing is drawn then).
pub fn weighted<D: Draws + ?Sized>(draws: &mut D, weights: &[u32]) -> Option<usize> {
    let total: u64 = weights.iter().map(|weight| u64::from(*weight)).sum();
    let u = u64::from(uniform(draws, total)?);
    let mut prefix = 0u64;
    weights.iter().position(|weight| {
        prefix += u64::from(*weight);
        prefix > u
    })
}

/// The provably fair stream of one paid round (`slots.md`): HMAC-SHA256 blocks of the player's seeds.
pub struct FairDraws<'a> {
    stream: Stream<'a>,
}

impl<'a> FairDraws<'a> {
    pub fn new(server_seed: &'a str, client_seed: &'a str, nonce: u64) -> FairDraws<'a> {
        FairDraws {
            stream: Stream::new(SeedInput {
                server_seed,
                client_seed,
                nonce,
            }),
        }
    }
}

impl Draws for FairDraws<'_> {
    fn next_u32(&mut self) -> u32 {
        self.stream.next_u32()
    }
}

/// xoshiro256++ (Blackman and Vigna), seeded by splitmix64: fast, 2^256 - 1 period, for simulations only.
/// Stream `k` of a seed is the seeded state advanced by `k` jumps of 2^128 steps, so streams never
/// overlap and a simulation is reproducible from its seed and stream numbers.
#[derive(Debug, Clone)]
pub struct FastDraws {
    state: [u64; 4],
}

/// The published jump polynomial of xoshiro256: one jump is 2^128 calls of `next_u64`.
const JUMP: [u64; 4] = [
    0x180e_c6d3_3cfd_0aba,
    0xd5a6_1266_f0c9_392c,
    0xa958_2618_e03f_c9aa,
    0x39ab_dc45_29b1_661c,
];

impl FastDraws {
    /// Stream `stream` of `seed`. Costs `stream` jumps (256 steps each), so keep stream numbers small
    /// (one per thread or per chunk of rounds).
    pub fn new(seed: u64, stream: u32) -> FastDraws {
        let mut mix = seed;
        let mut state = [0u64; 4];
        for word in &mut state {
            *word = splitmix64(&mut mix);
        }
        let mut draws = FastDraws { state };
        for _ in 0..stream {
            draws.jump();
        }
        draws
    }

    /// The generator of simulation round `round_id` of `seed`: its state is outputs `4 * round_id` to
    /// `4 * round_id + 3` of the splitmix64 stream seeded with `seed` (splitmix64 is a counter, so this
    /// costs four steps whatever the id). Every round has its own state, so a simulation's rounds do not
    /// depend on how they are split among threads and any round replays from (seed, round id) alone.
    /// `for_round(seed, 0)` is `new(seed, 0)`.
    pub fn for_round(seed: u64, round_id: u64) -> FastDraws {
        // Wrapping on purpose: the counter is taken modulo 2^64, as splitmix64 itself does.
        let mut mix = seed.wrapping_add(round_id.wrapping_mul(4).wrapping_mul(SPLITMIX_GAMMA));
        let mut state = [0u64; 4];
        for word in &mut state {
            *word = splitmix64(&mut mix);
        }
        FastDraws { state }
    }

    /// The next 64-bit output.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Advances the state by 2^128 steps.
    pub fn jump(&mut self) {
        let mut jumped = [0u64; 4];
        for word in JUMP {
            for bit in 0..64 {
                if word & (1u64 << bit) != 0 {
                    for (into, from) in jumped.iter_mut().zip(self.state) {
                        *into ^= from;
                    }
                }
                self.next_u64();
            }
        }
        self.state = jumped;
    }
}

impl Draws for FastDraws {
    /// The upper half of the 64-bit output (the better half, per the authors).
    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

/// The increment of splitmix64's counter.
const SPLITMIX_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// splitmix64 (Steele, Lea and Flood), the seeding generator the xoshiro authors recommend.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(SPLITMIX_GAMMA);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fair::seeds::VECTOR_SEEDS;
    use crate::games::slots::testkit::chi_square;

    fn vector_draws(nonce: u64) -> FairDraws<'static> {
        let (server_seed, client_seed) = VECTOR_SEEDS;
        FairDraws::new(server_seed, client_seed, nonce)
    }

    /// Counts the words a source hands out, to see rejections.
    struct Counted<D> {
        inner: D,
        words: Vec<u32>,
    }

    impl<D: Draws> Draws for Counted<D> {
        fn next_u32(&mut self) -> u32 {
            let word = self.inner.next_u32();
            self.words.push(word);
            word
        }
    }

    #[test]
    fn reference_vector_nonce_1_uniform_draws() {
        // The first row of the reference table: five uniform draws of different sizes.
        let mut draws = vector_draws(1);
        let got: Vec<u32> = [219, 203, 25, 7, 100]
            .iter()
            .map(|n| uniform(&mut draws, *n).unwrap())
            .collect();
        assert_eq!(got, [131, 123, 23, 6, 5]);
    }

    #[test]
    fn reference_vector_nonce_2_skips_the_rejected_word() {
        // The second row: the ninth draw rejects 3,371,918,670 (above 2^32 - 2^32 mod 3e9) and takes the next.
        let mut draws = Counted {
            inner: vector_draws(2),
            words: Vec::new(),
        };
        let got: Vec<u32> = (0..10).map(|_| uniform(&mut draws, 3_000_000_000).unwrap()).collect();
        assert_eq!(
            got,
            [
                2313385032, 2665078720, 815203860, 356887879, 304352221, 1936726250, 641784669, 192634279, 624471678,
                1274905542
            ]
        );
        assert_eq!(draws.words.len(), 11, "one word was rejected");
        assert_eq!(draws.words[8], 3_371_918_670);
    }

    #[test]
    fn reference_vector_nonce_3_weighted_picks() {
        // The third row: six weighted picks over the reference weights.
        let mut draws = vector_draws(3);
        let weights = [60, 80, 50, 20, 15, 10, 5];
        let got: Vec<usize> = (0..6).map(|_| weighted(&mut draws, &weights).unwrap()).collect();
        assert_eq!(got, [5, 1, 0, 0, 1, 3]);
    }

    #[test]
    fn ranges_outside_one_to_two_pow_32_draw_nothing() {
        // Empty and oversized ranges are refused before a word is consumed.
        let mut draws = Counted {
            inner: FastDraws::new(1, 0),
            words: Vec::new(),
        };
        assert_eq!(uniform(&mut draws, 0), None);
        assert_eq!(uniform(&mut draws, RANGE_MAX + 1), None);
        assert_eq!(weighted(&mut draws, &[]), None);
        assert_eq!(weighted(&mut draws, &[0, 0]), None);
        assert_eq!(weighted(&mut draws, &[u32::MAX, 2]), None);
        assert!(draws.words.is_empty());
        let word = FastDraws::new(1, 0).next_u32();
        assert_eq!(
            uniform(&mut draws, RANGE_MAX),
            Some(word),
            "2^32 takes the word as it is"
        );
        assert_eq!(Uniform::new(RANGE_MAX).map(|range| range.n()), Some(RANGE_MAX));
    }

    #[test]
    fn xoshiro256_plus_plus_matches_the_published_reference_output() {
        // The reference C implementation's output for the state [1, 2, 3, 4].
        let mut draws = FastDraws { state: [1, 2, 3, 4] };
        let expected: [u64; 10] = [
            41943041,
            58720359,
            3588806011781223,
            3591011842654386,
            9228616714210784205,
            9973669472204895162,
            14011001112246962877,
            12406186145184390807,
            15849039046786891736,
            10450023813501588000,
        ];
        for value in expected {
            assert_eq!(draws.next_u64(), value);
        }
    }

    #[test]
    fn splitmix64_matches_its_published_output() {
        // The widely published sequence for seed 1234567.
        let mut state = 1_234_567u64;
        let got: Vec<u64> = (0..5).map(|_| splitmix64(&mut state)).collect();
        assert_eq!(
            got,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821
            ]
        );
    }

    #[test]
    fn fast_streams_are_reproducible_and_distinct() {
        // The same seed and stream repeat; another stream or seed does not.
        let take = |seed, stream| {
            let mut draws = FastDraws::new(seed, stream);
            (0..8).map(|_| draws.next_u32()).collect::<Vec<_>>()
        };
        assert_eq!(take(7, 0), take(7, 0));
        assert_eq!(take(7, 2), take(7, 2));
        assert_ne!(take(7, 0), take(7, 1));
        assert_ne!(take(7, 0), take(8, 0));
    }

    #[test]
    fn round_generators_are_independent_of_order_and_start_where_new_does() {
        // Round 0 is stream 0; a round's words do not depend on which rounds were made before it.
        let take = |mut draws: FastDraws| (0..8).map(|_| draws.next_u32()).collect::<Vec<_>>();
        assert_eq!(take(FastDraws::for_round(9, 0)), take(FastDraws::new(9, 0)));
        let late = take(FastDraws::for_round(9, 1_000_000));
        let _ = take(FastDraws::for_round(9, 3));
        assert_eq!(take(FastDraws::for_round(9, 1_000_000)), late);
        assert_ne!(take(FastDraws::for_round(9, 1)), take(FastDraws::for_round(9, 2)));
        assert_ne!(take(FastDraws::for_round(9, 1)), take(FastDraws::for_round(10, 1)));
    }

    #[test]
    fn uniform_draws_are_unbiased_for_both_sources() {
        // 120k draws over 37 values (36 degrees of freedom): the 0.1% critical value is 67.99, so a
        // biased mapping (for instance a plain modulo of a small range) would stand out.
        let n = 37u64;
        let fair: Box<dyn Draws> = Box::new(FairDraws::new("chi", "square", 9));
        for mut draws in [fair, Box::new(FastDraws::new(42, 3))] {
            let mut counts = vec![0u64; n as usize];
            for _ in 0..120_000 {
                counts[uniform(&mut *draws, n).unwrap() as usize] += 1;
            }
            let statistic = chi_square(&counts);
            assert!(statistic < 67.99, "chi-square {statistic} over {n} values");
        }
    }

    #[test]
    fn weighted_picks_follow_their_weights() {
        // 200k picks over [1, 2, 3, 4]: each count within 5 standard deviations of its expectation.
        let weights = [1u32, 2, 3, 4];
        let mut draws = FastDraws::new(5, 0);
        let mut counts = [0f64; 4];
        let picks = 200_000f64;
        for _ in 0..picks as u32 {
            counts[weighted(&mut draws, &weights).unwrap()] += 1.0;
        }
        for (count, weight) in counts.iter().zip(weights) {
            let p = f64::from(weight) / 10.0;
            let sd = (picks * p * (1.0 - p)).sqrt();
            assert!((count - picks * p).abs() < 5.0 * sd, "weight {weight}: {count}");
        }
    }
}
