//! Reads of the ledger for players: the balance (from the primary, as it usually precedes a bet) and
//! the paginated transaction history (from the reader pool).

use super::ledger::AccountId;
use crate::money::Balance;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// The most entries one history page may hold.
pub const HISTORY_PAGE_SIZE_MAX: u32 = 100;

/// One posted transfer seen from a player's side: credits are positive, debits negative.
#[derive(Debug, Serialize)]
pub struct HistoryEntry {
    pub id: Uuid,
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    pub next_before: Option<Uuid>,
}

pub async fn balance(pool: &PgPool, account: AccountId) -> Result<Option<Balance>, sqlx::Error> {
    let balance: Option<i64> = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(account.0)
        .fetch_optional(pool)
        .await?;
    Ok(balance.map(Balance::from_micros))
}

/// A page of an account's posted transfers, newest first, strictly older than `before` when given.
pub async fn transactions(
    pool: &PgPool,
    account: AccountId,
    before: Option<Uuid>,
    page_size: u32,
) -> Result<HistoryPage, sqlx::Error> {
    let page_size = page_size.clamp(1, HISTORY_PAGE_SIZE_MAX);
    let rows = sqlx::query(
        "SELECT id, kind, reference, created_at,
                CASE WHEN debit_account_id = $1 THEN -amount ELSE amount END AS signed_amount,
                CASE WHEN debit_account_id = $1 THEN debit_balance_after ELSE credit_balance_after END AS balance_after
         FROM transfers
         WHERE player_account_id = $1 AND status = 'posted' AND ($2::uuid IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3",
    )
    .bind(account.0)
    .bind(before)
    .bind(i64::from(page_size))
    .fetch_all(pool)
    .await?;
    let entries = rows
        .iter()
        .map(|row| {
            Ok(HistoryEntry {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                amount: row.try_get("signed_amount")?,
                balance_after: row.try_get("balance_after")?,
                reference: row.try_get("reference")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let next_before = if entries.len() == page_size as usize {
        entries.last().map(|entry| entry.id)
    } else {
        None
    };
    Ok(HistoryPage { entries, next_before })
}
