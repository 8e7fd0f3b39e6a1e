//! The provider wallet on one node: routes each provider call to the shard of its player, where calls
//! wait at most `providers.batch_delay_ms` for company and are decided and written together in one
//! Postgres transaction (see [`journal`]). Calls of one player are decided in arrival order on one shard
//! of a node; across nodes the player's account lock orders them.

use super::adapter::ProviderAdapter;
use super::journal::{self, BatchCall, Decided};
use super::model::{Answer, Operation, PlayerInfo, Status, WalletCall};
use crate::catalog::{self, ProviderRecord};
use crate::configuration::ProvidersSettings;
use crate::wallet::ledger::AccountId;
use crate::wallet::observer::BalanceChange;
use crate::wallet::Wallet;
use sqlx::{PgPool, Row};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// How long a node trusts its copy of a provider's record (an operator's change shows within it).
const PROVIDER_CACHE_TTL: Duration = Duration::from_secs(2);
/// The most providers a node keeps in its cache; past it the cache starts over.
const PROVIDER_CACHE_ENTRIES_MAX: usize = 1024;
/// Pause between attempts of a batch that failed on a database error.
const COMMIT_RETRY_BACKOFF: Duration = Duration::from_millis(50);

/// A cloneable handle to this node's provider wallet.
#[derive(Clone)]
pub struct ProviderWallet {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    shards: Vec<mpsc::Sender<Job>>,
    admission_timeout: Duration,
    providers: Mutex<HashMap<String, CachedProvider>>,
    settings: ProvidersSettings,
}

/// A provider's record as read at an instant (`None`: no such provider).
type CachedProvider = (Instant, Option<Arc<ProviderRecord>>);

struct Job {
    call: BatchCall,
    admitted_at: Instant,
    reply: oneshot::Sender<Decided>,
}

impl ProviderWallet {
    /// Starts the shard tasks on the current runtime.
    pub fn start(pool: PgPool, wallet: Wallet, settings: &ProvidersSettings) -> ProviderWallet {
        let shards = (0..settings.shard_count as usize)
            .map(|index| {
                let (sender, receiver) = mpsc::channel(settings.mailbox_capacity as usize);
                let shard = Shard {
                    index,
                    pool: pool.clone(),
                    wallet: wallet.clone(),
                    currency: wallet.currency().as_str().to_owned(),
                    house_accounts: BTreeMap::new(),
                    games: journal::GameCache::default(),
                    batch_size_max: settings.batch_size_max as usize,
                    batch_delay: Duration::from_millis(settings.batch_delay_ms),
                    commit_attempts_max: settings.commit_attempts_max,
                };
                tokio::spawn(shard.run(receiver));
                sender
            })
            .collect();
        ProviderWallet {
            inner: Arc::new(Inner {
                pool,
                shards,
                admission_timeout: Duration::from_millis(settings.admission_timeout_ms),
                providers: Mutex::new(HashMap::new()),
                settings: settings.clone(),
            }),
        }
    }

    pub fn settings(&self) -> &ProvidersSettings {
        &self.inner.settings
    }

    /// A provider's record, cached for a moment; `None` when there is no such provider.
    pub async fn provider(&self, id: &str) -> Result<Option<Arc<ProviderRecord>>, sqlx::Error> {
        if let Some((at, record)) = self.inner.providers.lock().expect("not poisoned").get(id) {
            if at.elapsed() < PROVIDER_CACHE_TTL {
                return Ok(record.clone());
            }
        }
        let record = catalog::provider(&self.inner.pool, id).await?.map(Arc::new);
        let mut cache = self.inner.providers.lock().expect("not poisoned");
        if cache.len() >= PROVIDER_CACHE_ENTRIES_MAX {
            cache.clear();
        }
        cache.insert(id.to_owned(), (Instant::now(), record.clone()));
        Ok(record)
    }

    /// Decides one authenticated, parsed call and renders its answer.
    pub async fn handle(
        &self,
        provider: Arc<ProviderRecord>,
        adapter: Arc<dyn ProviderAdapter>,
        call: WalletCall,
    ) -> Decided {
        let started = Instant::now();
        let operation = call.operation;
        let provider_id = provider.id.clone();
        let decided = match operation {
            Operation::Balance | Operation::UserInfo => self.read_only(adapter, call).await,
            _ => self.submit(provider, adapter, call).await,
        };
        metrics::counter!("provider_calls_total", "provider" => provider_id, "operation" => operation.as_str(),
            "status" => decided.answer.status.code())
        .increment(1);
        metrics::histogram!("provider_call_seconds", "operation" => operation.as_str())
            .record(started.elapsed().as_secs_f64());
        decided
    }

    async fn submit(
        &self,
        provider: Arc<ProviderRecord>,
        adapter: Arc<dyn ProviderAdapter>,
        call: WalletCall,
    ) -> Decided {
        let shard = &self.inner.shards[shard_of(&call.player, self.inner.shards.len())];
        let (reply, answer) = oneshot::channel();
        let job = Job {
            call: BatchCall {
                provider,
                adapter: adapter.clone(),
                call: call.clone(),
            },
            admitted_at: Instant::now(),
            reply,
        };
        let unavailable = |message: &str| {
            let answer = Answer::refused(Status::Unavailable, Some(&call), message);
            render(adapter.as_ref(), &call, answer)
        };
        if shard.send_timeout(job, self.inner.admission_timeout).await.is_err() {
            return unavailable("the provider wallet is overloaded; retry with the same transaction id");
        }
        match answer.await {
            Ok(decided) => decided,
            Err(_) => unavailable("the provider wallet stopped; retry with the same transaction id"),
        }
    }

    /// A balance or a player's details: read without locking (nothing moves).
    async fn read_only(&self, adapter: Arc<dyn ProviderAdapter>, call: WalletCall) -> Decided {
        let answer = match read_player(&self.inner.pool, &call).await {
            Ok(Some((info, currency, balance))) => Answer {
                status: Status::Ok,
                player: call.player.clone(),
                currency: Some(currency),
                balance_micros: Some(balance),
                transaction_id: None,
                ledger_transfer_id: None,
                replayed: false,
                message: String::new(),
                info: (call.operation == Operation::UserInfo).then_some(info),
            },
            Ok(None) => Answer::refused(Status::UnknownPlayer, Some(&call), "no such player"),
            Err(error) => {
                tracing::warn!(%error, "a provider balance read failed");
                Answer::refused(Status::Unavailable, Some(&call), "the wallet is unavailable; retry")
            }
        };
        render(adapter.as_ref(), &call, answer)
    }
}

fn render(adapter: &dyn ProviderAdapter, call: &WalletCall, answer: Answer) -> Decided {
    let rendered = adapter.render(call.operation, Some(call), &answer);
    Decided {
        answer,
        http_status: rendered.http_status,
        body: rendered.body,
    }
}

async fn read_player(pool: &PgPool, call: &WalletCall) -> Result<Option<(PlayerInfo, String, i64)>, sqlx::Error> {
    let Ok(player_id) = Uuid::parse_str(&call.player) else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT p.id, p.username, p.created_at, a.currency, a.balance
         FROM players p JOIN accounts a ON a.id = p.account_id WHERE p.id = $1",
    )
    .bind(player_id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let info = PlayerInfo {
        player_id: row.try_get("id")?,
        username: row.try_get("username")?,
        registered_at: row.try_get("created_at")?,
    };
    Ok(Some((info, row.try_get("currency")?, row.try_get("balance")?)))
}

/// The shard a player's calls are decided on (FNV-1a of the id as the provider sent it).
fn shard_of(player: &str, shards: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in player.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % shards as u64) as usize
}

struct Shard {
    index: usize,
    pool: PgPool,
    wallet: Wallet,
    currency: String,
    /// Each provider's house account for this shard, created on first use.
    house_accounts: BTreeMap<String, AccountId>,
    games: journal::GameCache,
    batch_size_max: usize,
    batch_delay: Duration,
    commit_attempts_max: u32,
}

impl Shard {
    async fn run(mut self, mut receiver: mpsc::Receiver<Job>) {
        while let Some(first) = receiver.recv().await {
            let mut jobs = vec![first];
            let deadline = tokio::time::Instant::now() + self.batch_delay;
            while jobs.len() < self.batch_size_max {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(job)) => jobs.push(job),
                    Ok(None) | Err(_) => break,
                }
            }
            self.commit(jobs).await;
        }
    }

    async fn commit(&mut self, jobs: Vec<Job>) {
        metrics::histogram!("provider_batch_size").record(jobs.len() as f64);
        let (calls, replies): (Vec<BatchCall>, Vec<(Instant, oneshot::Sender<Decided>)>) = jobs
            .into_iter()
            .map(|job| (job.call, (job.admitted_at, job.reply)))
            .unzip();
        let decided = self.commit_with_retries(&calls).await;
        let decided = decided.unwrap_or_else(|| {
            calls
                .iter()
                .map(|batch_call| {
                    let call = &batch_call.call;
                    let answer = Answer::refused(
                        Status::Unavailable,
                        Some(call),
                        "the wallet could not record the call; retry with the same transaction id",
                    );
                    render(batch_call.adapter.as_ref(), call, answer)
                })
                .collect()
        });
        for ((admitted_at, reply), decided) in replies.into_iter().zip(decided) {
            metrics::histogram!("provider_call_queue_seconds").record(admitted_at.elapsed().as_secs_f64());
            let _ = reply.send(decided);
        }
    }

    /// `None` when every attempt failed: the calls are answered as unavailable, and nothing was written.
    async fn commit_with_retries(&mut self, calls: &[BatchCall]) -> Option<Vec<Decided>> {
        for attempt in 1..=self.commit_attempts_max {
            let result = match self.ensure_house_accounts(calls).await {
                Ok(()) => {
                    journal::commit_batch(&self.pool, self.index, &self.house_accounts, &mut self.games, calls).await
                }
                Err(error) => Err(error),
            };
            match result {
                Ok(Some((decided, changes))) => {
                    for change in changes {
                        self.wallet.report_balance(change);
                    }
                    return Some(decided);
                }
                Ok(None) => tracing::debug!(attempt, "a provider batch met a concurrent write; deciding it again"),
                Err(error) => {
                    tracing::warn!(%error, attempt, shard = self.index, "a provider batch failed to commit");
                    tokio::time::sleep(COMMIT_RETRY_BACKOFF * attempt).await;
                }
            }
        }
        None
    }

    async fn ensure_house_accounts(&mut self, calls: &[BatchCall]) -> Result<(), sqlx::Error> {
        for batch_call in calls {
            let provider = &batch_call.provider.id;
            if !self.house_accounts.contains_key(provider) {
                let account = journal::ensure_house_account(&self.pool, provider, &self.currency, self.index).await?;
                self.house_accounts.insert(provider.clone(), account);
            }
        }
        Ok(())
    }
}

/// Reported after a batch commits, so the players' pages show their new balances.
pub type BalanceChanges = Vec<BalanceChange>;
