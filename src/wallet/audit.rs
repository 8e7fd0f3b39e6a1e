//! The ledger audit: the invariants that must hold whatever happened to any process. It reads one
//! consistent snapshot of the primary and reports every breach it finds: the double-entry rules, and
//! that every crash bet's stake, win and refund, every Dice, Plinko and Mines bet's stake and payout, and
//! every slot round's stake and win, match what the game recorded, exactly once (and a slot round's win
//! what its steps add up to, within its cap), and that the provider journal and the ledger agree exactly
//! (every provider call that moved money has its one transfer, and no provider transfer lacks its call).

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Row};

/// How many offending rows one check reports at most.
const BREACH_ROWS_MAX: i64 = 100;

/// How long one check may run. The pools' `statement_timeout_ms` bounds the requests players wait on;
/// a check reads whole tables, and a capacity run's ledger (hundreds of thousands of bets, statistics
/// not yet refreshed after the burst) once took longer than that (issue 18).
const AUDIT_STATEMENT_TIMEOUT_MS: u32 = 120_000;

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
    sqlx::query(&format!("SET LOCAL statement_timeout = {AUDIT_STATEMENT_TIMEOUT_MS}"))
        .execute(&mut *transaction)
        .await
        .context("failed to set the audit's statement timeout")?;
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
              LEFT JOIN transfer_totals t ON t.idempotency_key = 'crash:stake:' || b.id AND t.status = 'posted'
              WHERE (b.status IN ('open', 'cashing_out', 'cashed_out', 'lost', 'refunded') AND (t.id IS NULL OR t.amount <> b.amount))
                 OR (b.status = 'void' AND t.id IS NOT NULL)
              LIMIT $1",
    },
    Check {
        name: "crash_settlement_paid_once",
        sql: "SELECT format('bet %s (%s): win %s, refund %s, recorded payout %s', b.id, b.status, w.amount, f.amount, b.payout) AS detail
              FROM crash_bets b
              LEFT JOIN transfer_totals w ON w.idempotency_key = 'crash:win:' || b.id AND w.status = 'posted'
              LEFT JOIN transfer_totals f ON f.idempotency_key = 'crash:refund:' || b.id AND f.status = 'posted'
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
              LEFT JOIN transfer_totals t ON t.idempotency_key = 'instant:stake:' || b.id AND t.status = 'posted'
              WHERE (b.status IN ('open', 'paying', 'settled') AND (t.id IS NULL OR t.amount <> b.amount))
                 OR (b.status = 'void' AND t.id IS NOT NULL)
              LIMIT $1",
    },
    Check {
        name: "instant_payout_paid_once",
        sql: "SELECT format('%s bet %s (%s): win %s, recorded payout %s', b.game, b.id, b.status, w.amount, b.payout) AS detail
              FROM instant_bets b
              LEFT JOIN transfer_totals w ON w.idempotency_key = 'instant:win:' || b.id AND w.status = 'posted'
              WHERE (b.status = 'settled' AND coalesce(w.amount, 0) IS DISTINCT FROM b.payout)
                 OR (b.status IN ('pending', 'open', 'void') AND w.id IS NOT NULL)
              LIMIT $1",
    },
    Check {
        name: "slot_stake_taken_once",
        sql: "SELECT format('slot round %s (%s) of %s has no posted stake of %s', r.id, r.status, r.game_id, r.stake_micros) AS detail
              FROM slot_rounds r
              LEFT JOIN transfer_totals t ON t.idempotency_key = 'slots:stake:' || r.id AND t.status = 'posted'
              WHERE (r.status IN ('open', 'paying', 'settled') AND (t.id IS NULL OR t.amount <> r.stake_micros))
                 OR (r.status = 'void' AND t.id IS NOT NULL)
              LIMIT $1",
    },
    Check {
        // A one-step round is credited just before its row moves from pending to settled, so a pending
        // one-step round may already hold exactly its win.
        name: "slot_win_paid_once",
        sql: "SELECT format('slot round %s (%s) of %s: win %s, recorded payout %s', r.id, r.status, r.game_id, w.amount, r.payout_micros) AS detail
              FROM slot_rounds r
              LEFT JOIN transfer_totals w ON w.idempotency_key = 'slots:win:' || r.id AND w.status = 'posted'
              WHERE (r.status = 'settled' AND coalesce(w.amount, 0) IS DISTINCT FROM r.payout_micros)
                 OR (r.status IN ('open', 'void') AND w.id IS NOT NULL)
                 OR (r.status = 'pending' AND w.id IS NOT NULL AND (r.step_count > 1 OR w.amount <> r.payout_micros))
              LIMIT $1",
    },
    Check {
        // The round's win is its win events added up (or the cap where the round recorded reaching it), its
        // final event says the same, the payout is that win on the bet rounded down, and no win passes the
        // cap of the math version the round was played under.
        name: "slot_win_equals_its_steps",
        sql: "WITH events AS (
                  SELECT r.id, r.game_id, r.math_version, r.win_centibet, r.payout_micros, r.bet_micros,
                         coalesce(sum((e->>'amount')::numeric) FILTER (WHERE e->>'type' = 'win'), 0) AS wins,
                         max((e->>'cap')::numeric) FILTER (WHERE e->>'type' = 'win_cap_reached') AS cap_reached,
                         max((e->>'amount')::numeric) FILTER (WHERE e->>'type' = 'final_win') AS final_win
                  FROM slot_rounds r
                  CROSS JOIN LATERAL jsonb_array_elements(r.steps) AS step
                  CROSS JOIN LATERAL jsonb_array_elements(step) AS e
                  WHERE r.status <> 'void'
                  GROUP BY r.id
              )
              SELECT format('slot round %s of %s: win %s centi-bet, steps add up to %s (cap reached at %s), final %s, payout %s',
                            ev.id, ev.game_id, ev.win_centibet, ev.wins, ev.cap_reached, ev.final_win, ev.payout_micros) AS detail
              FROM events ev
              JOIN slot_math_versions v ON v.game_id = ev.game_id AND v.version = ev.math_version
              WHERE ev.win_centibet <> coalesce(ev.cap_reached, ev.wins)
                 OR ev.final_win IS DISTINCT FROM ev.win_centibet
                 OR ev.payout_micros <> floor(ev.bet_micros::numeric * ev.win_centibet / 100)
                 OR ev.win_centibet > 100 * coalesce(substring(v.files->>'game.toml' from '(?n)^win_cap[[:space:]]*=[[:space:]]*([0-9]+)')::numeric, 0)
              LIMIT $1",
    },
    Check {
        name: "owned_balance_not_negative",
        sql: "SELECT format('%s account %s (%s) has balance %s', kind, id, code, balance) AS detail
              FROM accounts WHERE kind NOT IN ('house', 'treasury') AND balance < 0 LIMIT $1",
    },
    Check {
        // Every provider call that moved money points at exactly the ledger transfer it made: posted, of
        // its amount, between its player and a house account, of its kind.
        name: "provider_journal_matches_ledger",
        sql: "SELECT format('provider %s transaction %s (%s, %s): amount %s, ledger %s %s %s', j.provider_id,
                            j.transaction_id, j.kind, j.status, j.amount_micros, t.id, t.kind, t.amount) AS detail
              FROM provider_transactions j
              JOIN players p ON p.id = j.player_id
              LEFT JOIN transfers t ON t.id = j.ledger_transfer_id
              WHERE (j.ledger_transfer_id IS NOT NULL AND (
                         t.id IS NULL OR t.status <> 'posted' OR t.amount <> j.amount_micros
                      OR t.player_account_id IS DISTINCT FROM p.account_id
                      OR t.kind <> CASE j.kind WHEN 'bet' THEN 'bet' WHEN 'win' THEN 'win' ELSE 'refund' END
                      OR (j.kind = 'bet') <> (t.debit_account_id = p.account_id)))
                 OR (j.ledger_transfer_id IS NULL AND j.status IN ('ok', 'rolled_back') AND j.amount_micros > 0)
                 OR (j.ledger_transfer_id IS NOT NULL AND j.status IN ('refused', 'rolled_back_unseen'))
              LIMIT $1",
    },
    Check {
        // And no provider money moved without its journal row.
        name: "provider_ledger_has_journal",
        sql: "SELECT format('transfer %s (%s, %s) has no provider journal row', t.id, t.idempotency_key, t.amount) AS detail
              FROM transfers t
              WHERE (t.idempotency_key LIKE 'prov:%' OR t.idempotency_key LIKE 'provh:%')
                AND NOT EXISTS (SELECT 1 FROM provider_transactions j WHERE j.ledger_transfer_id = t.id)
              LIMIT $1",
    },
    Check {
        // A rolled-back bet has exactly one rollback that returned its stake, and nothing returns a stake twice.
        name: "provider_stake_returned_once",
        // The returns are counted first, so the check is two scans and a hash join, not a join per bet.
        sql: "WITH returned AS (
                  SELECT provider_id, reference_id, count(*) AS times FROM provider_transactions
                  WHERE kind = 'rollback' AND ledger_transfer_id IS NOT NULL
                  GROUP BY provider_id, reference_id
              )
              SELECT format('provider %s bet %s (%s): returned %s times', b.provider_id, b.transaction_id, b.status,
                            coalesce(r.times, 0)) AS detail
              FROM provider_transactions b
              LEFT JOIN returned r ON r.provider_id = b.provider_id AND r.reference_id = b.transaction_id
              WHERE b.kind = 'bet' AND b.status IN ('ok', 'rolled_back')
                AND coalesce(r.times, 0) <> CASE b.status WHEN 'rolled_back' THEN 1 ELSE 0 END
              LIMIT $1",
    },
    Check {
        // Each round's running totals are what its journal rows add up to.
        name: "provider_round_totals",
        sql: "SELECT format('provider %s round %s of %s: staked %s, won %s, live bets %s; journal says %s, %s, %s',
                            r.provider_id, r.round_id, r.player_id, r.staked_micros, r.won_micros, r.live_bets,
                            coalesce(j.staked, 0), coalesce(j.won, 0), coalesce(j.live, 0)) AS detail
              FROM provider_rounds r
              LEFT JOIN (SELECT provider_id, round_id, player_id,
                                sum(amount_micros) FILTER (WHERE kind = 'bet' AND status = 'ok') AS staked,
                                sum(amount_micros) FILTER (WHERE kind = 'win' AND status = 'ok') AS won,
                                count(*) FILTER (WHERE kind = 'bet' AND status = 'ok') AS live
                         FROM provider_transactions GROUP BY provider_id, round_id, player_id) j
                   ON j.provider_id = r.provider_id AND j.round_id = r.round_id AND j.player_id = r.player_id
              WHERE r.staked_micros <> coalesce(j.staked, 0) OR r.won_micros <> coalesce(j.won, 0)
                 OR r.live_bets <> coalesce(j.live, 0)
              LIMIT $1",
    },
    Check {
        // What each player holds of each item is what their posted purchases add up to.
        name: "inventory_matches_purchases",
        sql: "WITH bought AS (
                  SELECT player_id, item_id, sum(quantity) AS quantity FROM purchases WHERE status = 'posted'
                  GROUP BY player_id, item_id
              )
              SELECT format('player %s item %s: inventory %s, posted purchases %s', coalesce(v.player_id, b.player_id),
                            coalesce(v.item_id, b.item_id), coalesce(v.quantity, 0), coalesce(b.quantity, 0)) AS detail
              FROM inventory v FULL JOIN bought b ON b.player_id = v.player_id AND b.item_id = v.item_id
              WHERE coalesce(v.quantity, 0) <> coalesce(b.quantity, 0)
              LIMIT $1",
    },
    Check {
        // Every posted purchase has exactly its transfer: posted under its key, of its total (price x
        // quantity), from its player to a treasury pool, of kind purchase.
        name: "purchase_matches_transfer",
        sql: "SELECT format('purchase %s (%s x %s = %s): transfer %s %s %s of %s from %s to a %s account', p.id, p.quantity,
                            p.unit_price_micros, p.total_micros, t.id, t.status, t.kind, t.amount, t.debit_account_id,
                            c.kind) AS detail
              FROM purchases p
              JOIN players pl ON pl.id = p.player_id
              LEFT JOIN transfers t ON t.id = p.transfer_id
              LEFT JOIN accounts c ON c.id = t.credit_account_id
              WHERE p.status = 'posted' AND (
                        t.id IS NULL OR t.status <> 'posted' OR t.kind <> 'purchase'
                     OR t.idempotency_key <> p.idempotency_key
                     OR t.amount IS DISTINCT FROM p.total_micros
                     OR p.total_micros::numeric <> p.unit_price_micros::numeric * p.quantity
                     OR t.debit_account_id <> pl.account_id OR c.kind <> 'treasury_pool')
              LIMIT $1",
    },
    Check {
        // And no purchase money moved without its posted purchase.
        name: "purchase_transfer_has_purchase",
        sql: "SELECT format('transfer %s (%s, %s) has no posted purchase', t.id, t.idempotency_key, t.amount) AS detail
              FROM transfers t
              WHERE t.kind = 'purchase' AND t.status = 'posted'
                AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.transfer_id = t.id AND p.status = 'posted')
              LIMIT $1",
    },
    // Bonus money (a bonus account's balance against its transfers is `balance_equals_transfers`).
    Check {
        // Every recorded grant has its posted Bonus transfer of its amount into its player's bonus account.
        name: "bonus_grant_posted",
        sql: "SELECT format('bonus grant %s of account %s (%s): transfer %s %s %s', g.idempotency_key, g.player_account_id,
                            g.amount_micros, t.id, t.status, t.amount) AS detail
              FROM bonus_grants g
              LEFT JOIN transfers t ON t.idempotency_key = g.idempotency_key
              LEFT JOIN player_bonus p ON p.player_account_id = g.player_account_id
              WHERE t.id IS NULL OR t.id <> g.transfer_id OR t.status <> 'posted' OR t.kind <> 'bonus'
                 OR t.amount <> g.amount_micros OR p.bonus_account_id IS DISTINCT FROM t.credit_account_id
              LIMIT $1",
    },
    Check {
        // A conversion moves the whole bonus balance to cash: the bonus account is empty right after it.
        name: "bonus_conversion_empties_bonus",
        sql: "SELECT format('conversion %s moved %s but left %s in bonus account %s', t.id, t.amount,
                            t.debit_balance_after, t.debit_account_id) AS detail
              FROM transfers t
              JOIN player_bonus p ON p.bonus_account_id = t.debit_account_id
              WHERE t.kind = 'bonus_conversion' AND t.status = 'posted'
                AND (t.debit_balance_after <> 0 OR t.credit_account_id <> p.player_account_id)
              LIMIT $1",
    },
    Check {
        // A paid referral has exactly its two grants (referee and referrer), and nothing else pays it.
        name: "referral_paid_twice_exactly",
        sql: "SELECT format('referral of %s (%s): %s referee and %s referrer grants', r.referee_player_id, r.status,
                            count(g.idempotency_key) FILTER (WHERE g.reason = 'referral_referee'),
                            count(g.idempotency_key) FILTER (WHERE g.reason = 'referral_referrer')) AS detail
              FROM referrals r
              LEFT JOIN bonus_grants g ON g.idempotency_key IN ('referral:' || r.referee_player_id || ':referral_referee',
                                                                'referral:' || r.referee_player_id || ':referral_referrer')
              GROUP BY r.referee_player_id, r.status
              HAVING (r.status = 'paid' AND (count(g.idempotency_key) FILTER (WHERE g.reason = 'referral_referee') <> 1
                                          OR count(g.idempotency_key) FILTER (WHERE g.reason = 'referral_referrer') <> 1))
                  OR (r.status = 'capped' AND count(g.idempotency_key) > 0)
              LIMIT $1",
    },
    Check {
        // A second leg exists only next to its request's own row (legs exist only for bonus players).
        name: "bonus_leg_has_main_row",
        sql: "WITH owned AS (
                  SELECT player_account_id AS id FROM player_bonus UNION SELECT bonus_account_id FROM player_bonus
              ), mains AS (
                  SELECT bonus_leg_key(idempotency_key) AS leg_key FROM transfers
                  WHERE player_account_id IN (SELECT id FROM owned) AND kind IN ('bet', 'win', 'refund')
                    AND idempotency_key NOT LIKE 'bonus-leg:%'
              )
              SELECT format('leg %s (%s) has no main row', l.idempotency_key, l.id) AS detail
              FROM transfers l
              WHERE l.idempotency_key LIKE 'bonus-leg:%'
                AND NOT EXISTS (SELECT 1 FROM mains m WHERE m.leg_key = l.idempotency_key)
              LIMIT $1",
    },
];
