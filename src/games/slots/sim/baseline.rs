//! `games/slots/<id>/baseline.json`: what a shipped game's simulation gave when its maths were last
//! accepted, per mode, with tolerances. `slots sim --check-baseline` fails on a math version other than
//! the recorded one (a change of maths fails until baseline and version change together) and on a
//! figure outside its tolerance (the engine plays the same maths differently).
//!
//! Tolerances: the 99% half width of the recorded simulation's figure times sqrt(2), the 99% bound for
//! the difference of two independent simulations of that size (a check run with another seed); a check
//! with the recorded seed and rounds reproduces the figures exactly unless something changed.

use super::force::ForceRecord;
use super::par::ParSheet;
use super::stats::Z_99;
use super::Outcome;
use crate::games::slots::{play_round, Definition, FairDraws, FastDraws, Mode, Round};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const BASELINE_FILE: &str = "baseline.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub game: String,
    pub modes: BTreeMap<String, ModeBaseline>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeBaseline {
    pub math_version: String,
    pub rounds: u64,
    pub seed: u64,
    pub threads: u32,
    pub rtp: f64,
    pub rtp_tolerance: f64,
    pub hit_frequency: f64,
    pub hit_frequency_tolerance: f64,
    pub volatility: f64,
    pub volatility_tolerance: f64,
    /// Rounds whose events and win are pinned (a change of any fails the check).
    #[serde(default)]
    pub golden: Vec<GoldenRound>,
}

/// A pinned round: a paid round from fixed seeds or a simulation round, its win and events hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenRound {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_seed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_seed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sim_id: Option<u64>,
    pub win_centibet: u64,
    /// Hex SHA-256 of the round's events as JSON.
    pub events_sha256: String,
}

/// The seeds of the paid golden rounds a baseline records (nonces 1 to 3).
const GOLDEN_SERVER_SEED: &str = "golden server seed";
const GOLDEN_CLIENT_SEED: &str = "golden client seed";
const GOLDEN_NONCES: [u64; 3] = [1, 2, 3];
/// Simulation rounds pinned besides the first force-record id of each feature.
const GOLDEN_SIM_IDS: [u64; 2] = [1, 2];

/// Hex SHA-256 of a round's events as JSON.
pub fn events_hash(round: &Round) -> String {
    crate::games::slots::steps::events_hash(&round.events)
}

impl GoldenRound {
    fn play(&self, definition: &Definition, mode: &Mode) -> Round {
        match (&self.server_seed, self.seed, self.sim_id) {
            (Some(server), _, _) => {
                let client = self.client_seed.as_deref().unwrap_or_default();
                let draws = &mut FairDraws::new(server, client, self.nonce.unwrap_or(0));
                play_round(definition, mode, draws)
            }
            (None, seed, id) => play_round(
                definition,
                mode,
                &mut FastDraws::for_round(seed.unwrap_or(0), id.unwrap_or(0)),
            ),
        }
    }

    fn pinned(mut self, definition: &Definition, mode: &Mode) -> GoldenRound {
        let round = self.play(definition, mode);
        self.win_centibet = round.summary.win_centibet;
        self.events_sha256 = events_hash(&round);
        self
    }
}

/// The golden rounds of a new baseline: three paid rounds, simulation ids 1 and 2, and the first id of
/// each feature in the force record.
pub fn golden_rounds(definition: &Definition, mode: &Mode, seed: u64, force: &ForceRecord) -> Vec<GoldenRound> {
    let empty = GoldenRound {
        server_seed: None,
        client_seed: None,
        nonce: None,
        seed: None,
        sim_id: None,
        win_centibet: 0,
        events_sha256: String::new(),
    };
    let fair = GOLDEN_NONCES.iter().map(|nonce| GoldenRound {
        server_seed: Some(GOLDEN_SERVER_SEED.to_string()),
        client_seed: Some(GOLDEN_CLIENT_SEED.to_string()),
        nonce: Some(*nonce),
        ..empty.clone()
    });
    let mut ids: Vec<u64> = GOLDEN_SIM_IDS.to_vec();
    ids.extend(force.first_ids());
    ids.sort_unstable();
    ids.dedup();
    let sim = ids.into_iter().map(|id| GoldenRound {
        seed: Some(seed),
        sim_id: Some(id),
        ..empty.clone()
    });
    fair.chain(sim).map(|golden| golden.pinned(definition, mode)).collect()
}

/// The golden rounds that no longer play as pinned, as sentences.
pub fn golden_failures(definition: &Definition, mode: &Mode, golden: &[GoldenRound]) -> Vec<String> {
    golden
        .iter()
        .filter(|pinned| (*pinned).clone().pinned(definition, mode) != **pinned)
        .map(|pinned| format!("golden round {pinned:?} plays differently now"))
        .collect()
}

impl ModeBaseline {
    pub fn from_sheet(sheet: &ParSheet, golden: Vec<GoldenRound>) -> ModeBaseline {
        let two = std::f64::consts::SQRT_2;
        let n = sheet.rounds.max(1) as f64;
        let hit = sheet.hit_frequency;
        ModeBaseline {
            math_version: sheet.math_version.clone(),
            rounds: sheet.rounds,
            seed: sheet.seed,
            threads: sheet.threads,
            rtp: sheet.rtp,
            rtp_tolerance: two * (sheet.rtp_ci99[1] - sheet.rtp),
            hit_frequency: hit,
            hit_frequency_tolerance: two * Z_99 * (hit * (1.0 - hit) / n).sqrt(),
            volatility: sheet.volatility,
            volatility_tolerance: two * sheet.volatility_ci99_half_width,
            golden,
        }
    }

    /// Every way `sheet` departs from this baseline, as sentences (empty when it passes).
    pub fn drifts(&self, sheet: &ParSheet) -> Vec<String> {
        if sheet.math_version != self.math_version {
            return vec![format!(
                "math version changed: baseline {}, game {}; review the maths, then update the baseline \
                 with --write-baseline",
                self.math_version, sheet.math_version
            )];
        }
        let figures = [
            ("RTP", sheet.rtp, self.rtp, self.rtp_tolerance),
            (
                "hit frequency",
                sheet.hit_frequency,
                self.hit_frequency,
                self.hit_frequency_tolerance,
            ),
            (
                "volatility",
                sheet.volatility,
                self.volatility,
                self.volatility_tolerance,
            ),
        ];
        figures
            .iter()
            .filter(|(_, got, expected, tolerance)| (got - expected).abs() > *tolerance)
            .map(|(name, got, expected, tolerance)| {
                format!("{name} {got:.6} is outside the baseline {expected:.6} ± {tolerance:.6}")
            })
            .collect()
    }
}

/// The baseline of the game in `dir`, if it has one.
pub fn read(dir: &Path) -> anyhow::Result<Option<Baseline>> {
    let path = dir.join(BASELINE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let baseline = serde_json::from_str(&text).with_context(|| format!("{} is not a baseline", path.display()))?;
    Ok(Some(baseline))
}

/// Records `sheet` (and golden rounds of `outcome`) as its mode's baseline in `dir`, keeping the other
/// modes.
pub fn write(
    dir: &Path,
    definition: &Definition,
    mode: &Mode,
    outcome: &Outcome,
    sheet: &ParSheet,
) -> anyhow::Result<()> {
    let mut baseline = read(dir)?.unwrap_or_else(|| Baseline {
        game: sheet.game.clone(),
        modes: BTreeMap::new(),
    });
    let golden = golden_rounds(definition, mode, outcome.plan.seed, &outcome.force);
    baseline
        .modes
        .insert(sheet.mode.clone(), ModeBaseline::from_sheet(sheet, golden));
    let path = dir.join(BASELINE_FILE);
    let text = serde_json::to_string_pretty(&baseline)? + "\n";
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Checks `sheet` and the golden rounds against the baseline in `dir`: the reasons it fails (empty when
/// it passes).
pub fn check(dir: &Path, definition: &Definition, mode: &Mode, sheet: &ParSheet) -> anyhow::Result<Vec<String>> {
    let Some(baseline) = read(dir)? else {
        return Ok(vec![format!(
            "{} has no {BASELINE_FILE}; create it with --write-baseline",
            dir.display()
        )]);
    };
    Ok(match baseline.modes.get(&sheet.mode) {
        Some(recorded) => {
            let mut failures = recorded.drifts(sheet);
            if failures.is_empty() {
                failures = golden_failures(definition, mode, &recorded.golden);
            }
            failures
        }
        None => vec![format!("{BASELINE_FILE} has no mode {:?}", sheet.mode)],
    })
}

#[cfg(test)]
mod tests {
    use super::super::{simulate, Plan};
    use super::*;
    use crate::games::slots::testkit::lines_game;
    use std::sync::atomic::AtomicU64;

    fn run(seed: u64) -> (Definition, Outcome, ParSheet) {
        let definition = lines_game();
        let mode = definition.mode("base").unwrap();
        let plan = Plan {
            rounds: 4_000,
            threads: 1,
            seed,
        };
        let outcome = simulate(&definition, mode, plan, &AtomicU64::new(0));
        let sheet = ParSheet::new(&definition, mode, &outcome);
        (definition, outcome, sheet)
    }

    #[test]
    fn a_baseline_passes_its_own_run_and_fails_drift_or_a_new_math_version() {
        // Written then checked in a scratch directory: the same run passes; a moved RTP and a new
        // version each fail with a sentence naming what changed.
        let dir = std::env::temp_dir().join(format!("slots-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (definition, outcome, first) = run(1);
        let mode = definition.mode("base").unwrap();
        let check = |sheet: &ParSheet| check(&dir, &definition, mode, sheet).unwrap();
        assert_eq!(check(&first).len(), 1, "no baseline yet");
        write(&dir, &definition, mode, &outcome, &first).unwrap();
        assert!(check(&first).is_empty());
        let mut drifted = first.clone();
        drifted.rtp += 10.0 * ModeBaseline::from_sheet(&first, Vec::new()).rtp_tolerance;
        assert!(check(&drifted)[0].starts_with("RTP"));
        let mut changed = first.clone();
        changed.math_version = "0".repeat(64);
        assert!(check(&changed)[0].starts_with("math version changed"));
        let mut other_mode = first.clone();
        other_mode.mode = "bonus".to_string();
        assert!(check(&other_mode)[0].contains("no mode"));
        // Golden rounds: three paid, two simulated, plus the force record's first ids; a tampered hash fails.
        let mut baseline = read(&dir).unwrap().unwrap();
        let golden = &mut baseline.modes.get_mut("base").unwrap().golden;
        assert!(golden.len() >= 5);
        assert!(golden_failures(&definition, mode, golden).is_empty());
        golden[0].events_sha256 = "0".repeat(64);
        assert_eq!(golden_failures(&definition, mode, golden).len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
