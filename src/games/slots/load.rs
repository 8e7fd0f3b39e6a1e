//! The only I/O of the slot engine: reading a game's directory (`games/slots/<game_id>/game.toml` and the
//! reel CSV files it names), listing the shipped games, and the math version of what was read.
//!
//! The math version is the hex SHA-256 of a canonical byte form of everything loaded: for `game.toml`
//! and then each referenced CSV file in file-name order, the file name, a zero byte, the file's length as
//! a big-endian u64 and its bytes. Any change to a reel, a weight or a pay changes it.

use super::compile::{check_file_name, compile};
use super::definition::Definition;
use super::raw::RawGame;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the shipped games live, relative to the repository root.
pub const GAMES_DIR: &str = "games/slots";
/// A game directory's definition file.
pub const GAME_FILE: &str = "game.toml";
/// The longest game id.
pub const GAME_ID_LEN_MAX: usize = 64;

/// Why a game could not be loaded. Every variant names what is at fault: a path, a field of
/// `game.toml` or a cell of a reel file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file} is not a valid game definition: {message}")]
    Toml { file: String, message: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{file} row {row} column {column}: {message}")]
    Csv {
        file: String,
        row: usize,
        column: usize,
        message: String,
    },
    #[error("{file} row {row} column {column}: unknown symbol {symbol:?}")]
    UnknownSymbol {
        file: String,
        row: usize,
        column: usize,
        symbol: String,
    },
    #[error("{0:?} is not a game id (1 to 64 of a-z, 0-9, '_' and '-')")]
    GameId(String),
}

impl LoadError {
    /// The field of `game.toml` at fault, for errors that have one.
    pub fn field(&self) -> Option<&str> {
        match self {
            LoadError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// Loads the shipped game `game_id` from `root` (normally [`GAMES_DIR`]).
pub fn load_game(root: &Path, game_id: &str) -> Result<Definition, LoadError> {
    check_game_id(game_id)?;
    load_dir(&root.join(game_id))
}

/// Loads the game in directory `dir` (for `--game PATH`); its id is the directory's name (`.` and
/// `..` resolved first).
pub fn load_dir(dir: &Path) -> Result<Definition, LoadError> {
    load_dir_with_files(dir).map(|(definition, _)| definition)
}

/// Loads the game in `dir` and returns, besides it, every file it was built from (`game.toml` and the
/// reel files, by name), verbatim: the public definition of its math version.
pub fn load_dir_with_files(dir: &Path) -> Result<(Definition, BTreeMap<String, String>), LoadError> {
    let dir = dir.canonicalize().map_err(|source| LoadError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let id = dir.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    check_game_id(id)?;
    let game_toml = read_text(&dir.join(GAME_FILE), GAME_FILE)?;
    let raw = parse(&game_toml)?;
    let mut files = BTreeMap::new();
    for (field, file) in raw.reel_files() {
        check_file_name(field, file)?;
        files.insert(file.to_string(), read_text(&dir.join(file), file)?);
    }
    let definition = build(id, &game_toml, &raw, &files)?;
    files.insert(GAME_FILE.to_string(), game_toml);
    Ok((definition, files))
}

/// A game from the files [`load_dir_with_files`] returned (`game.toml` among them), as stored with
/// each math version: how an old round is replayed under the maths it was played with.
pub fn from_files(id: &str, files: &BTreeMap<String, String>) -> Result<Definition, LoadError> {
    let game_toml = files.get(GAME_FILE).ok_or_else(|| LoadError::Invalid {
        field: GAME_FILE.to_string(),
        message: "missing from the stored files".to_string(),
    })?;
    from_sources(id, game_toml, files)
}

/// A game from its `game.toml` text and reel files held in memory (file name to text).
pub fn from_sources(id: &str, game_toml: &str, files: &BTreeMap<String, String>) -> Result<Definition, LoadError> {
    check_game_id(id)?;
    let raw = parse(game_toml)?;
    build(id, game_toml, &raw, files)
}

/// The ids of the games under `root`: its subdirectories that hold a `game.toml`, sorted.
pub fn list_games(root: &Path) -> Result<Vec<String>, LoadError> {
    let read_error = |source| LoadError::Read {
        path: root.to_path_buf(),
        source,
    };
    let mut games = Vec::new();
    for entry in std::fs::read_dir(root).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if check_game_id(&name).is_ok() && entry.path().join(GAME_FILE).is_file() {
            games.push(name);
        }
    }
    games.sort();
    Ok(games)
}

/// Hex SHA-256 of `game.toml` then each file, in file-name order (see the module docs).
pub fn math_version(game_toml: &str, files: &BTreeMap<&str, &str>) -> String {
    let mut hasher = Sha256::new();
    let mut add = |name: &str, bytes: &[u8]| {
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    add(GAME_FILE, game_toml.as_bytes());
    for (name, text) in files {
        add(name, text.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn build(id: &str, game_toml: &str, raw: &RawGame, files: &BTreeMap<String, String>) -> Result<Definition, LoadError> {
    let referenced: BTreeMap<&str, &str> = raw
        .reel_files()
        .into_iter()
        .filter_map(|(_, name)| files.get_key_value(name))
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    compile(id, raw, files, math_version(game_toml, &referenced))
}

fn parse(game_toml: &str) -> Result<RawGame, LoadError> {
    toml::from_str(game_toml).map_err(|error| LoadError::Toml {
        file: GAME_FILE.to_string(),
        message: error.to_string(),
    })
}

fn read_text(path: &Path, file: &str) -> Result<String, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| LoadError::Invalid {
        field: file.to_string(),
        message: "not UTF-8 text".to_string(),
    })
}

/// A game id is a plain directory name: never a path.
fn check_game_id(id: &str) -> Result<(), LoadError> {
    let valid = !id.is_empty()
        && id.len() <= GAME_ID_LEN_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(LoadError::GameId(id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES_TOML: &str = include_str!("testdata/lines20/game.toml");
    const LINES_BASE: &str = include_str!("testdata/lines20/base.csv");
    const LINES_FREE: &str = include_str!("testdata/lines20/free.csv");

    fn files(base: &str) -> BTreeMap<String, String> {
        [("base.csv", base), ("free.csv", LINES_FREE)]
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect()
    }

    /// The lines fixture with each `(from, to)` replaced once in its game.toml.
    fn lines_with(replacements: &[(&str, &str)]) -> Result<Definition, LoadError> {
        let mut toml = LINES_TOML.to_string();
        for (from, to) in replacements {
            assert!(toml.contains(from), "the fixture holds {from:?}");
            toml = toml.replacen(from, to, 1);
        }
        from_sources("lines20", &toml, &files(LINES_BASE))
    }

    /// The field an invalid definition is refused for.
    fn refused_field(result: Result<Definition, LoadError>) -> String {
        match result {
            Err(LoadError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn the_fixture_loads_with_a_stable_math_version() {
        // Loading twice gives the same 64-hex-digit version.
        let first = lines_with(&[]).unwrap();
        assert_eq!(first.math_version().len(), 64);
        assert!(first.math_version().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(first.math_version(), lines_with(&[]).unwrap().math_version());
        assert_eq!((first.reels(), first.rows(), first.win_cap_centibet()), (5, 3, 500_000));
    }

    #[test]
    fn the_math_version_changes_with_any_reel_weight_or_pay() {
        // One reel cell, one weight, one pay: each gives a new version.
        let version = lines_with(&[]).unwrap().math_version().to_string();
        let pay = lines_with(&[("3 = 50, 4 = 200", "3 = 55, 4 = 200")]).unwrap();
        let weight = lines_with(&[("weights = [50, 30, 15, 5]", "weights = [50, 30, 15, 6]")]).unwrap();
        let reel = from_sources("lines20", LINES_TOML, &files(&LINES_BASE.replacen("H2", "H1", 1))).unwrap();
        for changed in [pay, weight, reel] {
            assert_ne!(changed.math_version(), version);
        }
    }

    #[test]
    fn each_invalid_definition_names_its_field() {
        // One broken value at a time; the error points at it.
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("[base]", "[[symbols]]\nname = \"X\"\npays = { 3 = 5 }\n\n[base]")],
                "symbols.X.pays",
            ),
            (&[("[0, 2, 0, 2, 0]", "[0, 2, 0, 3, 0]")], "paylines[19][3]"),
            (
                &[("win_cap = 5000", "win_cap = 5000\ntarget_rtp_bp = 9900")],
                "target_rtp_bp",
            ),
            (&[("[1, 1, 1, 1, 1]", "[1, 1, 1, 1]")], "paylines[0]"),
            (
                &[("weights = [50, 30, 15, 5]", "weights = [50, 0, 15, 5]")],
                "free_spins.wild_multipliers.weights[1]",
            ),
            (
                &[(
                    "values = [2, 3, 5, 10], weights = [50, 30, 15, 5]",
                    "values = [], weights = []",
                )],
                "free_spins.wild_multipliers.values",
            ),
            (&[("win_cap = 5000", "win_cap = 0")], "win_cap"),
            (&[("cost = 100\n", "")], "modes[1].cost"),
            (&[("trigger = { 3 = 10,", "trigger = { 16 = 10,")], "base.trigger.16"),
            (
                &[("pays = { 3 = 200, 4 = 1000", "pays = { 0 = 200, 4 = 1000")],
                "symbols.S.pays.0",
            ),
            (&[("free_spins_max = 100\n", "")], "free_spins_max"),
            (
                &[("wild_multiplier_combine = \"add\"\n", "")],
                "wild_multiplier_combine",
            ),
            (&[("reels = \"base.csv\"", "reels = \"../base.csv\"")], "base.reels"),
            (
                &[("retrigger = {", "cascade_multipliers = [1, 2]\nretrigger = {")],
                "free_spins.cascade_multipliers",
            ),
            (&[("evaluation = \"lines\"", "evaluation = \"ways\"")], "paylines"),
            (&[("free_spins = 10", "free_spins = 101")], "modes[1].free_spins"),
            (&[("kind = \"scatter\"", "kind = \"wild\"")], "symbols.S.kind"),
        ];
        for (replacements, field) in cases {
            assert_eq!(refused_field(lines_with(replacements)), *field, "{replacements:?}");
        }
    }

    #[test]
    fn reel_files_are_checked_cell_by_cell() {
        // A strip file with a reel too many, and one with an unknown symbol, name file, row and column.
        let wide = LINES_BASE.replacen('\n', ",L1\n", 1);
        let error = from_sources("lines20", LINES_TOML, &files(&wide)).unwrap_err();
        assert!(
            matches!(&error, LoadError::Csv { file, row: 1, .. } if file == "base.csv"),
            "{error}"
        );
        let unknown = LINES_BASE.replacen("H2", "Q", 1);
        let error = from_sources("lines20", LINES_TOML, &files(&unknown)).unwrap_err();
        assert!(
            matches!(&error, LoadError::UnknownSymbol { row: 1, column: 1, .. }),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused_by_name() {
        // A misspelt key never passes silently.
        let error = lines_with(&[("win_cap = 5000", "win_cap = 5000\nwin_kap = 1")]).unwrap_err();
        assert!(
            matches!(&error, LoadError::Toml { message, .. } if message.contains("win_kap")),
            "{error}"
        );
    }

    /// A fresh directory for one test.
    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("slots-load-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn games_load_from_their_directory_and_are_listed() {
        // Two game directories and a stray one without game.toml: two games listed, each loadable.
        let root = scratch_dir("list");
        for id in ["lines20", "copy"] {
            let dir = root.join(id);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(GAME_FILE), LINES_TOML).unwrap();
            std::fs::write(dir.join("base.csv"), LINES_BASE).unwrap();
            std::fs::write(dir.join("free.csv"), LINES_FREE).unwrap();
        }
        std::fs::create_dir_all(root.join("notes")).unwrap();
        assert_eq!(list_games(&root).unwrap(), ["copy", "lines20"]);
        let loaded = load_game(&root, "lines20").unwrap();
        assert_eq!(loaded, lines_with(&[]).unwrap(), "the same definition as from memory");
        assert_eq!(load_dir(&root.join("copy")).unwrap().id(), "copy");
        assert_eq!(
            load_dir(&root.join("copy").join(".")).unwrap().id(),
            "copy",
            "`.` resolves to its name"
        );
        assert!(matches!(load_game(&root, "../lines20"), Err(LoadError::GameId(_))));
        std::fs::remove_file(root.join("copy").join("free.csv")).unwrap();
        assert!(matches!(load_game(&root, "copy"), Err(LoadError::Read { .. })));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
