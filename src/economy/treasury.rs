//! The operator's purse: the treasury pool sub-accounts (one per wallet shard) that pay bonuses and
//! receive purchases, funded from the root treasury by an admin transfer, and the view of all of them.
//!
//! Funding posts one transfer per pool through the wallet, each under the key
//! `treasury-fund:{client key}:{shard}`. Pool 0 always gets a share and goes first, and every transfer's
//! reference names the whole amount: so a retry of the key replays every share, a retry that lost some
//! shares to a crash posts the rest, and the same key with another amount is refused by pool 0 before
//! any money moves.

use crate::money::Amount;
use crate::wallet::ledger::{AccountId, IdempotencyKey, TransferError, TransferKind, TransferRequest};
use crate::wallet::Wallet;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// Splits `amount` evenly over `pools` pools, rounding each share down; the remainder goes to pool 0.
pub fn split_evenly(amount: Amount, pools: usize) -> Vec<i64> {
    assert!(pools > 0, "the wallet has at least one shard");
    let pools_count = pools as i64;
    let share = amount.micros() / pools_count;
    let remainder = amount.micros() % pools_count;
    (0..pools)
        .map(|index| if index == 0 { share + remainder } else { share })
        .collect()
}

/// One pool's share of a funding.
#[derive(Debug, Clone, Serialize)]
pub struct FundedShare {
    pub shard: usize,
    pub account_id: AccountId,
    pub amount_micros: i64,
    pub transfer_id: Uuid,
    pub replayed: bool,
    pub created_at: DateTime<Utc>,
}

/// Moves `amount` from the root treasury to the pools, evenly. On an error, the shares already posted
/// stay posted; a retry of the same key posts the others.
#[tracing::instrument(skip(wallet, client_key), fields(amount = amount.micros()))]
pub async fn fund(
    wallet: &Wallet,
    amount: Amount,
    client_key: &IdempotencyKey,
) -> Result<Vec<FundedShare>, TransferError> {
    let pools = wallet.treasury_pools().to_vec();
    let mut shares = Vec::with_capacity(pools.len());
    for (shard, (pool, micros)) in pools.iter().zip(split_evenly(amount, pools.len())).enumerate() {
        // An amount smaller than the number of pools leaves some pools without a share.
        let Ok(share) = Amount::parse(micros) else { continue };
        let key = IdempotencyKey::scoped("treasury-fund", client_key)
            .and_then(|scoped| IdempotencyKey::parse(&format!("{}:{shard}", scoped.as_str())))
            .map_err(|_| TransferError::Unavailable("a funding key is too long".into()))?;
        let receipt = wallet
            .transfer(TransferRequest {
                key,
                debit: wallet.treasury(),
                credit: *pool,
                amount: share,
                kind: TransferKind::TreasuryFunding,
                reference: format!("treasury funding of {} micro-units", amount.micros()),
                settles: None,
            })
            .await?;
        shares.push(FundedShare {
            shard,
            account_id: *pool,
            amount_micros: micros,
            transfer_id: receipt.transfer_id,
            replayed: receipt.replayed,
            created_at: receipt.created_at,
        });
    }
    Ok(shares)
}

/// One pool's balance.
#[derive(Debug, Clone, Serialize)]
pub struct PoolBalance {
    pub shard: usize,
    pub account_id: AccountId,
    pub balance_micros: i64,
}

/// The root treasury and every pool, read in one statement.
#[derive(Debug, Clone, Serialize)]
pub struct TreasuryView {
    pub currency: String,
    pub root_account_id: AccountId,
    pub root_micros: i64,
    pub pools: Vec<PoolBalance>,
    pub pools_total_micros: i64,
}

pub async fn view(pool: &PgPool, wallet: &Wallet) -> Result<TreasuryView, sqlx::Error> {
    let pools = wallet.treasury_pools();
    let ids: Vec<i64> = std::iter::once(wallet.treasury())
        .chain(pools.iter().copied())
        .map(|id| id.0)
        .collect();
    let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT id, balance FROM accounts WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_all(pool)
        .await?;
    let balance_of = |account: AccountId| {
        rows.iter()
            .find(|(id, _)| *id == account.0)
            .map_or(0, |(_, balance)| *balance)
    };
    let pools: Vec<PoolBalance> = pools
        .iter()
        .enumerate()
        .map(|(shard, account)| PoolBalance {
            shard,
            account_id: *account,
            balance_micros: balance_of(*account),
        })
        .collect();
    // Pools never go negative and all money nets to zero in a bigint column, so their sum fits i64.
    let pools_total_micros = pools.iter().map(|pool| pool.balance_micros).sum();
    Ok(TreasuryView {
        currency: wallet.currency().as_str().to_owned(),
        root_account_id: wallet.treasury(),
        root_micros: balance_of(wallet.treasury()),
        pools,
        pools_total_micros,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::AMOUNT_MAX_MICROS;
    use proptest::prelude::*;

    #[test]
    fn the_remainder_goes_to_pool_zero() {
        let amount = Amount::parse(10).unwrap();
        assert_eq!(split_evenly(amount, 4), vec![4, 2, 2, 2]);
        assert_eq!(split_evenly(Amount::parse(3).unwrap(), 4), vec![3, 0, 0, 0]);
        assert_eq!(split_evenly(amount, 1), vec![10]);
    }

    proptest! {
        /// The shares add up to the amount, pool 0 always gets one, and no two other pools differ.
        #[test]
        fn shares_add_up(micros in 1..=AMOUNT_MAX_MICROS, pools in 1usize..=64) {
            let shares = split_evenly(Amount::parse(micros).unwrap(), pools);
            prop_assert_eq!(shares.len(), pools);
            prop_assert_eq!(shares.iter().sum::<i64>(), micros);
            prop_assert!(shares[0] > 0);
            prop_assert!(shares[1..].windows(2).all(|pair| pair[0] == pair[1]));
            prop_assert!(shares[1..].iter().all(|share| *share <= shares[0]));
        }
    }
}
