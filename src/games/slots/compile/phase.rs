//! The reels and tables of a phase (`[base]`, `[free_spins]`), and the weighted tables modes share.

use super::{at_least, invalid, parse_count, Layout};
use crate::games::slots::csv::parse_reels;
use crate::games::slots::definition::*;
use crate::games::slots::load::LoadError;
use crate::games::slots::raw::{RawPhase, RawTable};
use std::collections::BTreeMap;

pub(super) fn phase(
    field: &str,
    raw: &RawPhase,
    phase: Phase,
    layout: &Layout,
    files: &BTreeMap<String, String>,
) -> Result<PhaseRules, LoadError> {
    let strips = strips(field, raw.reels.as_deref(), layout, files)?;
    let (awards_field, awards, other) = match phase {
        Phase::Base => ("trigger", &raw.trigger, raw.retrigger.as_ref().map(|_| "retrigger")),
        Phase::FreeSpins => ("retrigger", &raw.retrigger, raw.trigger.as_ref().map(|_| "trigger")),
    };
    if let Some(key) = other {
        return Err(invalid(
            format!("{field}.{key}"),
            format!("[{field}] takes {awards_field}, not {key}"),
        ));
    }
    let awards = self::awards(&format!("{field}.{awards_field}"), awards.as_ref(), layout)?;
    let wild_multipliers = match &raw.wild_multipliers {
        None => None,
        Some(_) if layout.wild == NO_SYMBOL => {
            return Err(invalid(
                format!("{field}.wild_multipliers"),
                "the game has no wild symbol",
            ));
        }
        Some(table) => Some(weighted(&format!("{field}.wild_multipliers"), table, MULTIPLIER_MAX)?),
    };
    let cascade_multipliers = cascade_multipliers(field, raw.cascade_multipliers.as_deref(), layout)?;
    Ok(PhaseRules {
        strips,
        wild_multipliers,
        cascade_multipliers,
        awards,
    })
}

fn strips(
    field: &str,
    file: Option<&str>,
    layout: &Layout,
    files: &BTreeMap<String, String>,
) -> Result<Vec<Strip>, LoadError> {
    let field = format!("{field}.reels");
    let file = file.ok_or_else(|| invalid(&field, "missing: the CSV file of the reel strips"))?;
    check_file_name(&field, file)?;
    let text = files
        .get(file)
        .ok_or_else(|| invalid(&field, format!("no file {file}")))?;
    let lookup = |name: &str| {
        layout
            .symbols
            .iter()
            .position(|symbol| symbol.name == name)
            .map(|id| id as u8)
    };
    let reels = parse_reels(file, text, layout.reels, layout.csv_header, lookup)?;
    let mut strips = Vec::with_capacity(reels.len());
    for (reel, stops) in reels.iter().enumerate() {
        let message = || {
            let (column, count, rows) = (reel + 1, stops.len(), layout.rows);
            invalid(
                &field,
                format!("{file} reel {column}: {count} stops, a strip has {rows}..={STRIP_LEN_MAX}"),
            )
        };
        if stops.len() < layout.rows {
            return Err(message());
        }
        strips.push(Strip::new(stops).ok_or_else(message)?);
    }
    Ok(strips)
}

/// A reel file is a plain name beside game.toml, never a path out of the game's directory.
pub(in crate::games::slots) fn check_file_name(field: &str, file: &str) -> Result<(), LoadError> {
    let plain =
        !file.is_empty() && file != "." && file != ".." && !file.contains(['/', '\\', ':']) && file.ends_with(".csv");
    if plain {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{file:?} is not a .csv file name beside game.toml"),
        ))
    }
}

/// Free spins by scatter count.
fn awards(
    field: &str,
    raw: Option<&BTreeMap<String, u32>>,
    layout: &Layout,
) -> Result<[u32; CELLS_MAX + 1], LoadError> {
    let mut awards = [None; CELLS_MAX + 1];
    let Some(raw) = raw else {
        return Ok([0; CELLS_MAX + 1]);
    };
    if layout.scatter == NO_SYMBOL {
        return Err(invalid(field, "the game has no scatter symbol"));
    }
    if raw.is_empty() {
        return Err(invalid(field, "an empty table"));
    }
    for (key, spins) in raw {
        let entry = format!("{field}.{key}");
        let count = parse_count(key, layout.reels * layout.rows).map_err(|message| invalid(&entry, message))?;
        if !(1..=FREE_SPINS_MAX_LIMIT).contains(spins) {
            return Err(invalid(
                entry,
                format!("{spins} spins, outside 1..={FREE_SPINS_MAX_LIMIT}"),
            ));
        }
        awards[count] = Some(*spins);
    }
    Ok(at_least(awards))
}

/// A weighted table of values in `1..=value_max`, every weight at least 1, the total at most 2^32.
pub(super) fn weighted(field: &str, raw: &RawTable, value_max: u32) -> Result<WeightedTable, LoadError> {
    if raw.values.is_empty() || raw.values.len() > WEIGHTED_VALUES_MAX {
        let message = format!("{} values, a table has 1..={WEIGHTED_VALUES_MAX}", raw.values.len());
        return Err(invalid(format!("{field}.values"), message));
    }
    if raw.weights.len() != raw.values.len() {
        let message = format!("{} weights for {} values", raw.weights.len(), raw.values.len());
        return Err(invalid(format!("{field}.weights"), message));
    }
    if let Some(index) = raw.values.iter().position(|value| !(1..=value_max).contains(value)) {
        return Err(invalid(
            format!("{field}.values[{index}]"),
            format!("outside 1..={value_max}"),
        ));
    }
    if let Some(index) = raw.weights.iter().position(|weight| *weight == 0) {
        return Err(invalid(
            format!("{field}.weights[{index}]"),
            "a zero weight is never drawn",
        ));
    }
    WeightedTable::new(raw.values.clone(), raw.weights.clone())
        .ok_or_else(|| invalid(format!("{field}.weights"), "the weights add up to more than 2^32"))
}

fn cascade_multipliers(field: &str, raw: Option<&[u32]>, layout: &Layout) -> Result<Vec<u32>, LoadError> {
    let field = format!("{field}.cascade_multipliers");
    let Some(raw) = raw else {
        return Ok(vec![1]);
    };
    if !layout.cascades {
        return Err(invalid(field, "the game has no cascades (cascades = true)"));
    }
    if raw.is_empty() || raw.len() > CASCADES_MAX as usize + 1 {
        return Err(invalid(
            field,
            format!("{} entries, a table has 1..={}", raw.len(), CASCADES_MAX + 1),
        ));
    }
    if let Some(index) = raw.iter().position(|value| !(1..=MULTIPLIER_MAX).contains(value)) {
        return Err(invalid(
            format!("{field}[{index}]"),
            format!("outside 1..={MULTIPLIER_MAX}"),
        ));
    }
    Ok(raw.to_vec())
}
