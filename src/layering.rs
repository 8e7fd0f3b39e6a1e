//! The crate's dependencies point one way: each top-level module names only modules of its own layer or
//! a lower one, and no two modules name each other, directly or around a circle. These tests read the
//! sources (every `crate::module` a non-comment line names) and name the offending file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may name modules of its own layer (without a circle) or lower.
const LAYERS: &[&[&str]] = &[
    // What everything stands on: money, fairness, settings, the database.
    &["money", "fair", "metrics", "configuration", "telemetry", "db"],
    // The ledger, the cluster's coordination, the error envelope, tokens, the game catalog.
    &["wallet", "cluster", "error", "auth", "catalog"],
    // The games, outside providers, the player economy, load-test fixtures.
    &["games", "providers", "economy", "players", "loadtest"],
    // The players' sockets, which route into the games.
    &["session"],
    // The HTTP edge: the API, the admin API, the contract documents.
    &["api", "admin", "openapi"],
    // What builds and runs a node.
    &["startup", "cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("source directories read") {
            rust_files(&entry.expect("directory entries read").path(), files);
        }
    } else if path.extension().is_some_and(|extension| extension == "rs") {
        files.push(path.to_owned());
    }
}

/// Every top-level module's sources (`src/x.rs` and `src/x/**`), but the binaries, the crate root and this file.
fn modules() -> BTreeMap<String, Vec<PathBuf>> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(&source).expect("src reads") {
        let path = entry.expect("src entries read").path();
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("utf-8 names")
            .to_owned();
        if ["bin", "lib", "main", "layering"].contains(&name.as_str()) {
            continue;
        }
        rust_files(&path, modules.entry(name).or_default());
    }
    modules
}

/// Each module's imports of other top-level modules, with where the first one is.
fn imports(modules: &BTreeMap<String, Vec<PathBuf>>) -> BTreeMap<(String, String), String> {
    let mut found = BTreeMap::new();
    for (module, files) in modules {
        for file in files {
            let text = std::fs::read_to_string(file).expect("sources read");
            for (number, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for piece in line.split("crate::").skip(1) {
                    let target: String = piece
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if target != *module && modules.contains_key(&target) {
                        found
                            .entry((module.clone(), target))
                            .or_insert_with(|| format!("{}:{}", file.display(), number + 1));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn every_module_has_a_layer() {
    let unplaced: Vec<String> = modules()
        .into_keys()
        .filter(|module| layer_of(module).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "put these modules in a layer of src/layering.rs: {unplaced:?}"
    );
}

#[test]
fn no_module_names_a_higher_layer() {
    let upward: Vec<String> = imports(&modules())
        .into_iter()
        .filter(|((from, to), _)| layer_of(to) > layer_of(from))
        .map(|((from, to), at)| format!("{from} -> {to} ({at})"))
        .collect();
    assert!(upward.is_empty(), "these imports point up a layer: {upward:#?}");
}

/// A path from `start` back to itself, if there is one.
fn circle_through<'a>(start: &'a str, edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Option<Vec<&'a str>> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![vec![start]];
    while let Some(trail) = stack.pop() {
        let last = *trail.last().expect("trails are never empty");
        for &next in edges.get(last).into_iter().flatten() {
            let mut longer = trail.clone();
            longer.push(next);
            if next == start {
                return Some(longer);
            }
            if seen.insert(next) {
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_modules_import_each_other_around_a_circle() {
    let imports = imports(&modules());
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in imports.keys() {
        edges.entry(from).or_default().insert(to);
    }
    for start in edges.keys() {
        if let Some(circle) = circle_through(start, &edges) {
            let at: Vec<&String> = circle
                .windows(2)
                .map(|pair| &imports[&(pair[0].to_owned(), pair[1].to_owned())])
                .collect();
            panic!("a circle: {} (imports at {at:?})", circle.join(" -> "));
        }
    }
}
