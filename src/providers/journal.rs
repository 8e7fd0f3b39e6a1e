//! The provider journal in Postgres: one batch of provider calls is decided and written in one
//! transaction. It locks the players' accounts and the provider house accounts (in id order, like the
//! wallet's batches, so the two never deadlock), loads what the rules need (sessions, games, journal rows,
//! rounds), runs [`rules::decide`] for each call in order, and writes the journal rows, the rounds, the
//! ledger transfers, the balances and the RTP rollups before it commits. Another node deciding a call of
//! the same player waits for the account lock and then sees this batch's rows.

use super::adapter::ProviderAdapter;
use super::model::{Answer, Operation, Status, WalletCall};
use super::rules::{
    self, BatchState, Decision, EntryStatus, JournalEntry, JournalKey, PlayerState, RoundKey, RoundState,
};
use super::service::BalanceChanges;
use crate::catalog::rtp::{self, RtpDelta};
use crate::catalog::CatalogGame;
use crate::catalog::ProviderRecord;
use crate::money::Balance;
use crate::wallet::guard::{self, PlayerGuard};
use crate::wallet::ledger::{AccountId, IdempotencyKey};
use crate::wallet::observer::BalanceChange;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Row, Transaction};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// One call waiting in a batch.
pub struct BatchCall {
    pub provider: Arc<ProviderRecord>,
    pub adapter: Arc<dyn ProviderAdapter>,
    pub call: WalletCall,
}

/// A decided call: its answer and the body rendered in its protocol.
#[derive(Debug, Clone)]
pub struct Decided {
    pub answer: Answer,
    pub http_status: u16,
    pub body: serde_json::Value,
}

/// The house account of one provider that one shard's batches post to.
pub fn house_account_code(provider_id: &str, currency: &str, shard: usize) -> String {
    format!("provider:{provider_id}:{currency}:{shard}")
}

/// The ledger idempotency key of a provider transaction's money movement.
pub fn ledger_key(provider_id: &str, transaction_id: &str) -> String {
    let key = format!("prov:{provider_id}:{transaction_id}");
    if IdempotencyKey::parse(&key).is_ok() {
        return key;
    }
    // Too long, or not printable ASCII (a provider's ids may be any text). Provider ids are at most 32
    // ASCII characters, so the hashed form always fits.
    format!(
        "provh:{provider_id}:{}",
        hex::encode(Sha256::digest(transaction_id.as_bytes()))
    )
}

/// Creates the house account of `provider_id` for `shard` if it is missing and returns its id.
pub async fn ensure_house_account(
    pool: &PgPool,
    provider_id: &str,
    currency: &str,
    shard: usize,
) -> Result<AccountId, sqlx::Error> {
    let code = house_account_code(provider_id, currency, shard);
    sqlx::query("INSERT INTO accounts (code, kind, currency) VALUES ($1, 'house', $2) ON CONFLICT (code) DO NOTHING")
        .bind(&code)
        .bind(currency)
        .execute(pool)
        .await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM accounts WHERE code = $1")
        .bind(&code)
        .fetch_one(pool)
        .await?;
    Ok(AccountId(id))
}

/// Decides and writes one batch. `None` when a concurrent writer stored one of its journal keys or
/// ledger keys between our read and our write: nothing was written, and the caller runs the batch again
/// (the next attempt sees those rows and answers accordingly).
pub async fn commit_batch(
    pool: &PgPool,
    shard: usize,
    house_accounts: &BTreeMap<String, AccountId>,
    games: &mut GameCache,
    calls: &[BatchCall],
) -> Result<Option<(Vec<Decided>, BalanceChanges)>, sqlx::Error> {
    let now = Utc::now();
    let mut transaction = pool.begin().await?;
    let mut state = BatchState::default();
    let mut houses = lock_accounts(&mut transaction, &mut state, house_accounts, calls).await?;
    load_sessions(&mut transaction, &mut state, calls).await?;
    load_games(&mut transaction, &mut state, games, calls).await?;
    load_journal(&mut transaction, &mut state, calls).await?;
    load_rounds(&mut transaction, &mut state, calls).await?;
    let mut decided = Vec::with_capacity(calls.len());
    for batch_call in calls {
        let context = rules::Context {
            provider_id: &batch_call.provider.id,
            currencies: &batch_call.provider.currencies,
            now,
        };
        let Decision { answer, journaled } = rules::decide(&mut state, &context, &batch_call.call);
        let rendered = batch_call
            .adapter
            .render(batch_call.call.operation, Some(&batch_call.call), &answer);
        if let Some(key) = journaled {
            state.journal.get_mut(&key).expect("a decision journals its key").answer = Some(rendered.body.clone());
        }
        decided.push(Decided {
            answer,
            http_status: rendered.http_status,
            body: rendered.body,
        });
    }
    let expected = state.journal_inserted.len() as u64 + state.movements.len() as u64;
    let written = write(&mut transaction, &state, &mut houses, shard, now).await?;
    if written != expected {
        transaction.rollback().await?;
        return Ok(None);
    }
    transaction.commit().await?;
    Ok(Some((decided, balance_changes(&state))))
}

/// Each player's last balance in the batch, to show on their page.
fn balance_changes(state: &BatchState) -> BalanceChanges {
    let mut last = BTreeMap::new();
    for movement in &state.movements {
        last.insert(movement.player, (movement.player_balance_after, movement.at));
    }
    last.into_iter()
        .map(|(account, (balance, at))| BalanceChange {
            account,
            balance: Balance::from_micros(balance),
            at,
        })
        .collect()
}

/// The house accounts a batch posts to, by provider id, with their balances before the batch's movements
/// (known once `apply_house_deltas` has locked them).
type Houses = BTreeMap<String, (AccountId, i64)>;

async fn lock_accounts(
    transaction: &mut Transaction<'_, Postgres>,
    state: &mut BatchState,
    house_accounts: &BTreeMap<String, AccountId>,
    calls: &[BatchCall],
) -> Result<Houses, sqlx::Error> {
    let player_ids: BTreeSet<Uuid> = calls
        .iter()
        .filter_map(|batch_call| Uuid::parse_str(&batch_call.call.player).ok())
        .collect();
    let player_ids: Vec<Uuid> = player_ids.into_iter().collect();
    let providers: BTreeSet<&str> = calls.iter().map(|batch_call| batch_call.provider.id.as_str()).collect();
    // One statement locks the players' accounts in id order, as the wallet's batches lock, and reads the
    // players' state with their balances. The house accounts are locked last, when the batch writes
    // (`apply_house_deltas`): a transaction waiting for a house row holds only player rows, and the
    // holder of a house row waits for nothing but its commit, so no lock cycle forms.
    let rows = sqlx::query(
        "SELECT a.id AS account_id, a.currency, a.balance, p.id, p.username, p.created_at, p.status,
                p.self_excluded_until
         FROM accounts a JOIN players p ON p.account_id = a.id
         WHERE p.id = ANY($1)
         ORDER BY a.id FOR NO KEY UPDATE OF a",
    )
    .bind(&player_ids)
    .fetch_all(&mut **transaction)
    .await?;
    for row in rows {
        let account = AccountId(row.try_get("account_id")?);
        let balance: i64 = row.try_get("balance")?;
        let id: Uuid = row.try_get("id")?;
        let status: String = row.try_get("status")?;
        let player = PlayerState {
            id,
            account,
            username: row.try_get("username")?,
            registered_at: row.try_get("created_at")?,
            currency: row.try_get("currency")?,
            balance_micros: balance,
            disabled: status != "active",
            self_excluded_until: row.try_get("self_excluded_until")?,
            guard: None,
        };
        state.players.insert(id, player);
    }
    // The accounts are locked: every writer of a guard holds that lock, so these stay as read.
    let accounts: Vec<i64> = state.players.values().map(|player| player.account.0).collect();
    let mut guards = guard::store::load_guards(transaction, &accounts).await?;
    for player in state.players.values_mut() {
        player.guard = guards.remove(&player.account);
    }
    // Balances are filled in when the house rows are locked, at the end of the batch.
    let houses = providers
        .into_iter()
        .map(|provider| (provider.to_owned(), (house_accounts[provider], 0)))
        .collect();
    Ok(houses)
}

async fn load_sessions(
    transaction: &mut Transaction<'_, Postgres>,
    state: &mut BatchState,
    calls: &[BatchCall],
) -> Result<(), sqlx::Error> {
    let tokens: Vec<&str> = calls
        .iter()
        .filter(|batch_call| batch_call.call.operation == Operation::Bet)
        .filter_map(|batch_call| batch_call.call.token.as_deref())
        .collect();
    if tokens.is_empty() {
        return Ok(());
    }
    let rows = sqlx::query(
        "SELECT token, player_id, provider_id, game_id, status, expires_at FROM game_sessions WHERE token = ANY($1)",
    )
    .bind(&tokens)
    .fetch_all(&mut **transaction)
    .await?;
    for row in rows {
        let status: String = row.try_get("status")?;
        state.sessions.insert(
            row.try_get("token")?,
            rules::SessionState {
                player_id: row.try_get("player_id")?,
                provider_id: row.try_get("provider_id")?,
                game_id: row.try_get("game_id")?,
                open: status == "open",
                expires_at: row.try_get("expires_at")?,
            },
        );
    }
    Ok(())
}

/// The catalog games a shard has read lately, by (provider, code): the games of a studio's calls hardly
/// ever change, and an operator's change shows within [`GAME_CACHE_TTL`].
#[derive(Default)]
pub struct GameCache {
    games: HashMap<(String, String), (Instant, Option<CatalogGame>)>,
}

/// How long a shard trusts its copy of a catalog game.
pub const GAME_CACHE_TTL: Duration = Duration::from_secs(2);
/// The most games one shard's cache holds; past it the cache starts over.
const GAME_CACHE_ENTRIES_MAX: usize = 10_000;

async fn load_games(
    transaction: &mut Transaction<'_, Postgres>,
    state: &mut BatchState,
    cache: &mut GameCache,
    calls: &[BatchCall],
) -> Result<(), sqlx::Error> {
    let mut wanted = BTreeSet::new();
    for batch_call in calls {
        if let Some(code) = &batch_call.call.game_code {
            wanted.insert((batch_call.provider.id.clone(), code.clone()));
        }
    }
    let stale: Vec<&(String, String)> = wanted
        .iter()
        .filter(|key| {
            cache
                .games
                .get(*key)
                .is_none_or(|(at, _)| at.elapsed() >= GAME_CACHE_TTL)
        })
        .collect();
    if !stale.is_empty() {
        let rows = sqlx::query(
            "SELECT g.id, g.provider_id, g.code, g.name, g.category, g.rtp_bps, g.volatility, g.bet_min_micros,
                    g.bet_max_micros, g.active
             FROM games g JOIN unnest($1::text[], $2::text[]) AS k(provider_id, code)
                  ON g.provider_id = k.provider_id AND g.code = k.code",
        )
        .bind(stale.iter().map(|key| key.0.as_str()).collect::<Vec<_>>())
        .bind(stale.iter().map(|key| key.1.as_str()).collect::<Vec<_>>())
        .fetch_all(&mut **transaction)
        .await?;
        if cache.games.len() + stale.len() > GAME_CACHE_ENTRIES_MAX {
            cache.games.clear();
        }
        let now = Instant::now();
        for key in &stale {
            cache.games.insert((*key).clone(), (now, None));
        }
        for row in rows {
            let game = crate::catalog::game_from_row(&row)?;
            cache
                .games
                .insert((game.provider_id.clone(), game.code.clone()), (now, Some(game)));
        }
    }
    for key in wanted {
        if let Some((_, Some(game))) = cache.games.get(&key) {
            state.games.insert(key, game.clone());
        }
    }
    Ok(())
}

async fn load_journal(
    transaction: &mut Transaction<'_, Postgres>,
    state: &mut BatchState,
    calls: &[BatchCall],
) -> Result<(), sqlx::Error> {
    let mut providers = Vec::new();
    let mut ids = Vec::new();
    for batch_call in calls {
        let call = &batch_call.call;
        for id in [&call.transaction_id, &call.reference_id].into_iter().flatten() {
            providers.push(batch_call.provider.id.as_str());
            ids.push(id.as_str());
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    let rows = sqlx::query(
        "SELECT j.provider_id, j.transaction_id, j.kind, j.player_id, j.game_id, j.round_id, j.reference_id,
                j.amount_micros, j.currency, j.free, j.request_hash, j.status, j.status_code, j.balance_before,
                j.balance_after, j.ledger_transfer_id, j.answer, j.created_at
         FROM provider_transactions j JOIN unnest($1::text[], $2::text[]) AS k(provider_id, transaction_id)
              ON j.provider_id = k.provider_id AND j.transaction_id = k.transaction_id",
    )
    .bind(&providers)
    .bind(&ids)
    .fetch_all(&mut **transaction)
    .await?;
    for row in rows {
        let entry = journal_entry_from_row(&row)?;
        state
            .journal
            .insert((entry.provider_id.clone(), entry.transaction_id.clone()), entry);
    }
    Ok(())
}

fn journal_entry_from_row(row: &sqlx::postgres::PgRow) -> Result<JournalEntry, sqlx::Error> {
    let decode = |column: &str, value: String| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: value.into(),
    };
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let code: String = row.try_get("status_code")?;
    Ok(JournalEntry {
        provider_id: row.try_get("provider_id")?,
        transaction_id: row.try_get("transaction_id")?,
        kind: match kind.as_str() {
            "bet" => Operation::Bet,
            "win" => Operation::Win,
            "rollback" => Operation::Rollback,
            _ => return Err(decode("kind", kind)),
        },
        player_id: row.try_get("player_id")?,
        game_id: row.try_get("game_id")?,
        round_id: row.try_get("round_id")?,
        reference_id: row.try_get("reference_id")?,
        amount_micros: row.try_get("amount_micros")?,
        currency: row.try_get("currency")?,
        free: row.try_get("free")?,
        request_hash: row.try_get("request_hash")?,
        status: EntryStatus::parse(&status).ok_or_else(|| decode("status", status.clone()))?,
        answered: Status::parse(&code).ok_or_else(|| decode("status_code", code.clone()))?,
        balance_before: row.try_get("balance_before")?,
        balance_after: row.try_get("balance_after")?,
        ledger_transfer_id: row.try_get("ledger_transfer_id")?,
        answer: row.try_get("answer")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Loads the rounds the calls name, and the rounds of the bets they refer to (a rollback needs to know
/// whether its bet's round was settled).
async fn load_rounds(
    transaction: &mut Transaction<'_, Postgres>,
    state: &mut BatchState,
    calls: &[BatchCall],
) -> Result<(), sqlx::Error> {
    let mut keys: BTreeSet<RoundKey> = BTreeSet::new();
    for batch_call in calls {
        let call = &batch_call.call;
        let Ok(player) = Uuid::parse_str(&call.player) else {
            continue;
        };
        let provider = &batch_call.provider.id;
        if let Some(round) = &call.round_id {
            keys.insert((provider.clone(), round.clone(), player));
        }
        let bet = call
            .reference_id
            .as_ref()
            .and_then(|reference| state.journal.get(&(provider.clone(), reference.clone())));
        if let Some(round) = bet.and_then(|bet| bet.round_id.as_ref()) {
            keys.insert((provider.clone(), round.clone(), player));
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    let providers: Vec<&str> = keys.iter().map(|key| key.0.as_str()).collect();
    let rounds: Vec<&str> = keys.iter().map(|key| key.1.as_str()).collect();
    let players: Vec<Uuid> = keys.iter().map(|key| key.2).collect();
    let rows = sqlx::query(
        "SELECT r.provider_id, r.round_id, r.player_id, r.game_id, r.live_bets, r.bets, r.wins, r.staked_micros,
                r.won_micros, r.closed_at, r.opened_at, r.last_call_at
         FROM provider_rounds r JOIN unnest($1::text[], $2::text[], $3::uuid[]) AS k(provider_id, round_id, player_id)
              ON r.provider_id = k.provider_id AND r.round_id = k.round_id AND r.player_id = k.player_id",
    )
    .bind(&providers)
    .bind(&rounds)
    .bind(&players)
    .fetch_all(&mut **transaction)
    .await?;
    for row in rows {
        let key = (
            row.try_get("provider_id")?,
            row.try_get("round_id")?,
            row.try_get("player_id")?,
        );
        let closed_at: Option<DateTime<Utc>> = row.try_get("closed_at")?;
        state.rounds.insert(
            key,
            RoundState {
                game_id: row.try_get("game_id")?,
                live_bets: row.try_get("live_bets")?,
                bets: row.try_get("bets")?,
                wins: row.try_get("wins")?,
                staked_micros: row.try_get("staked_micros")?,
                won_micros: row.try_get("won_micros")?,
                closed: closed_at.is_some(),
                opened_at: row.try_get("opened_at")?,
                last_call_at: row.try_get("last_call_at")?,
            },
        );
    }
    Ok(())
}

/// Writes what the batch decided; answers the rows inserted (journal rows plus ledger transfers), which
/// fall short of the expected count only when a concurrent writer stored one of the same keys.
async fn write(
    transaction: &mut Transaction<'_, Postgres>,
    state: &BatchState,
    houses: &mut Houses,
    shard: usize,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let journal_rows = insert_journal(transaction, state).await?;
    update_journal(transaction, state).await?;
    upsert_rounds(transaction, state).await?;
    let transfers = post_movements(transaction, state, houses).await?;
    write_guards(transaction, state).await?;
    let deltas = rtp_deltas(state, now);
    rtp::record(transaction, shard as i32, &deltas).await?;
    Ok(journal_rows + transfers)
}

/// Writes the usage the batch counted into its players' guards, in the same transaction as the bets.
async fn write_guards(transaction: &mut Transaction<'_, Postgres>, state: &BatchState) -> Result<(), sqlx::Error> {
    let changed: BTreeMap<AccountId, PlayerGuard> = state
        .guards_changed
        .iter()
        .filter_map(|id| state.players.get(id)?.guard.clone())
        .map(|guard| (guard.account, guard))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    // The revisions were read under the account locks this transaction still holds: they cannot differ.
    if guard::store::write_guard_usage(transaction, &changed).await? {
        Ok(())
    } else {
        Err(sqlx::Error::Protocol(
            "a locked player guard changed under its lock".into(),
        ))
    }
}

async fn insert_journal(transaction: &mut Transaction<'_, Postgres>, state: &BatchState) -> Result<u64, sqlx::Error> {
    if state.journal_inserted.is_empty() {
        return Ok(0);
    }
    let entries: Vec<&JournalEntry> = state.journal_inserted.iter().map(|key| &state.journal[key]).collect();
    let result = sqlx::query(
        "INSERT INTO provider_transactions (provider_id, transaction_id, kind, player_id, game_id, round_id,
             reference_id, amount_micros, currency, free, request_hash, status, status_code, balance_before,
             balance_after, ledger_transfer_id, answer, created_at, updated_at)
         SELECT *, c FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::int8[], $6::text[], $7::text[],
                               $8::int8[], $9::text[], $10::bool[], $11::text[], $12::text[], $13::text[],
                               $14::int8[], $15::int8[], $16::uuid[], $17::jsonb[], $18::timestamptz[]) AS u(
                  a, b, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, c)
         ON CONFLICT (provider_id, transaction_id) DO NOTHING",
    )
    .bind(
        entries
            .iter()
            .map(|entry| entry.provider_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        entries
            .iter()
            .map(|entry| entry.transaction_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(entries.iter().map(|entry| entry.kind.as_str()).collect::<Vec<_>>())
    .bind(entries.iter().map(|entry| entry.player_id).collect::<Vec<_>>())
    .bind(entries.iter().map(|entry| entry.game_id).collect::<Vec<_>>())
    .bind(
        entries
            .iter()
            .map(|entry| entry.round_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        entries
            .iter()
            .map(|entry| entry.reference_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(entries.iter().map(|entry| entry.amount_micros).collect::<Vec<_>>())
    .bind(entries.iter().map(|entry| entry.currency.as_str()).collect::<Vec<_>>())
    .bind(entries.iter().map(|entry| entry.free).collect::<Vec<_>>())
    .bind(
        entries
            .iter()
            .map(|entry| entry.request_hash.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(entries.iter().map(|entry| entry.status.as_str()).collect::<Vec<_>>())
    .bind(entries.iter().map(|entry| entry.answered.code()).collect::<Vec<_>>())
    .bind(entries.iter().map(|entry| entry.balance_before).collect::<Vec<_>>())
    .bind(entries.iter().map(|entry| entry.balance_after).collect::<Vec<_>>())
    .bind(entries.iter().map(|entry| entry.ledger_transfer_id).collect::<Vec<_>>())
    .bind(entries.iter().map(|entry| entry.answer.clone()).collect::<Vec<_>>())
    .bind(entries.iter().map(|entry| entry.created_at).collect::<Vec<_>>())
    .execute(&mut **transaction)
    .await?;
    Ok(result.rows_affected())
}

/// Marks the bets this batch rolled back (rows inserted earlier; rows inserted by this batch already
/// carry their final status).
async fn update_journal(transaction: &mut Transaction<'_, Postgres>, state: &BatchState) -> Result<(), sqlx::Error> {
    if state.journal_updated.is_empty() {
        return Ok(());
    }
    let keys: Vec<&JournalKey> = state.journal_updated.iter().collect();
    sqlx::query(
        "UPDATE provider_transactions j SET status = k.status, updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::text[]) AS k(provider_id, transaction_id, status)
         WHERE j.provider_id = k.provider_id AND j.transaction_id = k.transaction_id",
    )
    .bind(keys.iter().map(|key| key.0.as_str()).collect::<Vec<_>>())
    .bind(keys.iter().map(|key| key.1.as_str()).collect::<Vec<_>>())
    .bind(
        keys.iter()
            .map(|key| state.journal[*key].status.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Writes the rounds' new state. Every change to a player's rounds happens under that player's account
/// lock, so the values written are the latest.
async fn upsert_rounds(transaction: &mut Transaction<'_, Postgres>, state: &BatchState) -> Result<(), sqlx::Error> {
    if state.rounds_changed.is_empty() {
        return Ok(());
    }
    let keys: Vec<&RoundKey> = state.rounds_changed.iter().collect();
    let rounds: Vec<&RoundState> = keys.iter().map(|key| &state.rounds[*key]).collect();
    sqlx::query(
        "INSERT INTO provider_rounds (provider_id, round_id, player_id, game_id, live_bets, bets, wins, staked_micros,
                                     won_micros, closed_at, closed_by, opened_at, last_call_at)
         SELECT k.provider_id, k.round_id, k.player_id, k.game_id, k.live_bets, k.bets, k.wins, k.staked, k.won,
                CASE WHEN k.closed THEN k.last_call_at END, CASE WHEN k.closed THEN 'provider' END,
                k.opened_at, k.last_call_at
         FROM unnest($1::text[], $2::text[], $3::uuid[], $4::int8[], $5::int4[], $6::int4[], $7::int4[], $8::int8[],
                     $9::int8[], $10::bool[], $11::timestamptz[], $12::timestamptz[])
              AS k(provider_id, round_id, player_id, game_id, live_bets, bets, wins, staked, won, closed, opened_at,
                   last_call_at)
         ON CONFLICT (provider_id, round_id, player_id) DO UPDATE SET
             live_bets = EXCLUDED.live_bets, bets = EXCLUDED.bets, wins = EXCLUDED.wins,
             staked_micros = EXCLUDED.staked_micros, won_micros = EXCLUDED.won_micros,
             closed_at = coalesce(provider_rounds.closed_at, EXCLUDED.closed_at),
             closed_by = coalesce(provider_rounds.closed_by, EXCLUDED.closed_by),
             last_call_at = EXCLUDED.last_call_at",
    )
    .bind(keys.iter().map(|key| key.0.as_str()).collect::<Vec<_>>())
    .bind(keys.iter().map(|key| key.1.as_str()).collect::<Vec<_>>())
    .bind(keys.iter().map(|key| key.2).collect::<Vec<_>>())
    .bind(rounds.iter().map(|round| round.game_id).collect::<Vec<_>>())
    .bind(rounds.iter().map(|round| round.live_bets).collect::<Vec<_>>())
    .bind(rounds.iter().map(|round| round.bets).collect::<Vec<_>>())
    .bind(rounds.iter().map(|round| round.wins).collect::<Vec<_>>())
    .bind(rounds.iter().map(|round| round.staked_micros).collect::<Vec<_>>())
    .bind(rounds.iter().map(|round| round.won_micros).collect::<Vec<_>>())
    .bind(rounds.iter().map(|round| round.closed).collect::<Vec<_>>())
    .bind(rounds.iter().map(|round| round.opened_at).collect::<Vec<_>>())
    .bind(rounds.iter().map(|round| round.last_call_at).collect::<Vec<_>>())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Moves the house accounts by the batch's total and sets each one's entry in `houses` to its balance
/// before the batch, so the transfers can record the balance each of them left. The house rows are locked
/// here, at the end of the batch (in id order, in one statement), not with the players at its start: every
/// batch of a shard on every node posts to the same house row, and a lock held for the whole batch made
/// them queue on it.
async fn apply_house_deltas(
    transaction: &mut Transaction<'_, Postgres>,
    state: &BatchState,
    houses: &mut Houses,
) -> Result<(), sqlx::Error> {
    let mut deltas: BTreeMap<i64, i64> = BTreeMap::new();
    for movement in &state.movements {
        let (house, _) = houses[&movement.provider_id];
        *deltas.entry(house.0).or_default() -= movement.player_delta_micros;
    }
    let (ids, amounts): (Vec<i64>, Vec<i64>) = deltas.iter().map(|(id, delta)| (*id, *delta)).unzip();
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "WITH locked AS (
             SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE
         )
         UPDATE accounts AS a SET balance = a.balance + d.delta, updated_at = now()
         FROM unnest($1::int8[], $2::int8[]) AS d(id, delta) JOIN locked AS l ON l.id = d.id
         WHERE a.id = d.id
         RETURNING a.id, a.balance",
    )
    .bind(&ids)
    .bind(&amounts)
    .fetch_all(&mut **transaction)
    .await?;
    for (id, balance_after) in rows {
        for (house, opening) in houses.values_mut() {
            if house.0 == id {
                *opening = balance_after - deltas[&id];
            }
        }
    }
    Ok(())
}

/// Posts the batch's money movements as ledger transfers (between each player and the provider's house
/// account) and writes the players' balances they leave (their rows are locked: the balances are absolute).
async fn post_movements(
    transaction: &mut Transaction<'_, Postgres>,
    state: &BatchState,
    houses: &mut Houses,
) -> Result<u64, sqlx::Error> {
    if state.movements.is_empty() {
        return Ok(0);
    }
    apply_house_deltas(transaction, state, houses).await?;
    let mut rows = TransferRows::default();
    let mut balances: BTreeMap<i64, i64> = BTreeMap::new();
    for movement in &state.movements {
        let (house, house_balance) = houses
            .get_mut(&movement.provider_id)
            .expect("every provider of the batch has its house account locked");
        *house_balance -= movement.player_delta_micros;
        let (debit, credit, debit_after, credit_after) = if movement.player_delta_micros < 0 {
            (
                movement.player.0,
                house.0,
                movement.player_balance_after,
                *house_balance,
            )
        } else {
            (
                house.0,
                movement.player.0,
                *house_balance,
                movement.player_balance_after,
            )
        };
        let currency = &state
            .players
            .values()
            .find(|player| player.account == movement.player)
            .expect("a movement's player is in the batch")
            .currency;
        rows.ids.push(movement.transfer_id);
        rows.keys
            .push(ledger_key(&movement.provider_id, &movement.transaction_id));
        rows.debits.push(debit);
        rows.credits.push(credit);
        rows.amounts.push(movement.player_delta_micros.abs());
        rows.currencies.push(currency.clone());
        rows.kinds.push(match movement.kind {
            Operation::Bet => "bet",
            Operation::Win => "win",
            _ => "refund",
        });
        rows.references.push(truncate(
            format!(
                "provider {} transaction {}",
                movement.provider_id, movement.transaction_id
            ),
            200,
        ));
        rows.debit_after.push(debit_after);
        rows.credit_after.push(credit_after);
        rows.players.push(movement.player.0);
        rows.created_at.push(movement.at);
        balances.insert(movement.player.0, movement.player_balance_after);
    }
    let (account_ids, new_balances): (Vec<i64>, Vec<i64>) = balances.into_iter().unzip();
    let inserted: (i64, i64) = sqlx::query_as(
        "WITH updated AS (
             UPDATE accounts AS a SET balance = d.balance, updated_at = now()
             FROM unnest($1::int8[], $2::int8[]) AS d(id, balance)
             WHERE a.id = d.id
             RETURNING 1
         ), inserted AS (
             INSERT INTO transfers (id, idempotency_key, debit_account_id, credit_account_id, amount, currency, kind,
                                    reference, status, debit_balance_after, credit_balance_after, player_account_id,
                                    created_at)
             SELECT i, k, d, c, a, cur, kind, r, 'posted', da, ca, p, t
             FROM unnest($3::uuid[], $4::text[], $5::int8[], $6::int8[], $7::int8[], $8::text[], $9::text[], $10::text[],
                         $11::int8[], $12::int8[], $13::int8[], $14::timestamptz[])
                  AS u(i, k, d, c, a, cur, kind, r, da, ca, p, t)
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM inserted)",
    )
    .bind(&account_ids)
    .bind(&new_balances)
    .bind(&rows.ids)
    .bind(&rows.keys)
    .bind(&rows.debits)
    .bind(&rows.credits)
    .bind(&rows.amounts)
    .bind(&rows.currencies)
    .bind(&rows.kinds)
    .bind(&rows.references)
    .bind(&rows.debit_after)
    .bind(&rows.credit_after)
    .bind(&rows.players)
    .bind(&rows.created_at)
    .fetch_one(&mut **transaction)
    .await?;
    debug_assert_eq!(inserted.0 as usize, account_ids.len());
    Ok(inserted.1 as u64)
}

#[derive(Default)]
struct TransferRows {
    ids: Vec<Uuid>,
    keys: Vec<String>,
    debits: Vec<i64>,
    credits: Vec<i64>,
    amounts: Vec<i64>,
    currencies: Vec<String>,
    kinds: Vec<&'static str>,
    references: Vec<String>,
    debit_after: Vec<i64>,
    credit_after: Vec<i64>,
    players: Vec<i64>,
    created_at: Vec<DateTime<Utc>>,
}

fn truncate(mut text: String, bytes_max: usize) -> String {
    if text.len() > bytes_max {
        let mut end = bytes_max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Adds up the batch's RTP changes per game.
fn rtp_deltas(state: &BatchState, now: DateTime<Utc>) -> Vec<RtpDelta> {
    let mut by_game: BTreeMap<i64, RtpDelta> = BTreeMap::new();
    for change in &state.rtp {
        let delta = by_game.entry(change.game_id).or_insert(RtpDelta {
            game_id: change.game_id,
            at: now,
            staked_micros: 0,
            won_micros: 0,
            rounds: 0,
        });
        delta.staked_micros += change.staked_micros;
        delta.won_micros += change.won_micros;
        delta.rounds += change.rounds;
    }
    by_game.into_values().collect()
}
