//! Postgres I/O of player guards. The wallet's batches read them joined to their accounts
//! (`JOINED_COLUMNS`, `joined_guard`), the provider journal with one query (`load_guards`), and both write
//! the usage they changed with one statement (`write_guard_usage`). The limits and status routes read and
//! replace whole rows (`load_guard`, `save_guard`) after touching the player's account row (see
//! `players::protection`).

use super::{GuardUsage, Limit, LimitKind, Limits, Period, PeriodUsage, PlayerGuard};
use crate::wallet::ledger::AccountId;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Postgres, Row, Transaction};
use std::collections::{BTreeMap, HashMap};

const COLUMNS: &str = "account_id, status, self_excluded_until, limits, day_started_at, day_deposited_micros,
    day_wagered_micros, day_net_loss_micros, week_started_at, week_deposited_micros, week_wagered_micros,
    week_net_loss_micros, month_started_at, month_deposited_micros, month_wagered_micros, month_net_loss_micros,
    session_started_at, last_stake_at, session_break_minutes, revision";

/// The same columns from a `player_guards g` joined to the wallet's read of its accounts; all null for a
/// player without a guard.
pub const JOINED_COLUMNS: &str = "g.account_id, g.status, g.self_excluded_until, g.limits, g.day_started_at,
    g.day_deposited_micros, g.day_wagered_micros, g.day_net_loss_micros, g.week_started_at,
    g.week_deposited_micros, g.week_wagered_micros, g.week_net_loss_micros, g.month_started_at,
    g.month_deposited_micros, g.month_wagered_micros, g.month_net_loss_micros, g.session_started_at,
    g.last_stake_at, g.session_break_minutes, g.revision";

/// The guard in a row read with `JOINED_COLUMNS`, if the account has one.
pub fn joined_guard(row: &sqlx::postgres::PgRow) -> Result<Option<PlayerGuard>, sqlx::Error> {
    let account: Option<i64> = row.try_get("account_id")?;
    match account {
        Some(_) => guard_from_row(row).map(Some),
        None => Ok(None),
    }
}

/// The guards of those of `accounts` that have a row: one index probe when none has.
pub async fn load_guards(
    transaction: &mut Transaction<'_, Postgres>,
    accounts: &[i64],
) -> Result<HashMap<AccountId, PlayerGuard>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM player_guards WHERE account_id = ANY($1)"
    ))
    .bind(accounts)
    .fetch_all(&mut **transaction)
    .await?;
    let mut guards = HashMap::with_capacity(rows.len());
    for row in rows {
        let guard = guard_from_row(&row)?;
        guards.insert(guard.account, guard);
    }
    Ok(guards)
}

/// One player's guard, if they have one.
pub async fn load_guard(
    transaction: &mut Transaction<'_, Postgres>,
    account: AccountId,
) -> Result<Option<PlayerGuard>, sqlx::Error> {
    Ok(load_guards(transaction, &[account.0]).await?.remove(&account))
}

/// Writes the usage a batch changed, each row by compare-and-set on the revision the batch read. True
/// when every row matched; false means the batch must not commit.
pub async fn write_guard_usage(
    transaction: &mut Transaction<'_, Postgres>,
    changed: &BTreeMap<AccountId, PlayerGuard>,
) -> Result<bool, sqlx::Error> {
    if changed.is_empty() {
        return Ok(true);
    }
    let mut columns = UsageColumns::default();
    for guard in changed.values() {
        columns.push(guard);
    }
    let updated: i64 = sqlx::query_scalar(
        "WITH updated AS (
             UPDATE player_guards AS g SET
                 day_started_at = d.day_at, day_deposited_micros = d.day_dep, day_wagered_micros = d.day_wag,
                 day_net_loss_micros = d.day_loss, week_started_at = d.week_at, week_deposited_micros = d.week_dep,
                 week_wagered_micros = d.week_wag, week_net_loss_micros = d.week_loss,
                 month_started_at = d.month_at, month_deposited_micros = d.month_dep,
                 month_wagered_micros = d.month_wag, month_net_loss_micros = d.month_loss,
                 session_started_at = d.session_at, last_stake_at = d.stake_at,
                 revision = g.revision + 1, updated_at = now()
             FROM unnest($1::int8[], $2::int8[], $3::timestamptz[], $4::int8[], $5::int8[], $6::int8[],
                         $7::timestamptz[], $8::int8[], $9::int8[], $10::int8[], $11::timestamptz[], $12::int8[],
                         $13::int8[], $14::int8[], $15::timestamptz[], $16::timestamptz[])
                  AS d(id, rev, day_at, day_dep, day_wag, day_loss, week_at, week_dep, week_wag, week_loss,
                       month_at, month_dep, month_wag, month_loss, session_at, stake_at)
             WHERE g.account_id = d.id AND g.revision = d.rev
             RETURNING 1
         )
         SELECT count(*) FROM updated",
    )
    .bind(&columns.ids)
    .bind(&columns.revisions)
    .bind(&columns.started_at[0])
    .bind(&columns.deposited[0])
    .bind(&columns.wagered[0])
    .bind(&columns.net_loss[0])
    .bind(&columns.started_at[1])
    .bind(&columns.deposited[1])
    .bind(&columns.wagered[1])
    .bind(&columns.net_loss[1])
    .bind(&columns.started_at[2])
    .bind(&columns.deposited[2])
    .bind(&columns.wagered[2])
    .bind(&columns.net_loss[2])
    .bind(&columns.session_started_at)
    .bind(&columns.last_stake_at)
    .fetch_one(&mut **transaction)
    .await?;
    Ok(updated == changed.len() as i64)
}

/// Inserts or replaces a player's whole guard row and bumps its revision. The caller holds the player's
/// `accounts` row locked (`ACCOUNT_ROW_LOCK`), so no batch of theirs is between its read and its write.
pub async fn save_guard(transaction: &mut Transaction<'_, Postgres>, guard: &PlayerGuard) -> Result<(), sqlx::Error> {
    let status = if guard.blocked { "blocked" } else { "active" };
    let usage = &guard.usage;
    let [day, week, month] = usage.periods;
    sqlx::query(
        "INSERT INTO player_guards (account_id, status, self_excluded_until, limits, day_started_at,
             day_deposited_micros, day_wagered_micros, day_net_loss_micros, week_started_at, week_deposited_micros,
             week_wagered_micros, week_net_loss_micros, month_started_at, month_deposited_micros,
             month_wagered_micros, month_net_loss_micros, session_started_at, last_stake_at,
             session_break_minutes, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 0)
         ON CONFLICT (account_id) DO UPDATE SET
             status = EXCLUDED.status, self_excluded_until = EXCLUDED.self_excluded_until,
             limits = EXCLUDED.limits, day_started_at = EXCLUDED.day_started_at,
             day_deposited_micros = EXCLUDED.day_deposited_micros, day_wagered_micros = EXCLUDED.day_wagered_micros,
             day_net_loss_micros = EXCLUDED.day_net_loss_micros, week_started_at = EXCLUDED.week_started_at,
             week_deposited_micros = EXCLUDED.week_deposited_micros,
             week_wagered_micros = EXCLUDED.week_wagered_micros, week_net_loss_micros = EXCLUDED.week_net_loss_micros,
             month_started_at = EXCLUDED.month_started_at, month_deposited_micros = EXCLUDED.month_deposited_micros,
             month_wagered_micros = EXCLUDED.month_wagered_micros,
             month_net_loss_micros = EXCLUDED.month_net_loss_micros,
             session_started_at = EXCLUDED.session_started_at, last_stake_at = EXCLUDED.last_stake_at,
             session_break_minutes = EXCLUDED.session_break_minutes,
             revision = player_guards.revision + 1, updated_at = now()",
    )
    .bind(guard.account.0)
    .bind(status)
    .bind(guard.self_excluded_until)
    .bind(Json(limits_to_map(&guard.limits)))
    .bind(day.started_at)
    .bind(day.deposited)
    .bind(day.wagered)
    .bind(day.net_loss)
    .bind(week.started_at)
    .bind(week.deposited)
    .bind(week.wagered)
    .bind(week.net_loss)
    .bind(month.started_at)
    .bind(month.deposited)
    .bind(month.wagered)
    .bind(month.net_loss)
    .bind(usage.session_started_at)
    .bind(usage.last_stake_at)
    .bind(i32::try_from(guard.session_break_minutes).unwrap_or(i32::MAX))
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Removes a player's guard row (they have nothing left to enforce). The caller holds the player's
/// account row, as for `save_guard`.
pub async fn delete_guard(transaction: &mut Transaction<'_, Postgres>, account: AccountId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM player_guards WHERE account_id = $1")
        .bind(account.0)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

/// The usage of a player with no guard row yet, from the ledger: the sums of their posted transfers
/// since each current period began, by kind. The caller holds the player's account row lock, so no
/// batch of theirs posts meanwhile.
pub async fn usage_from_ledger(
    transaction: &mut Transaction<'_, Postgres>,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<GuardUsage, sqlx::Error> {
    let mut usage = GuardUsage::empty(now);
    for period in Period::ALL {
        let (deposited, wagered, paid): (i64, i64, i64) = sqlx::query_as(
            // A stake or payout split onto the player's bonus account counts whole: its bonus leg is a
            // row of the bonus account.
            "WITH owned AS (
                 SELECT $1::int8 AS id UNION ALL SELECT bonus_account_id FROM player_bonus WHERE player_account_id = $1
             )
             SELECT coalesce(sum(amount) FILTER (WHERE kind IN ('deposit', 'top_up') AND credit_account_id = $1), 0)::int8,
                    coalesce(sum(amount) FILTER (WHERE kind = 'bet' AND debit_account_id IN (SELECT id FROM owned)), 0)::int8,
                    coalesce(sum(amount) FILTER (WHERE kind IN ('win', 'refund')
                                                   AND credit_account_id IN (SELECT id FROM owned)), 0)::int8
             FROM transfers
             WHERE player_account_id IN (SELECT id FROM owned) AND status = 'posted' AND created_at >= $2",
        )
        .bind(account.0)
        .bind(period.start(now))
        .fetch_one(&mut **transaction)
        .await?;
        usage.periods[period as usize] = PeriodUsage {
            started_at: period.start(now),
            deposited,
            wagered,
            net_loss: wagered.saturating_sub(paid),
        };
    }
    Ok(usage)
}

fn guard_from_row(row: &sqlx::postgres::PgRow) -> Result<PlayerGuard, sqlx::Error> {
    let period = |prefix: &str| -> Result<PeriodUsage, sqlx::Error> {
        Ok(PeriodUsage {
            started_at: row.try_get(format!("{prefix}_started_at").as_str())?,
            deposited: row.try_get(format!("{prefix}_deposited_micros").as_str())?,
            wagered: row.try_get(format!("{prefix}_wagered_micros").as_str())?,
            net_loss: row.try_get(format!("{prefix}_net_loss_micros").as_str())?,
        })
    };
    let status: String = row.try_get("status")?;
    let Json(limits): Json<BTreeMap<String, Limit>> = row.try_get("limits")?;
    let break_minutes: i32 = row.try_get("session_break_minutes")?;
    Ok(PlayerGuard {
        account: AccountId(row.try_get("account_id")?),
        blocked: status == "blocked",
        self_excluded_until: row.try_get("self_excluded_until")?,
        limits: limits_from_map(&limits),
        session_break_minutes: u32::try_from(break_minutes).unwrap_or(1).max(1),
        usage: GuardUsage {
            periods: [period("day")?, period("week")?, period("month")?],
            session_started_at: row.try_get("session_started_at")?,
            last_stake_at: row.try_get("last_stake_at")?,
        },
        revision: row.try_get("revision")?,
    })
}

const SESSION_KEY: &str = "session";

fn limit_key(kind: LimitKind, period: Period) -> String {
    format!("{}_{}", kind.as_str(), period.as_str())
}

/// The stored form of the limits: only those set or pending, keyed "wager_day", ..., "session".
fn limits_to_map(limits: &Limits) -> BTreeMap<String, Limit> {
    let mut map = BTreeMap::new();
    for kind in LimitKind::ALL {
        for period in Period::ALL {
            let limit = limits.get(kind, period);
            if !limit.is_empty() {
                map.insert(limit_key(kind, period), *limit);
            }
        }
    }
    if !limits.session.is_empty() {
        map.insert(SESSION_KEY.to_owned(), limits.session);
    }
    map
}

fn limits_from_map(map: &BTreeMap<String, Limit>) -> Limits {
    let mut limits = Limits::default();
    for kind in LimitKind::ALL {
        for period in Period::ALL {
            if let Some(limit) = map.get(&limit_key(kind, period)) {
                *limits.get_mut(kind, period) = *limit;
            }
        }
    }
    limits.session = map.get(SESSION_KEY).copied().unwrap_or_default();
    limits
}

/// The usage columns of changed guards, one vector per column, for a single `unnest` update.
#[derive(Default)]
struct UsageColumns {
    ids: Vec<i64>,
    revisions: Vec<i64>,
    started_at: [Vec<DateTime<Utc>>; 3],
    deposited: [Vec<i64>; 3],
    wagered: [Vec<i64>; 3],
    net_loss: [Vec<i64>; 3],
    session_started_at: Vec<Option<DateTime<Utc>>>,
    last_stake_at: Vec<Option<DateTime<Utc>>>,
}

impl UsageColumns {
    fn push(&mut self, guard: &PlayerGuard) {
        self.ids.push(guard.account.0);
        self.revisions.push(guard.revision);
        for (index, usage) in guard.usage.periods.iter().enumerate() {
            self.started_at[index].push(usage.started_at);
            self.deposited[index].push(usage.deposited);
            self.wagered[index].push(usage.wagered);
            self.net_loss[index].push(usage.net_loss);
        }
        self.session_started_at.push(guard.usage.session_started_at);
        self.last_stake_at.push(guard.usage.last_stake_at);
    }
}
