//! `game.toml` as written: serde structs with nothing checked beyond types and known keys. Only
//! [`super::compile`] reads them, and turns them into a [`super::Definition`] or an error naming the field.

use super::definition::{Combine, Volatility};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawEvaluation {
    Lines,
    Ways,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawKind {
    #[default]
    Regular,
    Wild,
    Scatter,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGame {
    pub name: Option<String>,
    pub target_rtp_bp: Option<u32>,
    pub volatility: Option<Volatility>,
    pub reels: Option<u32>,
    pub rows: Option<u32>,
    pub evaluation: Option<RawEvaluation>,
    pub paylines: Option<Vec<Vec<u32>>>,
    #[serde(default)]
    pub cascades: bool,
    #[serde(default)]
    pub csv_header: bool,
    pub win_cap: Option<u64>,
    pub free_spins_max: Option<u32>,
    pub wild_multiplier_combine: Option<Combine>,
    #[serde(default)]
    pub symbols: Vec<RawSymbol>,
    pub base: Option<RawPhase>,
    pub free_spins: Option<RawPhase>,
    #[serde(default)]
    pub modes: Vec<RawMode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSymbol {
    pub name: String,
    #[serde(default)]
    pub kind: RawKind,
    /// Count (as a TOML key) to pay in centi-bet.
    #[serde(default)]
    pub pays: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPhase {
    /// The reel strips' CSV file, beside game.toml.
    pub reels: Option<String>,
    /// Scatter count to free spins awarded (base game only).
    pub trigger: Option<BTreeMap<String, u32>>,
    /// Scatter count to free spins added (free spins only).
    pub retrigger: Option<BTreeMap<String, u32>>,
    pub wild_multipliers: Option<RawTable>,
    pub cascade_multipliers: Option<Vec<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTable {
    pub values: Vec<u32>,
    pub weights: Vec<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMode {
    pub name: Option<String>,
    pub cost: Option<u32>,
    pub free_spins: Option<u32>,
    pub free_spins_table: Option<RawTable>,
}

impl RawGame {
    /// The CSV files the game refers to, each once with the first field that names it (`base.reels`).
    pub fn reel_files(&self) -> Vec<(&'static str, &str)> {
        let mut files: Vec<(&'static str, &str)> = Vec::new();
        let phases = [("base.reels", &self.base), ("free_spins.reels", &self.free_spins)];
        for (field, phase) in phases {
            let Some(file) = phase.as_ref().and_then(|phase| phase.reels.as_deref()) else {
                continue;
            };
            if files.iter().all(|(_, known)| *known != file) {
                files.push((field, file));
            }
        }
        files
    }
}
