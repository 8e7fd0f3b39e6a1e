//! A socket's rate limits: its own message limit (counted by the node that holds the socket) and, for
//! bets and cashouts, the player's cluster-wide limit shared with REST calls.

use super::protocol;
use crate::cluster::rate_limit::gcra::{self, Decision, Limit};
use crate::cluster::rate_limit::{Limited, RateLimiter};
use std::time::{Duration, Instant};

/// What one incoming message gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageVerdict {
    Admitted,
    /// Refused with an `error` `rate_limited`; a request after `retry_after` would pass.
    Refused {
        retry_after: Duration,
    },
    /// Refused once too often: the socket is closed (4029).
    Close,
}

/// The message limit of one socket.
#[derive(Debug)]
pub struct MessageLimit {
    limit: Limit,
    refused_max: u32,
    started: Instant,
    /// GCRA state, in ms since `started`.
    tat_ms: Option<u64>,
    refused: u32,
}

impl MessageLimit {
    pub fn new(limit: Limit, refused_max: u32) -> MessageLimit {
        MessageLimit {
            limit,
            refused_max,
            started: Instant::now(),
            tat_ms: None,
            refused: 0,
        }
    }

    pub fn admit(&mut self) -> MessageVerdict {
        self.admit_at(self.started.elapsed().as_millis() as u64)
    }

    fn admit_at(&mut self, now_ms: u64) -> MessageVerdict {
        match gcra::decide(self.limit, self.tat_ms, now_ms) {
            Decision::Allowed { tat_ms, .. } => {
                self.tat_ms = Some(tat_ms);
                MessageVerdict::Admitted
            }
            Decision::Limited { retry_after } => {
                self.refused += 1;
                metrics::counter!("rate_limited_total", "class" => "ws_message").increment(1);
                if self.refused > self.refused_max {
                    MessageVerdict::Close
                } else {
                    MessageVerdict::Refused { retry_after }
                }
            }
        }
    }

    /// The `error` a refused message gets.
    pub fn refusal(&self, retry_after: Duration) -> bytestring::ByteString {
        let message = format!(
            "at most {} messages a second; retry after {} ms",
            self.limit.count(),
            retry_after.as_millis()
        );
        protocol::error("rate_limited", &message, None)
    }
}

/// Counts a bet or cashout of `player` against the player's cluster-wide limit.
pub fn player_write(
    limiter: &RateLimiter,
    limit: Limit,
    player: uuid::Uuid,
) -> impl std::future::Future<Output = Result<(), Limited>> {
    let limiter = limiter.clone();
    // The check (a Redis round trip) is a large future that ends at once, and the bet or cashout after it
    // waits far longer in the same spawned future: boxed, it is freed when it ends instead of sizing the
    // whole request (11 KiB a waiting bet, a betting window's bets at once).
    async move { Box::pin(limiter.check("player", &player.to_string(), limit)).await }
}

/// The `error` a bet or cashout over the player's limit gets, with its `request_id`.
pub fn player_refusal(limited: Limited, request_id: Option<&str>) -> bytestring::ByteString {
    let seconds = gcra::retry_after_s(limited.retry_after);
    let message = format!("too many bets and cashouts by this player; retry after {seconds} s");
    protocol::error("rate_limited", &message, request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_refused_then_closed_and_a_patient_socket_goes_on() {
        let mut limit = MessageLimit::new(Limit::per_second(3).unwrap(), 2);
        for _ in 0..3 {
            assert_eq!(limit.admit_at(0), MessageVerdict::Admitted);
        }
        assert!(matches!(limit.admit_at(0), MessageVerdict::Refused { .. }));
        // One interval later one more passes; refusals are not forgiven.
        assert_eq!(limit.admit_at(334), MessageVerdict::Admitted);
        assert!(matches!(limit.admit_at(334), MessageVerdict::Refused { .. }));
        assert_eq!(limit.admit_at(334), MessageVerdict::Close);
    }
}
