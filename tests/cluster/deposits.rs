//! A depositor for the Postgres fault tests: the admin deposits a small amount to one player through
//! nginx, again and again, each deposit under its own Idempotency-Key, retrying a failed deposit with the
//! same key. It keeps its own list of the deposits the API acknowledged, with when each was sent, so a
//! test can check that every acknowledged deposit survived the fault.

use super::harness::Cluster;
use super::players::sign_up_player;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use uuid::Uuid;

const DEPOSIT_MICROS: i64 = 10_000;
/// How long the depositor retries one deposit (same key) before it gives up on it and records that: far
/// longer than a failover, during which a deposit may be refused at once (503) again and again.
const RETRY_FOR: Duration = Duration::from_secs(60);
/// The longest one attempt waits for its answer: the wallet rides through a failover of about 10 s.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
const PAUSE: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Record {
    /// Ledger keys of acknowledged deposits, with when the acknowledged attempt was sent and answered.
    acknowledged: Vec<(String, Instant, Instant)>,
    /// Attempts that failed and were retried (status or transport error).
    retried: Vec<String>,
    /// Deposits given up after `RETRY_FOR`.
    abandoned: Vec<String>,
}

pub struct Depositor {
    record: Arc<Mutex<Record>>,
    running: Arc<AtomicBool>,
    task: Option<JoinHandle<()>>,
}

struct Target {
    client: reqwest::Client,
    url: String,
    token: String,
    player: Uuid,
}

impl Depositor {
    pub async fn start(cluster: &Cluster) -> Depositor {
        let client = reqwest::Client::builder()
            .timeout(ANSWER_TIMEOUT)
            .build()
            .expect("a client");
        let public = cluster.public_url();
        let player = sign_up(&client, &public).await;
        let credential =
            json!({ "username": cluster.env["ADMIN_USERNAME"], "password": cluster.env["ADMIN_PASSWORD"] });
        let login: Value = client
            .post(format!("{public}/api/v1/admin/login"))
            .json(&credential)
            .send()
            .await
            .expect("the admin logs in")
            .json()
            .await
            .expect("a JSON answer");
        let target = Target {
            client,
            url: format!("{public}/api/v1/admin/players/{player}/deposit"),
            token: login["token"].as_str().expect("an admin token").to_owned(),
            player,
        };
        let record = Arc::new(Mutex::new(Record::default()));
        let running = Arc::new(AtomicBool::new(true));
        let task = tokio::spawn(deposit_loop(target, record.clone(), running.clone()));
        Depositor {
            record,
            running,
            task: Some(task),
        }
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().expect("the record lock is never poisoned")
    }

    /// Waits until `count` deposits are acknowledged in all.
    pub async fn wait_acknowledged(&self, count: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.record().acknowledged.len() < count {
            assert!(
                Instant::now() < deadline,
                "fewer than {count} deposits acknowledged in {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How long after `at` the first deposit sent after `at` was acknowledged.
    pub async fn wait_acknowledged_sent_after(&self, at: Instant, limit: Duration) -> Option<Duration> {
        let deadline = Instant::now() + limit;
        loop {
            let first = self
                .record()
                .acknowledged
                .iter()
                .filter(|(_, sent, _)| *sent > at)
                .map(|(_, _, answered)| *answered)
                .min();
            if let Some(answered) = first {
                return Some(answered - at);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The longest time between two consecutive acknowledgements answered from `from` on: how long money
    /// stood still (at least one deposit was always waiting, as the depositor never pauses for long).
    pub fn longest_pause_since(&self, from: Instant) -> Duration {
        let record = self.record();
        let mut answers: Vec<Instant> = record.acknowledged.iter().map(|(_, _, answered)| *answered).collect();
        answers.sort();
        let mut previous = from;
        let mut longest = Duration::ZERO;
        for answered in answers.into_iter().filter(|answered| *answered > from) {
            longest = longest.max(answered - previous);
            previous = answered;
        }
        longest
    }

    /// Stops depositing (the deposit in flight finishes) and returns the acknowledged ledger keys.
    pub async fn stop(&mut self) -> Vec<String> {
        self.running.store(false, Ordering::SeqCst);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(ANSWER_TIMEOUT * 2, task).await;
        }
        let record = self.record();
        println!(
            "the depositor had {} deposits acknowledged, {} attempts retried, {} abandoned",
            record.acknowledged.len(),
            record.retried.len(),
            record.abandoned.len()
        );
        record.acknowledged.iter().map(|(key, _, _)| key.clone()).collect()
    }

    /// Failed attempts that were retried with the same key.
    pub fn retried(&self) -> Vec<String> {
        self.record().retried.clone()
    }

    /// Deposits that never got an acknowledgement.
    pub fn abandoned(&self) -> Vec<String> {
        self.record().abandoned.clone()
    }
}

async fn deposit_loop(target: Target, record: Arc<Mutex<Record>>, running: Arc<AtomicBool>) {
    let mut index = 0u64;
    while running.load(Ordering::SeqCst) {
        index += 1;
        let client_key = format!("ha-{index}");
        let ledger_key = format!("deposit:{}:{client_key}", target.player);
        let mut acknowledged = false;
        let give_up_at = Instant::now() + RETRY_FOR;
        while Instant::now() < give_up_at {
            let sent = Instant::now();
            match attempt(&target, &client_key).await {
                Ok(()) => {
                    let mut record = record.lock().expect("never poisoned");
                    record.acknowledged.push((ledger_key.clone(), sent, Instant::now()));
                    acknowledged = true;
                    break;
                }
                Err(error) => {
                    record.lock().expect("never poisoned").retried.push(error);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        if !acknowledged {
            record.lock().expect("never poisoned").abandoned.push(ledger_key);
        }
        tokio::time::sleep(PAUSE).await;
    }
}

async fn attempt(target: &Target, client_key: &str) -> Result<(), String> {
    let response = target
        .client
        .post(&target.url)
        .bearer_auth(&target.token)
        .header("Idempotency-Key", client_key)
        .json(&json!({ "amount": DEPOSIT_MICROS }))
        .send()
        .await
        .map_err(|error| format!("{client_key}: {error}"))?;
    if response.status().is_success() {
        return Ok(());
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Err(format!("{client_key}: {status} {body}"))
}

async fn sign_up(client: &reqwest::Client, public: &str) -> Uuid {
    let signup = sign_up_player(client, public, "d").await;
    signup["player"]["id"]
        .as_str()
        .expect("a player id")
        .parse()
        .expect("a UUID")
}
