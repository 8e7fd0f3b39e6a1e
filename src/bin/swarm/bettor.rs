//! A bettor's play: on `round_start` it bets (with `--bet-probability`, or in the burst round only),
//! half of the bettors with an auto-cashout and half cashing out by hand when a tick passes their target;
//! it matches every answer to its request by `request_id` and tallies the latency.

use crate::player::Swarm;
use crate::tally;
use rand::Rng;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Cashout targets (auto and by hand) are drawn from 1.10x to 3.00x, in hundredths.
const TARGET_HUNDREDTHS: std::ops::RangeInclusive<u32> = 110..=300;

/// A request of ours waiting for its answer.
#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u32,
    sent: Instant,
    /// Sent during the measured window: its answer is tallied.
    measured: bool,
    burst: bool,
}

/// A bet acknowledged and waiting to be cashed out by hand.
struct OpenBet {
    bet_id: String,
    target_hundredths: u32,
}

pub struct Bettor {
    auto: bool,
    next_request: u32,
    bet: Option<Pending>,
    cashout: Option<Pending>,
    open: Option<OpenBet>,
    burst_done: bool,
    betting_ends: Option<Instant>,
    /// A burst bet waiting for its moment (`--burst-spread-ms`), sent by the socket's loop.
    deferred: Option<(Instant, String)>,
}

/// Counts a bet as sent, and the burst's first send.
fn record_sent(pending: Pending) {
    tally::record(|tally| {
        tally.bets.sent += u64::from(pending.measured);
        if pending.burst {
            tally.burst.requests.sent += 1;
            let first = tally
                .burst
                .first_sent
                .map_or(pending.sent, |first| first.min(pending.sent));
            tally.burst.first_sent = Some(first);
        }
    });
}

/// Takes the request in `slot` when `request_id` (`{prefix}{id}`) names it.
fn take_answered(slot: &mut Option<Pending>, prefix: char, request_id: Option<&str>) -> Option<Pending> {
    let id: u32 = request_id?.strip_prefix(prefix)?.parse().ok()?;
    if slot.as_ref()?.id == id {
        slot.take()
    } else {
        None
    }
}

impl Bettor {
    pub fn new(auto: bool) -> Bettor {
        Bettor {
            auto,
            next_request: 0,
            bet: None,
            cashout: None,
            open: None,
            burst_done: false,
            betting_ends: None,
            deferred: None,
        }
    }

    /// A bet's round is over: nothing left to cash out.
    pub fn round_over(&mut self) {
        self.open = None;
    }

    fn pending(&mut self, swarm: &Swarm, burst: bool) -> Pending {
        self.next_request += 1;
        Pending {
            id: self.next_request,
            sent: Instant::now(),
            measured: swarm.measuring.load(Ordering::Relaxed),
            burst,
        }
    }

    pub fn on_round_start(&mut self, swarm: &Swarm, index: u32, message: &Value, received: Instant) -> Option<String> {
        let round_id = message["round_id"].as_i64()?;
        swarm.rounds.round_seen(round_id, true);
        self.open = None;
        self.betting_ends = Some(received + Duration::from_millis(message["betting_ms"].as_u64().unwrap_or(0)));
        let burst = if swarm.burst {
            if self.burst_done || !swarm.rounds.is_burst_round(round_id) {
                return None;
            }
            self.burst_done = true;
            true
        } else {
            if !rand::thread_rng().gen_bool(swarm.bet_probability) {
                return None;
            }
            false
        };
        let pending = self.pending(swarm, burst);
        let mut bet = json!({
            "type": "place_bet",
            "room": swarm.room,
            "amount": swarm.bet_amount_micros,
            "client_bet_id": format!("swarm-{index}-{round_id}"),
            "request_id": format!("b{}", pending.id),
        });
        if self.auto {
            let target = rand::thread_rng().gen_range(TARGET_HUNDREDTHS);
            bet["auto_cashout"] = json!(f64::from(target) / 100.0);
        }
        // An earlier bet still unanswered stays counted as sent and never answered.
        self.bet = Some(pending);
        if burst && !swarm.burst_spread.is_zero() {
            let delay = rand::thread_rng().gen_range(Duration::ZERO..swarm.burst_spread);
            self.deferred = Some((received + delay, bet.to_string()));
            return None;
        }
        record_sent(pending);
        Some(bet.to_string())
    }

    /// When the deferred burst bet is due.
    pub fn deferred_at(&self) -> Option<Instant> {
        self.deferred.as_ref().map(|(at, _)| *at)
    }

    /// The deferred burst bet, now sent: its latency counts from now.
    pub fn take_deferred(&mut self) -> Option<String> {
        let (_, bet) = self.deferred.take()?;
        let pending = self.bet.as_mut()?;
        pending.sent = Instant::now();
        record_sent(*pending);
        Some(bet)
    }

    pub fn on_tick(&mut self, swarm: &Swarm, text: &str) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct TickMultiplier {
            multiplier: f64,
        }
        let target = self.open.as_ref()?.target_hundredths;
        let tick: TickMultiplier = serde_json::from_str(text).ok()?;
        if (tick.multiplier * 100.0).round() < f64::from(target) {
            return None;
        }
        let open = self.open.take()?;
        let pending = self.pending(swarm, false);
        self.cashout = Some(pending);
        tally::record(|tally| tally.cashouts.sent += u64::from(pending.measured));
        let cashout = json!({"type": "cashout", "bet_id": open.bet_id, "request_id": format!("c{}", pending.id)});
        Some(cashout.to_string())
    }

    pub fn on_bet_placed(&mut self, message: &Value, received: Instant) {
        let Some(pending) = take_answered(&mut self.bet, 'b', message["request_id"].as_str()) else {
            return;
        };
        self.record_bet_answer(&pending, received, None);
        if !self.auto {
            if let Some(bet_id) = message["bet"]["bet_id"].as_str() {
                self.open = Some(OpenBet {
                    bet_id: bet_id.to_owned(),
                    target_hundredths: rand::thread_rng().gen_range(TARGET_HUNDREDTHS),
                });
            }
        }
    }

    pub fn on_cashed_out(&mut self, message: &Value, received: Instant) {
        if let Some(pending) = take_answered(&mut self.cashout, 'c', message["request_id"].as_str()) {
            if pending.measured {
                tally::record(|tally| tally.cashouts.answered(received - pending.sent, None));
            }
        }
    }

    /// Tallies an `error` answering one of our requests; false when it answers none.
    pub fn on_error(&mut self, message: &Value, received: Instant) -> bool {
        let request_id = message["request_id"].as_str();
        let code = message["code"].as_str().unwrap_or("unknown");
        if let Some(pending) = take_answered(&mut self.bet, 'b', request_id) {
            self.record_bet_answer(&pending, received, Some(code));
            return true;
        }
        if let Some(pending) = take_answered(&mut self.cashout, 'c', request_id) {
            if pending.measured {
                tally::record(|tally| tally.cashouts.answered(received - pending.sent, Some(code)));
            }
            return true;
        }
        false
    }

    fn record_bet_answer(&self, pending: &Pending, received: Instant, error_code: Option<&str>) {
        let latency = received - pending.sent;
        let within_window = self.betting_ends.is_some_and(|ends| received <= ends);
        tally::record(|tally| {
            if pending.measured {
                tally.bets.answered(latency, error_code);
            }
            if pending.burst {
                tally.burst.requests.answered(latency, error_code);
                tally.burst.acked_within_window += u64::from(error_code.is_none() && within_window);
                tally.burst.last_answered = tally.burst.last_answered.max(Some(received));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_match_only_their_own_request() {
        let pending = Pending {
            id: 7,
            sent: Instant::now(),
            measured: true,
            burst: false,
        };
        let mut slot = Some(pending);
        assert!(take_answered(&mut slot, 'b', Some("c7")).is_none());
        assert!(take_answered(&mut slot, 'b', Some("b6")).is_none());
        assert!(take_answered(&mut slot, 'b', None).is_none());
        assert_eq!(take_answered(&mut slot, 'b', Some("b7")).map(|found| found.id), Some(7));
        assert!(slot.is_none());
    }
}
