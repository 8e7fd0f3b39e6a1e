//! The slot games a node serves: each game's current definition with the files it was built from, and
//! every older math version, read back from Postgres when an old round is recalled or verified.

use crate::configuration::SlotsSettings;
use crate::games::slots::definition::{Evaluation, SymbolKind};
use crate::games::slots::load::{self, LoadError};
use crate::games::slots::Definition;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Older math versions kept in memory once read back; beyond it the cache starts over.
pub const OLD_VERSIONS_CACHED_MAX: usize = 64;
/// The most games one node serves.
pub const SERVED_GAMES_MAX: usize = 256;

/// One game as served now.
#[derive(Debug)]
pub struct ServedGame {
    pub definition: Arc<Definition>,
    /// The files of the current math version, verbatim (`game.toml` and the reel files).
    pub files: BTreeMap<String, String>,
    /// The RTP of each mode measured by the PAR simulation that pins the game (`baseline.json`).
    pub par_rtp: BTreeMap<String, f64>,
}

/// Every slot game of this node.
#[derive(Debug)]
pub struct Catalog {
    games: BTreeMap<String, Arc<ServedGame>>,
    disabled: BTreeSet<String>,
    old_versions: Mutex<HashMap<(String, String), Arc<Definition>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("slot game {game}: {source}")]
    Load {
        game: String,
        #[source]
        source: LoadError,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Catalog {
    /// Loads every game under the configured directory.
    pub fn load(settings: &SlotsSettings) -> Result<Catalog, CatalogError> {
        let root = Path::new(&settings.dir);
        let ids = load::list_games(root).map_err(|source| CatalogError::Load {
            game: settings.dir.clone(),
            source,
        })?;
        if ids.len() > SERVED_GAMES_MAX {
            return Err(CatalogError::Invalid(format!(
                "{} holds {} games, more than {SERVED_GAMES_MAX}",
                settings.dir,
                ids.len()
            )));
        }
        let mut games = BTreeMap::new();
        for id in ids {
            let dir = root.join(&id);
            let (definition, files) = load::load_dir_with_files(&dir).map_err(|source| CatalogError::Load {
                game: id.clone(),
                source,
            })?;
            let par_rtp = read_par_rtp(&dir.join("baseline.json"));
            let game = ServedGame {
                definition: Arc::new(definition),
                files,
                par_rtp,
            };
            games.insert(id, Arc::new(game));
        }
        for disabled in &settings.games_disabled {
            if !games.contains_key(disabled) {
                return Err(CatalogError::Invalid(format!(
                    "games.slots.games_disabled names {disabled:?}, which is not a game under {}",
                    settings.dir
                )));
            }
        }
        Ok(Catalog {
            games,
            disabled: settings.games_disabled.iter().cloned().collect(),
            old_versions: Mutex::new(HashMap::new()),
        })
    }

    pub fn game(&self, id: &str) -> Option<&Arc<ServedGame>> {
        self.games.get(id)
    }

    pub fn games(&self) -> impl Iterator<Item = &Arc<ServedGame>> {
        self.games.values()
    }

    pub fn is_disabled(&self, id: &str) -> bool {
        self.disabled.contains(id)
    }

    /// Records the current math version of every game with its files, once per version.
    pub async fn publish(&self, pool: &PgPool) -> sqlx::Result<()> {
        for (id, game) in &self.games {
            sqlx::query(
                "INSERT INTO slot_math_versions (game_id, version, files) VALUES ($1, $2, $3)
                 ON CONFLICT (game_id, version) DO NOTHING",
            )
            .bind(id)
            .bind(game.definition.math_version())
            .bind(sqlx::types::Json(&game.files))
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    /// The definition of `game_id` under math `version`: the current one, or an older one read back from
    /// its stored files. `None` when the version was never served.
    pub async fn definition_at(
        &self,
        pool: &PgPool,
        game_id: &str,
        version: &str,
    ) -> Result<Option<Arc<Definition>>, VersionError> {
        if let Some(game) = self.games.get(game_id) {
            if game.definition.math_version() == version {
                return Ok(Some(game.definition.clone()));
            }
        }
        let key = (game_id.to_owned(), version.to_owned());
        if let Some(definition) = self.cached(&key) {
            return Ok(Some(definition));
        }
        let Some(files) = stored_files(pool, game_id, version).await? else {
            return Ok(None);
        };
        let definition = Arc::new(load::from_files(game_id, &files).map_err(VersionError::Unreadable)?);
        if definition.math_version() != version {
            return Err(VersionError::Mismatch(version.to_owned()));
        }
        let mut cache = self.old_versions.lock().expect("the version cache is never poisoned");
        if cache.len() >= OLD_VERSIONS_CACHED_MAX {
            cache.clear();
        }
        cache.insert(key, definition.clone());
        Ok(Some(definition))
    }

    fn cached(&self, key: &(String, String)) -> Option<Arc<Definition>> {
        let cache = self.old_versions.lock().expect("the version cache is never poisoned");
        cache.get(key).cloned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("the stored math version no longer loads: {0}")]
    Unreadable(LoadError),
    #[error("the stored files of math version {0} hash to another version")]
    Mismatch(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// The files of a math version as stored when it was first served.
pub async fn stored_files(
    pool: &PgPool,
    game_id: &str,
    version: &str,
) -> sqlx::Result<Option<BTreeMap<String, String>>> {
    let files: Option<sqlx::types::Json<BTreeMap<String, String>>> =
        sqlx::query_scalar("SELECT files FROM slot_math_versions WHERE game_id = $1 AND version = $2")
            .bind(game_id)
            .bind(version)
            .fetch_optional(pool)
            .await?;
    Ok(files.map(|files| files.0))
}

/// Every math version of a game ever served, oldest first.
pub async fn versions(pool: &PgPool, game_id: &str) -> sqlx::Result<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
    sqlx::query_as(
        "SELECT version, first_served_at FROM slot_math_versions WHERE game_id = $1 ORDER BY first_served_at, version",
    )
    .bind(game_id)
    .fetch_all(pool)
    .await
}

/// The measured RTP by mode from a game's `baseline.json`; empty when it has none.
fn read_par_rtp(path: &Path) -> BTreeMap<String, f64> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    let Ok(baseline) = serde_json::from_str::<Value>(&text) else {
        return BTreeMap::new();
    };
    let Some(modes) = baseline.get("modes").and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    modes
        .iter()
        .filter_map(|(mode, figures)| Some((mode.clone(), figures.get("rtp")?.as_f64()?)))
        .collect()
}

/// The bets a player may place, from the configuration.
#[derive(Debug, Clone, Serialize)]
pub struct BetLevels {
    pub levels: Vec<i64>,
    pub default: i64,
}

/// The public configuration of a game: everything a client needs to draw it and take bets.
pub fn public_config(game: &ServedGame, bets: &BetLevels) -> Value {
    let definition = &game.definition;
    let paytable: Vec<Value> = definition
        .symbols()
        .iter()
        .enumerate()
        .map(|(id, symbol)| {
            let kind = match symbol.kind {
                SymbolKind::Regular => "regular",
                SymbolKind::Wild => "wild",
                SymbolKind::Scatter => "scatter",
            };
            let pays: BTreeMap<String, u64> = (1..=definition.reels().max(definition.reels() * definition.rows()))
                .filter_map(|count| {
                    let pay = match symbol.kind {
                        SymbolKind::Scatter => definition.scatter_pay(count),
                        _ => definition.pay(id as u8, count),
                    };
                    (pay > 0).then(|| (count.to_string(), pay))
                })
                .collect();
            json!({ "symbol": symbol.name, "kind": kind, "pays_centibet": pays })
        })
        .collect();
    let (evaluation, paylines) = match definition.evaluation() {
        Evaluation::Lines(lines) => (
            "lines",
            Some(
                lines
                    .lines()
                    .iter()
                    .map(|line| line.rows()[..definition.reels()].to_vec())
                    .collect::<Vec<_>>(),
            ),
        ),
        Evaluation::Ways => ("ways", None),
    };
    let modes: Vec<Value> = definition
        .modes()
        .iter()
        .map(|mode| {
            json!({
                "name": mode.name(),
                "cost": mode.cost(),
                "bonus_buy": mode.is_bonus_buy(),
                "par_rtp": game.par_rtp.get(mode.name()),
            })
        })
        .collect();
    let has_multipliers = definition
        .phase(crate::games::slots::Phase::FreeSpins)
        .into_iter()
        .chain(definition.phase(crate::games::slots::Phase::Base))
        .any(|phase| phase.has_wild_multipliers());
    json!({
        "game_id": definition.id(),
        "name": definition.name(),
        "math_version": definition.math_version(),
        "grid": { "reels": definition.reels(), "rows": definition.rows() },
        "evaluation": evaluation,
        "paylines": paylines,
        "paytable": paytable,
        "bet_levels": bets.levels,
        "default_bet": bets.default,
        "min_bet": bets.levels.first(),
        "max_bet": bets.levels.last(),
        "modes": modes,
        "rtp": definition.target_rtp_bp().map(|bp| f64::from(bp) / 10_000.0),
        "par_rtp": game.par_rtp.get("base"),
        "volatility": definition.volatility(),
        "win_cap": definition.win_cap_centibet() / 100,
        "features": {
            "free_spins": definition.free_spins_max() > 0,
            "free_spins_max": definition.free_spins_max(),
            "cascades": definition.cascades(),
            "wild_multipliers": has_multipliers,
            "bonus_buy": definition.modes().iter().any(|mode| mode.is_bonus_buy()),
        },
        "amounts": "micro-units: 1000000 is 1.00; pays are in hundredths of the base bet",
    })
}
