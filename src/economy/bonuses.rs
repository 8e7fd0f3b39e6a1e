//! Granting bonus money: a ledger transfer from the player's treasury pool to their bonus account
//! (created with the first grant), recorded in `bonus_grants`. The wallet's planner adds the grant's
//! amount times its wagering multiplier to the player's requirement in the same batch.

use crate::money::{Amount, Currency};
use crate::wallet::bonus::grant_reference;
use crate::wallet::ledger::{AccountId, IdempotencyKey, TransferError, TransferKind, TransferRequest};
use crate::wallet::Wallet;
use serde::Serialize;
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// Why a bonus is paid; stored in `bonus_grants.reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantReason {
    ReferralReferee,
    ReferralReferrer,
    Admin,
}

impl GrantReason {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantReason::ReferralReferee => "referral_referee",
            GrantReason::ReferralReferrer => "referral_referrer",
            GrantReason::Admin => "admin",
        }
    }
}

/// One bonus to pay.
#[derive(Debug, Clone)]
pub struct Grant {
    pub player_id: Uuid,
    pub player_account: AccountId,
    pub amount: Amount,
    pub wagering_multiplier: u32,
    pub reason: GrantReason,
    /// The ledger key: a retry with the same key pays nothing more.
    pub key: IdempotencyKey,
}

#[derive(Debug, Clone, Serialize)]
pub struct GrantReceipt {
    pub transfer_id: Uuid,
    pub bonus_balance_micros: i64,
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// Refused by the ledger (`treasury_exhausted`, an idempotency conflict) or the wallet unavailable.
    #[error(transparent)]
    Transfer(#[from] TransferError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Pays a bonus exactly once per key.
#[tracing::instrument(skip(pool, wallet), fields(player_id = %grant.player_id, key = grant.key.as_str()))]
pub async fn grant(pool: &PgPool, wallet: &Wallet, grant: &Grant) -> Result<GrantReceipt, GrantError> {
    let bonus_account = ensure_bonus_account(pool, grant.player_id, grant.player_account, wallet.currency()).await?;
    let request = TransferRequest {
        key: grant.key.clone(),
        debit: wallet.treasury_pool_for(grant.player_account),
        credit: bonus_account,
        amount: grant.amount,
        kind: TransferKind::Bonus,
        reference: grant_reference(grant.wagering_multiplier, grant.reason.as_str()),
        settles: None,
    };
    // On the player's shard, so the grant and the requirement it adds queue with their stakes.
    let receipt = wallet.transfer_for(grant.player_account, request).await?;
    // After the transfer: a crash in between leaves the money paid and this row missing until the
    // same key is retried (the caller's retry, or the referral sweep).
    sqlx::query(
        "INSERT INTO bonus_grants (idempotency_key, player_account_id, reason, amount_micros, wagering_multiplier,
                                   transfer_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(grant.key.as_str())
    .bind(grant.player_account.0)
    .bind(grant.reason.as_str())
    .bind(grant.amount.micros())
    .bind(grant.wagering_multiplier as i32)
    .bind(receipt.transfer_id)
    .bind(receipt.created_at)
    .execute(pool)
    .await?;
    Ok(GrantReceipt {
        transfer_id: receipt.transfer_id,
        bonus_balance_micros: receipt.credit_balance_after.micros(),
        replayed: receipt.replayed,
    })
}

/// The player's bonus account, created with their `player_bonus` row the first time. The player's
/// account row is locked meanwhile: every writer of `player_bonus` holds that lock.
async fn ensure_bonus_account(
    pool: &PgPool,
    player_id: Uuid,
    player_account: AccountId,
    currency: &Currency,
) -> Result<AccountId, sqlx::Error> {
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT bonus_account_id FROM player_bonus WHERE player_account_id = $1")
            .bind(player_account.0)
            .fetch_optional(pool)
            .await?;
    if let Some(id) = existing {
        return Ok(AccountId(id));
    }
    let mut transaction = pool.begin().await?;
    sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE")
        .bind(player_account.0)
        .execute(&mut *transaction)
        .await?;
    let code = format!("bonus:{player_id}");
    sqlx::query("INSERT INTO accounts (code, kind, currency) VALUES ($1, 'bonus', $2) ON CONFLICT (code) DO NOTHING")
        .bind(&code)
        .bind(currency.as_str())
        .execute(&mut *transaction)
        .await?;
    let bonus_account: i64 = sqlx::query_scalar("SELECT id FROM accounts WHERE code = $1")
        .bind(&code)
        .fetch_one(&mut *transaction)
        .await?;
    sqlx::query(
        "INSERT INTO player_bonus (player_account_id, bonus_account_id) VALUES ($1, $2)
         ON CONFLICT (player_account_id) DO NOTHING",
    )
    .bind(player_account.0)
    .bind(bonus_account)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(AccountId(bonus_account))
}

/// A player's money as they see it: cash, bonus money and the wagering still required.
#[derive(Debug, Clone, Serialize)]
pub struct MoneyView {
    pub cash_micros: i64,
    pub bonus_micros: i64,
    pub wagering: Option<Wagering>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Wagering {
    pub required_micros: i64,
    pub wagered_micros: i64,
    pub remaining_micros: i64,
}

/// Reads a player's cash, bonus balance and wagering progress in one query; None for an unknown account.
pub async fn money_view(pool: &PgPool, player_account: AccountId) -> Result<Option<MoneyView>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT a.balance AS cash, b.balance AS bonus, p.wagering_required_micros, p.wagered_micros
         FROM accounts a
         LEFT JOIN player_bonus p ON p.player_account_id = a.id
         LEFT JOIN accounts b ON b.id = p.bonus_account_id
         WHERE a.id = $1",
    )
    .bind(player_account.0)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let required: Option<i64> = row.try_get("wagering_required_micros")?;
    let wagered: Option<i64> = row.try_get("wagered_micros")?;
    let wagering = match (required, wagered) {
        (Some(required), Some(wagered)) if required > 0 => Some(Wagering {
            required_micros: required,
            wagered_micros: wagered,
            remaining_micros: (required - wagered).max(0),
        }),
        _ => None,
    };
    Ok(Some(MoneyView {
        cash_micros: row.try_get("cash")?,
        bonus_micros: row.try_get::<Option<i64>, _>("bonus")?.unwrap_or(0),
        wagering,
    }))
}
