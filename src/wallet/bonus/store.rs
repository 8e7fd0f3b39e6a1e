//! Postgres I/O of the bonus side of a wallet batch: one query loads the states of the batch's bonus
//! players, one loads the stored rows their split needs, one statement writes the changed states by
//! compare-and-set on `revision`. Batches of players without a bonus row run none of them.

use super::{leg_key, BonusBook, BonusState, StakeOrder};
use crate::wallet::ledger::{
    AccountId, AccountKind, AccountState, IdempotencyKey, StoredTransfer, TransferKind, TransferRequest,
};
use crate::wallet::store::stored_transfer_from_row;
use sqlx::{Postgres, Row, Transaction};
use std::collections::{BTreeMap, HashMap};

/// The bonus states of the players among `accounts`; no query when none of them has a bonus account
/// (the accounts read include every bonus account of the batch's players).
pub async fn load_bonuses(
    transaction: &mut Transaction<'_, Postgres>,
    accounts: &HashMap<AccountId, AccountState>,
) -> Result<Vec<BonusState>, sqlx::Error> {
    let bonus_accounts: Vec<i64> = accounts
        .values()
        .filter(|account| account.kind == AccountKind::Bonus)
        .map(|account| account.id.0)
        .collect();
    if bonus_accounts.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT player_account_id, bonus_account_id, wagering_required_micros, wagered_micros, conversions, revision
         FROM player_bonus WHERE bonus_account_id = ANY($1)",
    )
    .bind(&bonus_accounts)
    .fetch_all(&mut **transaction)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(BonusState {
                player_account: AccountId(row.try_get("player_account_id")?),
                bonus_account: AccountId(row.try_get("bonus_account_id")?),
                wagering_required_micros: row.try_get("wagering_required_micros")?,
                wagered_micros: row.try_get("wagered_micros")?,
                conversions: row.try_get("conversions")?,
                revision: row.try_get("revision")?,
            })
        })
        .collect()
}

/// The stored rows a bonus player's requests need: the stake (and its second leg) a payout settles,
/// and, when `with_own_legs` (the locked path, where replays are answered), each request's own leg.
pub async fn load_legs(
    transaction: &mut Transaction<'_, Postgres>,
    requests: &[TransferRequest],
    states: &[BonusState],
    with_own_legs: bool,
) -> Result<HashMap<IdempotencyKey, StoredTransfer>, sqlx::Error> {
    let is_bonus_player = |account: AccountId| {
        states
            .iter()
            .any(|state| state.player_account == account || state.bonus_account == account)
    };
    let mut keys: Vec<String> = Vec::new();
    for request in requests {
        if !is_bonus_player(request.debit) && !is_bonus_player(request.credit) {
            continue;
        }
        if with_own_legs {
            keys.push(leg_key(&request.key).as_str().to_owned());
        }
        if let (Some(stake), TransferKind::Win | TransferKind::Refund) = (&request.settles, request.kind) {
            keys.push(stake.as_str().to_owned());
            keys.push(leg_key(stake).as_str().to_owned());
        }
    }
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT id, idempotency_key, debit_account_id, credit_account_id, amount, kind, reference, status,
                rejection_code, debit_balance_after, credit_balance_after, created_at
         FROM transfers WHERE idempotency_key = ANY($1)",
    )
    .bind(&keys)
    .fetch_all(&mut **transaction)
    .await?;
    let mut legs = HashMap::with_capacity(rows.len());
    for row in rows {
        let stored = stored_transfer_from_row(&row)?;
        legs.insert(stored.request.key.clone(), stored);
    }
    Ok(legs)
}

/// Writes the changed states; returns how many rows still had the revision the plan read (the caller
/// compares it with the number of states, like the balances).
pub async fn write_bonus_progress(
    transaction: &mut Transaction<'_, Postgres>,
    progress: &BTreeMap<AccountId, BonusState>,
) -> Result<i64, sqlx::Error> {
    if progress.is_empty() {
        return Ok(0);
    }
    let mut players = Vec::with_capacity(progress.len());
    let mut required = Vec::with_capacity(progress.len());
    let mut wagered = Vec::with_capacity(progress.len());
    let mut conversions = Vec::with_capacity(progress.len());
    let mut revisions = Vec::with_capacity(progress.len());
    for state in progress.values() {
        players.push(state.player_account.0);
        required.push(state.wagering_required_micros);
        wagered.push(state.wagered_micros);
        conversions.push(state.conversions);
        revisions.push(state.revision);
    }
    let result = sqlx::query(
        "UPDATE player_bonus AS b
         SET wagering_required_micros = d.required, wagered_micros = d.wagered, conversions = d.conversions,
             revision = b.revision + 1
         FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[])
              AS d(player, required, wagered, conversions, revision)
         WHERE b.player_account_id = d.player AND b.revision = d.revision",
    )
    .bind(&players)
    .bind(&required)
    .bind(&wagered)
    .bind(&conversions)
    .bind(&revisions)
    .execute(&mut **transaction)
    .await?;
    Ok(result.rows_affected() as i64)
}

/// Everything the planner needs about the batch's bonus players, read in the batch's transaction.
pub async fn load_book(
    transaction: &mut Transaction<'_, Postgres>,
    requests: &[TransferRequest],
    accounts: &HashMap<AccountId, AccountState>,
    stake_order: StakeOrder,
    with_own_legs: bool,
) -> Result<BonusBook, sqlx::Error> {
    let states = load_bonuses(transaction, accounts).await?;
    if states.is_empty() {
        return Ok(BonusBook::default());
    }
    let legs = load_legs(transaction, requests, &states, with_own_legs).await?;
    Ok(BonusBook::new(states, legs, stake_order))
}
