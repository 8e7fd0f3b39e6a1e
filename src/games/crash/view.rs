//! A room as every node sees it: the public state rebuilt from the leader's events, and the rule that
//! decides whether an event continues the sequence, is stale, or reveals a gap that calls for a resync.
//!
//! The leader applies each event to its own view before publishing it, and stores that view in Redis on
//! every phase change; relays apply the same events as they arrive. A relay that sees a gap (or a new
//! leader that did not start cleanly) reloads the stored view, so nobody shows a wrong multiplier.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Where an event stands relative to what a node has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequencing {
    /// The next event of the current leader, or the first event of a new leader.
    Next,
    /// From a deposed leader, or already seen: ignore it.
    Stale,
    /// Events are missing: apply it, then resync from the stored view.
    Gap,
}

/// Orders events by (epoch, seq): the epoch is the leader's fencing token (newer leaders have larger
/// ones), and seq counts that leader's public events from 1.
pub fn classify(current: (u64, u64), incoming: (u64, u64)) -> Sequencing {
    let ((epoch, seq), (new_epoch, new_seq)) = (current, incoming);
    if new_epoch < epoch || (new_epoch == epoch && new_seq <= seq) {
        Sequencing::Stale
    } else if (new_epoch == epoch && new_seq == seq + 1) || (new_epoch > epoch && new_seq == 1) {
        Sequencing::Next
    } else {
        Sequencing::Gap
    }
}

/// The public state of a room. Field names are those of the WebSocket `initial_state`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoomView {
    pub room: String,
    pub epoch: u64,
    pub seq: u64,
    pub phase: String,
    pub tick_interval_ms: u64,
    pub round_id: Option<i64>,
    pub terminating_hash: Option<String>,
    pub betting_ends_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub elapsed_ms: u64,
    /// The last multiplier shown, as clients read it (2.08).
    pub multiplier: Value,
    pub crash_point: Option<Value>,
    pub hash: Option<String>,
    pub previous_round: Option<Value>,
    /// The operator stopped new bets; the round under way finishes and no new one starts.
    #[serde(default)]
    pub betting_paused: bool,
}

impl RoomView {
    pub fn new(room: &str, tick_interval_ms: u64) -> RoomView {
        RoomView {
            room: room.to_owned(),
            epoch: 0,
            seq: 0,
            phase: "starting".into(),
            tick_interval_ms,
            round_id: None,
            terminating_hash: None,
            betting_ends_at: None,
            started_at: None,
            elapsed_ms: 0,
            multiplier: json!(1.0),
            crash_point: None,
            hash: None,
            previous_round: None,
            betting_paused: false,
        }
    }

    /// The (epoch, seq) position of the last applied event.
    pub fn position(&self) -> (u64, u64) {
        (self.epoch, self.seq)
    }

    /// Applies one public event (a frame as sent to clients). Unknown types only move the position.
    pub fn apply(&mut self, event: &Value) {
        let number = |field: &str| event.get(field).and_then(Value::as_u64);
        if let (Some(epoch), Some(seq)) = (number("epoch"), number("seq")) {
            self.epoch = epoch;
            self.seq = seq;
        }
        let round_id = event.get("round_id").and_then(Value::as_i64);
        let text = |field: &str| event.get(field).and_then(Value::as_str).map(str::to_owned);
        let time = |field: &str| text(field).and_then(|value| value.parse::<DateTime<Utc>>().ok());
        match event.get("type").and_then(Value::as_str).unwrap_or_default() {
            "round_start" => {
                // A round only starts while betting is open.
                self.betting_paused = false;
                self.phase = "betting".into();
                self.round_id = round_id;
                self.terminating_hash = text("terminating_hash");
                self.betting_ends_at = time("betting_ends_at");
                self.started_at = None;
                self.elapsed_ms = 0;
                self.multiplier = json!(1.0);
                self.crash_point = None;
                self.hash = None;
                self.previous_round = event.get("previous_round").cloned().filter(|value| !value.is_null());
            }
            "round_running" => {
                self.phase = "running".into();
                self.round_id = round_id;
                self.started_at = time("started_at");
                self.elapsed_ms = 0;
                self.multiplier = json!(1.0);
                // The leader's interval wins over whatever this view started with or loaded.
                self.tick_interval_ms = number("tick_interval_ms").unwrap_or(self.tick_interval_ms);
            }
            "tick" => {
                if self.round_id != round_id {
                    // The round's start was missed: adopt it; a resync fills in the rest.
                    self.round_id = round_id;
                    self.started_at = None;
                    self.crash_point = None;
                    self.hash = None;
                }
                self.phase = "running".into();
                self.elapsed_ms = number("elapsed_ms").unwrap_or(self.elapsed_ms);
                self.multiplier = event.get("multiplier").cloned().unwrap_or(json!(1.0));
            }
            "crash" => {
                self.phase = "crashed".into();
                self.round_id = round_id;
                self.elapsed_ms = number("elapsed_ms").unwrap_or(self.elapsed_ms);
                self.crash_point = event.get("crash_point").cloned();
                self.multiplier = self.crash_point.clone().unwrap_or(json!(1.0));
                self.hash = text("hash");
                self.previous_round = Some(json!({
                    "round_id": round_id,
                    "hash": self.hash,
                    "crash_point": self.crash_point,
                    "crashed_at": event.get("ts").and_then(Value::as_i64)
                        .and_then(DateTime::<Utc>::from_timestamp_millis),
                }));
            }
            "betting_paused" => self.betting_paused = true,
            "betting_resumed" => self.betting_paused = false,
            "round_aborted" => {
                self.phase = "starting".into();
                self.round_id = None;
                self.betting_ends_at = None;
                self.started_at = None;
                self.elapsed_ms = 0;
                self.multiplier = json!(1.0);
                self.crash_point = None;
                self.hash = None;
            }
            _ => {}
        }
    }

    /// Takes what a stored view knows: all of it when it is newer, otherwise the fields of the same round
    /// that this view missed (the leader stores its view on phase changes, never on ticks, so after a
    /// missed round start the stored view is older by position yet knows the round's start).
    pub fn merge_stored(&mut self, stored: RoomView) {
        if stored.position() > self.position() {
            *self = stored;
            return;
        }
        if stored.epoch != self.epoch || stored.round_id != self.round_id {
            return;
        }
        self.terminating_hash = self.terminating_hash.take().or(stored.terminating_hash);
        self.betting_ends_at = self.betting_ends_at.or(stored.betting_ends_at);
        self.started_at = self.started_at.or(stored.started_at);
        self.previous_round = self.previous_round.take().or(stored.previous_round);
    }

    /// The state a client gets on (re)connect or resync, as of `now`.
    pub fn snapshot(&self, now: DateTime<Utc>) -> Value {
        let mut state = json!({
            "room": self.room,
            "phase": self.phase,
            "epoch": self.epoch,
            "seq": self.seq,
            "tick_interval_ms": self.tick_interval_ms,
            "previous_round": self.previous_round,
            "multiplier": self.multiplier,
            "betting_paused": self.betting_paused,
        });
        let Some(round_id) = self.round_id else {
            return state;
        };
        state["round_id"] = json!(round_id);
        state["terminating_hash"] = json!(self.terminating_hash);
        if self.phase == "betting" {
            if let Some(ends_at) = self.betting_ends_at {
                state["betting_ends_in_ms"] = json!((ends_at - now).num_milliseconds().max(0));
                state["betting_ends_at"] = json!(ends_at);
            }
        }
        if let Some(started_at) = self.started_at {
            state["started_at"] = json!(started_at);
        }
        // The last tick's (or the crash's) elapsed time, next to its multiplier: the pages draw the curve
        // on from it (static/curve.js), so a round whose start this node missed still gets it.
        if self.started_at.is_some() || self.phase == "running" || self.phase == "crashed" {
            state["elapsed_ms"] = json!(self.elapsed_ms);
        }
        if self.phase == "crashed" {
            state["crash_point"] = json!(self.crash_point);
            state["hash"] = json!(self.hash);
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_event_continues_and_old_ones_are_stale() {
        assert_eq!(classify((3, 7), (3, 8)), Sequencing::Next);
        assert_eq!(classify((3, 7), (3, 7)), Sequencing::Stale);
        assert_eq!(classify((3, 7), (3, 2)), Sequencing::Stale);
        assert_eq!(
            classify((3, 7), (2, 100)),
            Sequencing::Stale,
            "a deposed leader is ignored"
        );
    }

    #[test]
    fn missing_events_and_unclean_takeovers_are_gaps() {
        assert_eq!(classify((3, 7), (3, 9)), Sequencing::Gap);
        assert_eq!(classify((3, 7), (4, 1)), Sequencing::Next, "a new leader starts at 1");
        assert_eq!(
            classify((3, 7), (4, 5)),
            Sequencing::Gap,
            "its first events were missed"
        );
        assert_eq!(classify((0, 0), (1, 1)), Sequencing::Next);
        assert_eq!(
            classify((0, 0), (1, 2)),
            Sequencing::Gap,
            "a node that joins late resyncs"
        );
    }

    #[test]
    fn a_round_is_rebuilt_from_its_events() {
        let mut view = RoomView::new("aviator", 100);
        view.apply(&json!({"type": "round_start", "epoch": 1, "seq": 1, "round_id": 9,
            "terminating_hash": "ab", "betting_ends_at": "2026-11-21T10:00:05Z"}));
        assert_eq!(view.phase, "betting");
        let at = "2026-11-21T10:00:03Z".parse().unwrap();
        assert_eq!(view.snapshot(at)["betting_ends_in_ms"], 2000);
        view.apply(&json!({"type": "round_running", "epoch": 1, "seq": 2, "round_id": 9,
            "started_at": "2026-11-21T10:00:05Z", "tick_interval_ms": 150}));
        view.apply(
            &json!({"type": "tick", "epoch": 1, "seq": 3, "round_id": 9, "multiplier": 1.5, "elapsed_ms": 6000}),
        );
        assert_eq!(view.snapshot(at)["multiplier"], 1.5);
        assert_eq!(view.snapshot(at)["elapsed_ms"], 6000);
        assert_eq!(
            view.snapshot(at)["tick_interval_ms"],
            150,
            "the leader's interval, from the round"
        );

        view.apply(
            &json!({"type": "crash", "epoch": 1, "seq": 5, "round_id": 9, "crash_point": 2.08,
            "hash": "cd", "elapsed_ms": 12000, "ts": 0}),
        );
        let snapshot = view.snapshot(at);
        assert_eq!(
            (snapshot["phase"].as_str(), snapshot["crash_point"].as_f64()),
            (Some("crashed"), Some(2.08))
        );
        assert_eq!(view.previous_round.as_ref().unwrap()["round_id"], 9);
        assert_eq!(view.position(), (1, 5));
    }

    #[test]
    fn a_missed_round_start_is_filled_in_from_the_stored_view() {
        let mut stored = RoomView::new("aviator", 100);
        stored.apply(&json!({"type": "round_start", "epoch": 2, "seq": 7, "round_id": 10,
            "terminating_hash": "ab", "betting_ends_at": "2026-11-21T10:00:05Z"}));
        stored.apply(&json!({"type": "round_running", "epoch": 2, "seq": 8, "round_id": 10,
            "started_at": "2026-11-21T10:00:05Z"}));
        let mut relay = RoomView::new("aviator", 100);
        relay.apply(&json!({"type": "round_start", "epoch": 2, "seq": 4, "round_id": 9}));
        // Events 5..=8 were missed; a tick of round 10 arrives.
        relay.apply(
            &json!({"type": "tick", "epoch": 2, "seq": 12, "round_id": 10, "multiplier": 1.2, "elapsed_ms": 3000}),
        );
        assert_eq!((relay.round_id, relay.phase.as_str()), (Some(10), "running"));
        let at = "2026-11-21T10:00:08Z".parse().unwrap();
        assert_eq!(
            relay.snapshot(at)["elapsed_ms"],
            3000,
            "the curve can go on from the tick before the stored view fills in the start"
        );
        relay.merge_stored(stored.clone());
        assert_eq!(
            relay.started_at, stored.started_at,
            "the round's start came from the stored view"
        );
        assert_eq!(relay.multiplier, json!(1.2), "the newer tick is kept");
        assert_eq!(relay.position(), (2, 12));
    }
}
