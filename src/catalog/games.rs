//! Catalog games as operators manage them: the listing with every field (inactive games too), a game
//! added by hand, and a change of one game. House games are written by the start-up sync; an operator
//! only switches them on and off (anything else would be overwritten by the next start).

use super::listing::{self, InvalidListing};
use super::{GameListing, HOUSE_PROVIDER};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use sqlx::PgPool;

/// One admin page holds `GAMES_PAGE_SIZE_DEFAULT` games unless asked, at most `GAMES_PAGE_SIZE_MAX`.
pub const GAMES_PAGE_SIZE_DEFAULT: u32 = 100;
pub const GAMES_PAGE_SIZE_MAX: u32 = 500;
pub const GAMES_OFFSET_MAX: u32 = 1_000_000;

/// A game as the admin API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct GameView {
    pub id: i64,
    pub provider: String,
    pub code: String,
    pub name: String,
    pub category: String,
    pub rtp_bps: i32,
    pub volatility: Option<String>,
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
    pub active: bool,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const GAME_VIEW: &str = "SELECT id, provider_id AS provider, code, name, category, rtp_bps, volatility, bet_min_micros,
        bet_max_micros, active, metadata, created_at, updated_at FROM games";

/// Which games an admin page lists (already checked against the limits above).
#[derive(Debug, Clone, Default)]
pub struct GameFilter {
    pub provider: Option<String>,
    pub active: Option<bool>,
    pub category: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// A page of games by provider and code, with the number matching the filter.
pub async fn list(pool: &PgPool, filter: &GameFilter) -> Result<(Vec<GameView>, i64), sqlx::Error> {
    let condition = "WHERE ($1::text IS NULL OR provider_id = $1) AND ($2::bool IS NULL OR active = $2)
                       AND ($3::text IS NULL OR category = $3)";
    let games = sqlx::query_as::<_, GameView>(&format!(
        "{GAME_VIEW} {condition} ORDER BY provider_id, code LIMIT $4 OFFSET $5"
    ))
    .bind(&filter.provider)
    .bind(filter.active)
    .bind(&filter.category)
    .bind(i64::from(filter.limit))
    .bind(i64::from(filter.offset))
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM games {condition}"))
        .bind(&filter.provider)
        .bind(filter.active)
        .bind(&filter.category)
        .fetch_one(pool)
        .await?;
    Ok((games, total))
}

pub async fn view(pool: &PgPool, id: i64) -> Result<Option<GameView>, sqlx::Error> {
    sqlx::query_as::<_, GameView>(&format!("{GAME_VIEW} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// `POST /api/v1/admin/games`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGame {
    pub provider: String,
    pub code: String,
    pub name: String,
    pub category: String,
    pub rtp_bps: i32,
    pub volatility: Option<String>,
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
    #[serde(default)]
    pub metadata: Value,
    pub active: Option<bool>,
}

impl NewGame {
    pub fn into_listing(self) -> (String, GameListing, bool) {
        let listing = GameListing {
            code: self.code,
            name: self.name,
            category: self.category,
            rtp_bps: self.rtp_bps,
            volatility: self.volatility,
            bet_min_micros: self.bet_min_micros,
            bet_max_micros: self.bet_max_micros,
            metadata: self.metadata,
        };
        (self.provider, listing, self.active.unwrap_or(true))
    }
}

/// Inserts one validated game; `None` when the provider already has a game of this code.
pub async fn create(
    pool: &PgPool,
    provider_id: &str,
    listing: &GameListing,
    active: bool,
) -> Result<Option<GameView>, sqlx::Error> {
    sqlx::query_as::<_, GameView>(
        "INSERT INTO games (provider_id, code, name, category, rtp_bps, volatility, bet_min_micros, bet_max_micros,
                            metadata, active)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (provider_id, code) DO NOTHING
         RETURNING id, provider_id AS provider, code, name, category, rtp_bps, volatility, bet_min_micros,
                   bet_max_micros, active, metadata, created_at, updated_at",
    )
    .bind(provider_id)
    .bind(&listing.code)
    .bind(&listing.name)
    .bind(&listing.category)
    .bind(listing.rtp_bps)
    .bind(&listing.volatility)
    .bind(listing.bet_min_micros)
    .bind(listing.bet_max_micros)
    .bind(&listing.metadata)
    .bind(active)
    .fetch_optional(pool)
    .await
}

/// `PATCH /api/v1/admin/games/{id}`: each field present is changed; `"volatility": null` clears it.
#[derive(Deserialize, Serialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct GameChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtp_bps: Option<i32>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub volatility: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bet_min_micros: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bet_max_micros: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// A field that is present, even as `null` (absent stays `None` through `#[serde(default)]`).
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

impl GameChange {
    /// Whether the change touches anything but the active flag.
    fn describes_the_game(&self) -> bool {
        self.name.is_some()
            || self.category.is_some()
            || self.rtp_bps.is_some()
            || self.volatility.is_some()
            || self.bet_min_micros.is_some()
            || self.bet_max_micros.is_some()
            || self.metadata.is_some()
    }

    fn apply_to(self, game: &GameView) -> GameListing {
        GameListing {
            code: game.code.clone(),
            name: self.name.unwrap_or_else(|| game.name.clone()),
            category: self.category.unwrap_or_else(|| game.category.clone()),
            rtp_bps: self.rtp_bps.unwrap_or(game.rtp_bps),
            volatility: self.volatility.unwrap_or_else(|| game.volatility.clone()),
            bet_min_micros: self.bet_min_micros.unwrap_or(game.bet_min_micros),
            bet_max_micros: self.bet_max_micros.unwrap_or(game.bet_max_micros),
            metadata: self.metadata.unwrap_or_else(|| game.metadata.clone()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GameChangeError {
    #[error("no game has this id")]
    NotFound,
    #[error("a house game's description comes from the server's configuration; only its active flag changes")]
    HouseGameFixed,
    #[error(transparent)]
    Invalid(#[from] InvalidListing),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Applies a change to one game: the merged game is validated as a whole (a new minimum must still be
/// at most the maximum), under a row lock so two changes never merge from the same old row.
pub async fn update(pool: &PgPool, id: i64, change: GameChange) -> Result<GameView, GameChangeError> {
    let mut transaction = pool.begin().await?;
    let current = sqlx::query_as::<_, GameView>(&format!("{GAME_VIEW} WHERE id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or(GameChangeError::NotFound)?;
    if current.provider == HOUSE_PROVIDER && change.describes_the_game() {
        return Err(GameChangeError::HouseGameFixed);
    }
    let active = change.active.unwrap_or(current.active);
    let mut merged = change.apply_to(&current);
    listing::validate(&mut merged)?;
    let updated = sqlx::query_as::<_, GameView>(
        "UPDATE games SET name = $2, category = $3, rtp_bps = $4, volatility = $5, bet_min_micros = $6,
                bet_max_micros = $7, metadata = $8, active = $9, updated_at = now()
         WHERE id = $1
         RETURNING id, provider_id AS provider, code, name, category, rtp_bps, volatility, bet_min_micros,
                   bet_max_micros, active, metadata, created_at, updated_at",
    )
    .bind(id)
    .bind(&merged.name)
    .bind(&merged.category)
    .bind(merged.rtp_bps)
    .bind(&merged.volatility)
    .bind(merged.bet_min_micros)
    .bind(merged.bet_max_micros)
    .bind(&merged.metadata)
    .bind(active)
    .fetch_one(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatility_null_clears_and_absent_keeps() {
        let cleared: GameChange = serde_json::from_str(r#"{"volatility": null}"#).unwrap();
        assert_eq!(cleared.volatility, Some(None));
        let kept: GameChange = serde_json::from_str(r#"{"active": false}"#).unwrap();
        assert_eq!(kept.volatility, None);
        assert!(!kept.describes_the_game());
        assert!(cleared.describes_the_game());
    }
}
