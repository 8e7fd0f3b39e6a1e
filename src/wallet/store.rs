//! Postgres I/O of the wallet: one transaction per batch. The transaction reads the rows already stored
//! under the batch's keys, locks the batch's accounts in id order (so concurrent batches on any node
//! never deadlock), lets the pure planner decide, then writes the balance changes with a conditional
//! update and inserts the new transfer rows.

use super::batch::{plan_batch, BatchInputs, BatchPlan};
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

/// The ledger's own accounts: one treasury (where deposits come from) and one house sub-account per
/// wallet shard, so that shards never queue behind each other on a single hot house row.
#[derive(Debug, Clone)]
pub struct SystemAccounts {
    pub treasury: AccountId,
    pub house: Vec<AccountId>,
}

/// Writes batches to the primary.
#[derive(Clone, Debug)]
pub struct LedgerStore {
    pool: PgPool,
}

/// A batch's answers, one per request in order.
pub type BatchOutcomes = Vec<Result<TransferReceipt, TransferError>>;

impl LedgerStore {
    pub fn new(pool: PgPool) -> LedgerStore {
        LedgerStore { pool }
    }

    /// Creates the treasury and `house_count` house sub-accounts if they do not exist yet.
    pub async fn ensure_system_accounts(
        &self,
        currency: &Currency,
        house_count: u32,
    ) -> anyhow::Result<SystemAccounts> {
        let treasury = self
            .ensure_account(&format!("treasury:{currency}"), AccountKind::Treasury, currency)
            .await?;
        let mut house = Vec::with_capacity(house_count as usize);
        for index in 0..house_count {
            let code = format!("house:{currency}:{index}");
            house.push(self.ensure_account(&code, AccountKind::House, currency).await?);
        }
        Ok(SystemAccounts { treasury, house })
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
    #[tracing::instrument(skip_all, fields(batch_size = requests.len()))]
    pub async fn commit_batch(&self, requests: &[TransferRequest]) -> Result<BatchOutcomes, sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        let existing = load_existing(&mut transaction, requests).await?;
        let account_ids = involved_accounts(requests, existing.values());
        let accounts = lock_accounts(&mut transaction, &account_ids).await?;
        let inputs = BatchInputs {
            existing: &existing,
            accounts: &accounts,
            now: Utc::now(),
        };
        let plan = plan_batch(requests, &inputs, Uuid::now_v7);
        apply_balance_deltas(&mut transaction, &plan).await?;
        insert_rows(&mut transaction, &plan.new_rows, &accounts).await?;
        transaction.commit().await?;
        Ok(plan.outcomes)
    }
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
        },
        outcome,
        created_at: row.try_get::<DateTime<Utc>, _>("created_at")?,
    })
}

async fn lock_accounts(
    transaction: &mut Transaction<'_, Postgres>,
    ids: &[i64],
) -> Result<HashMap<AccountId, AccountState>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT id, kind, currency, balance FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(ids)
            .fetch_all(&mut **transaction)
            .await?;
    let mut accounts = HashMap::with_capacity(rows.len());
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
        accounts.insert(state.id, state);
    }
    Ok(accounts)
}

async fn apply_balance_deltas(
    transaction: &mut Transaction<'_, Postgres>,
    plan: &BatchPlan,
) -> Result<(), sqlx::Error> {
    if plan.balance_deltas.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = plan.balance_deltas.keys().map(|id| id.0).collect();
    let deltas: Vec<i64> = plan.balance_deltas.values().copied().collect();
    // The condition repeats the CHECK constraint on purpose: the rows are locked and the planner never
    // overdraws, so a short count here means a bug, and the whole batch is rolled back.
    let result = sqlx::query(
        "UPDATE accounts AS a SET balance = a.balance + d.delta, updated_at = now()
         FROM unnest($1::int8[], $2::int8[]) AS d(id, delta)
         WHERE a.id = d.id AND (a.kind <> 'player' OR a.balance + d.delta >= 0)",
    )
    .bind(&ids)
    .bind(&deltas)
    .execute(&mut **transaction)
    .await?;
    if result.rows_affected() != ids.len() as u64 {
        return Err(sqlx::Error::Protocol(format!(
            "conditional balance update touched {} of {} accounts",
            result.rows_affected(),
            ids.len()
        )));
    }
    Ok(())
}

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
    created_at: Vec<DateTime<Utc>>,
}

impl TransferColumns {
    fn push(&mut self, row: &StoredTransfer, currency: &str) {
        let request = &row.request;
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

async fn insert_rows(
    transaction: &mut Transaction<'_, Postgres>,
    rows: &[StoredTransfer],
    accounts: &HashMap<AccountId, AccountState>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut columns = TransferColumns::default();
    for row in rows {
        columns.push(row, &accounts[&row.request.debit].currency);
    }
    sqlx::query(
        "INSERT INTO transfers (id, idempotency_key, debit_account_id, credit_account_id, amount, currency, kind,
                               reference, status, rejection_code, debit_balance_after, credit_balance_after, created_at)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::text[], $7::text[],
                              $8::text[], $9::text[], $10::text[], $11::int8[], $12::int8[], $13::timestamptz[])",
    )
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
    .bind(&columns.created_at)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}
