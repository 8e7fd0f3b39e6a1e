//! One socket of the swarm: it connects from its source address with its token in the URL, then reads
//! until the end of the run. Spectators count ticks; bettors also bet on `round_start`, half of them with
//! an auto-cashout and half cashing out by hand when a tick passes their target.

use crate::bettor::Bettor;
use crate::net;
use crate::tally;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// The largest frame or message a socket accepts (an `initial_state` with a few bets is a few KB).
const MESSAGE_SIZE_MAX_BYTES: usize = 1 << 20;
/// How long a socket waits for the server to answer its close frame at the end.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// What every socket shares: the run's settings and the little state the coordinator watches.
pub struct Swarm {
    pub target: SocketAddr,
    pub sources: Vec<IpAddr>,
    /// `{url}?room={room}&token=`: a socket's URL is this followed by its token.
    pub url_prefix: String,
    pub room: String,
    pub tokens: Vec<String>,
    /// Players `0..bettors` bet, each with its own token; the rest are spectators.
    pub bettors: u32,
    pub bet_amount_micros: i64,
    pub bet_probability: f64,
    pub burst: bool,
    /// A burst bet goes out at a random moment within this long of its round's start.
    pub burst_spread: Duration,
    pub connect_timeout: Duration,
    /// Set during the measured window: histograms and request tallies record only then.
    pub measuring: AtomicBool,
    /// Connection attempts that succeeded or failed.
    pub attempts_resolved: AtomicU32,
    pub rounds: RoundWatch,
}

impl Swarm {
    /// Bettor `i` has token line `i`; spectators share the other lines round-robin.
    fn token_for(&self, index: u32) -> &str {
        let index = index as usize;
        let bettors = self.bettors as usize;
        if index < bettors {
            return &self.tokens[index];
        }
        let shared = self.tokens.len() - bettors;
        &self.tokens[bettors + (index - bettors) % shared]
    }
}

/// The room's rounds as bettors see them, and the burst round (`--burst`): the first round that starts
/// after the coordinator armed the burst, which it does once every player is connected and while no
/// betting window is open, so every bettor agrees on the round.
pub struct RoundWatch {
    latest: AtomicI64,
    betting: AtomicBool,
    burst_after: AtomicI64,
    burst_round: AtomicI64,
    burst_started: Mutex<Option<Instant>>,
}

impl RoundWatch {
    pub fn new() -> RoundWatch {
        RoundWatch {
            latest: AtomicI64::new(0),
            betting: AtomicBool::new(false),
            burst_after: AtomicI64::new(i64::MAX),
            burst_round: AtomicI64::new(0),
            burst_started: Mutex::new(None),
        }
    }

    pub fn round_seen(&self, round_id: i64, betting: bool) {
        self.latest.fetch_max(round_id, Ordering::SeqCst);
        self.betting.store(betting, Ordering::SeqCst);
    }

    pub fn round_running(&self) {
        self.betting.store(false, Ordering::SeqCst);
    }

    /// Whether the latest phase a bettor saw is a betting window.
    pub fn betting(&self) -> bool {
        self.betting.load(Ordering::SeqCst)
    }

    pub fn arm_burst(&self) {
        self.burst_after
            .store(self.latest.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Whether `round_id` is the burst round; the first bettor to see a round after arming names it.
    pub fn is_burst_round(&self, round_id: i64) -> bool {
        if round_id <= self.burst_after.load(Ordering::SeqCst) {
            return false;
        }
        match self
            .burst_round
            .compare_exchange(0, round_id, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {
                *self.burst_started.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                true
            }
            Err(current) => current == round_id,
        }
    }

    /// The burst round and when a bettor first saw it start.
    pub fn burst(&self) -> Option<(i64, Instant)> {
        let round = self.burst_round.load(Ordering::SeqCst);
        let started = *self.burst_started.lock().unwrap_or_else(PoisonError::into_inner);
        started.filter(|_| round != 0).map(|started| (round, started))
    }
}

/// Runs one socket until `stop` changes or the server closes it.
pub async fn run(swarm: Arc<Swarm>, index: u32, permit: OwnedSemaphorePermit, mut stop: watch::Receiver<bool>) {
    let connected = tokio::time::timeout(swarm.connect_timeout, connect(&swarm, index)).await;
    drop(permit);
    let socket = match connected {
        Ok(Ok(socket)) => {
            tally::record(|tally| tally.connected += 1);
            Some(socket)
        }
        Ok(Err(reason)) => failed(&reason),
        Err(_) => failed("timed out"),
    };
    swarm.attempts_resolved.fetch_add(1, Ordering::SeqCst);
    let Some(mut socket) = socket else { return };
    let mut player = Player::new(index, index < swarm.bettors);
    let closed_early = loop {
        let deferred_at = player.bettor.as_ref().and_then(Bettor::deferred_at);
        let frame = tokio::select! {
            biased;
            _ = stop.changed() => break None,
            () = sleep_until_some(deferred_at) => {
                let Some(bet) = player.bettor.as_mut().and_then(Bettor::take_deferred) else { continue };
                if let Err(error) = socket.send(Message::Text(bet)).await {
                    break Some(error_kind(&error));
                }
                continue;
            }
            frame = socket.next() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                break Some(close.map_or_else(|| "no_code".to_owned(), |close| u16::from(close.code).to_string()))
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => break Some(error_kind(&error)),
            None => break Some("eof".to_owned()),
        };
        if let Some(reply) = player.on_text(&swarm, &text, Instant::now()) {
            if let Err(error) = socket.send(Message::Text(reply)).await {
                break Some(error_kind(&error));
            }
        }
    };
    match closed_early {
        Some(how) => tally::record(|tally| tally.closed_early(how)),
        None => {
            let _ = tokio::time::timeout(CLOSE_WAIT, socket.close(None)).await;
        }
    }
}

/// Waits until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn failed<T>(reason: &str) -> Option<T> {
    tally::record(|tally| {
        tally.connect_failed += 1;
        tally.connect_error(reason, 1);
    });
    None
}

fn error_kind(error: &WsError) -> String {
    match error {
        WsError::Io(error) => format!("io_{:?}", error.kind()),
        WsError::Protocol(error) => format!("protocol: {error}"),
        other => format!("error: {other}"),
    }
}

async fn connect(swarm: &Swarm, index: u32) -> Result<WebSocketStream<TcpStream>, String> {
    let source = swarm.sources[index as usize % swarm.sources.len()];
    let stream = net::connect_from(source, swarm.target)
        .await
        .map_err(|error| format!("connect from {source}: {error}"))?;
    let url = format!("{}{}", swarm.url_prefix, swarm.token_for(index));
    // Frames go out at once (bets and cashouts are small and rare); incoming ones are bounded.
    let config = WebSocketConfig {
        write_buffer_size: 0,
        max_write_buffer_size: 64 * 1024,
        max_message_size: Some(MESSAGE_SIZE_MAX_BYTES),
        max_frame_size: Some(MESSAGE_SIZE_MAX_BYTES),
        ..WebSocketConfig::default()
    };
    let (socket, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(|error| format!("handshake: {error}"))?;
    Ok(socket)
}

/// The wall clock in microseconds since the Unix epoch (the ticks' `ts` is in server milliseconds).
fn wall_clock_us() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX)
}

/// The fields of a tick the hot path needs, found without parsing the JSON: ticks are by far the most
/// frequent frame, and their top-level `ts`, `epoch` and `seq` keys occur nowhere else in them (the
/// `cashouts` entries hold `username`, `multiplier` and `payout`).
#[derive(Debug, PartialEq, Eq)]
struct TickFields {
    ts_ms: u64,
    epoch: u64,
    seq: u64,
}

impl TickFields {
    fn extract(text: &str) -> Option<TickFields> {
        if !text.contains(r#""type":"tick""#) {
            return None;
        }
        Some(TickFields {
            ts_ms: number_after(text, r#""ts":"#)?,
            epoch: number_after(text, r#""epoch":"#)?,
            seq: number_after(text, r#""seq":"#)?,
        })
    }
}

fn number_after(text: &str, key: &str) -> Option<u64> {
    let start = text.find(key)? + key.len();
    let rest = &text[start..];
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The last (epoch, seq) a socket saw. A `seq` that skips ahead within an epoch is a gap; an older or
/// repeated position is ignored; a new epoch (a new leader) starts again.
#[derive(Debug, Default)]
struct Sequence {
    last: Option<(u64, u64)>,
}

impl Sequence {
    /// Returns how many events were skipped before this one.
    fn observe(&mut self, epoch: u64, seq: u64) -> u64 {
        let skipped = match self.last {
            Some((last_epoch, last_seq)) if last_epoch == epoch && seq > last_seq + 1 => seq - last_seq - 1,
            _ => 0,
        };
        if self.last.is_none_or(|last| (epoch, seq) > last) {
            self.last = Some((epoch, seq));
        }
        skipped
    }

    /// A snapshot (`initial_state`, `resync`) tells where the room is, without a gap before it. It may
    /// be older than events already received: a node streams events to a joining socket before its
    /// `initial_state` (which waits for the balance), so the position never moves back.
    fn snapshot(&mut self, epoch: u64, seq: u64) {
        if self.last.is_none_or(|last| (epoch, seq) > last) {
            self.last = Some((epoch, seq));
        }
    }
}

struct Player {
    index: u32,
    sequence: Sequence,
    bettor: Option<Bettor>,
}

impl Player {
    fn new(index: u32, bets: bool) -> Player {
        Player {
            index,
            sequence: Sequence::default(),
            bettor: bets.then(|| Bettor::new(index.is_multiple_of(2))),
        }
    }

    /// Counts a frame and returns what to send back, if anything.
    fn on_text(&mut self, swarm: &Swarm, text: &str, received: Instant) -> Option<String> {
        if let Some(tick) = TickFields::extract(text) {
            return self.on_tick(swarm, text, &tick);
        }
        let message: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let kind = message["type"].as_str().unwrap_or_default();
        let position = |value: &Value| value["epoch"].as_u64().zip(value["seq"].as_u64());
        let mut skipped = 0;
        match kind {
            "initial_state" => {
                if let Some((epoch, seq)) = position(&message) {
                    self.sequence.snapshot(epoch, seq);
                }
            }
            "resync" => {
                if let Some((epoch, seq)) = position(&message["state"]) {
                    self.sequence.snapshot(epoch, seq);
                }
            }
            "round_start" | "round_running" | "crash" | "round_aborted" => {
                if let Some((epoch, seq)) = position(&message) {
                    skipped = self.sequence.observe(epoch, seq);
                }
            }
            _ => {}
        }
        let unmatched_error = kind == "error"
            && !self
                .bettor
                .as_mut()
                .is_some_and(|bettor| bettor.on_error(&message, received));
        let auto_cashout = kind == "cashed_out" && message["auto"].as_bool() == Some(true);
        tally::record(|tally| {
            tally.counters.messages += 1;
            tally.counters.seq_gaps += u64::from(skipped > 0);
            tally.counters.seq_missing += skipped;
            tally.counters.resyncs += u64::from(kind == "resync");
            tally.counters.auto_cashouts += u64::from(auto_cashout);
            if unmatched_error {
                let code = message["code"].as_str().unwrap_or("unknown");
                *tally.other_errors.entry(code.to_owned()).or_default() += 1;
            }
        });
        let bettor = self.bettor.as_mut()?;
        match kind {
            "initial_state" => {
                let betting = message["phase"].as_str() == Some("betting");
                if let Some(round_id) = message["round_id"].as_i64() {
                    swarm.rounds.round_seen(round_id, betting);
                }
                None
            }
            "round_start" => bettor.on_round_start(swarm, self.index, &message, received),
            "round_running" => {
                swarm.rounds.round_running();
                None
            }
            "crash" | "round_aborted" => {
                bettor.round_over();
                None
            }
            "bet_placed" => {
                bettor.on_bet_placed(&message, received);
                None
            }
            "cashed_out" if !auto_cashout => {
                bettor.on_cashed_out(&message, received);
                None
            }
            _ => None,
        }
    }

    fn on_tick(&mut self, swarm: &Swarm, text: &str, tick: &TickFields) -> Option<String> {
        let skipped = self.sequence.observe(tick.epoch, tick.seq);
        // The server stamps whole milliseconds (truncated), so a latency carries up to 1 ms too much.
        let latency = wall_clock_us().saturating_sub(tick.ts_ms.saturating_mul(1000)).max(1);
        let measuring = swarm.measuring.load(Ordering::Relaxed);
        let carries_cashouts = text.contains(r#""cashouts":[{"#);
        tally::record(|tally| {
            tally.counters.messages += 1;
            tally.counters.ticks += 1;
            tally.counters.tick_bytes += text.len() as u64;
            tally.counters.seq_gaps += u64::from(skipped > 0);
            tally.counters.seq_missing += skipped;
            if measuring {
                tally.tick_latency.saturating_record(latency);
                if carries_cashouts {
                    tally.cashout_tick_latency.saturating_record(latency);
                }
            }
        });
        self.bettor.as_mut()?.on_tick(swarm, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_fields_come_from_the_top_level_keys() {
        let tick = r#"{"cashouts":[{"multiplier":1.5,"payout":1500000,"username":"tsx"}],"elapsed_ms":8100,"epoch":3,"multiplier":1.62,"room":"aviator","round_id":41,"seq":77,"ts":1763700000123,"type":"tick"}"#;
        assert_eq!(
            TickFields::extract(tick),
            Some(TickFields {
                ts_ms: 1_763_700_000_123,
                epoch: 3,
                seq: 77
            })
        );
        assert_eq!(
            TickFields::extract(r#"{"type":"crash","ts":5,"epoch":1,"seq":2}"#),
            None
        );
        assert_eq!(TickFields::extract(r#"{"type":"tick","ts":"soon"}"#), None);
    }

    #[test]
    fn a_skip_within_an_epoch_is_a_gap_and_a_new_epoch_is_not() {
        let mut sequence = Sequence::default();
        assert_eq!(sequence.observe(1, 5), 0);
        assert_eq!(sequence.observe(1, 6), 0);
        assert_eq!(sequence.observe(1, 9), 2);
        assert_eq!(sequence.observe(1, 8), 0, "a late event is not a gap");
        assert_eq!(sequence.observe(1, 10), 0);
        assert_eq!(sequence.observe(2, 1), 0, "a new leader starts again");
        sequence.snapshot(2, 40);
        assert_eq!(sequence.observe(2, 41), 0);
        sequence.snapshot(2, 39);
        assert_eq!(
            sequence.observe(2, 42),
            0,
            "an older snapshot does not move the position back"
        );
    }
}
