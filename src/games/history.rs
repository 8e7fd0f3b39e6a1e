//! A player's bets across every game, newest first (`GET /api/v1/history`).
//!
//! Each table that holds a player's bets is a [`Source`]: it contributes the keys of its rows
//! (`created_at`, `id`) to one query that merges and pages them by time, then loads the entries of the
//! page as JSON objects that name their `game`. A new kind of game (the slot rounds of `slot_rounds`,
//! say) joins by adding a variant to [`Source`], listing it in [`SOURCES`] and giving it the three
//! arms below: which `game` filters it serves, its part of the key query, and how it loads entries.

use super::crash::store as crash_store;
use super::instant::store as instant_store;
use super::instant::BetView;
use super::registry::{Registry, CRASH};
use super::slots::server::store as slot_store;
use super::slots::server::view as slot_view;
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Row};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// The most entries one history page may hold.
pub const HISTORY_PAGE_SIZE_MAX: u32 = 100;
/// The entries a page may skip: deeper pages would make every source read that many keys.
pub const HISTORY_OFFSET_MAX: u32 = 10_000;

/// What a page lists. Times bound `created_at`: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone)]
pub struct HistoryFilter {
    /// One game type (`crash`, `dice`, ...), or every game when None.
    pub game: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only bets whose id sorts below this one (ids are UUIDv7, so: older bets); kept for clients of the
    /// per-game history, which paged with it.
    pub before: Option<Uuid>,
    /// 1 to [`HISTORY_PAGE_SIZE_MAX`].
    pub limit: u32,
    /// 0 to [`HISTORY_OFFSET_MAX`].
    pub offset: u32,
}

/// A table of a player's bets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `crash_bets`, with their round's result once it crashed.
    Crash,
    /// `instant_bets`: Dice, Plinko and Mines.
    Instant,
    /// `slot_rounds`: every slot game, each round with its revealed steps.
    Slots,
}

/// Every source, in no particular order (the page is ordered by time).
pub const SOURCES: [Source; 3] = [Source::Crash, Source::Instant, Source::Slots];

/// The `game` filter that lists the rounds of every slot game.
pub const SLOTS: &str = "slots";

/// The games a history may be filtered by: the registry's and the slot games.
#[derive(Clone, Copy)]
pub struct HistoryGames<'a> {
    pub registry: &'a Registry,
    pub slot_games: &'a BTreeSet<String>,
}

impl HistoryGames<'_> {
    /// Whether `game` names something a history can be filtered by.
    pub fn knows(&self, game: &str) -> bool {
        game == SLOTS || self.slot_games.contains(game) || self.registry.entry(game).is_ok()
    }
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Crash => "crash",
            Source::Instant => "instant",
            Source::Slots => "slots",
        }
    }

    /// Whether this source may hold bets of `game` (every source serves "every game").
    fn serves(self, game: Option<&str>, games: HistoryGames<'_>) -> bool {
        match (self, game) {
            (_, None) => true,
            (Source::Crash, Some(game)) => game == CRASH,
            (Source::Instant, Some(game)) => games.registry.per_player(game).is_ok(),
            (Source::Slots, Some(game)) => game == SLOTS || games.slot_games.contains(game),
        }
    }

    /// The source's keys newest first, as `(source, id, created_at)`. The parameters every source may use:
    /// $1 the player, $2 from, $3 to, $4 before, $5 the game (NULL: every game), $6 how many keys each
    /// source gives at most (offset + limit).
    fn keys_sql(self) -> String {
        let (table, condition) = match self {
            Source::Crash => ("crash_bets", "status <> 'void'"),
            Source::Instant => ("instant_bets", "($5::text IS NULL OR game = $5::text)"),
            Source::Slots => (
                "slot_rounds",
                "status <> 'void' AND ($5::text IS NULL OR $5::text = 'slots' OR game_id = $5::text)",
            ),
        };
        format!(
            "(SELECT '{name}' AS source, id, created_at FROM {table}
              WHERE player_id = $1 AND {condition}
                AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
                AND ($4::uuid IS NULL OR id < $4)
              ORDER BY created_at DESC, id DESC LIMIT $6)",
            name = self.name(),
        )
    }

    /// The entries of `ids` (all of this source and this player), by id.
    async fn load(
        self,
        reader: &PgPool,
        games: HistoryGames<'_>,
        player: Uuid,
        ids: &[Uuid],
    ) -> anyhow::Result<HashMap<Uuid, Value>> {
        let registry = games.registry;
        let mut entries = HashMap::with_capacity(ids.len());
        match self {
            Source::Crash => {
                for entry in crash_store::player_history_entries(reader, player, ids).await? {
                    let mut value = serde_json::to_value(&entry)?;
                    value["game"] = Value::from(CRASH);
                    entries.insert(entry.bet.bet_id, value);
                }
            }
            Source::Instant => {
                for row in instant_store::history_entries(reader, player, ids).await? {
                    let registered = registry
                        .per_player(&row.game)
                        .with_context(|| format!("bet {} of an unknown game", row.id))?;
                    let view = BetView::of(registered, &row).with_context(|| format!("bet {}", row.id))?;
                    entries.insert(row.id, serde_json::to_value(&view)?);
                }
            }
            Source::Slots => {
                for round in slot_store::rounds_by_ids(reader, player, ids).await? {
                    let mut value = slot_view::recall(&round);
                    value["game"] = Value::from(round.game_id.as_str());
                    value["category"] = Value::from(SLOTS);
                    entries.insert(round.id, value);
                }
            }
        }
        Ok(entries)
    }
}

/// One page of the player's bets, newest first (by `created_at`, then id), each a JSON object with its
/// `game`. `filter.game` must be a game of `registry` (the caller checks it at the edge).
#[tracing::instrument(skip(reader, games, filter), fields(player_id = %player))]
pub async fn page(
    reader: &PgPool,
    games: HistoryGames<'_>,
    player: Uuid,
    filter: &HistoryFilter,
) -> anyhow::Result<Vec<Value>> {
    assert!(
        (1..=HISTORY_PAGE_SIZE_MAX).contains(&filter.limit),
        "a checked page size"
    );
    assert!(filter.offset <= HISTORY_OFFSET_MAX, "a checked offset");
    let sources: Vec<Source> = SOURCES
        .into_iter()
        .filter(|source| source.serves(filter.game.as_deref(), games))
        .collect();
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let keys = page_keys(reader, &sources, player, filter).await?;
    let mut entries = HashMap::with_capacity(keys.len());
    for source in sources {
        let ids: Vec<Uuid> = keys.iter().filter(|key| key.0 == source).map(|key| key.1).collect();
        if !ids.is_empty() {
            entries.extend(source.load(reader, games, player, &ids).await?);
        }
    }
    // A bet that vanished between the two reads cannot happen (bets are never deleted); skip it if it did.
    Ok(keys.iter().filter_map(|key| entries.remove(&key.1)).collect())
}

/// The page's keys in order: every source's newest `offset + limit` keys, merged by time.
async fn page_keys(
    reader: &PgPool,
    sources: &[Source],
    player: Uuid,
    filter: &HistoryFilter,
) -> anyhow::Result<Vec<(Source, Uuid)>> {
    let union = sources
        .iter()
        .map(|source| source.keys_sql())
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let sql =
        format!("SELECT source, id FROM ({union}) AS entries ORDER BY created_at DESC, id DESC LIMIT $7 OFFSET $8");
    let rows = sqlx::query(&sql)
        .bind(player)
        .bind(filter.from)
        .bind(filter.to)
        .bind(filter.before)
        .bind(filter.game.as_deref())
        .bind(i64::from(filter.offset) + i64::from(filter.limit))
        .bind(i64::from(filter.limit))
        .bind(i64::from(filter.offset))
        .fetch_all(reader)
        .await
        .context("failed to read the history's keys")?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get("source")?;
            let source = sources
                .iter()
                .copied()
                .find(|source| source.name() == name)
                .context("a key of an unknown source")?;
            Ok((source, row.try_get("id")?))
        })
        .collect()
}
