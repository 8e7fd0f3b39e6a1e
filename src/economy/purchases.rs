//! Purchases: a player buys items with their balance. One Postgres transaction per purchase locks the
//! player's account and their treasury pool sub-account (in id order, like every wallet batch, so no
//! deadlock), answers a retried key with its first result, checks the player and the item, posts the
//! price player -> treasury pool through the ledger, and records the purchase and the inventory. Either
//! all of it commits or none of it does.
//!
//! A refusal that depends on what is stored (an inactive item, a limit reached, an overflowing total,
//! insufficient funds) is stored too, so a retry of its key answers the same even after the state
//! changed. A malformed request (a quantity out of range, an unknown item) is answered before anything
//! is stored, like a malformed amount anywhere in the wallet.

use super::items::{self, Item};
use crate::money::Amount;
use crate::wallet::ledger::{
    AccountId, IdempotencyKey, RejectionCode, TransferError, TransferKind, TransferReceipt, TransferRequest,
};
use crate::wallet::observer::BalanceChange;
use crate::wallet::{store, Wallet};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

/// Attempts of one purchase whose ledger write met a concurrent insert of its key (see
/// `store::post_in_transaction`); the next attempt finds that key and replays it.
const PURCHASE_ATTEMPTS_MAX: u32 = 3;

/// A purchase as its player asked for it, every field already checked.
#[derive(Debug, Clone)]
pub struct PurchaseRequest {
    pub player_id: Uuid,
    pub account: AccountId,
    pub item_code: String,
    /// 1 to `shop.purchase_quantity_max`, see [`parse_quantity`].
    pub quantity: i64,
    /// The ledger key: `purchase:{player id}:{client key}`.
    pub key: IdempotencyKey,
}

/// A posted purchase as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct PurchaseView {
    pub id: Uuid,
    pub item: String,
    pub quantity: i64,
    pub unit_price_micros: i64,
    pub total_micros: i64,
    pub created_at: DateTime<Utc>,
}

/// A posted purchase, first answered or replayed.
#[derive(Debug, Clone, Serialize)]
pub struct PurchaseReceipt {
    pub purchase: PurchaseView,
    /// The player's balance right after this purchase (on a replay: after the first answer).
    pub balance_micros: i64,
    pub replayed: bool,
}

/// Why a purchase that reached the catalog moved nothing. Stored, so a retry answers the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ItemInactive,
    ItemLimitReached,
    AmountOverflow,
    /// The ledger refused the transfer (insufficient funds, in practice).
    Ledger(RejectionCode),
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::ItemInactive => "item_inactive",
            Refusal::ItemLimitReached => "item_limit_reached",
            Refusal::AmountOverflow => "amount_overflow",
            Refusal::Ledger(code) => code.as_str(),
        }
    }

    pub fn parse(text: &str) -> Option<Refusal> {
        [
            Refusal::ItemInactive,
            Refusal::ItemLimitReached,
            Refusal::AmountOverflow,
        ]
        .into_iter()
        .find(|refusal| refusal.as_str() == text)
        .or_else(|| RejectionCode::parse(text).map(Refusal::Ledger))
    }
}

/// Every way a purchase can fail, as its caller sees it.
#[derive(Debug, thiserror::Error)]
pub enum PurchaseError {
    #[error("the purchase was refused: {}", .0.as_str())]
    Refused(Refusal),
    #[error("the idempotency key was already used for another purchase")]
    IdempotencyConflict,
    #[error("no item has this code")]
    UnknownItem,
    #[error("the player of this token no longer exists")]
    UnknownPlayer,
    #[error("the player is blocked")]
    PlayerBlocked,
    #[error("the player is self-excluded{}", .0.map(|until| format!(" until {until}")).unwrap_or_default())]
    SelfExcluded(Option<DateTime<Utc>>),
    #[error("the ledger failed the purchase: {0}")]
    Ledger(TransferError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Parses the JSON quantity of a purchase: a whole number from 1 to `quantity_max`.
pub fn parse_quantity(value: &serde_json::Value, quantity_max: u32) -> Result<i64, String> {
    value
        .as_i64()
        .filter(|quantity| (1..=i64::from(quantity_max)).contains(quantity))
        .ok_or_else(|| format!("quantity must be a whole number from 1 to {quantity_max}"))
}

/// What `quantity` items at `price_micros` each cost, if that is a valid amount (at most
/// `AMOUNT_MAX_MICROS`, like any single transfer).
pub fn total_price(price_micros: i64, quantity: i64) -> Option<Amount> {
    let total = price_micros.checked_mul(quantity)?;
    Amount::parse(total).ok()
}

/// Decides a purchase of `quantity` of `item` by a player who holds `held` of it: the total to pay, or
/// the refusal. The order is the one clients see: inactive, then overflow, then the limit.
pub fn decide(item: &Item, held: i64, quantity: i64) -> Result<Amount, Refusal> {
    if !item.active {
        return Err(Refusal::ItemInactive);
    }
    let total = total_price(item.price_micros, quantity).ok_or(Refusal::AmountOverflow)?;
    if let Some(limit) = item.per_player_limit {
        // A limit reached exactly is allowed; one more is not.
        if held.saturating_add(quantity) > limit {
            return Err(Refusal::ItemLimitReached);
        }
    }
    Ok(total)
}

/// Makes (or replays) a purchase. A posted one's new balance goes to the wallet's balance feed.
#[tracing::instrument(skip_all, fields(player_id = %request.player_id, item = %request.item_code))]
pub async fn purchase(
    pool: &PgPool,
    wallet: &Wallet,
    request: &PurchaseRequest,
) -> Result<PurchaseReceipt, PurchaseError> {
    for _ in 0..PURCHASE_ATTEMPTS_MAX {
        let mut transaction = pool.begin().await?;
        let Some(answer) = purchase_in(&mut transaction, wallet, request).await? else {
            transaction.rollback().await?;
            continue;
        };
        transaction.commit().await?;
        if let Ok(receipt) = &answer {
            if !receipt.replayed {
                wallet.report_balance(BalanceChange {
                    account: request.account,
                    balance: crate::money::Balance::from_micros(receipt.balance_micros),
                    at: receipt.purchase.created_at,
                });
            }
        }
        return answer;
    }
    Err(PurchaseError::Ledger(TransferError::Unavailable(
        "a purchase kept meeting concurrent inserts of its key".into(),
    )))
}

/// One attempt, inside `transaction`. `None`: the ledger write missed, roll back and try again.
async fn purchase_in(
    transaction: &mut Transaction<'_, Postgres>,
    wallet: &Wallet,
    request: &PurchaseRequest,
) -> Result<Option<Result<PurchaseReceipt, PurchaseError>>, sqlx::Error> {
    let treasury_pool = wallet.treasury_pool_for(request.account);
    // Every purchase of this player (on any node) waits here for the one before it, so the key look-up,
    // the limit and the inventory below cannot change under us.
    lock_accounts(transaction, &[request.account, treasury_pool]).await?;
    if let Some(stored) = find_by_key(transaction, &request.key).await? {
        return Ok(Some(stored.replay(request)));
    }
    if let Err(error) = check_player(transaction, request.player_id).await? {
        return Ok(Some(Err(error)));
    }
    let Some(item) = items::find_by_code(&mut **transaction, &request.item_code).await? else {
        return Ok(Some(Err(PurchaseError::UnknownItem)));
    };
    let held = held_quantity(transaction, request.player_id, item.id).await?;
    let total = match decide(&item, held, request.quantity) {
        Ok(total) => total,
        Err(refusal) => {
            let total = total_price(item.price_micros, request.quantity);
            insert_refused(transaction, request, &item, total, refusal).await?;
            return Ok(Some(Err(PurchaseError::Refused(refusal))));
        }
    };
    let transfer = TransferRequest {
        key: request.key.clone(),
        debit: request.account,
        credit: treasury_pool,
        amount: total,
        kind: TransferKind::Purchase,
        reference: format!("purchase of {} x {}", request.quantity, item.code),
        settles: None,
    };
    let Some(outcomes) = store::post_in_transaction(transaction, std::slice::from_ref(&transfer)).await? else {
        return Ok(None);
    };
    let outcome = outcomes
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(TransferError::Unavailable("the ledger answered no outcome".into())));
    let answer = match outcome {
        Ok(receipt) if !receipt.replayed => Ok(insert_posted(transaction, request, &item, total, &receipt).await?),
        Ok(_) => Err(PurchaseError::Ledger(TransferError::Unavailable(
            "the ledger holds a purchase transfer without its purchase".into(),
        ))),
        Err(TransferError::Rejected(code)) => {
            let refusal = Refusal::Ledger(code);
            insert_refused(transaction, request, &item, Some(total), refusal).await?;
            Err(PurchaseError::Refused(refusal))
        }
        Err(error) => Err(PurchaseError::Ledger(error)),
    };
    Ok(Some(answer))
}

async fn lock_accounts(transaction: &mut Transaction<'_, Postgres>, ids: &[AccountId]) -> Result<(), sqlx::Error> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    sqlx::query("SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
        .bind(&ids)
        .fetch_all(&mut **transaction)
        .await?;
    Ok(())
}

/// Whether the player may buy: not blocked, not self-excluded. Any status but `active` or
/// `self_excluded` is a block (the base schema's `disabled` as well as `blocked`); an exclusion lasts
/// while `self_excluded_until` is ahead, or for good when the status says excluded without an end.
async fn check_player(
    transaction: &mut Transaction<'_, Postgres>,
    player_id: Uuid,
) -> Result<Result<(), PurchaseError>, sqlx::Error> {
    let row: Option<(String, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT status, self_excluded_until FROM players WHERE id = $1")
            .bind(player_id)
            .fetch_optional(&mut **transaction)
            .await?;
    let Some((status, self_excluded_until)) = row else {
        return Ok(Err(PurchaseError::UnknownPlayer));
    };
    Ok(player_standing(&status, self_excluded_until, Utc::now()))
}

/// The pure rule behind [`check_player`]: an operator's block comes first, then an exclusion.
pub fn player_standing(
    status: &str,
    self_excluded_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), PurchaseError> {
    match (status, self_excluded_until) {
        ("active" | "self_excluded", Some(until)) if until > now => Err(PurchaseError::SelfExcluded(Some(until))),
        ("self_excluded", None) => Err(PurchaseError::SelfExcluded(None)),
        ("active" | "self_excluded", _) => Ok(()),
        _ => Err(PurchaseError::PlayerBlocked),
    }
}

async fn held_quantity(
    transaction: &mut Transaction<'_, Postgres>,
    player_id: Uuid,
    item_id: i64,
) -> Result<i64, sqlx::Error> {
    let held: Option<i64> = sqlx::query_scalar("SELECT quantity FROM inventory WHERE player_id = $1 AND item_id = $2")
        .bind(player_id)
        .bind(item_id)
        .fetch_optional(&mut **transaction)
        .await?;
    Ok(held.unwrap_or(0))
}

/// A purchase row found under a key, with what a replay answers.
struct StoredPurchase {
    view: PurchaseView,
    refusal: Option<Refusal>,
    /// The player's balance the posted transfer left.
    balance_micros: Option<i64>,
}

impl StoredPurchase {
    fn replay(self, request: &PurchaseRequest) -> Result<PurchaseReceipt, PurchaseError> {
        if self.view.item != request.item_code || self.view.quantity != request.quantity {
            return Err(PurchaseError::IdempotencyConflict);
        }
        if let Some(refusal) = self.refusal {
            return Err(PurchaseError::Refused(refusal));
        }
        Ok(PurchaseReceipt {
            balance_micros: self.balance_micros.unwrap_or_default(),
            purchase: self.view,
            replayed: true,
        })
    }
}

async fn find_by_key(
    transaction: &mut Transaction<'_, Postgres>,
    key: &IdempotencyKey,
) -> Result<Option<StoredPurchase>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT p.id, i.code, p.quantity, p.unit_price_micros, p.total_micros, p.status, p.refusal_code,
                p.created_at, t.debit_balance_after
         FROM purchases p JOIN items i ON i.id = p.item_id LEFT JOIN transfers t ON t.id = p.transfer_id
         WHERE p.idempotency_key = $1",
    )
    .bind(key.as_str())
    .fetch_optional(&mut **transaction)
    .await?;
    row.as_ref().map(stored_purchase_from_row).transpose()
}

fn stored_purchase_from_row(row: &PgRow) -> Result<StoredPurchase, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let refusal = match status.as_str() {
        "posted" => None,
        _ => {
            let code: String = row.try_get("refusal_code")?;
            Some(Refusal::parse(&code).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "refusal_code".into(),
                source: code.into(),
            })?)
        }
    };
    Ok(StoredPurchase {
        view: PurchaseView {
            id: row.try_get("id")?,
            item: row.try_get("code")?,
            quantity: row.try_get("quantity")?,
            unit_price_micros: row.try_get("unit_price_micros")?,
            total_micros: row.try_get::<Option<i64>, _>("total_micros")?.unwrap_or_default(),
            created_at: row.try_get("created_at")?,
        },
        refusal,
        balance_micros: row.try_get("debit_balance_after")?,
    })
}

async fn insert_refused(
    transaction: &mut Transaction<'_, Postgres>,
    request: &PurchaseRequest,
    item: &Item,
    total: Option<Amount>,
    refusal: Refusal,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO purchases (id, player_id, item_id, quantity, unit_price_micros, total_micros, idempotency_key,
                                status, refusal_code)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'refused', $8)",
    )
    .bind(Uuid::now_v7())
    .bind(request.player_id)
    .bind(item.id)
    .bind(request.quantity)
    .bind(item.price_micros)
    .bind(total.map(Amount::micros))
    .bind(request.key.as_str())
    .bind(refusal.as_str())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn insert_posted(
    transaction: &mut Transaction<'_, Postgres>,
    request: &PurchaseRequest,
    item: &Item,
    total: Amount,
    receipt: &TransferReceipt,
) -> Result<PurchaseReceipt, sqlx::Error> {
    let id = Uuid::now_v7();
    // The time is read back as stored (microseconds), so the first answer and every replay agree.
    let created_at: DateTime<Utc> = sqlx::query_scalar(
        "WITH held AS (
             INSERT INTO inventory (player_id, item_id, quantity) VALUES ($2, $3, $4)
             ON CONFLICT (player_id, item_id)
             DO UPDATE SET quantity = inventory.quantity + EXCLUDED.quantity, updated_at = now()
         )
         INSERT INTO purchases (id, player_id, item_id, quantity, unit_price_micros, total_micros,
                                idempotency_key, status, transfer_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'posted', $8, $9)
         RETURNING created_at",
    )
    .bind(id)
    .bind(request.player_id)
    .bind(item.id)
    .bind(request.quantity)
    .bind(item.price_micros)
    .bind(total.micros())
    .bind(request.key.as_str())
    .bind(receipt.transfer_id)
    .bind(receipt.created_at)
    .fetch_one(&mut **transaction)
    .await?;
    Ok(PurchaseReceipt {
        purchase: PurchaseView {
            id,
            item: item.code.clone(),
            quantity: request.quantity,
            unit_price_micros: item.price_micros,
            total_micros: total.micros(),
            created_at,
        },
        balance_micros: receipt.debit_balance_after.micros(),
        replayed: false,
    })
}

/// One line of a player's inventory.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InventoryLine {
    pub item: String,
    pub name: String,
    pub quantity: i64,
}

/// What the player holds, by item code; at most `limit` lines (the catalog's size bounds it anyway).
pub async fn inventory(pool: &PgPool, player_id: Uuid, limit: u32) -> Result<Vec<InventoryLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.code AS item, i.name, v.quantity FROM inventory v JOIN items i ON i.id = v.item_id
         WHERE v.player_id = $1 AND v.quantity > 0 ORDER BY i.code LIMIT $2",
    )
    .bind(player_id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::AMOUNT_MAX_MICROS;
    use proptest::prelude::*;
    use serde_json::json;

    fn item(price_micros: i64, active: bool, per_player_limit: Option<i64>) -> Item {
        Item {
            id: 1,
            code: "gem".into(),
            name: "Gem".into(),
            price_micros,
            currency: "USD".into(),
            active,
            per_player_limit,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn quantities_are_whole_numbers_in_range() {
        assert_eq!(parse_quantity(&json!(1), 100), Ok(1));
        assert_eq!(parse_quantity(&json!(100), 100), Ok(100));
        for bad in [
            json!(0),
            json!(-1),
            json!(101),
            json!(1.5),
            json!("1"),
            json!(null),
            json!(1e3),
        ] {
            assert!(parse_quantity(&bad, 100).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_limit_allows_reaching_it_exactly() {
        let limited = item(5, true, Some(3));
        assert_eq!(decide(&limited, 1, 2).map(Amount::micros), Ok(10));
        assert_eq!(decide(&limited, 2, 2), Err(Refusal::ItemLimitReached));
        assert_eq!(decide(&limited, 3, 1), Err(Refusal::ItemLimitReached));
    }

    #[test]
    fn inactive_comes_before_overflow_and_overflow_before_the_limit() {
        assert_eq!(
            decide(&item(AMOUNT_MAX_MICROS, false, Some(1)), 5, 2),
            Err(Refusal::ItemInactive)
        );
        assert_eq!(
            decide(&item(AMOUNT_MAX_MICROS, true, Some(1)), 5, 2),
            Err(Refusal::AmountOverflow)
        );
        assert_eq!(decide(&item(i64::MAX, true, None), 0, 2), Err(Refusal::AmountOverflow));
    }

    #[test]
    fn refusal_codes_round_trip() {
        for refusal in [
            Refusal::ItemInactive,
            Refusal::ItemLimitReached,
            Refusal::AmountOverflow,
            Refusal::Ledger(RejectionCode::InsufficientFunds),
        ] {
            assert_eq!(Refusal::parse(refusal.as_str()), Some(refusal));
        }
        assert_eq!(Refusal::parse("nonsense"), None);
    }

    #[test]
    fn a_block_comes_before_an_exclusion_and_an_exclusion_ends() {
        let now = Utc::now();
        let later = Some(now + chrono::Duration::days(1));
        let earlier = Some(now - chrono::Duration::days(1));
        let standing = |status, until| player_standing(status, until, now).map_err(|error| error.to_string());
        assert_eq!(standing("active", None), Ok(()));
        assert_eq!(standing("active", earlier), Ok(()));
        assert_eq!(standing("self_excluded", earlier), Ok(()));
        assert!(standing("active", later).unwrap_err().contains("self-excluded until"));
        assert!(standing("self_excluded", None).unwrap_err().contains("self-excluded"));
        for blocked in ["blocked", "disabled"] {
            assert_eq!(standing(blocked, later), Err("the player is blocked".into()));
        }
    }

    proptest! {
        /// The total is exactly price x quantity whenever that is a valid amount, and refused otherwise.
        #[test]
        fn the_total_is_exact_or_refused(price in 1..=AMOUNT_MAX_MICROS, quantity in 1..=1_000_000i64) {
            let exact = i128::from(price) * i128::from(quantity);
            match total_price(price, quantity) {
                Some(total) => prop_assert_eq!(i128::from(total.micros()), exact),
                None => prop_assert!(exact > i128::from(AMOUNT_MAX_MICROS)),
            }
        }

        /// Whatever a player holds, a purchase passes the limit only if it keeps them at or below it.
        #[test]
        fn a_limit_is_never_passed(limit in 1..=1_000i64, held in 0..=1_000i64, quantity in 1..=100i64) {
            let outcome = decide(&item(1, true, Some(limit)), held, quantity);
            prop_assert_eq!(outcome.is_ok(), held + quantity <= limit);
        }
    }
}
