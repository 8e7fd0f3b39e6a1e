//! Postgres I/O of the wallet: one transaction per batch. A batch first tries the fast path: read its
//! accounts (with their players' guards) unlocked, let the pure planner decide, and write balances by
//! compare-and-set on each row's version together with the new transfer rows in one statement. If
//! another node changed one of those rows (a balance, or a player's guard, whose writers touch the row),
//! or one of the keys was already stored, the fast path rolls back and the locked path runs: it reads
//! the stored rows of the batch's keys, locks the accounts in id order (so concurrent batches on any node
//! never deadlock), plans and writes.

use super::batch::{plan_batch, BatchInputs, BatchPlan};
use super::bonus::{self, BonusBook, StakeOrder};
use super::guard::{self, PlayerGuard};
use super::ledger::{
    AccountId, AccountKind, AccountState, IdempotencyKey, RejectionCode, StoredOutcome, StoredTransfer, TransferError,
    TransferKind, TransferReceipt, TransferRequest,
};
use crate::money::{Amount, Balance, Currency};
use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Row, Transaction};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// Attempts of the locked path for one batch; see `commit_batch`.
const LOCKED_ATTEMPTS_MAX: u32 = 3;

/// SQLSTATE of a deadlock Postgres broke by aborting one of the transactions.
const DEADLOCK_DETECTED: &str = "40P01";

/// The row lock every writer of `accounts` takes before it changes a balance. Not `FOR UPDATE`: that one
/// also blocks the `FOR KEY SHARE` lock a foreign key check takes on the account a new row refers to (a
/// bet, a slot round; a transfer's accounts have an unlocked check since issue 18), and such a check runs
/// after the writer's own balance locks, out of id order. A batch holding a house row then waited for a
/// locked batch holding a player row its new transfer row named, the locked batch waited for the house row,
/// and Postgres broke the cycle only after `deadlock_timeout` (1 s): the abuse smoke's bet
/// acknowledgements, CI run 21. Balances are not keys, so this lock still excludes every other balance
/// writer. The other writers (the providers' journal, purchases, bonus accounts) spell the same lock out in
/// their SQL.
pub const ACCOUNT_ROW_LOCK: &str = "FOR NO KEY UPDATE";

/// The ledger's own accounts: one root treasury (where deposits come from), and per wallet shard one
/// house sub-account and one treasury pool sub-account, so that shards never queue behind each other on
/// a single hot row.
#[derive(Debug, Clone)]
pub struct SystemAccounts {
    pub treasury: AccountId,
    pub house: Vec<AccountId>,
    pub treasury_pools: Vec<AccountId>,
}

/// Writes batches to the primary.
#[derive(Clone, Debug)]
pub struct LedgerStore {
    pool: PgPool,
    /// Which part of a bonus player's money their stakes take first (`[bonus] stake_order`).
    stake_order: StakeOrder,
}

/// A batch's answers, one per request in order.
pub type BatchOutcomes = Vec<Result<TransferReceipt, TransferError>>;

impl LedgerStore {
    pub fn new(pool: PgPool, stake_order: StakeOrder) -> LedgerStore {
        LedgerStore { pool, stake_order }
    }

    /// Creates the root treasury and `shard_count` house and treasury pool sub-accounts if they do not
    /// exist yet.
    pub async fn ensure_system_accounts(
        &self,
        currency: &Currency,
        shard_count: u32,
    ) -> anyhow::Result<SystemAccounts> {
        let treasury = self
            .ensure_account(&format!("treasury:{currency}"), AccountKind::Treasury, currency)
            .await?;
        let mut house = Vec::with_capacity(shard_count as usize);
        let mut treasury_pools = Vec::with_capacity(shard_count as usize);
        for index in 0..shard_count {
            let code = format!("house:{currency}:{index}");
            house.push(self.ensure_account(&code, AccountKind::House, currency).await?);
            let code = format!("treasury_pool:{currency}:{index}");
            treasury_pools.push(self.ensure_account(&code, AccountKind::TreasuryPool, currency).await?);
        }
        Ok(SystemAccounts {
            treasury,
            house,
            treasury_pools,
        })
    }

    async fn ensure_account(&self, code: &str, kind: AccountKind, currency: &Currency) -> anyhow::Result<AccountId> {
        sqlx::query("INSERT INTO accounts (code, kind, currency) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING")
            .bind(code)
            .bind(kind.as_str())
            .bind(currency.as_str())
            .execute(&self.pool)
            .await
            .with_context(|| format!("failed to create system account {code}"))?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM accounts WHERE code = $1")
            .bind(code)
            .fetch_one(&self.pool)
            .await
            .with_context(|| format!("failed to read system account {code}"))?;
        Ok(AccountId(id))
    }

    /// Commits one batch in one transaction and returns every request's answer.
    ///
    /// The fast path reads the balances without locking them and writes with compare-and-set, which
    /// saves a round trip and a row-lock record per account. When anything it assumed turns out wrong
    /// (another node moved one of the balances, or a key was already used) it rolls back and the batch
    /// goes through the locked path, which cannot be surprised.
    #[tracing::instrument(skip_all, fields(batch_size = requests.len()))]
    pub async fn commit_batch(&self, requests: &[TransferRequest]) -> Result<BatchOutcomes, sqlx::Error> {
        match self.commit_optimistic(requests).await {
            Ok(Some(outcomes)) => return Ok(outcomes),
            Ok(None) => {}
            // Unlocked updates take row locks in no fixed order, so two nodes can deadlock on a shared
            // house row; the locked path orders its locks and cannot.
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(DEADLOCK_DETECTED) => {}
            Err(error) => return Err(error),
        }
        // Only another node storing one of our keys between our read and our insert makes the locked
        // path miss; the next attempt sees that key and replays it.
        for _ in 0..LOCKED_ATTEMPTS_MAX {
            if let Some(outcomes) = self.commit_locked(requests).await? {
                return Ok(outcomes);
            }
        }
        Err(sqlx::Error::Protocol(
            "a locked batch kept meeting concurrent inserts of its keys".into(),
        ))
    }

    async fn commit_optimistic(&self, requests: &[TransferRequest]) -> Result<Option<BatchOutcomes>, sqlx::Error> {
        let no_existing = HashMap::new();
        let account_ids = involved_accounts(requests, no_existing.values());
        let mut transaction = self.pool.begin_with(BEGIN_BATCH_SQL).await?;
        let read = read_accounts(&mut transaction, &account_ids, Lock::None).await?;
        let book = bonus::store::load_book(&mut transaction, requests, &read.accounts, self.stake_order, false).await?;
        let plan = plan_batch(
            requests,
            &inputs(&no_existing, &read.accounts, &read.guards, &book),
            Uuid::now_v7,
        );
        write_and_commit(transaction, plan, &read).await
    }

    async fn commit_locked(&self, requests: &[TransferRequest]) -> Result<Option<BatchOutcomes>, sqlx::Error> {
        let mut transaction = self.pool.begin_with(BEGIN_BATCH_SQL).await?;
        let existing = load_existing(&mut transaction, requests).await?;
        let account_ids = involved_accounts(requests, existing.values());
        let read = read_accounts(&mut transaction, &account_ids, Lock::ForUpdate)
            .await?
            .with_guards_reloaded(&mut transaction)
            .await?;
        // The bonus rows are read after their players' accounts are locked, and every writer of them
        // holds that lock too.
        let book = bonus::store::load_book(&mut transaction, requests, &read.accounts, self.stake_order, true).await?;
        // The rows are locked and the keys were read in this transaction, so only another node storing one
        // of our keys at the same moment makes this write miss. Every writer of a guard holds its player's
        // account row, so the guards reloaded under the lock stay as they are, too.
        let plan = plan_batch(
            requests,
            &inputs(&existing, &read.accounts, &read.guards, &book),
            Uuid::now_v7,
        );
        write_and_commit(transaction, plan, &read).await
    }
}

/// Writes a plan and commits when every row landed as planned; otherwise rolls back and answers `None`
/// (a balance moved or a key was stored meanwhile), so the caller can take the next path.
async fn write_and_commit(
    mut transaction: Transaction<'_, Postgres>,
    plan: BatchPlan,
    read: &ReadAccounts,
) -> Result<Option<BatchOutcomes>, sqlx::Error> {
    let written = write_plan(&mut transaction, &plan, read).await?;
    // Compared and set like the balances: a guard or a wagering progress that changed since it was read
    // sends the batch down the next path.
    let guards_matched = guard::store::write_guard_usage(&mut transaction, &plan.guard_usage).await?;
    let progress_written = bonus::store::write_bonus_progress(&mut transaction, &plan.bonus_progress).await?;
    let progress_matched = progress_written == plan.bonus_progress.len() as i64;
    if written != expected_writes(&plan) || !guards_matched || !progress_matched {
        transaction.rollback().await?;
        return Ok(None);
    }
    transaction.commit().await?;
    Ok(Some(plan.outcomes))
}

fn inputs<'a>(
    existing: &'a HashMap<IdempotencyKey, StoredTransfer>,
    accounts: &'a HashMap<AccountId, AccountState>,
    guards: &'a HashMap<AccountId, PlayerGuard>,
    bonuses: &'a BonusBook,
) -> BatchInputs<'a> {
    BatchInputs {
        existing,
        accounts,
        guards,
        now: Utc::now(),
        bonuses,
    }
}

/// (accounts updated, transfers inserted)
type WriteCounts = (i64, i64);

fn expected_writes(plan: &BatchPlan) -> WriteCounts {
    (plan.balance_deltas.len() as i64, plan.new_rows.len() as i64)
}

fn involved_accounts<'a>(requests: &[TransferRequest], existing: impl Iterator<Item = &'a StoredTransfer>) -> Vec<i64> {
    let mut ids = BTreeSet::new();
    for request in requests.iter().chain(existing.map(|row| &row.request)) {
        ids.insert(request.debit.0);
        ids.insert(request.credit.0);
    }
    ids.into_iter().collect()
}

async fn load_existing(
    transaction: &mut Transaction<'_, Postgres>,
    requests: &[TransferRequest],
) -> Result<HashMap<IdempotencyKey, StoredTransfer>, sqlx::Error> {
    let keys: Vec<&str> = requests.iter().map(|request| request.key.as_str()).collect();
    let rows = sqlx::query(
        "SELECT id, idempotency_key, debit_account_id, credit_account_id, amount, kind, reference, status,
                rejection_code, debit_balance_after, credit_balance_after, created_at
         FROM transfers WHERE idempotency_key = ANY($1)",
    )
    .bind(&keys)
    .fetch_all(&mut **transaction)
    .await?;
    let mut existing = HashMap::with_capacity(rows.len());
    for row in rows {
        let stored = stored_transfer_from_row(&row)?;
        existing.insert(stored.request.key.clone(), stored);
    }
    Ok(existing)
}

/// Decodes a `transfers` row; a value the schema allows but the code does not know is a decode error.
pub(crate) fn stored_transfer_from_row(row: &sqlx::postgres::PgRow) -> Result<StoredTransfer, sqlx::Error> {
    let decode = |column: &str, message: String| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: message.into(),
    };
    let key: String = row.try_get("idempotency_key")?;
    let kind: String = row.try_get("kind")?;
    let amount: i64 = row.try_get("amount")?;
    let status: String = row.try_get("status")?;
    let outcome = if status == "posted" {
        StoredOutcome::Posted {
            debit_balance_after: Balance::from_micros(row.try_get("debit_balance_after")?),
            credit_balance_after: Balance::from_micros(row.try_get("credit_balance_after")?),
        }
    } else {
        let code: String = row.try_get("rejection_code")?;
        let code = RejectionCode::parse(&code).ok_or_else(|| decode("rejection_code", code))?;
        StoredOutcome::Rejected(code)
    };
    Ok(StoredTransfer {
        id: row.try_get("id")?,
        request: TransferRequest {
            key: IdempotencyKey::parse(&key).map_err(|_| decode("idempotency_key", key.clone()))?,
            debit: AccountId(row.try_get("debit_account_id")?),
            credit: AccountId(row.try_get("credit_account_id")?),
            amount: Amount::parse(amount).map_err(|error| decode("amount", error.to_string()))?,
            kind: TransferKind::parse(&kind).ok_or_else(|| decode("kind", kind.clone()))?,
            reference: row.try_get("reference")?,
            settles: None,
        },
        outcome,
        created_at: row.try_get::<DateTime<Utc>, _>("created_at")?,
    })
}

/// Whether reading accounts also locks them until the transaction ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lock {
    None,
    ForUpdate,
}

/// What a batch read of its accounts: their state, the guards of its guarded players (read in the same
/// statement, so players without one cost an index probe and no round trip) and each row's version.
struct ReadAccounts {
    accounts: HashMap<AccountId, AccountState>,
    guards: HashMap<AccountId, PlayerGuard>,
    /// The row version (`xmin`) each account was read at. The write compares it, so that any change of
    /// the row meanwhile is noticed: a balance, or a guard writer, which touches its player's row.
    versions: HashMap<AccountId, i64>,
}

impl ReadAccounts {
    /// Reads the players' guards again, now that their account rows are locked. A locking read that
    /// waited for a row lock re-reads only the locked row: the guard joined to it is as it was when the
    /// statement started, so a guard created by the transaction it waited for would be missed.
    async fn with_guards_reloaded(mut self, transaction: &mut Transaction<'_, Postgres>) -> Result<Self, sqlx::Error> {
        let players: Vec<i64> = self
            .accounts
            .values()
            .filter(|account| account.kind == AccountKind::Player)
            .map(|account| account.id.0)
            .collect();
        self.guards = guard::store::load_guards(transaction, &players).await?;
        Ok(self)
    }
}

async fn read_accounts(
    transaction: &mut Transaction<'_, Postgres>,
    ids: &[i64],
    lock: Lock,
) -> Result<ReadAccounts, sqlx::Error> {
    // Locks are taken in id order, so two batches locking overlapping accounts never deadlock. A bonus
    // player's bonus account (and a bonus account's player) come along: a stake may split onto it and a
    // grant may convert into cash. The bonus ids come from two init-plans (one index probe each), so the
    // accounts are still read by one index scan over `id = ANY(...)`.
    let sql = format!(
        "SELECT a.id, a.kind, a.currency, a.balance, a.xmin::text::int8 AS version, {guard}
         FROM accounts a LEFT JOIN player_guards g ON g.account_id = a.id AND a.kind = 'player'
         WHERE a.id = ANY($1::int8[]
                 || ARRAY(SELECT bonus_account_id FROM player_bonus WHERE player_account_id = ANY($1))
                 || ARRAY(SELECT player_account_id FROM player_bonus WHERE bonus_account_id = ANY($1))) {lock}",
        guard = guard::store::JOINED_COLUMNS,
        lock = match lock {
            Lock::None => String::new(),
            Lock::ForUpdate => format!("ORDER BY a.id {ACCOUNT_ROW_LOCK} OF a"),
        },
    );
    let rows = sqlx::query(&sql).bind(ids).fetch_all(&mut **transaction).await?;
    let mut read = ReadAccounts {
        accounts: HashMap::with_capacity(rows.len()),
        guards: HashMap::new(),
        versions: HashMap::with_capacity(rows.len()),
    };
    for row in rows {
        let kind: String = row.try_get("kind")?;
        let state = AccountState {
            id: AccountId(row.try_get("id")?),
            kind: AccountKind::parse(&kind).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "kind".into(),
                source: kind.clone().into(),
            })?,
            currency: row.try_get("currency")?,
            balance: Balance::from_micros(row.try_get("balance")?),
        };
        if let Some(guard) = guard::store::joined_guard(&row)? {
            read.guards.insert(state.id, guard);
        }
        read.versions.insert(state.id, row.try_get("version")?);
        read.accounts.insert(state.id, state);
    }
    Ok(read)
}

/// Writes a plan in one statement. Balances change by compare-and-set: a row that is no longer at the
/// version the plan read is skipped (the caller sees it in the counts), and the player condition repeats the
/// CHECK constraint. New rows go in with `ON CONFLICT DO NOTHING`: a key stored meanwhile is skipped.
///
/// The update takes its row locks in id order, so batches of several nodes, which share the house
/// accounts, never deadlock (nor against the other writers, which lock in id order too). It finds its
/// rows by an index scan of the primary key over the sorted ids, which returns (and so locks) them in id
/// order, joined to the sorted plan; `BEGIN_BATCH_SQL` keeps the planner from a sequential or bitmap
/// scan, which would lock in the table's physical order. A separate `SELECT … ORDER BY id` with the row lock
/// first gives the same order but writes a lock record per row before the update writes the row, and
/// cost about a third of the wallet's throughput (docs/BENCHMARKS.md, issue 18).
async fn write_plan(
    transaction: &mut Transaction<'_, Postgres>,
    plan: &BatchPlan,
    read: &ReadAccounts,
) -> Result<WriteCounts, sqlx::Error> {
    let accounts = &read.accounts;
    if plan.new_rows.is_empty() && plan.balance_deltas.is_empty() {
        return Ok((0, 0));
    }
    let mut ids = Vec::with_capacity(plan.balance_deltas.len());
    let mut olds = Vec::with_capacity(plan.balance_deltas.len());
    let mut news = Vec::with_capacity(plan.balance_deltas.len());
    let mut versions = Vec::with_capacity(plan.balance_deltas.len());
    for (id, delta) in &plan.balance_deltas {
        let old = accounts[id].balance.micros();
        ids.push(id.0);
        olds.push(old);
        news.push(old + delta);
        versions.push(read.versions[id]);
    }
    let mut columns = TransferColumns::default();
    for row in &plan.new_rows {
        columns.push(row, accounts);
    }
    debug_assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "the plan's accounts are sorted by id"
    );
    sqlx::query_as(WRITE_PLAN_SQL)
        .bind(&ids)
        .bind(&olds)
        .bind(&news)
        .bind(&columns.ids)
        .bind(&columns.keys)
        .bind(&columns.debits)
        .bind(&columns.credits)
        .bind(&columns.amounts)
        .bind(&columns.currencies)
        .bind(&columns.kinds)
        .bind(&columns.references)
        .bind(&columns.statuses)
        .bind(&columns.rejection_codes)
        .bind(&columns.debit_balances_after)
        .bind(&columns.credit_balances_after)
        .bind(&columns.player_accounts)
        .bind(&columns.created_at)
        .bind(&versions)
        .fetch_one(&mut **transaction)
        .await
}

/// `write_plan`'s statement: $1-$3 and $18 the balance changes sorted by account id (id, old balance,
/// new balance, row version), $4-$17 the columns of the new transfer rows.
pub const WRITE_PLAN_SQL: &str = "WITH updated AS (
         UPDATE accounts AS a SET balance = d.new, updated_at = now()
         FROM unnest($1::int8[], $2::int8[], $3::int8[], $18::int8[]) AS d(id, old, new, version)
         WHERE a.id = ANY($1) AND a.id = d.id AND a.balance = d.old AND a.xmin::text::int8 = d.version
           AND (a.kind IN ('house', 'treasury') OR d.new >= 0)
         RETURNING 1
     ), inserted AS (
         INSERT INTO transfers (id, idempotency_key, debit_account_id, credit_account_id, amount, currency, kind,
                                reference, status, rejection_code, debit_balance_after, credit_balance_after,
                                player_account_id, created_at)
         SELECT * FROM unnest($4::uuid[], $5::text[], $6::int8[], $7::int8[], $8::int8[], $9::text[], $10::text[],
                              $11::text[], $12::text[], $13::text[], $14::int8[], $15::int8[], $16::int8[],
                              $17::timestamptz[])
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING 1
     )
     SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM inserted)";

/// How a batch's transaction begins: with the plan settings under which `write_plan`'s update reads
/// `accounts` only through its primary key, in id order. For this transaction only, a sequential or
/// bitmap scan of the table is not considered (`enable_*` off only prices them out; the primary key
/// index always offers the other path). One simple query, so the settings cost no round trip of their
/// own. The test `wallet_update_locks_accounts_in_id_order` checks the plan.
pub const BEGIN_BATCH_SQL: &str = "BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off";

/// The columns of new transfer rows, one vector per column, for a single `unnest` insert.
#[derive(Default)]
struct TransferColumns {
    ids: Vec<Uuid>,
    keys: Vec<String>,
    debits: Vec<i64>,
    credits: Vec<i64>,
    amounts: Vec<i64>,
    currencies: Vec<String>,
    kinds: Vec<&'static str>,
    references: Vec<String>,
    statuses: Vec<&'static str>,
    rejection_codes: Vec<Option<&'static str>>,
    debit_balances_after: Vec<Option<i64>>,
    credit_balances_after: Vec<Option<i64>>,
    player_accounts: Vec<Option<i64>>,
    created_at: Vec<DateTime<Utc>>,
}

impl TransferColumns {
    fn push(&mut self, row: &StoredTransfer, accounts: &HashMap<AccountId, AccountState>) {
        let request = &row.request;
        let debit = &accounts[&request.debit];
        // A player's cash account first: a bonus conversion (bonus -> cash) belongs to the cash history.
        let sides = [request.debit, request.credit];
        let player_side = sides
            .into_iter()
            .find(|id| accounts[id].kind == AccountKind::Player)
            .or_else(|| sides.into_iter().find(|id| accounts[id].kind.belongs_to_player()));
        let currency = debit.currency.as_str();
        self.player_accounts.push(player_side.map(|id| id.0));
        self.ids.push(row.id);
        self.keys.push(request.key.as_str().to_owned());
        self.debits.push(request.debit.0);
        self.credits.push(request.credit.0);
        self.amounts.push(request.amount.micros());
        self.currencies.push(currency.to_owned());
        self.kinds.push(request.kind.as_str());
        self.references.push(request.reference.clone());
        self.created_at.push(row.created_at);
        match row.outcome {
            StoredOutcome::Posted {
                debit_balance_after,
                credit_balance_after,
            } => {
                self.statuses.push("posted");
                self.rejection_codes.push(None);
                self.debit_balances_after.push(Some(debit_balance_after.micros()));
                self.credit_balances_after.push(Some(credit_balance_after.micros()));
            }
            StoredOutcome::Rejected(code) => {
                self.statuses.push("rejected");
                self.rejection_codes.push(Some(code.as_str()));
                self.debit_balances_after.push(None);
                self.credit_balances_after.push(None);
            }
        }
    }
}

/// Posts `requests` inside a transaction its caller owns, so money moves together with the caller's own
/// rows (a purchase and its inventory): the locked path without begin or commit. It reads the stored
/// rows of the keys, locks the accounts in id order (the order every batch takes, so no deadlock),
/// plans and writes. `None` means a row did not land as planned (a key stored meanwhile by another
/// transaction); the caller must roll back and may retry.
pub(crate) async fn post_in_transaction(
    transaction: &mut Transaction<'_, Postgres>,
    requests: &[TransferRequest],
) -> Result<Option<BatchOutcomes>, sqlx::Error> {
    let existing = load_existing(transaction, requests).await?;
    let account_ids = involved_accounts(requests, existing.values());
    let read = read_accounts(transaction, &account_ids, Lock::ForUpdate)
        .await?
        .with_guards_reloaded(transaction)
        .await?;
    // The player's guard applies here too: a blocked or self-excluded player buys nothing.
    // Purchases spend cash only: no bonus book.
    let no_bonuses = BonusBook::default();
    let plan = plan_batch(
        requests,
        &inputs(&existing, &read.accounts, &read.guards, &no_bonuses),
        Uuid::now_v7,
    );
    let written = write_plan(transaction, &plan, &read).await?;
    let guards_matched = guard::store::write_guard_usage(transaction, &plan.guard_usage).await?;
    if written != expected_writes(&plan) || !guards_matched {
        return Ok(None);
    }
    Ok(Some(plan.outcomes))
}
