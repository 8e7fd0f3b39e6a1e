//! The game catalog: the providers whose games the lobby carries ('house' for our own) and every game
//! with its declared RTP and limits. Games and providers read it; the admin API edits it.

pub mod games;
pub mod listing;
pub mod lobby;
pub mod providers;
pub mod rtp;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};

/// The provider id of our own games.
pub const HOUSE_PROVIDER: &str = "house";

/// Which wire protocol a provider's calls speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Our own games: they move money through the ledger directly, never through provider calls.
    House,
    /// Our generic seamless-wallet protocol (docs/PROVIDERS.md), HMAC-SHA256 signed.
    Generic,
    /// Hub88's operator wallet API, RSA-SHA256 signed.
    Hub88,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::House => "house",
            Protocol::Generic => "generic",
            Protocol::Hub88 => "hub88",
        }
    }

    pub fn parse(text: &str) -> Option<Protocol> {
        [Protocol::House, Protocol::Generic, Protocol::Hub88]
            .into_iter()
            .find(|protocol| protocol.as_str() == text)
    }
}

/// A provider as its calls are checked against.
#[derive(Debug, Clone)]
pub struct ProviderRecord {
    pub id: String,
    pub name: String,
    pub protocol: Protocol,
    /// The generic protocol's HMAC secret.
    pub secret: Option<SecretString>,
    /// Hub88: the PEM public key its calls are signed with.
    pub public_key: Option<String>,
    /// Template of the URL a launched session opens ({token}, {game_code}, {player}, {currency}, {session}).
    pub launch_url: String,
    pub currencies: Vec<String>,
    pub active: bool,
}

/// A catalog game as the wallet rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogGame {
    pub id: i64,
    pub provider_id: String,
    pub code: String,
    pub name: String,
    pub category: String,
    pub rtp_bps: i32,
    pub volatility: Option<String>,
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
    pub active: bool,
}

/// A game as a provider's game list (an import) or the house registry describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GameListing {
    pub code: String,
    pub name: String,
    pub category: String,
    pub rtp_bps: i32,
    pub volatility: Option<String>,
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
    #[serde(default)]
    pub metadata: serde_json::Value,
}

/// Reads one provider; `None` when there is no such provider.
pub async fn provider(pool: &PgPool, id: &str) -> Result<Option<ProviderRecord>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, name, protocol, secret, public_key, launch_url, currencies, active FROM providers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| provider_from_row(&row)).transpose()
}

fn provider_from_row(row: &sqlx::postgres::PgRow) -> Result<ProviderRecord, sqlx::Error> {
    let protocol: String = row.try_get("protocol")?;
    Ok(ProviderRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        protocol: Protocol::parse(&protocol).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "protocol".into(),
            source: protocol.clone().into(),
        })?,
        secret: row.try_get::<Option<String>, _>("secret")?.map(SecretString::from),
        public_key: row.try_get("public_key")?,
        launch_url: row.try_get("launch_url")?,
        currencies: row.try_get("currencies")?,
        active: row.try_get("active")?,
    })
}

/// Reads one game of a provider by its code; `None` when the provider has no such game.
pub async fn game_by_code(pool: &PgPool, provider_id: &str, code: &str) -> Result<Option<CatalogGame>, sqlx::Error> {
    let row = sqlx::query(&format!("{GAME_COLUMNS} WHERE provider_id = $1 AND code = $2"))
        .bind(provider_id)
        .bind(code)
        .fetch_optional(pool)
        .await?;
    row.map(|row| game_from_row(&row)).transpose()
}

/// Reads one game by its catalog id.
pub async fn game(pool: &PgPool, id: i64) -> Result<Option<CatalogGame>, sqlx::Error> {
    let row = sqlx::query(&format!("{GAME_COLUMNS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|row| game_from_row(&row)).transpose()
}

const GAME_COLUMNS: &str = "SELECT id, provider_id, code, name, category, rtp_bps, volatility, bet_min_micros,
                                   bet_max_micros, active FROM games";

pub(crate) fn game_from_row(row: &sqlx::postgres::PgRow) -> Result<CatalogGame, sqlx::Error> {
    Ok(CatalogGame {
        id: row.try_get("id")?,
        provider_id: row.try_get("provider_id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        category: row.try_get("category")?,
        rtp_bps: row.try_get("rtp_bps")?,
        volatility: row.try_get("volatility")?,
        bet_min_micros: row.try_get("bet_min_micros")?,
        bet_max_micros: row.try_get("bet_max_micros")?,
        active: row.try_get("active")?,
    })
}
