//! The public lobby: the active games of active providers, filtered and paginated, with the categories
//! and providers a player can filter by.

use serde::Serialize;
use serde_json::Value;
use sqlx::{PgPool, Row};

/// One lobby page holds `LOBBY_PAGE_SIZE_DEFAULT` games unless asked, at most `LOBBY_PAGE_SIZE_MAX`.
pub const LOBBY_PAGE_SIZE_DEFAULT: u32 = 50;
pub const LOBBY_PAGE_SIZE_MAX: u32 = 200;
/// Deeper pages than this are refused (a lobby is browsed, not dumped).
pub const LOBBY_OFFSET_MAX: u32 = 100_000;
/// The longest name search and filter value accepted.
pub const LOBBY_SEARCH_LENGTH_MAX: usize = 100;
pub const LOBBY_FILTER_LENGTH_MAX: usize = 64;

/// What a lobby page is asked for (already checked against the limits above).
#[derive(Debug, Clone, Default)]
pub struct LobbyFilter {
    pub category: Option<String>,
    pub provider: Option<String>,
    /// A case-insensitive part of the game's name.
    pub search: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct LobbyGame {
    pub id: i64,
    pub provider: String,
    pub provider_name: String,
    pub code: String,
    pub name: String,
    pub category: String,
    pub rtp_bps: i32,
    pub volatility: Option<String>,
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
    pub metadata: Value,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LobbyProvider {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LobbyPage {
    pub games: Vec<LobbyGame>,
    /// Games matching the filter, on every page.
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
    /// Every category and provider with an active game, whatever the filter (for the filter controls).
    pub categories: Vec<String>,
    pub providers: Vec<LobbyProvider>,
}

const LOBBY_FILTER: &str = "FROM games g JOIN providers p ON p.id = g.provider_id
    WHERE g.active AND p.active
      AND ($1::text IS NULL OR g.category = $1)
      AND ($2::text IS NULL OR g.provider_id = $2)
      AND ($3::text IS NULL OR g.name ILIKE $3 ESCAPE '\\')";

/// One page of the lobby, ordered by category, then name.
#[tracing::instrument(skip(pool))]
pub async fn page(pool: &PgPool, filter: &LobbyFilter) -> Result<LobbyPage, sqlx::Error> {
    let pattern = filter
        .search
        .as_deref()
        .map(|search| format!("%{}%", escape_like(search)));
    let rows = sqlx::query(&format!(
        "SELECT g.id, g.provider_id, p.name AS provider_name, g.code, g.name, g.category, g.rtp_bps, g.volatility,
                g.bet_min_micros, g.bet_max_micros, g.metadata
         {LOBBY_FILTER}
         ORDER BY g.category, g.name, g.id
         LIMIT $4 OFFSET $5"
    ))
    .bind(&filter.category)
    .bind(&filter.provider)
    .bind(&pattern)
    .bind(i64::from(filter.limit))
    .bind(i64::from(filter.offset))
    .fetch_all(pool)
    .await?;
    let games = rows.iter().map(lobby_game).collect::<Result<Vec<_>, _>>()?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) {LOBBY_FILTER}"))
        .bind(&filter.category)
        .bind(&filter.provider)
        .bind(&pattern)
        .fetch_one(pool)
        .await?;
    let (categories, providers) = facets(pool).await?;
    Ok(LobbyPage {
        games,
        total,
        limit: filter.limit,
        offset: filter.offset,
        categories,
        providers,
    })
}

fn lobby_game(row: &sqlx::postgres::PgRow) -> Result<LobbyGame, sqlx::Error> {
    Ok(LobbyGame {
        id: row.try_get("id")?,
        provider: row.try_get("provider_id")?,
        provider_name: row.try_get("provider_name")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        category: row.try_get("category")?,
        rtp_bps: row.try_get("rtp_bps")?,
        volatility: row.try_get("volatility")?,
        bet_min_micros: row.try_get("bet_min_micros")?,
        bet_max_micros: row.try_get("bet_max_micros")?,
        metadata: row.try_get("metadata")?,
    })
}

/// The categories and providers that have at least one game in the lobby.
async fn facets(pool: &PgPool) -> Result<(Vec<String>, Vec<LobbyProvider>), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT DISTINCT g.category, p.id, p.name FROM games g JOIN providers p ON p.id = g.provider_id
         WHERE g.active AND p.active",
    )
    .fetch_all(pool)
    .await?;
    let mut categories = Vec::new();
    let mut providers = Vec::new();
    for row in &rows {
        categories.push(row.try_get::<String, _>("category")?);
        providers.push(LobbyProvider {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
        });
    }
    categories.sort();
    categories.dedup();
    providers.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    providers.dedup();
    Ok((categories, providers))
}

/// Escapes LIKE's wildcards so a search matches its text literally.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn wildcards_are_searched_literally() {
        assert_eq!(escape_like("100%_fun\\"), "100\\%\\_fun\\\\");
        assert_eq!(escape_like("Gem"), "Gem");
    }
}
