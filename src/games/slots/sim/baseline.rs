//! `games/slots/<id>/baseline.json`: what a shipped game's simulation gave when its maths were last
//! accepted, per mode, with tolerances. `slots sim --check-baseline` fails on a math version other than
//! the recorded one (a change of maths fails until baseline and version change together) and on a
//! figure outside its tolerance (the engine plays the same maths differently).
//!
//! Tolerances: the 99% half width of the recorded simulation's figure times sqrt(2), the 99% bound for
//! the difference of two independent simulations of that size (a check run with another seed); a check
//! with the recorded seed and rounds reproduces the figures exactly unless something changed.

use super::par::ParSheet;
use super::stats::Z_99;
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
}

impl ModeBaseline {
    pub fn from_sheet(sheet: &ParSheet) -> ModeBaseline {
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

/// Records `sheet` as its mode's baseline in `dir`, keeping the other modes.
pub fn write(dir: &Path, sheet: &ParSheet) -> anyhow::Result<()> {
    let mut baseline = read(dir)?.unwrap_or_else(|| Baseline {
        game: sheet.game.clone(),
        modes: BTreeMap::new(),
    });
    baseline
        .modes
        .insert(sheet.mode.clone(), ModeBaseline::from_sheet(sheet));
    let path = dir.join(BASELINE_FILE);
    let text = serde_json::to_string_pretty(&baseline)? + "\n";
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Checks `sheet` against the baseline in `dir`: the reasons it fails (empty when it passes).
pub fn check(dir: &Path, sheet: &ParSheet) -> anyhow::Result<Vec<String>> {
    let Some(baseline) = read(dir)? else {
        return Ok(vec![format!(
            "{} has no {BASELINE_FILE}; create it with --write-baseline",
            dir.display()
        )]);
    };
    Ok(match baseline.modes.get(&sheet.mode) {
        Some(mode) => mode.drifts(sheet),
        None => vec![format!("{BASELINE_FILE} has no mode {:?}", sheet.mode)],
    })
}

#[cfg(test)]
mod tests {
    use super::super::{simulate, Plan};
    use super::*;
    use crate::games::slots::testkit::lines_game;
    use std::sync::atomic::AtomicU64;

    fn sheet(seed: u64) -> ParSheet {
        let definition = lines_game();
        let mode = definition.mode("base").unwrap();
        let plan = Plan {
            rounds: 4_000,
            threads: 1,
            seed,
        };
        ParSheet::new(
            &definition,
            mode,
            &simulate(&definition, mode, plan, &AtomicU64::new(0)),
        )
    }

    #[test]
    fn a_baseline_passes_its_own_run_and_fails_drift_or_a_new_math_version() {
        // Written then checked in a scratch directory: the same run passes; a moved RTP and a new
        // version each fail with a sentence naming what changed.
        let dir = std::env::temp_dir().join(format!("slots-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = sheet(1);
        assert_eq!(check(&dir, &first).unwrap().len(), 1, "no baseline yet");
        write(&dir, &first).unwrap();
        assert!(check(&dir, &first).unwrap().is_empty());
        let mut drifted = first.clone();
        drifted.rtp += 10.0 * ModeBaseline::from_sheet(&first).rtp_tolerance;
        assert!(check(&dir, &drifted).unwrap()[0].starts_with("RTP"));
        let mut changed = first.clone();
        changed.math_version = "0".repeat(64);
        assert!(check(&dir, &changed).unwrap()[0].starts_with("math version changed"));
        let mut other_mode = first.clone();
        other_mode.mode = "bonus".to_string();
        assert!(check(&dir, &other_mode).unwrap()[0].contains("no mode"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
