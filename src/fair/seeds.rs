//! The byte stream of the instant games (Stake-style seeds): `HMAC_SHA256(key = server_seed, message =
//! "{client_seed}:{nonce}:{round}")` for round = 0, 1, 2, ... gives 32 bytes per round, taken in order, 4
//! bytes per float `f = b0/256 + b1/256^2 + b2/256^3 + b3/256^4` in [0, 1). A game that needs k floats
//! takes the first 4k bytes of the stream. The floats are exact (a u32 over 2^32), so games derive their
//! outcomes from the integer `u32` with integer arithmetic: `floor(f * n) = (u * n) >> 32`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The inputs of one bet's outcome.
#[derive(Debug, Clone, Copy)]
pub struct SeedInput<'a> {
    pub server_seed: &'a str,
    pub client_seed: &'a str,
    pub nonce: u64,
}

/// The bet's stream of 32-bit values (each is a float times 2^32).
pub struct Stream<'a> {
    input: SeedInput<'a>,
    round: u64,
    block: [u8; 32],
    position: usize,
}

impl<'a> Stream<'a> {
    pub fn new(input: SeedInput<'a>) -> Stream<'a> {
        let mut stream = Stream {
            input,
            round: 0,
            block: [0; 32],
            position: 0,
        };
        stream.fill();
        stream
    }

    fn fill(&mut self) {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.input.server_seed.as_bytes()).expect("HMAC takes any key");
        mac.update(format!("{}:{}:{}", self.input.client_seed, self.input.nonce, self.round).as_bytes());
        self.block.copy_from_slice(&mac.finalize().into_bytes());
        self.position = 0;
    }

    /// The next value: the float's 4 bytes read big-endian, so that `f = value / 2^32`.
    pub fn next_u32(&mut self) -> u32 {
        if self.position == self.block.len() {
            self.round += 1;
            self.fill();
        }
        let bytes: [u8; 4] = self.block[self.position..self.position + 4]
            .try_into()
            .expect("4 bytes");
        self.position += 4;
        u32::from_be_bytes(bytes)
    }

    /// `floor(f * n)` for the next float, exactly.
    pub fn next_below(&mut self, n: u32) -> u32 {
        ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32
    }
}

/// The reference file's vectors all use these seeds.
#[cfg(test)]
pub const VECTOR_SEEDS: (&str, &str) = ("server seed", "client seed");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_crosses_rounds_after_eight_floats() {
        let input = SeedInput {
            server_seed: "s",
            client_seed: "c",
            nonce: 1,
        };
        let mut stream = Stream::new(input);
        let first: Vec<u32> = (0..9).map(|_| stream.next_u32()).collect();
        let mut again = Stream::new(input);
        let second: Vec<u32> = (0..9).map(|_| again.next_u32()).collect();
        assert_eq!(first, second, "the stream is a pure function of its inputs");
        assert_ne!(first[8], first[0], "the ninth float comes from round 1");
    }
}
