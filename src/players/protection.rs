//! A player's protections as the API changes them: status (blocked by the operator), self-exclusion and
//! limits. Every change first updates the player's `accounts` row (which locks it and gives it a new row
//! version) and writes `players` and `player_guards` in the same transaction. A wallet batch that read
//! the account before then fails its compare-and-set on the row version and runs again under the lock,
//! so no batch decides on a stale guard, and usage seeded from the ledger misses no stake.

use crate::configuration::ResponsibleGamingSettings;
use crate::wallet::guard::store::{delete_guard, load_guard, save_guard, usage_from_ledger};
use crate::wallet::guard::{Limits, PlayerGuard};
use crate::wallet::ledger::AccountId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// The status a player has, as clients see it: self-exclusion is derived from its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Blocked,
    SelfExcluded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Blocked => "blocked",
            Status::SelfExcluded => "self_excluded",
        }
    }
}

/// A player's status and self-exclusion, from `players`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub blocked: bool,
    pub self_excluded_until: Option<DateTime<Utc>>,
}

impl Standing {
    /// Blocked outranks self-excluded: an operator's block does not end with the exclusion.
    pub fn status(&self, now: DateTime<Utc>) -> Status {
        if self.blocked {
            Status::Blocked
        } else if self.self_excluded_until.is_some_and(|until| until > now) {
            Status::SelfExcluded
        } else {
            Status::Active
        }
    }

    /// The exclusion's end while it lasts.
    pub fn excluded_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.self_excluded_until.filter(|until| *until > now)
    }
}

pub async fn standing(pool: &PgPool, player_id: Uuid) -> Result<Option<Standing>, sqlx::Error> {
    let row: Option<(String, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT status, self_excluded_until FROM players WHERE id = $1")
            .bind(player_id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(status, self_excluded_until)| Standing {
        blocked: status == "blocked",
        self_excluded_until,
    }))
}

/// A player's guard as it stands, for reading: their row, or for a player without one, no limits and
/// the usage the ledger shows.
pub async fn current_guard(
    pool: &PgPool,
    account: AccountId,
    settings: &ResponsibleGamingSettings,
    now: DateTime<Utc>,
) -> Result<PlayerGuard, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let guard = match load_guard(&mut transaction, account).await? {
        Some(guard) => guard,
        None => fresh_guard(&mut transaction, account, settings, now).await?,
    };
    transaction.rollback().await?;
    Ok(guard)
}

/// Why a change was refused; `Refused` carries the caller's own reason untouched.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError<E> {
    #[error("no player has this id")]
    UnknownPlayer,
    #[error("the change was refused")]
    Refused(E),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Changes a player's guard (and `players` with it) under their account lock. `change` sees the guard
/// with due pending limits applied and may refuse; on success the row is written and returned.
pub async fn change_guard<E>(
    pool: &PgPool,
    player_id: Uuid,
    settings: &ResponsibleGamingSettings,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut PlayerGuard) -> Result<(), E>,
) -> Result<PlayerGuard, ChangeError<E>> {
    let mut transaction = pool.begin().await?;
    let account: Option<(i64,)> = sqlx::query_as(
        "UPDATE accounts a SET updated_at = now() FROM players p
         WHERE p.account_id = a.id AND p.id = $1 RETURNING a.id",
    )
    .bind(player_id)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some((account,)) = account else {
        return Err(ChangeError::UnknownPlayer);
    };
    let account = AccountId(account);
    let mut guard = match load_guard(&mut transaction, account).await? {
        Some(guard) => guard,
        None => fresh_guard(&mut transaction, account, settings, now).await?,
    };
    settle_limits(&mut guard.limits, now);
    change(&mut guard).map_err(ChangeError::Refused)?;
    guard.session_break_minutes = settings.session_break_minutes;
    if guard.enforces_nothing(now) {
        // Only players with something to enforce keep a row: the others cost the wallet nothing.
        delete_guard(&mut transaction, account).await?;
    } else {
        save_guard(&mut transaction, &guard).await?;
    }
    sqlx::query("UPDATE players SET status = $2, self_excluded_until = $3 WHERE id = $1")
        .bind(player_id)
        .bind(if guard.blocked { "blocked" } else { "active" })
        .bind(guard.self_excluded_until)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(guard)
}

/// The guard of a player who has none yet: status from `players`, usage seeded from the ledger (the
/// caller holds the account lock when it will write the row).
async fn fresh_guard(
    transaction: &mut Transaction<'_, Postgres>,
    account: AccountId,
    settings: &ResponsibleGamingSettings,
    now: DateTime<Utc>,
) -> Result<PlayerGuard, sqlx::Error> {
    let (status, self_excluded_until): (String, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT status, self_excluded_until FROM players WHERE account_id = $1")
            .bind(account.0)
            .fetch_one(&mut **transaction)
            .await?;
    let usage = usage_from_ledger(transaction, account, now).await?;
    Ok(PlayerGuard {
        account,
        blocked: status == "blocked",
        self_excluded_until,
        limits: Limits::default(),
        session_break_minutes: settings.session_break_minutes,
        usage,
        revision: 0,
    })
}

/// Folds pending changes whose time has come into the limits they change.
fn settle_limits(limits: &mut Limits, now: DateTime<Utc>) {
    for row in limits.money.iter_mut() {
        for limit in row.iter_mut() {
            *limit = limit.settled(now);
        }
    }
    limits.session = limits.session.settled(now);
}
