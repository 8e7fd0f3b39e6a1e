//! The wallet: a double-entry ledger in Postgres, written through shard actors that batch operations.
//! Callers use the cloneable [`Wallet`] handle; it routes each transfer to the shard of its player.

pub mod audit;
pub mod batch;
pub mod bench;
pub mod bonus;
pub mod guard;
pub mod history;
pub mod ledger;
pub mod observer;
pub mod shard;
pub mod store;

use crate::configuration::WalletSettings;
use crate::db::Database;
use crate::money::{Amount, Currency};
use actix::{Actor, Addr};
use bonus::StakeOrder;
use ledger::{AccountId, IdempotencyKey, TransferError, TransferKind, TransferReceipt, TransferRequest};
use observer::BalanceFeed;
use shard::{Drain, ShardLimits, SubmitTransfer, WalletShard};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use store::{LedgerStore, SystemAccounts};
use tokio::sync::{oneshot, Semaphore};

/// A cloneable handle to this node's wallet shards.
#[derive(Clone)]
pub struct Wallet {
    inner: Arc<WalletInner>,
}

struct WalletInner {
    shards: Vec<ShardHandle>,
    system: SystemAccounts,
    currency: Currency,
    admission_timeout: Duration,
    /// Where the shards report the balances their posted transfers leave; set once at start-up.
    balances: Arc<OnceLock<BalanceFeed>>,
}

struct ShardHandle {
    addr: Addr<WalletShard>,
    /// Bounds the operations admitted to the shard and not yet answered: the shard's real mailbox.
    admission: Arc<Semaphore>,
    mailbox_capacity: usize,
}

impl Wallet {
    /// Creates the system accounts if needed and starts the shard actors on the current arbiter; bonus
    /// players' stakes take cash first.
    pub async fn start(database: &Database, settings: &WalletSettings, currency: Currency) -> anyhow::Result<Wallet> {
        Wallet::start_with(database, settings, currency, StakeOrder::default()).await
    }

    /// [`Wallet::start`] with the order in which bonus players' stakes take cash and bonus money.
    pub async fn start_with(
        database: &Database,
        settings: &WalletSettings,
        currency: Currency,
        stake_order: StakeOrder,
    ) -> anyhow::Result<Wallet> {
        let store = LedgerStore::new(database.writer.clone(), stake_order);
        let system = store.ensure_system_accounts(&currency, settings.shard_count).await?;
        let limits = ShardLimits {
            batch_size_max: settings.batch_size_max as usize,
            batch_delay: Duration::from_millis(settings.batch_delay_ms),
            commit_attempts_max: settings.commit_attempts_max,
            commit_retry_backoff: Duration::from_millis(settings.commit_retry_backoff_ms),
            commit_retry_window: Duration::from_millis(settings.commit_retry_window_ms),
        };
        let balances = Arc::new(OnceLock::new());
        let shards = (0..settings.shard_count as usize)
            .map(|index| ShardHandle {
                addr: WalletShard::new(index, store.clone(), limits, balances.clone()).start(),
                admission: Arc::new(Semaphore::new(settings.mailbox_capacity as usize)),
                mailbox_capacity: settings.mailbox_capacity as usize,
            })
            .collect();
        Ok(Wallet {
            inner: Arc::new(WalletInner {
                shards,
                system,
                currency,
                admission_timeout: Duration::from_millis(settings.admission_timeout_ms),
                balances,
            }),
        })
    }

    /// From now on, every posted transfer reports the new balance of its player account to `feed` (see
    /// [`observer`]). Set once, at start-up; false (and nothing changes) when a feed was already set.
    pub fn report_balances_to(&self, feed: BalanceFeed) -> bool {
        self.inner.balances.set(feed).is_ok()
    }

    /// Reports a balance that moved outside the shards (a provider's call, posted in its own batch) to
    /// the feed set with [`Wallet::report_balances_to`], if any.
    pub fn report_balance(&self, change: observer::BalanceChange) {
        if let Some(feed) = self.inner.balances.get() {
            feed.report(change);
        }
    }

    /// How many operations each shard holds right now (admitted and not yet answered), by shard index.
    pub fn mailbox_depths(&self) -> Vec<usize> {
        self.inner
            .shards
            .iter()
            .map(|shard| {
                shard
                    .mailbox_capacity
                    .saturating_sub(shard.admission.available_permits())
            })
            .collect()
    }

    pub fn currency(&self) -> &Currency {
        &self.inner.currency
    }

    pub fn treasury(&self) -> AccountId {
        self.inner.system.treasury
    }

    /// The shard a player's operations are serialized on.
    pub fn shard_of(&self, player: AccountId) -> usize {
        shard_index(player, self.inner.shards.len())
    }

    /// The house sub-account that takes a player's stakes and pays their wins.
    pub fn house_for(&self, player: AccountId) -> AccountId {
        self.inner.system.house[self.shard_of(player)]
    }

    /// A stake: from the player to the house sub-account that serves them.
    pub fn stake_request(
        &self,
        player: AccountId,
        amount: Amount,
        key: IdempotencyKey,
        reference: String,
    ) -> TransferRequest {
        transfer_request(
            (player, self.house_for(player)),
            amount,
            TransferKind::Bet,
            key,
            reference,
        )
    }

    /// A win or a refund: from the house sub-account that serves the player to the player. `settles` is
    /// the key of the stake it pays for: a stake paid partly with bonus money pays back in the same
    /// proportion (None: all cash, as for providers, whose stakes are cash only).
    pub fn payout_request(
        &self,
        player: AccountId,
        amount: Amount,
        kind: TransferKind,
        key: IdempotencyKey,
        reference: String,
        settles: Option<IdempotencyKey>,
    ) -> TransferRequest {
        let mut request = transfer_request((self.house_for(player), player), amount, kind, key, reference);
        request.settles = settles;
        request
    }

    /// The treasury pool sub-account that pays a player's bonuses and receives their purchases.
    pub fn treasury_pool_for(&self, player: AccountId) -> AccountId {
        self.inner.system.treasury_pools[self.shard_of(player)]
    }

    /// Every treasury pool sub-account, by shard index.
    pub fn treasury_pools(&self) -> &[AccountId] {
        &self.inner.system.treasury_pools
    }

    fn is_system_account(&self, account: AccountId) -> bool {
        let system = &self.inner.system;
        account == system.treasury || system.house.contains(&account) || system.treasury_pools.contains(&account)
    }

    /// Moves money. The transfer is routed by its player side (the side that is not a system account).
    pub async fn transfer(&self, request: TransferRequest) -> Result<TransferReceipt, TransferError> {
        let player = if self.is_system_account(request.debit) {
            request.credit
        } else {
            request.debit
        };
        let reported = (!self.is_system_account(player)).then_some(player);
        self.submit(self.shard_of(player), reported, request).await
    }

    /// Moves money on `player`'s shard: for a transfer whose non-system side is not the player's cash
    /// account (a bonus grant credits their bonus account), so it is serialized with their stakes.
    pub async fn transfer_for(
        &self,
        player: AccountId,
        request: TransferRequest,
    ) -> Result<TransferReceipt, TransferError> {
        self.submit(self.shard_of(player), None, request).await
    }

    async fn submit(
        &self,
        shard: usize,
        player: Option<AccountId>,
        request: TransferRequest,
    ) -> Result<TransferReceipt, TransferError> {
        let shard = &self.inner.shards[shard];
        let permit = tokio::time::timeout(self.inner.admission_timeout, shard.admission.clone().acquire_owned())
            .await
            .map_err(|_| TransferError::Overloaded)?
            .map_err(|_| TransferError::ShuttingDown)?;
        let (reply, answer) = oneshot::channel();
        shard.addr.do_send(SubmitTransfer {
            request,
            player,
            reply,
            admission: permit,
        });
        answer
            .await
            .unwrap_or_else(|_| Err(TransferError::Unavailable("the wallet shard stopped".into())))
    }

    /// Credits a player from the treasury (an operator deposit or a development top-up).
    pub async fn credit_from_treasury(
        &self,
        player: AccountId,
        amount: Amount,
        kind: TransferKind,
        key: IdempotencyKey,
        reference: String,
    ) -> Result<TransferReceipt, TransferError> {
        self.transfer(transfer_request(
            (self.treasury(), player),
            amount,
            kind,
            key,
            reference,
        ))
        .await
    }

    /// Stops admitting operations and waits until every shard has committed what it had queued.
    pub async fn drain(&self) {
        for shard in &self.inner.shards {
            shard.admission.close();
        }
        for shard in &self.inner.shards {
            let (done, finished) = oneshot::channel();
            if shard.addr.send(Drain { done }).await.is_ok() {
                let _ = finished.await;
            }
        }
    }
}

/// A request moving `amount` from the first account of `accounts` to the second.
fn transfer_request(
    (debit, credit): (AccountId, AccountId),
    amount: Amount,
    kind: TransferKind,
    key: IdempotencyKey,
    reference: String,
) -> TransferRequest {
    TransferRequest {
        key,
        debit,
        credit,
        amount,
        kind,
        reference,
        settles: None,
    }
}

/// Spreads account ids evenly over shards (splitmix64 finalizer), so sequential ids do not cluster.
pub fn shard_index(account: AccountId, shard_count: usize) -> usize {
    let mut mixed = account.0 as u64;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^= mixed >> 31;
    (mixed % shard_count as u64) as usize
}
