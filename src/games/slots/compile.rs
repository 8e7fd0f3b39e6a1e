//! Parse, don't validate: a [`RawGame`] and its reel files become a [`Definition`], or an error that names
//! the field at fault (`paylines[3][2]`, `modes[1].cost`, `free_spins.wild_multipliers.weights[0]`).

mod phase;

use super::definition::*;
use super::load::LoadError;
use super::raw::{RawEvaluation, RawGame, RawKind, RawMode, RawSymbol};
use phase::{phase, weighted};
use std::collections::BTreeMap;

pub(super) use phase::check_file_name;

fn invalid(field: impl Into<String>, message: impl Into<String>) -> LoadError {
    LoadError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// The grid and symbols, which every later check reads.
struct Layout<'a> {
    reels: usize,
    rows: usize,
    symbols: &'a [Symbol],
    wild: u8,
    scatter: u8,
    cascades: bool,
    csv_header: bool,
}

/// A definition from its parsed `game.toml`, the reel files it names (file name to text) and the math
/// version of all of them.
pub(super) fn compile(
    id: &str,
    raw: &RawGame,
    files: &BTreeMap<String, String>,
    math_version: String,
) -> Result<Definition, LoadError> {
    let (reels, rows) = grid(raw)?;
    let symbols = symbols(&raw.symbols)?;
    let layout = Layout {
        reels,
        rows,
        wild: only_one(&symbols, SymbolKind::Wild)?,
        scatter: only_one(&symbols, SymbolKind::Scatter)?,
        symbols: &symbols,
        cascades: raw.cascades,
        csv_header: raw.csv_header,
    };
    let (pays, scatter_pays) = paytable(&raw.symbols, &layout)?;
    let evaluation = evaluation(raw, &layout, &pays)?;
    if evaluation == Evaluation::Ways && layout.wild != NO_SYMBOL {
        let wild = &raw.symbols[usize::from(layout.wild)];
        if wild.pays.values().any(|pay| *pay > 0) {
            return Err(invalid(
                format!("symbols.{}.pays", wild.name),
                "a wild does not pay on its own in a ways game",
            ));
        }
    }
    let base_raw = raw
        .base
        .as_ref()
        .ok_or_else(|| invalid("base", "missing: the base game's [base] table"))?;
    let base = phase("base", base_raw, Phase::Base, &layout, files)?;
    let free_spins = match &raw.free_spins {
        Some(phase_raw) => Some(phase("free_spins", phase_raw, Phase::FreeSpins, &layout, files)?),
        None => None,
    };
    let free_spins_max = free_spins_max(raw, free_spins.is_some())?;
    let modes = modes(&raw.modes, free_spins_max)?;
    check_free_spins_reachable(&base, free_spins.is_some(), &modes)?;
    let combine = combine(raw)?;
    let phases = [Some(&base), free_spins.as_ref()];
    check_paying_symbols_on_strips(&raw.symbols, &pays, &scatter_pays, &layout, &phases)?;
    let regular: [bool; SYMBOLS_MAX + 1] =
        std::array::from_fn(|id| symbols.get(id).is_some_and(|symbol| symbol.kind == SymbolKind::Regular));
    let ways_pay_masks: [u64; REELS_MAX + 1] = std::array::from_fn(|count| {
        (0..symbols.len())
            .filter(|id| regular[*id] && pays[*id][count] > 0)
            .fold(0, |mask, id| mask | 1 << id)
    });
    Ok(Definition {
        id: id.to_string(),
        name: raw.name.clone().unwrap_or_else(|| id.to_string()),
        target_rtp_bp: target_rtp(raw.target_rtp_bp)?,
        volatility: raw.volatility,
        math_version,
        reels: reels as u8,
        rows: rows as u8,
        wild: layout.wild,
        scatter: layout.scatter,
        symbols,
        pays,
        scatter_pays,
        ways_pay_masks,
        evaluation,
        cascades: raw.cascades,
        combine,
        win_cap_centibet: win_cap(raw.win_cap)? * 100,
        free_spins_max,
        base,
        free_spins,
        modes,
    })
}

fn target_rtp(target_rtp_bp: Option<u32>) -> Result<Option<u32>, LoadError> {
    match target_rtp_bp {
        Some(bp) if !TARGET_RTP_BP_RANGE.contains(&bp) => Err(invalid(
            "target_rtp_bp",
            format!(
                "{bp} is outside {}..={} (90% to 98%, in basis points)",
                TARGET_RTP_BP_RANGE.start(),
                TARGET_RTP_BP_RANGE.end()
            ),
        )),
        other => Ok(other),
    }
}

fn grid(raw: &RawGame) -> Result<(usize, usize), LoadError> {
    let reels = raw.reels.ok_or_else(|| invalid("reels", "missing"))? as usize;
    let rows = raw.rows.ok_or_else(|| invalid("rows", "missing"))? as usize;
    if !(1..=REELS_MAX).contains(&reels) {
        return Err(invalid("reels", format!("{reels} is outside 1..={REELS_MAX}")));
    }
    if !(1..=ROWS_MAX).contains(&rows) {
        return Err(invalid("rows", format!("{rows} is outside 1..={ROWS_MAX}")));
    }
    Ok((reels, rows))
}

fn symbols(raw: &[RawSymbol]) -> Result<Vec<Symbol>, LoadError> {
    if raw.is_empty() || raw.len() > SYMBOLS_MAX {
        return Err(invalid(
            "symbols",
            format!("{} symbols, a game has 1..={SYMBOLS_MAX}", raw.len()),
        ));
    }
    let mut symbols: Vec<Symbol> = Vec::with_capacity(raw.len());
    for (index, symbol) in raw.iter().enumerate() {
        let name = symbol.name.trim();
        if name.is_empty() || name.contains(|c: char| c == ',' || c.is_whitespace()) || name != symbol.name {
            return Err(invalid(
                format!("symbols[{index}].name"),
                "empty or holds a comma or whitespace",
            ));
        }
        if symbols.iter().any(|known| known.name == name) {
            return Err(invalid(
                format!("symbols[{index}].name"),
                format!("{name} is declared twice"),
            ));
        }
        let kind = match symbol.kind {
            RawKind::Regular => SymbolKind::Regular,
            RawKind::Wild => SymbolKind::Wild,
            RawKind::Scatter => SymbolKind::Scatter,
        };
        symbols.push(Symbol {
            name: name.to_string(),
            kind,
        });
    }
    Ok(symbols)
}

/// The id of the only symbol of `kind`, `NO_SYMBOL` when there is none.
fn only_one(symbols: &[Symbol], kind: SymbolKind) -> Result<u8, LoadError> {
    let mut ids = (0..symbols.len()).filter(|id| symbols[*id].kind == kind);
    let first = ids.next().map_or(NO_SYMBOL, |id| id as u8);
    match ids.next() {
        Some(second) => Err(invalid(
            format!("symbols.{}.kind", symbols[second].name),
            format!("a second {kind:?} symbol: a game has at most one"),
        )),
        None => Ok(first),
    }
}

type Pays = ([[u64; REELS_MAX + 1]; SYMBOLS_MAX + 1], [u64; CELLS_MAX + 1]);

/// Line or ways pays by symbol and count; scatter pays by count anywhere on the board.
fn paytable(raw: &[RawSymbol], layout: &Layout) -> Result<Pays, LoadError> {
    let mut pays = [[0u64; REELS_MAX + 1]; SYMBOLS_MAX + 1];
    let mut scatter_pays = [None; CELLS_MAX + 1];
    for (id, symbol) in raw.iter().enumerate() {
        let scatter = layout.symbols[id].kind == SymbolKind::Scatter;
        let count_max = if scatter {
            layout.reels * layout.rows
        } else {
            layout.reels
        };
        for (key, pay) in &symbol.pays {
            let field = format!("symbols.{}.pays.{key}", symbol.name);
            let count = parse_count(key, count_max).map_err(|message| invalid(&field, message))?;
            if *pay > PAY_MAX {
                return Err(invalid(field, format!("{pay} is above {PAY_MAX} centi-bet")));
            }
            if scatter {
                scatter_pays[count] = Some(*pay);
            } else {
                pays[id][count] = *pay;
            }
        }
    }
    Ok((pays, at_least(scatter_pays)))
}

/// A table by scatter count where a count without its own key takes the entry of the largest key below
/// it ("3 or more"), and counts below the smallest key get 0.
fn at_least<T: Copy + Default>(entries: [Option<T>; CELLS_MAX + 1]) -> [T; CELLS_MAX + 1] {
    let mut last = T::default();
    entries.map(|entry| {
        last = entry.unwrap_or(last);
        last
    })
}

/// A count written as a TOML key, in `1..=count_max`.
fn parse_count(key: &str, count_max: usize) -> Result<usize, String> {
    let count: usize = key.parse().map_err(|_| format!("{key:?} is not a count"))?;
    if !(1..=count_max).contains(&count) {
        return Err(format!(
            "a count of {count} is impossible on this grid (1..={count_max})"
        ));
    }
    Ok(count)
}

fn evaluation(
    raw: &RawGame,
    layout: &Layout,
    pays: &[[u64; REELS_MAX + 1]; SYMBOLS_MAX + 1],
) -> Result<Evaluation, LoadError> {
    let kind = raw
        .evaluation
        .ok_or_else(|| invalid("evaluation", "missing: \"lines\" or \"ways\""))?;
    match (kind, &raw.paylines) {
        (RawEvaluation::Ways, None) => Ok(Evaluation::Ways),
        (RawEvaluation::Ways, Some(_)) => Err(invalid("paylines", "a ways game has no paylines")),
        (RawEvaluation::Lines, None) => Err(invalid("paylines", "missing: a lines game needs paylines")),
        (RawEvaluation::Lines, Some(lines)) => {
            let pays_from_two = pays.iter().all(|by_count| by_count[1] == 0);
            let lines = paylines(lines, layout)?;
            Ok(Evaluation::Lines(Paylines::new(lines, layout.reels, pays_from_two)))
        }
    }
}

fn paylines(raw: &[Vec<u32>], layout: &Layout) -> Result<Vec<Payline>, LoadError> {
    if raw.is_empty() || raw.len() > PAYLINES_MAX {
        return Err(invalid(
            "paylines",
            format!("{} paylines, a game has 1..={PAYLINES_MAX}", raw.len()),
        ));
    }
    let mut lines = Vec::with_capacity(raw.len());
    for (index, line) in raw.iter().enumerate() {
        if line.len() != layout.reels {
            let message = format!("{} rows, one per reel is {}", line.len(), layout.reels);
            return Err(invalid(format!("paylines[{index}]"), message));
        }
        let mut rows = [0u8; REELS_MAX];
        for (reel, row) in line.iter().enumerate() {
            if *row as usize >= layout.rows {
                let message = format!("row {row} is outside the grid's rows 0..{}", layout.rows);
                return Err(invalid(format!("paylines[{index}][{reel}]"), message));
            }
            rows[reel] = *row as u8;
        }
        lines.push(Payline::new(&rows[..layout.reels]));
    }
    Ok(lines)
}

fn win_cap(raw: Option<u64>) -> Result<u64, LoadError> {
    match raw {
        None => Err(invalid(
            "win_cap",
            "missing: the most a round may win, in bet multiples",
        )),
        Some(cap) if !(1..=WIN_CAP_MAX).contains(&cap) => Err(invalid(
            "win_cap",
            format!("{cap} is outside 1..={WIN_CAP_MAX} bet multiples"),
        )),
        Some(cap) => Ok(cap),
    }
}

fn free_spins_max(raw: &RawGame, has_free_spins: bool) -> Result<u32, LoadError> {
    match (raw.free_spins_max, has_free_spins) {
        (None, false) => Ok(0),
        (Some(_), false) => Err(invalid("free_spins_max", "the game has no [free_spins]")),
        (None, true) => Err(invalid(
            "free_spins_max",
            "missing: the hard cap of free spins per round",
        )),
        (Some(max), true) if !(1..=FREE_SPINS_MAX_LIMIT).contains(&max) => Err(invalid(
            "free_spins_max",
            format!("{max} is outside 1..={FREE_SPINS_MAX_LIMIT}"),
        )),
        (Some(max), true) => Ok(max),
    }
}

fn modes(raw: &[RawMode], free_spins_max: u32) -> Result<Vec<Mode>, LoadError> {
    if raw.is_empty() || raw.len() > MODES_MAX {
        return Err(invalid(
            "modes",
            format!("{} modes, a game has 1..={MODES_MAX}", raw.len()),
        ));
    }
    let mut modes: Vec<Mode> = Vec::with_capacity(raw.len());
    for (index, mode) in raw.iter().enumerate() {
        let field = format!("modes[{index}]");
        let name = mode
            .name
            .clone()
            .ok_or_else(|| invalid(format!("{field}.name"), "missing"))?;
        if name.is_empty() || modes.iter().any(|known| known.name == name) {
            return Err(invalid(
                format!("{field}.name"),
                format!("{name:?} is empty or used twice"),
            ));
        }
        let cost = mode
            .cost
            .ok_or_else(|| invalid(format!("{field}.cost"), "missing: the cost in base bets"))?;
        if !(1..=MODE_COST_MAX).contains(&cost) {
            return Err(invalid(
                format!("{field}.cost"),
                format!("{cost} is outside 1..={MODE_COST_MAX}"),
            ));
        }
        let buy = bonus_buy(&field, mode, free_spins_max)?;
        modes.push(Mode { name, cost, buy });
    }
    Ok(modes)
}

fn bonus_buy(field: &str, mode: &RawMode, free_spins_max: u32) -> Result<Option<BonusBuy>, LoadError> {
    if (mode.free_spins.is_some() || mode.free_spins_table.is_some()) && free_spins_max == 0 {
        return Err(invalid(format!("{field}.free_spins"), "the game has no [free_spins]"));
    }
    match (mode.free_spins, &mode.free_spins_table) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(invalid(
            format!("{field}.free_spins_table"),
            "either free_spins or free_spins_table, not both",
        )),
        (Some(spins), None) if !(1..=free_spins_max).contains(&spins) => Err(invalid(
            format!("{field}.free_spins"),
            format!("{spins} is outside 1..={free_spins_max} (free_spins_max)"),
        )),
        (Some(spins), None) => Ok(Some(BonusBuy::Fixed(spins))),
        (None, Some(table)) => {
            let table = weighted(&format!("{field}.free_spins_table"), table, free_spins_max)?;
            Ok(Some(BonusBuy::Table(table)))
        }
    }
}

fn combine(raw: &RawGame) -> Result<Combine, LoadError> {
    let phases = [raw.base.as_ref(), raw.free_spins.as_ref()];
    let multipliers = phases
        .into_iter()
        .flatten()
        .any(|phase| phase.wild_multipliers.is_some());
    match (raw.wild_multiplier_combine, multipliers) {
        (Some(combine), true) => Ok(combine),
        (None, true) => Err(invalid("wild_multiplier_combine", "missing: \"add\" or \"multiply\"")),
        (Some(_), false) => Err(invalid("wild_multiplier_combine", "the game has no wild multipliers")),
        (None, false) => Ok(Combine::Add),
    }
}

/// Free spins need a way in (a base-game trigger or a bonus buy), and a trigger needs free spins.
fn check_free_spins_reachable(base: &PhaseRules, has_free_spins: bool, modes: &[Mode]) -> Result<(), LoadError> {
    let triggers = base.awards.iter().any(|spins| *spins > 0);
    let bought = modes.iter().any(Mode::is_bonus_buy);
    match (has_free_spins, triggers || bought) {
        (false, true) => Err(invalid("base.trigger", "the game has no [free_spins] to trigger")),
        (true, false) => Err(invalid(
            "free_spins",
            "nothing leads to free spins: no base.trigger, no bonus buy",
        )),
        _ => Ok(()),
    }
}

/// A symbol that pays must be on some strip, or its pays are a typo.
fn check_paying_symbols_on_strips(
    raw: &[RawSymbol],
    pays: &[[u64; REELS_MAX + 1]; SYMBOLS_MAX + 1],
    scatter_pays: &[u64; CELLS_MAX + 1],
    layout: &Layout,
    phases: &[Option<&PhaseRules>],
) -> Result<(), LoadError> {
    for (id, symbol) in raw.iter().enumerate() {
        let pays_something = if id == usize::from(layout.scatter) {
            scatter_pays.iter().any(|pay| *pay > 0)
        } else {
            pays[id].iter().any(|pay| *pay > 0)
        };
        let on_a_strip = phases
            .iter()
            .flatten()
            .flat_map(|phase| phase.strips.iter())
            .any(|strip| strip.stops().contains(&(id as u8)));
        if pays_something && !on_a_strip {
            return Err(invalid(
                format!("symbols.{}.pays", symbol.name),
                "pays but is on no reel strip",
            ));
        }
    }
    Ok(())
}
