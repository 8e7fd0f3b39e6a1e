//! The item catalog operators manage: what a new item or a change must look like (checked here, at the
//! edge, so the queries only ever see valid values), and the rows as players and admins list them.

use crate::catalog::games::present;
use crate::money::{Amount, Currency};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, PgPool, Row};

pub const ITEM_CODE_LENGTH_MAX: usize = 64;
pub const ITEM_NAME_LENGTH_MAX: usize = 100;
/// The largest per-player limit an item may carry; a larger one would mean "no limit", which is `null`.
pub const PER_PLAYER_LIMIT_MAX: i64 = 1_000_000_000;

/// Why an item or a change of one is refused; `code` is the error code clients see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidItem {
    pub code: &'static str,
    pub message: String,
}

fn invalid(code: &'static str, message: impl Into<String>) -> InvalidItem {
    InvalidItem {
        code,
        message: message.into(),
    }
}

/// Whether `text` can be an item code: 1 to 64 of `a-z`, `0-9`, `_`, `-` (the migration's CHECK).
pub fn is_item_code(text: &str) -> bool {
    (1..=ITEM_CODE_LENGTH_MAX).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'_' | b'-'))
}

/// An item as stored. The numeric id stays inside the server; clients know items by code.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    #[serde(skip)]
    pub id: i64,
    pub code: String,
    pub name: String,
    pub price_micros: i64,
    pub currency: String,
    pub active: bool,
    pub per_player_limit: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/admin/items`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub code: String,
    pub name: String,
    pub price_micros: serde_json::Number,
    pub currency: Option<String>,
    pub active: Option<bool>,
    pub per_player_limit: Option<serde_json::Number>,
}

/// A new item whose every field was checked.
#[derive(Debug, Clone)]
pub struct ValidItem {
    pub code: String,
    pub name: String,
    pub price: Amount,
    pub currency: Currency,
    pub active: bool,
    pub per_player_limit: Option<i64>,
}

impl NewItem {
    /// Checks every field; items are sold in the wallet's currency only.
    pub fn validate(self, wallet_currency: &Currency) -> Result<ValidItem, InvalidItem> {
        if !is_item_code(&self.code) {
            return Err(invalid(
                "invalid_item_code",
                format!("code must be 1 to {ITEM_CODE_LENGTH_MAX} characters among a-z, 0-9, '_' and '-'"),
            ));
        }
        if let Some(currency) = &self.currency {
            if currency != wallet_currency.as_str() {
                return Err(invalid(
                    "unsupported_currency",
                    format!("items are sold in {wallet_currency:?}, the wallet's currency"),
                ));
            }
        }
        Ok(ValidItem {
            code: self.code,
            name: parse_name(self.name)?,
            price: parse_price(&self.price_micros)?,
            currency: wallet_currency.clone(),
            active: self.active.unwrap_or(true),
            per_player_limit: self.per_player_limit.as_ref().map(parse_limit).transpose()?,
        })
    }
}

/// `PATCH /api/v1/admin/items/{code}`: each field present is changed; `per_player_limit: null` removes
/// the limit. The code and the currency never change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemChange {
    pub name: Option<String>,
    pub price_micros: Option<serde_json::Number>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub per_player_limit: Option<Option<serde_json::Number>>,
}

/// A change whose every field was checked.
#[derive(Debug, Clone, Serialize)]
pub struct ValidChange {
    pub name: Option<String>,
    pub price_micros: Option<i64>,
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_player_limit: Option<Option<i64>>,
}

impl ItemChange {
    pub fn validate(self) -> Result<ValidChange, InvalidItem> {
        let change = ValidChange {
            name: self.name.map(parse_name).transpose()?,
            price_micros: self
                .price_micros
                .as_ref()
                .map(|price| parse_price(price).map(Amount::micros))
                .transpose()?,
            active: self.active,
            per_player_limit: self
                .per_player_limit
                .map(|limit| limit.as_ref().map(parse_limit).transpose())
                .transpose()?,
        };
        let empty = change.name.is_none()
            && change.price_micros.is_none()
            && change.active.is_none()
            && change.per_player_limit.is_none();
        if empty {
            return Err(invalid("empty_change", "the change sets no field"));
        }
        Ok(change)
    }
}

fn parse_name(name: String) -> Result<String, InvalidItem> {
    let length = name.chars().count();
    let printable = !name.chars().any(char::is_control);
    if !(1..=ITEM_NAME_LENGTH_MAX).contains(&length) || !printable || name.trim().is_empty() {
        return Err(invalid(
            "invalid_item_name",
            format!("name must be 1 to {ITEM_NAME_LENGTH_MAX} printable characters"),
        ));
    }
    Ok(name)
}

fn parse_price(price: &serde_json::Number) -> Result<Amount, InvalidItem> {
    Amount::parse_json(price).map_err(|error| invalid("invalid_price", format!("price_micros: {error}")))
}

fn parse_limit(limit: &serde_json::Number) -> Result<i64, InvalidItem> {
    limit
        .as_i64()
        .filter(|limit| (1..=PER_PLAYER_LIMIT_MAX).contains(limit))
        .ok_or_else(|| {
            invalid(
                "invalid_per_player_limit",
                format!("per_player_limit must be null or a whole number from 1 to {PER_PLAYER_LIMIT_MAX}"),
            )
        })
}

const ITEM_COLUMNS: &str = "id, code, name, price_micros, currency, active, per_player_limit, created_at, updated_at";

fn item_from_row(row: &PgRow) -> Result<Item, sqlx::Error> {
    Ok(Item {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        price_micros: row.try_get("price_micros")?,
        currency: row.try_get("currency")?,
        active: row.try_get("active")?,
        per_player_limit: row.try_get("per_player_limit")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The items by code, at most `limit` of them; only the active ones when `active_only`.
pub async fn list(pool: &PgPool, active_only: bool, limit: u32) -> Result<Vec<Item>, sqlx::Error> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE active OR NOT $1 ORDER BY code LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(active_only)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(item_from_row).collect()
}

pub async fn find_by_code(executor: impl PgExecutor<'_>, code: &str) -> Result<Option<Item>, sqlx::Error> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE code = $1");
    let row = sqlx::query(&sql).bind(code).fetch_optional(executor).await?;
    row.as_ref().map(item_from_row).transpose()
}

/// What creating an item came to.
#[derive(Debug)]
pub enum Created {
    Item(Item),
    CodeTaken,
    /// The catalog holds `items_max` items already.
    CatalogFull,
}

/// Inserts a new item unless its code is taken or the catalog is full. Two admins adding the last
/// items at the same moment may pass `items_max` by one each: the limit bounds listings, not money.
pub async fn create(pool: &PgPool, item: &ValidItem, items_max: u32) -> Result<Created, sqlx::Error> {
    let sql = format!(
        "INSERT INTO items (code, name, price_micros, currency, active, per_player_limit)
         SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT count(*) FROM items) < $7
         ON CONFLICT (code) DO NOTHING
         RETURNING {ITEM_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&item.code)
        .bind(&item.name)
        .bind(item.price.micros())
        .bind(item.currency.as_str())
        .bind(item.active)
        .bind(item.per_player_limit)
        .bind(i64::from(items_max))
        .fetch_optional(pool)
        .await?;
    if let Some(row) = row {
        return Ok(Created::Item(item_from_row(&row)?));
    }
    if find_by_code(pool, &item.code).await?.is_some() {
        return Ok(Created::CodeTaken);
    }
    Ok(Created::CatalogFull)
}

/// Applies a change; `None` when no item has this code.
pub async fn update(pool: &PgPool, code: &str, change: &ValidChange) -> Result<Option<Item>, sqlx::Error> {
    let sql = format!(
        "UPDATE items SET name = coalesce($2, name), price_micros = coalesce($3, price_micros),
                active = coalesce($4, active),
                per_player_limit = CASE WHEN $5 THEN $6 ELSE per_player_limit END, updated_at = now()
         WHERE code = $1 RETURNING {ITEM_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(code)
        .bind(&change.name)
        .bind(change.price_micros)
        .bind(change.active)
        .bind(change.per_player_limit.is_some())
        .bind(change.per_player_limit.flatten())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(item_from_row).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new_item(body: serde_json::Value) -> Result<ValidItem, InvalidItem> {
        let item: NewItem = serde_json::from_value(body).unwrap();
        item.validate(&Currency::parse("USD").unwrap())
    }

    #[test]
    fn item_codes_follow_the_schema() {
        assert!(is_item_code("gold-coin_2"));
        assert!(is_item_code(&"a".repeat(64)));
        for bad in ["", "Gold", "gold coin", "gold.coin", "é", &"a".repeat(65)] {
            assert!(!is_item_code(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_new_item_names_its_bad_field() {
        let code = |body| new_item(body).unwrap_err().code;
        let base = |field: &str, value: serde_json::Value| {
            let mut body = json!({"code": "gem", "name": "Gem", "price_micros": 1_000_000});
            body[field] = value;
            body
        };
        assert_eq!(code(base("code", json!("Gem!"))), "invalid_item_code");
        assert_eq!(code(base("name", json!(""))), "invalid_item_name");
        assert_eq!(code(base("name", json!("a\nb"))), "invalid_item_name");
        for price in [json!(0), json!(-5), json!(1.5), json!(1e30), json!(u64::MAX)] {
            assert_eq!(code(base("price_micros", price)), "invalid_price");
        }
        for limit in [json!(0), json!(-1), json!(2.5), json!(PER_PLAYER_LIMIT_MAX + 1)] {
            assert_eq!(code(base("per_player_limit", limit)), "invalid_per_player_limit");
        }
        assert_eq!(code(base("currency", json!("EUR"))), "unsupported_currency");
        let item = new_item(base("per_player_limit", json!(3))).unwrap();
        assert_eq!(
            (item.price.micros(), item.per_player_limit, item.active),
            (1_000_000, Some(3), true)
        );
    }

    #[test]
    fn a_change_tells_null_from_absent() {
        let change = |body| serde_json::from_value::<ItemChange>(body).unwrap().validate();
        let removed = change(json!({"per_player_limit": null})).unwrap();
        assert_eq!(removed.per_player_limit, Some(None));
        let untouched = change(json!({"active": false})).unwrap();
        assert_eq!(untouched.per_player_limit, None);
        assert_eq!(change(json!({})).unwrap_err().code, "empty_change");
        assert_eq!(change(json!({"price_micros": 0})).unwrap_err().code, "invalid_price");
    }
}
