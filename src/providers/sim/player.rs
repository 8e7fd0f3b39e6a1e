//! One simulated player of the provider simulator: plays rounds one after another, and keeps its own
//! record of the balance each answer must show.

use super::{Launched, ProviderSimOptions, SimGame, SIM_GAME_CODE};
use crate::providers::generic::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Attempts of one call before the simulator gives up on it (then it rolls the bet back).
const ATTEMPTS_MAX: u32 = 6;
/// The longest pause before a retry.
const RETRY_JITTER_MAX_MS: u64 = 200;
/// Mismatches one player records at most (the count goes on).
const MISMATCH_EXAMPLES_MAX: usize = 5;

pub struct SimPlayer {
    /// This run's id: every round and transaction id starts with it.
    run: String,
    index: usize,
    client: reqwest::Client,
    url: String,
    provider: String,
    secret: String,
    launched: Launched,
    bet_min_micros: i64,
    bet_max_micros: i64,
    rng: StdRng,
    /// What the wallet must say the balance is, by this player's own record.
    expected_balance: i64,
    report: PlayerReport,
}

/// What one player did and saw.
pub struct PlayerReport {
    pub latency_us: Histogram<u64>,
    pub statuses: BTreeMap<String, u64>,
    pub calls: u64,
    pub retries: u64,
    pub duplicates: u64,
    pub early_rollbacks: u64,
    pub rounds: u64,
    pub mismatches: Vec<String>,
    mismatch_count: u64,
    expected_balance: i64,
    player_token: String,
}

/// An answer the simulator got in the end (after its retries), or none at all.
enum Outcome {
    Answered { status: String, balance: Option<i64> },
    NoAnswer,
}

impl SimPlayer {
    pub fn new(
        index: usize,
        options: &ProviderSimOptions,
        client: reqwest::Client,
        launched: Launched,
        game: &SimGame,
    ) -> SimPlayer {
        let player_token = launched.player_token.clone();
        SimPlayer {
            run: options.run_id.clone(),
            index,
            client,
            url: options.url.clone(),
            provider: options.provider.clone(),
            secret: options.secret.clone(),
            launched,
            bet_min_micros: game.bet_min_micros,
            bet_max_micros: game.bet_max_micros.min(game.bet_min_micros * 100),
            rng: StdRng::seed_from_u64(options.seed.wrapping_mul(1_000_003).wrapping_add(index as u64)),
            expected_balance: 0,
            report: PlayerReport {
                latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
                statuses: BTreeMap::new(),
                calls: 0,
                retries: 0,
                duplicates: 0,
                early_rollbacks: 0,
                rounds: 0,
                mismatches: Vec::new(),
                mismatch_count: 0,
                expected_balance: 0,
                player_token,
            },
        }
    }

    /// The balance the wallet starts from, through the protocol's balance call.
    pub async fn read_opening_balance(&mut self) -> anyhow::Result<()> {
        let body = json!({ "player_id": self.launched.player_id });
        match self.call("balance", &body).await {
            Outcome::Answered {
                balance: Some(balance), ..
            } => {
                self.expected_balance = balance;
                Ok(())
            }
            _ => anyhow::bail!("player {} got no opening balance", self.index),
        }
    }

    pub async fn play_until(mut self, deadline: tokio::time::Instant) -> PlayerReport {
        let mut round = 0u64;
        while tokio::time::Instant::now() < deadline {
            self.play_round(round).await;
            round += 1;
        }
        self.report.rounds = round;
        self.report.expected_balance = self.expected_balance;
        self.report
    }

    async fn play_round(&mut self, round: u64) {
        // Unique across runs too: a provider never reuses a transaction id, and ours derive from the round.
        let round_id = format!("{}-p{}-r{round}", self.run, self.index);
        let bets = if self.rng.gen_bool(0.2) { 2 } else { 1 };
        let mut standing = Vec::new();
        for bet in 0..bets {
            let transaction = format!("{round_id}-b{bet}");
            let amount = self.rng.gen_range(self.bet_min_micros..=self.bet_max_micros);
            if self.rng.gen_bool(0.02) {
                self.rollback_before_bet(&round_id, &transaction, amount).await;
                continue;
            }
            if self.place_bet(&round_id, &transaction, amount).await {
                standing.push((transaction, amount));
            }
        }
        if standing.is_empty() {
            return;
        }
        if self.rng.gen_bool(0.05) {
            let (transaction, amount) = standing.pop().expect("a standing bet");
            self.roll_back(&transaction, Some(amount)).await;
        }
        let staked: i64 = standing.iter().map(|(_, amount)| amount).sum();
        if staked > 0 {
            let percent = match self.rng.gen_range(0..100) {
                0..=59 => 0,
                60..=94 => self.rng.gen_range(50..=500),
                _ => self.rng.gen_range(1_000..=10_000),
            };
            let win = staked * percent / 100;
            let closes = self.rng.gen_bool(0.7);
            self.credit(&round_id, &format!("{round_id}-w"), win, closes).await;
            if !closes {
                self.end_round(&round_id).await;
            }
        } else {
            // Every bet was rolled back: nothing to settle, but the round ends.
            self.end_round(&round_id).await;
        }
    }

    /// A bet; true when the wallet took it.
    async fn place_bet(&mut self, round_id: &str, transaction: &str, amount: i64) -> bool {
        let body = json!({
            "player_id": self.launched.player_id, "token": self.launched.session_token, "game_code": SIM_GAME_CODE,
            "round_id": round_id, "transaction_id": transaction, "amount": amount,
            "currency": "USD", "request_id": format!("{transaction}-req"),
        });
        match self.money_call("bet", &body).await {
            Outcome::Answered { status, balance } if status == "ok" => {
                self.expected_balance -= amount;
                self.check_balance(transaction, balance);
                true
            }
            Outcome::Answered { status, balance } => {
                if status != "not_enough_money" {
                    self.mismatch(format!("bet {transaction} refused: {status}"));
                }
                self.check_balance(transaction, balance);
                false
            }
            // Real providers roll back a bet they never heard back about.
            Outcome::NoAnswer => {
                self.roll_back(transaction, None).await;
                false
            }
        }
    }

    /// A rollback that overtakes its bet: success, and the bet arriving after it must be refused.
    async fn rollback_before_bet(&mut self, round_id: &str, transaction: &str, amount: i64) {
        self.report.early_rollbacks += 1;
        self.roll_back(transaction, None).await;
        let body = json!({
            "player_id": self.launched.player_id, "token": self.launched.session_token, "game_code": SIM_GAME_CODE,
            "round_id": round_id, "transaction_id": transaction, "amount": amount, "currency": "USD",
        });
        match self.money_call("bet", &body).await {
            Outcome::Answered { status, balance } => {
                if status != "transaction_rolled_back" {
                    self.mismatch(format!("bet {transaction} after its rollback answered {status}"));
                }
                self.check_balance(transaction, balance);
            }
            Outcome::NoAnswer => self.mismatch(format!("bet {transaction} after its rollback got no answer")),
        }
    }

    /// Rolls a bet back; `stake` is what it took when the wallet is known to have taken it.
    async fn roll_back(&mut self, bet: &str, stake: Option<i64>) {
        let transaction = format!("{bet}-x");
        let body = json!({
            "player_id": self.launched.player_id, "transaction_id": transaction, "bet_transaction_id": bet,
        });
        match self.money_call("rollback", &body).await {
            Outcome::Answered { status, balance } if status == "ok" => {
                // A bet never heard back about (no stake known): whether it was taken or not, after its
                // rollback the balance is what it was before it.
                if let Some(stake) = stake {
                    self.expected_balance += stake;
                }
                self.check_balance(&transaction, balance);
            }
            Outcome::Answered { status, .. } => self.mismatch(format!("rollback {transaction} answered {status}")),
            Outcome::NoAnswer => self.mismatch(format!("rollback {transaction} got no answer")),
        }
    }

    async fn credit(&mut self, round_id: &str, transaction: &str, amount: i64, closes: bool) {
        let body = json!({
            "player_id": self.launched.player_id, "game_code": SIM_GAME_CODE, "round_id": round_id,
            "transaction_id": transaction, "amount": amount, "currency": "USD", "round_closed": closes,
        });
        match self.money_call("win", &body).await {
            Outcome::Answered { status, balance } if status == "ok" => {
                self.expected_balance += amount;
                self.check_balance(transaction, balance);
            }
            Outcome::Answered { status, .. } => self.mismatch(format!("win {transaction} answered {status}")),
            Outcome::NoAnswer => self.mismatch(format!("win {transaction} got no answer")),
        }
    }

    async fn end_round(&mut self, round_id: &str) {
        let body = json!({ "player_id": self.launched.player_id, "round_id": round_id });
        if let Outcome::Answered { status, .. } = self.call("end_round", &body).await {
            if status != "ok" {
                self.mismatch(format!("end of round {round_id} answered {status}"));
            }
        }
    }

    /// A money call, sometimes sent as two copies at once (both must answer alike).
    async fn money_call(&mut self, operation: &str, body: &Value) -> Outcome {
        if !self.rng.gen_bool(0.05) {
            return self.call(operation, body).await;
        }
        self.report.duplicates += 1;
        let mut twin = self.twin();
        let (first, second) = futures_util::join!(self.call(operation, body), twin.call(operation, body));
        self.absorb(twin);
        if let (Outcome::Answered { status: a, balance: x }, Outcome::Answered { status: b, balance: y }) =
            (&first, &second)
        {
            if a != b || x != y {
                self.mismatch(format!(
                    "two copies of one {operation} answered {a}/{x:?} and {b}/{y:?}"
                ));
            }
        }
        match first {
            Outcome::NoAnswer => second,
            answered => answered,
        }
    }

    /// Sends one call, retrying (with jitter, the same transaction, a fresh signature) after a timeout,
    /// a broken connection or an `unavailable` answer.
    async fn call(&mut self, operation: &str, body: &Value) -> Outcome {
        let bytes = serde_json::to_vec(body).expect("JSON");
        for attempt in 1..=ATTEMPTS_MAX {
            if attempt > 1 {
                self.report.retries += 1;
                let pause = self.rng.gen_range(10..=RETRY_JITTER_MAX_MS);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            let timestamp = chrono::Utc::now().timestamp();
            let signature = sign(self.secret.as_bytes(), timestamp, &bytes);
            let started = Instant::now();
            let sent = self
                .client
                .post(format!("{}/rgs/{}/{operation}", self.url, self.provider))
                .header("Content-Type", "application/json")
                .header(SIGNATURE_HEADER, signature)
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .body(bytes.clone())
                .send()
                .await;
            self.report.calls += 1;
            let Ok(response) = sent else { continue };
            let Ok(answer) = response.json::<Value>().await else {
                continue;
            };
            let micros = started.elapsed().as_micros().max(1) as u64;
            let _ = self.report.latency_us.record(micros.min(60_000_000));
            let status = answer["status"].as_str().unwrap_or("no_status").to_owned();
            *self.report.statuses.entry(status.clone()).or_default() += 1;
            if status == "unavailable" {
                continue;
            }
            return Outcome::Answered {
                status,
                balance: answer["balance"].as_i64(),
            };
        }
        Outcome::NoAnswer
    }

    fn check_balance(&mut self, transaction: &str, balance: Option<i64>) {
        if balance != Some(self.expected_balance) {
            let expected = self.expected_balance;
            self.mismatch(format!(
                "{transaction}: the wallet says {balance:?}, the record says {expected}"
            ));
        }
    }

    fn mismatch(&mut self, text: String) {
        self.report.mismatch_count += 1;
        if self.report.mismatches.len() < MISMATCH_EXAMPLES_MAX {
            self.report.mismatches.push(format!("player {}: {text}", self.index));
        }
    }

    /// A second sender for a duplicate copy: the same player, its own report.
    fn twin(&self) -> SimPlayer {
        SimPlayer {
            run: self.run.clone(),
            index: self.index,
            client: self.client.clone(),
            url: self.url.clone(),
            provider: self.provider.clone(),
            secret: self.secret.clone(),
            launched: Launched {
                player_id: self.launched.player_id.clone(),
                player_token: self.launched.player_token.clone(),
                session_token: self.launched.session_token.clone(),
            },
            bet_min_micros: self.bet_min_micros,
            bet_max_micros: self.bet_max_micros,
            rng: StdRng::seed_from_u64(self.index as u64),
            expected_balance: self.expected_balance,
            report: PlayerReport {
                latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
                statuses: BTreeMap::new(),
                calls: 0,
                retries: 0,
                duplicates: 0,
                early_rollbacks: 0,
                rounds: 0,
                mismatches: Vec::new(),
                mismatch_count: 0,
                expected_balance: 0,
                player_token: String::new(),
            },
        }
    }

    fn absorb(&mut self, twin: SimPlayer) {
        let _ = self.report.latency_us.add(&twin.report.latency_us);
        for (status, count) in twin.report.statuses {
            *self.report.statuses.entry(status).or_default() += count;
        }
        self.report.calls += twin.report.calls;
        self.report.retries += twin.report.retries;
    }
}

impl PlayerReport {
    /// Reads the player's balance through the player API and compares it with the record; the number of
    /// mismatches (0 or 1).
    pub async fn check_final_balance(&mut self, client: &reqwest::Client, url: &str) -> anyhow::Result<u64> {
        let answer: Value = client
            .get(format!("{url}/api/v1/wallet/balance"))
            .bearer_auth(&self.player_token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let balance = answer["balance"].as_i64();
        if balance == Some(self.expected_balance) {
            return Ok(0);
        }
        self.mismatches.push(format!(
            "final balance {balance:?}, the simulator's record {}",
            self.expected_balance
        ));
        Ok(1)
    }

    pub fn mismatch_total(&self) -> u64 {
        self.mismatch_count
    }
}
