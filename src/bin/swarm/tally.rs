//! What the swarm measured. Each runtime worker thread records into its own [`Tally`] (one histogram set
//! per thread behind an uncontended mutex, instead of one per socket); reports merge them all.

use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Latencies are recorded in microseconds up to this bound (larger values are clamped to it).
const LATENCY_MAX_US: u64 = 120_000_000;
/// Distinct connect error reasons kept; later ones are counted under "other".
const CONNECT_ERROR_REASONS_MAX: usize = 8;
/// Length kept of one connect error reason.
const REASON_LENGTH_MAX: usize = 160;

/// A latency in whole microseconds (rounded down), within the histograms' bounds.
fn latency_us(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, LATENCY_MAX_US)
}

fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("the latency bounds are valid")
}

/// Events counted over the whole run; a report takes the difference over the measured window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub messages: u64,
    pub ticks: u64,
    /// Payload bytes of those ticks: their mean is the frame size the baseline should send to do the same
    /// job (ticks carry the cashouts since the previous one, so bettors make them longer).
    pub tick_bytes: u64,
    /// Sequenced events whose `seq` skipped ahead within the socket's epoch.
    pub seq_gaps: u64,
    /// Events those gaps skipped.
    pub seq_missing: u64,
    pub resyncs: u64,
    pub auto_cashouts: u64,
}

impl Counters {
    fn add(&mut self, other: &Counters) {
        self.messages += other.messages;
        self.ticks += other.ticks;
        self.tick_bytes += other.tick_bytes;
        self.seq_gaps += other.seq_gaps;
        self.seq_missing += other.seq_missing;
        self.resyncs += other.resyncs;
        self.auto_cashouts += other.auto_cashouts;
    }

    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            messages: self.messages - earlier.messages,
            ticks: self.ticks - earlier.ticks,
            tick_bytes: self.tick_bytes - earlier.tick_bytes,
            seq_gaps: self.seq_gaps - earlier.seq_gaps,
            seq_missing: self.seq_missing - earlier.seq_missing,
            resyncs: self.resyncs - earlier.resyncs,
            auto_cashouts: self.auto_cashouts - earlier.auto_cashouts,
        }
    }
}

/// Requests of one kind (bets or cashouts) sent in the measured window and their answers.
pub struct Requests {
    pub sent: u64,
    pub acked: u64,
    pub errors: BTreeMap<String, u64>,
    /// From the send to the answer with the same `request_id`, in µs (acknowledgements and errors).
    pub latency: Histogram<u64>,
}

impl Requests {
    fn new() -> Requests {
        Requests {
            sent: 0,
            acked: 0,
            errors: BTreeMap::new(),
            latency: latency_histogram(),
        }
    }

    fn add(&mut self, other: &Requests) {
        self.sent += other.sent;
        self.acked += other.acked;
        add_counts(&mut self.errors, &other.errors);
        self.latency
            .add(&other.latency)
            .expect("histograms with the same bounds merge");
    }

    /// An answer to one of our requests: an acknowledgement, or an `error` with its code.
    pub fn answered(&mut self, latency: Duration, error_code: Option<&str>) {
        self.latency.saturating_record(latency_us(latency));
        match error_code {
            None => self.acked += 1,
            Some(code) => *self.errors.entry(code.to_owned()).or_default() += 1,
        }
    }

    pub fn errored(&self) -> u64 {
        self.errors.values().sum()
    }

    /// `{prefix}s_sent`, `{prefix}s_acked`, `{prefix}_errors`, `{prefix}s_unanswered` and the latency
    /// percentiles as `{prefix}_ack_pXX_ms`.
    fn report(&self, prefix: &str, report: &mut Map<String, Value>) {
        report.insert(format!("{prefix}s_sent"), json!(self.sent));
        report.insert(format!("{prefix}s_acked"), json!(self.acked));
        report.insert(format!("{prefix}_errors"), json!(self.errors));
        let unanswered = self.sent.saturating_sub(self.acked + self.errored());
        report.insert(format!("{prefix}s_unanswered"), json!(unanswered));
        percentiles(&format!("{prefix}_ack"), &self.latency, report);
    }
}

fn add_counts(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (key, count) in from {
        *into.entry(key.clone()).or_default() += count;
    }
}

/// A histogram as `[value_us, count]` pairs, one per recorded bucket.
fn raw(histogram: &Histogram<u64>) -> Vec<[u64; 2]> {
    histogram
        .iter_recorded()
        .map(|bucket| [bucket.value_iterated_to(), bucket.count_at_value()])
        .collect()
}

/// `{prefix}_p50_ms` … `{prefix}_p999_ms` and `{prefix}_max_ms` (null without samples).
fn percentiles(prefix: &str, histogram: &Histogram<u64>, report: &mut Map<String, Value>) {
    let empty = histogram.is_empty();
    let ms = |micros: u64| {
        if empty {
            Value::Null
        } else {
            json!(micros as f64 / 1000.0)
        }
    };
    for (name, quantile) in [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p999", 0.999)] {
        report.insert(format!("{prefix}_{name}_ms"), ms(histogram.value_at_quantile(quantile)));
    }
    report.insert(format!("{prefix}_max_ms"), ms(histogram.max()));
}

/// The burst round's bets (`--burst`).
pub struct Burst {
    pub requests: Requests,
    /// Answers that arrived before the betting window closed, as the socket saw it (its `round_start`
    /// plus `betting_ms`).
    pub acked_within_window: u64,
    pub first_sent: Option<Instant>,
    pub last_answered: Option<Instant>,
}

impl Burst {
    fn add(&mut self, other: &Burst) {
        self.requests.add(&other.requests);
        self.acked_within_window += other.acked_within_window;
        self.first_sent = earliest(self.first_sent, other.first_sent);
        self.last_answered = self.last_answered.max(other.last_answered);
    }

    pub fn report(&self, round_id: i64, completed: bool) -> Value {
        let mut report = Map::new();
        report.insert("round_id".into(), json!(round_id));
        report.insert("completed".into(), json!(completed));
        self.requests.report("bet", &mut report);
        report.insert("bets_acked_within_window".into(), json!(self.acked_within_window));
        let span = match (self.first_sent, self.last_answered) {
            (Some(first), Some(last)) => json!(last.saturating_duration_since(first).as_secs_f64() * 1000.0),
            _ => Value::Null,
        };
        report.insert("first_send_to_last_answer_ms".into(), span);
        Value::Object(report)
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Everything one worker thread recorded.
pub struct Tally {
    pub connected: u64,
    pub connect_failed: u64,
    pub connect_errors: BTreeMap<String, u64>,
    pub closed_early: u64,
    pub close_codes: BTreeMap<String, u64>,
    pub counters: Counters,
    /// Receipt time minus the tick's server timestamp, in µs (measured window only).
    pub tick_latency: Histogram<u64>,
    /// The same, for the ticks that carry cashouts (longer frames, a few per round's first seconds).
    pub cashout_tick_latency: Histogram<u64>,
    pub bets: Requests,
    pub cashouts: Requests,
    /// `error` frames without a request of ours, by code.
    pub other_errors: BTreeMap<String, u64>,
    pub burst: Burst,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            connected: 0,
            connect_failed: 0,
            connect_errors: BTreeMap::new(),
            closed_early: 0,
            close_codes: BTreeMap::new(),
            counters: Counters::default(),
            tick_latency: latency_histogram(),
            cashout_tick_latency: latency_histogram(),
            bets: Requests::new(),
            cashouts: Requests::new(),
            other_errors: BTreeMap::new(),
            burst: Burst {
                requests: Requests::new(),
                acked_within_window: 0,
                first_sent: None,
                last_answered: None,
            },
        }
    }

    fn add(&mut self, other: &Tally) {
        self.connected += other.connected;
        self.connect_failed += other.connect_failed;
        for (reason, count) in &other.connect_errors {
            self.connect_error(reason, *count);
        }
        self.closed_early += other.closed_early;
        add_counts(&mut self.close_codes, &other.close_codes);
        self.counters.add(&other.counters);
        self.tick_latency
            .add(&other.tick_latency)
            .expect("histograms with the same bounds merge");
        self.cashout_tick_latency
            .add(&other.cashout_tick_latency)
            .expect("histograms with the same bounds merge");
        self.bets.add(&other.bets);
        self.cashouts.add(&other.cashouts);
        add_counts(&mut self.other_errors, &other.other_errors);
        self.burst.add(&other.burst);
    }

    pub fn connect_error(&mut self, reason: &str, count: u64) {
        let known = self.connect_errors.contains_key(reason);
        let key = if known || self.connect_errors.len() < CONNECT_ERROR_REASONS_MAX {
            reason.chars().take(REASON_LENGTH_MAX).collect()
        } else {
            "other".to_owned()
        };
        *self.connect_errors.entry(key).or_default() += count;
    }

    pub fn closed_early(&mut self, how: String) {
        self.closed_early += 1;
        *self.close_codes.entry(how).or_default() += 1;
    }

    /// The fields that cover the whole run (connections) and the request tallies of the window.
    pub fn report(&self, window: &Counters, window_s: f64, report: &mut Map<String, Value>) {
        report.insert("connected".into(), json!(self.connected));
        report.insert("connect_failed".into(), json!(self.connect_failed));
        report.insert("connect_errors".into(), json!(self.connect_errors));
        report.insert("closed_early".into(), json!(self.closed_early));
        report.insert("close_codes".into(), json!(self.close_codes));
        let per_s = |count: u64| json!((count as f64 / window_s.max(0.001)).round());
        report.insert("ticks_received".into(), json!(window.ticks));
        report.insert("ticks_per_s".into(), per_s(window.ticks));
        report.insert("tick_bytes_received".into(), json!(window.tick_bytes));
        report.insert("messages_received".into(), json!(window.messages));
        report.insert("messages_per_s".into(), per_s(window.messages));
        report.insert("seq_gaps".into(), json!(window.seq_gaps));
        report.insert("seq_missing_events".into(), json!(window.seq_missing));
        report.insert("resyncs".into(), json!(window.resyncs));
        percentiles("tick_latency", &self.tick_latency, report);
        percentiles("cashout_tick_latency", &self.cashout_tick_latency, report);
        self.bets.report("bet", report);
        self.cashouts.report("cashout", report);
        // The recorded values with their counts, so that several swarm processes' reports merge into exact
        // quantiles (scripts/capacity_report.py); a few thousand pairs at most with 3 significant digits.
        report.insert(
            "histograms".into(),
            json!({
                "tick_us": raw(&self.tick_latency),
                "cashout_tick_us": raw(&self.cashout_tick_latency),
                "bet_ack_us": raw(&self.bets.latency),
                "cashout_ack_us": raw(&self.cashouts.latency),
            }),
        );
        report.insert("auto_cashouts".into(), json!(window.auto_cashouts));
        report.insert("other_errors".into(), json!(self.other_errors));
    }
}

static REGISTRY: Mutex<Vec<Arc<Mutex<Tally>>>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL: Arc<Mutex<Tally>> = {
        let tally = Arc::new(Mutex::new(Tally::new()));
        REGISTRY.lock().unwrap_or_else(PoisonError::into_inner).push(tally.clone());
        tally
    };
}

/// Records into this thread's tally.
pub fn record<R>(update: impl FnOnce(&mut Tally) -> R) -> R {
    LOCAL.with(|tally| update(&mut tally.lock().unwrap_or_else(PoisonError::into_inner)))
}

/// Runs `read` over every thread's tally in turn.
fn each(mut read: impl FnMut(&Tally)) {
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner).clone();
    for tally in registry {
        read(&tally.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// The counters summed over all threads (cheap: no histograms).
pub fn counters() -> Counters {
    let mut sum = Counters::default();
    each(|tally| sum.add(&tally.counters));
    sum
}

/// Small live figures for progress lines and the burst wait.
#[derive(Debug, Default, Clone, Copy)]
pub struct Live {
    pub connected: u64,
    pub connect_failed: u64,
    pub closed_early: u64,
    pub bets_acked: u64,
    pub cashouts_acked: u64,
    pub burst_sent: u64,
    pub burst_answered: u64,
}

pub fn live() -> Live {
    let mut live = Live::default();
    each(|tally| {
        live.connected += tally.connected;
        live.connect_failed += tally.connect_failed;
        live.closed_early += tally.closed_early;
        live.bets_acked += tally.bets.acked;
        live.cashouts_acked += tally.cashouts.acked;
        live.burst_sent += tally.burst.requests.sent;
        live.burst_answered += tally.burst.requests.acked + tally.burst.requests.errored();
    });
    live
}

/// Everything, merged.
pub fn merged() -> Tally {
    let mut sum = Tally::new();
    each(|tally| sum.add(tally));
    sum
}
