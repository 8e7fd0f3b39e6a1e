//! The ledger audit: the invariants that must hold whatever happened to any process. It reads one
//! consistent snapshot of the primary and reports every breach it finds: the double-entry rules, and
//! that every crash bet's stake, win and refund, and every Dice, Plinko and Mines bet's stake and payout,
//! match what the game recorded, exactly once.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Row};

/// How many offending rows one check reports at most.
const BREACH_ROWS_MAX: i64 = 100;

#[derive(Debug, Serialize)]
pub struct AuditReport {
    pub ok: bool,
    pub checked_at: DateTime<Utc>,
    pub accounts: i64,
    pub posted_transfers: i64,
    pub breaches: Vec<Breach>,
}

#[derive(Debug, Serialize)]
pub struct Breach {
    pub check: &'static str,
    pub detail: String,
}

/// Runs every check in one repeatable-read snapshot, so concurrent play cannot cause a false breach.
pub async fn run(pool: &PgPool) -> anyhow::Result<AuditReport> {
    let mut transaction = pool.begin().await.context("failed to start the audit transaction")?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *transaction)
        .await
        .context("failed to set the audit snapshot")?;
    let mut breaches = Vec::new();
    for check in CHECKS {
        let rows = sqlx::query(check.sql)
            .bind(BREACH_ROWS_MAX)
            .fetch_all(&mut *transaction)
            .await
            .with_context(|| format!("audit check {} failed to run", check.name))?;
        for row in rows {
            let detail: String = row.try_get("detail").context("audit rows carry a detail")?;
            breaches.push(Breach {
                check: check.name,
                detail,
            });
        }
    }
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(&mut *transaction)
        .await
        .context("failed to count accounts")?;
    let posted_transfers: i64 = sqlx::query_scalar("SELECT count(*) FROM transfers WHERE status = 'posted'")
        .fetch_one(&mut *transaction)
        .await
        .context("failed to count transfers")?;
    transaction
        .commit()
        .await
        .context("failed to end the audit transaction")?;
    Ok(AuditReport {
        ok: breaches.is_empty(),
        checked_at: Utc::now(),
        accounts,
        posted_transfers,
        breaches,
    })
}

struct Check {
    name: &'static str,
    /// Returns one `detail` text column per breach, at most `$1` rows.
    sql: &'static str,
}

const CHECKS: &[Check] = &[
    Check {
        name: "currency_nets_to_zero",
        sql: "SELECT format('currency %s: balances sum to %s, not 0', currency, sum(balance)) AS detail
              FROM accounts GROUP BY currency HAVING sum(balance) <> 0 LIMIT $1",
    },
    Check {
        name: "transfer_currency_matches_accounts",
        sql: "SELECT format('transfer %s in %s moves between %s and %s accounts', t.id, t.currency, d.currency, c.currency) AS detail
              FROM transfers t JOIN accounts d ON d.id = t.debit_account_id JOIN accounts c ON c.id = t.credit_account_id
              WHERE t.status = 'posted' AND (t.currency <> d.currency OR t.currency <> c.currency) LIMIT $1",
    },
    Check {
        name: "balance_equals_transfers",
        sql: "WITH movements AS (
                  SELECT credit_account_id AS account_id, amount::numeric AS delta FROM transfers WHERE status = 'posted'
                  UNION ALL
                  SELECT debit_account_id, -amount::numeric FROM transfers WHERE status = 'posted'
              ), sums AS (SELECT account_id, sum(delta) AS total FROM movements GROUP BY account_id)
              SELECT format('account %s (%s): balance %s, transfers sum to %s', a.id, a.code, a.balance, coalesce(s.total, 0)) AS detail
              FROM accounts a LEFT JOIN sums s ON s.account_id = a.id
              WHERE a.balance::numeric <> coalesce(s.total, 0) LIMIT $1",
    },
    Check {
        name: "crash_no_open_bet_in_settled_round",
        sql: "SELECT format('bet %s of settled round %s is still %s', b.id, b.round_id, b.status) AS detail
              FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
              WHERE r.settled AND b.status IN ('pending', 'open', 'cashing_out') LIMIT $1",
    },
    Check {
        name: "crash_stake_matches_bet",
        sql: "SELECT format('bet %s (%s) has no posted stake of %s', b.id, b.status, b.amount) AS detail
              FROM crash_bets b
              LEFT JOIN transfers t ON t.idempotency_key = 'crash:stake:' || b.id AND t.status = 'posted'
              WHERE (b.status IN ('open', 'cashing_out', 'cashed_out', 'lost', 'refunded') AND (t.id IS NULL OR t.amount <> b.amount))
                 OR (b.status = 'void' AND t.id IS NOT NULL)
              LIMIT $1",
    },
    Check {
        name: "crash_settlement_paid_once",
        sql: "SELECT format('bet %s (%s): win %s, refund %s, recorded payout %s', b.id, b.status, w.amount, f.amount, b.payout) AS detail
              FROM crash_bets b
              LEFT JOIN transfers w ON w.idempotency_key = 'crash:win:' || b.id AND w.status = 'posted'
              LEFT JOIN transfers f ON f.idempotency_key = 'crash:refund:' || b.id AND f.status = 'posted'
              WHERE (b.status = 'cashed_out' AND (w.amount IS DISTINCT FROM b.payout OR f.id IS NOT NULL))
                 OR (b.status = 'refunded' AND (f.amount IS DISTINCT FROM b.amount OR w.id IS NOT NULL))
                 OR (b.status IN ('lost', 'void') AND (w.id IS NOT NULL OR f.id IS NOT NULL))
                 OR (w.id IS NOT NULL AND f.id IS NOT NULL)
              LIMIT $1",
    },
    Check {
        name: "instant_stake_matches_bet",
        sql: "SELECT format('%s bet %s (%s) has no posted stake of %s', b.game, b.id, b.status, b.amount) AS detail
              FROM instant_bets b
              LEFT JOIN transfers t ON t.idempotency_key = 'instant:stake:' || b.id AND t.status = 'posted'
              WHERE (b.status IN ('open', 'paying', 'settled') AND (t.id IS NULL OR t.amount <> b.amount))
                 OR (b.status = 'void' AND t.id IS NOT NULL)
              LIMIT $1",
    },
    Check {
        name: "instant_payout_paid_once",
        sql: "SELECT format('%s bet %s (%s): win %s, recorded payout %s', b.game, b.id, b.status, w.amount, b.payout) AS detail
              FROM instant_bets b
              LEFT JOIN transfers w ON w.idempotency_key = 'instant:win:' || b.id AND w.status = 'posted'
              WHERE (b.status = 'settled' AND coalesce(w.amount, 0) IS DISTINCT FROM b.payout)
                 OR (b.status IN ('pending', 'open', 'void') AND w.id IS NOT NULL)
              LIMIT $1",
    },
    Check {
        name: "player_balance_not_negative",
        sql: "SELECT format('player account %s (%s) has balance %s', id, code, balance) AS detail
              FROM accounts WHERE kind = 'player' AND balance < 0 LIMIT $1",
    },
];
