//! Simulated players for the fault tests: each signs up, tops up, opens a WebSocket (through nginx, or
//! pinned to one node for its first connection), bets every round, and cashes out by auto-cashout, by
//! hand at a target, or never (holders). A closed socket reconnects through nginx. Everything a test
//! checks is recorded: acknowledged cashouts, errors, close codes, ticks and round starts.

use super::harness::Cluster;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// A read that waits longer than this means the connection is dead: reconnect.
const READ_TIMEOUT: Duration = Duration::from_secs(20);
const STAKE_MICROS: i64 = 1_000_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Auto,
    Manual,
    Hold,
}

#[derive(Default)]
struct Record {
    /// First arrival of each public event, by (epoch, seq).
    ticks: BTreeMap<(u64, u64), Instant>,
    /// The same, ticks only.
    tick_only: BTreeMap<(u64, u64), Instant>,
    round_starts: BTreeMap<i64, Instant>,
    /// First arrival of each `crash` event.
    crashes: Vec<Instant>,
    running_since: Option<Instant>,
    cashouts: Vec<(Uuid, i64)>,
    errors: Vec<String>,
    closes: Vec<(u16, String)>,
    /// Bets acknowledged and not yet known to be over, by player.
    open_bets: BTreeMap<usize, (Uuid, i64)>,
    restored: BTreeSet<Uuid>,
    /// Rounds a new leader announced as aborted (refunded).
    aborted: BTreeSet<i64>,
    reconnected: BTreeSet<usize>,
}

struct Shared {
    record: Mutex<Record>,
    betting: AtomicBool,
    running: AtomicBool,
}

pub struct Swarm {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Swarm {
    /// `count` players through nginx, alternating auto-cashout and manual cashout.
    pub async fn start(cluster: &Cluster, count: usize) -> Swarm {
        Swarm::launch(cluster, count, None).await
    }

    /// `count` holders whose first connection goes straight to node `index`.
    pub async fn start_pinned(cluster: &Cluster, count: usize, index: usize) -> Swarm {
        Swarm::launch(cluster, count, Some(cluster.node_port(index))).await
    }

    async fn launch(cluster: &Cluster, count: usize, pinned_port: Option<u16>) -> Swarm {
        let shared = Arc::new(Shared {
            record: Mutex::new(Record::default()),
            betting: AtomicBool::new(true),
            running: AtomicBool::new(true),
        });
        let public = cluster.public_url();
        let mut tasks = Vec::new();
        for index in 0..count {
            let style = match (pinned_port, index % 2) {
                (Some(_), _) => Style::Hold,
                (None, 0) => Style::Auto,
                (None, _) => Style::Manual,
            };
            let token = sign_up(&public).await;
            let first = pinned_port.map_or_else(|| public.clone(), |port| format!("http://127.0.0.1:{port}"));
            let player = Player {
                index,
                style,
                token,
                public: public.clone(),
                first,
                shared: shared.clone(),
            };
            tasks.push(tokio::spawn(player.run()));
        }
        Swarm { shared, tasks }
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.shared.record.lock().expect("the record lock is never poisoned")
    }

    async fn wait_for<T>(&self, limit: Duration, mut check: impl FnMut(&Record) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(found) = check(&self.record()) {
                return Some(found);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `rounds` more rounds have started.
    pub async fn wait_rounds(&self, rounds: usize, limit: Duration) {
        let seen = self.record().round_starts.len();
        self.wait_for(limit, |record| {
            (record.round_starts.len() >= seen + rounds).then_some(())
        })
        .await
        .expect("rounds keep starting");
    }

    /// Waits until a round is running (its clock started).
    pub async fn wait_running(&self, limit: Duration) {
        let now = Instant::now();
        self.wait_for(limit, |record| record.running_since.filter(|since| *since >= now))
            .await
            .expect("a round runs");
    }

    /// How long after `at` the first round started, once one has.
    pub async fn wait_round_start_after(&self, at: Instant, limit: Duration) -> Option<Duration> {
        self.wait_for(limit, |record| {
            record
                .round_starts
                .values()
                .filter(|start| **start > at)
                .min()
                .map(|start| *start - at)
        })
        .await
    }

    /// How long after `at` the first tick arrived, once one has.
    pub async fn wait_tick_after(&self, at: Instant, limit: Duration) -> Option<Duration> {
        self.wait_for(limit, |record| {
            record
                .ticks
                .values()
                .filter(|tick| **tick > at)
                .min()
                .map(|tick| *tick - at)
        })
        .await
    }

    /// How long after `at` the first tick (not any event: a multiplier tick of a running round) arrived.
    pub async fn wait_first_tick_after(&self, at: Instant, limit: Duration) -> Option<Duration> {
        self.wait_for(limit, |record| {
            record
                .tick_only
                .values()
                .filter(|tick| **tick > at)
                .min()
                .map(|tick| *tick - at)
        })
        .await
    }

    /// How long after `at` the first round crashed, if one has yet.
    pub fn first_crash_after(&self, at: Instant) -> Option<Duration> {
        let record = self.record();
        record
            .crashes
            .iter()
            .filter(|crash| **crash > at)
            .min()
            .map(|crash| *crash - at)
    }

    /// The newest leader epoch seen so far.
    pub fn epoch(&self) -> u64 {
        self.record().ticks.keys().map(|(epoch, _)| *epoch).max().unwrap_or(0)
    }

    /// How long after `at` the first event of a leader newer than `epoch` arrived (`first_tick`: its
    /// first tick rather than its first event of any kind).
    pub async fn wait_new_leader(
        &self,
        at: Instant,
        epoch: u64,
        first_tick: bool,
        limit: Duration,
    ) -> Option<Duration> {
        self.wait_for(limit, |record| {
            let events = if first_tick { &record.tick_only } else { &record.ticks };
            events
                .iter()
                .filter(|((event_epoch, _), _)| *event_epoch > epoch)
                .map(|(_, arrived)| *arrived)
                .min()
                .map(|arrived| arrived.saturating_duration_since(at))
        })
        .await
    }

    /// Waits until holders have open bets in a running round.
    pub async fn wait_bets_open(&self, limit: Duration) {
        self.wait_for(limit, |record| {
            let open = record.open_bets.len();
            (open > 0 && record.running_since.is_some()).then_some(())
        })
        .await
        .expect("holders have open bets in a running round");
    }

    /// Waits until reconnected players have found their open bets in `initial_state`; returns how many.
    pub async fn wait_open_bets_restored(&self, limit: Duration) -> usize {
        self.wait_for(limit, |record| (!record.restored.is_empty()).then_some(()))
            .await;
        // Give the other players a moment to come back too.
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.record().restored.len()
    }

    pub async fn wait_reconnected(&self, limit: Duration) {
        self.wait_for(limit, |record| (!record.reconnected.is_empty()).then_some(()))
            .await
            .expect("players reconnected");
    }

    pub fn stop_betting(&self) {
        self.shared.betting.store(false, Ordering::SeqCst);
    }

    pub async fn stop(&self) {
        self.shared.running.store(false, Ordering::SeqCst);
        for task in &self.tasks {
            task.abort();
        }
    }

    pub fn acknowledged_cashouts(&self) -> Vec<(Uuid, i64)> {
        self.record().cashouts.clone()
    }

    pub fn errors(&self) -> Vec<String> {
        self.record().errors.clone()
    }

    /// Rounds announced as aborted so far.
    pub fn aborted_rounds(&self) -> usize {
        self.record().aborted.len()
    }

    /// The ids of the rounds announced as aborted so far.
    pub fn aborted_round_ids(&self) -> Vec<i64> {
        self.record().aborted.iter().copied().collect()
    }

    pub fn close_codes(&self) -> Vec<(u16, String)> {
        self.record().closes.clone()
    }
}

/// Signs a new player up (the username is `prefix` and 12 random hex digits); the sign-up answer.
pub async fn sign_up_player(client: &reqwest::Client, public: &str, prefix: &str) -> Value {
    let username = format!("{prefix}{}", &Uuid::new_v4().simple().to_string()[..12]);
    client
        .post(format!("{public}/api/v1/auth/signup"))
        .json(&json!({ "username": username, "password": "fault-test-password" }))
        .send()
        .await
        .expect("signup answers")
        .json()
        .await
        .expect("signup is JSON")
}

async fn sign_up(public: &str) -> String {
    let client = reqwest::Client::new();
    let signup = sign_up_player(&client, public, "p").await;
    let token = signup["token"].as_str().expect("a token").to_owned();
    let top_up = client
        .post(format!("{public}/api/v1/wallet/top-up"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "fund")
        .json(&json!({ "amount": 500_000_000 }))
        .send()
        .await
        .expect("top-up answers");
    assert!(top_up.status().is_success(), "top-up: {}", top_up.status());
    token
}

struct Player {
    index: usize,
    style: Style,
    token: String,
    public: String,
    first: String,
    shared: Arc<Shared>,
}

impl Player {
    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.shared.record.lock().expect("the record lock is never poisoned")
    }

    async fn run(self) {
        let mut connections = 0;
        while self.shared.running.load(Ordering::SeqCst) {
            let base = if connections == 0 { &self.first } else { &self.public };
            let url = format!(
                "{}/ws?token={}&room=aviator",
                base.replace("http://", "ws://"),
                self.token
            );
            match tokio_tungstenite::connect_async(url).await {
                Ok((socket, _)) => {
                    connections += 1;
                    if connections > 1 {
                        self.record().reconnected.insert(self.index);
                    }
                    self.play(socket, connections > 1).await;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn play(
        &self,
        mut socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        reconnected: bool,
    ) {
        let target = 110 + (self.index as u32 * 37) % 190;
        let mut manual_bet: Option<Uuid> = None;
        loop {
            let frame = match tokio::time::timeout(READ_TIMEOUT, socket.next()).await {
                Ok(Some(Ok(frame))) => frame,
                _ => return,
            };
            let text = match frame {
                Message::Text(text) => text,
                Message::Close(close) => {
                    if let Some(close) = close {
                        self.record().closes.push((close.code.into(), close.reason.to_string()));
                    }
                    return;
                }
                _ => continue,
            };
            let Ok(message) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let reply = self.handle(&message, reconnected, target, &mut manual_bet);
            if let Some(reply) = reply {
                if socket.send(Message::Text(reply.to_string())).await.is_err() {
                    return;
                }
            }
        }
    }

    /// Records what a message tells, and answers it when the player acts on it.
    fn handle(&self, message: &Value, reconnected: bool, target: u32, manual_bet: &mut Option<Uuid>) -> Option<Value> {
        let now = Instant::now();
        let position = (
            message["epoch"].as_u64().unwrap_or(0),
            message["seq"].as_u64().unwrap_or(0),
        );
        let bet_id = |value: &Value| value.as_str().and_then(|id| id.parse::<Uuid>().ok());
        let mut record = self.record();
        match message["type"].as_str().unwrap_or_default() {
            "initial_state" if reconnected => {
                if let Some((open, _)) = record.open_bets.get(&self.index).copied() {
                    let mine = message["my_bets"].as_array().into_iter().flatten();
                    if mine.filter_map(|bet| bet_id(&bet["bet_id"])).any(|id| id == open) {
                        record.restored.insert(open);
                    }
                }
                None
            }
            "round_start" => {
                record.ticks.entry(position).or_insert(now);
                let round = message["round_id"].as_i64().unwrap_or_default();
                record.round_starts.entry(round).or_insert(now);
                record.running_since = None;
                record.open_bets.remove(&self.index);
                *manual_bet = None;
                if !self.shared.betting.load(Ordering::SeqCst) {
                    return None;
                }
                let mut bet = json!({
                    "type": "place_bet", "room": "aviator", "amount": STAKE_MICROS,
                    "client_bet_id": format!("r{round}"),
                });
                if self.style == Style::Auto {
                    bet["auto_cashout"] = json!(f64::from(target) / 100.0);
                }
                Some(bet)
            }
            "round_running" => {
                record.running_since.get_or_insert(now);
                None
            }
            "bet_placed" => {
                let bet = &message["bet"];
                if let (Some(id), Some(round)) = (bet_id(&bet["bet_id"]), bet["round_id"].as_i64()) {
                    record.open_bets.insert(self.index, (id, round));
                    if self.style == Style::Manual {
                        *manual_bet = Some(id);
                    }
                }
                None
            }
            "tick" => {
                record.ticks.entry(position).or_insert(now);
                record.tick_only.entry(position).or_insert(now);
                let multiplier = (message["multiplier"].as_f64().unwrap_or(1.0) * 100.0).round() as u32;
                match manual_bet.take() {
                    Some(bet) if multiplier >= target => Some(json!({"type": "cashout", "bet_id": bet})),
                    other => {
                        *manual_bet = other;
                        None
                    }
                }
            }
            "round_aborted" => {
                record.aborted.insert(message["round_id"].as_i64().unwrap_or_default());
                record.ticks.entry(position).or_insert(now);
                record.open_bets.remove(&self.index);
                *manual_bet = None;
                None
            }
            "crash" => {
                // Each player sees the crash; the first arrival counts, as for every event.
                if let std::collections::btree_map::Entry::Vacant(first) = record.ticks.entry(position) {
                    first.insert(now);
                    record.crashes.push(now);
                }
                record.open_bets.remove(&self.index);
                *manual_bet = None;
                None
            }
            "cashed_out" => {
                if let (Some(id), Some(payout)) = (bet_id(&message["bet_id"]), message["payout"].as_i64()) {
                    record.cashouts.push((id, payout));
                    record.open_bets.remove(&self.index);
                }
                None
            }
            "error" => {
                let code = message["code"].as_str().unwrap_or_default();
                // Losing a race with the crash is part of the game, not a fault.
                if code != "round_crashed" {
                    record
                        .errors
                        .push(format!("player {}: {code}: {}", self.index, message["message"]));
                }
                None
            }
            _ => None,
        }
    }
}
