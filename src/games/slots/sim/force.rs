//! The force record: for each feature a round can hit, the simulation ids that hit it, so that a
//! designer or a test can replay a round with free spins, a retrigger or the cap without searching.

use crate::games::slots::RoundSummary;
use serde::Serialize;
use std::collections::BTreeMap;

/// Ids kept per feature: the smallest ones, so the record does not depend on the thread count.
pub const FORCE_IDS_PER_FEATURE_MAX: usize = 100;

/// A feature of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Feature {
    /// Free spins triggered in the base game by this many scatters.
    FreeSpins(u32),
    /// At least one retrigger during free spins.
    Retrigger,
    /// The round reached the win cap.
    WinCap,
}

impl Feature {
    /// The feature's key in `force.json`.
    pub fn key(&self) -> String {
        match self {
            Feature::FreeSpins(scatters) => format!("free_spins_{scatters}_scatters"),
            Feature::Retrigger => "retrigger".to_string(),
            Feature::WinCap => "win_cap".to_string(),
        }
    }
}

/// Feature to the smallest simulation ids that hit it, at most [`FORCE_IDS_PER_FEATURE_MAX`] each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForceRecord {
    ids: BTreeMap<Feature, Vec<u64>>,
}

impl ForceRecord {
    /// Ids must come in increasing order within one record (each thread plays its ids in order).
    #[inline]
    pub fn record(&mut self, id: u64, summary: &RoundSummary) {
        if let Some(scatters) = summary.trigger_scatters {
            self.add(Feature::FreeSpins(scatters), id);
        }
        if summary.retriggers > 0 {
            self.add(Feature::Retrigger, id);
        }
        if summary.cap_hit {
            self.add(Feature::WinCap, id);
        }
    }

    fn add(&mut self, feature: Feature, id: u64) {
        let ids = self.ids.entry(feature).or_default();
        if ids.len() < FORCE_IDS_PER_FEATURE_MAX {
            ids.push(id);
        }
    }

    /// Keeps the smallest ids of both records.
    pub fn merge(&mut self, other: &ForceRecord) {
        for (feature, ids) in &other.ids {
            let mine = self.ids.entry(*feature).or_default();
            mine.extend_from_slice(ids);
            mine.sort_unstable();
            mine.dedup();
            mine.truncate(FORCE_IDS_PER_FEATURE_MAX);
        }
    }

    /// The first id of each feature.
    pub fn first_ids(&self) -> Vec<u64> {
        self.ids.values().filter_map(|ids| ids.first().copied()).collect()
    }

    pub fn ids(&self, feature: Feature) -> &[u64] {
        self.ids.get(&feature).map_or(&[], Vec::as_slice)
    }

    /// The record as `force.json` holds it: feature key to ids.
    pub fn to_json(&self) -> ForceJson {
        ForceJson {
            ids_per_feature_max: FORCE_IDS_PER_FEATURE_MAX,
            features: self
                .ids
                .iter()
                .map(|(feature, ids)| (feature.key(), ids.clone()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ForceJson {
    pub ids_per_feature_max: usize,
    pub features: BTreeMap<String, Vec<u64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capped() -> RoundSummary {
        RoundSummary {
            cap_hit: true,
            trigger_scatters: Some(3),
            ..RoundSummary::default()
        }
    }

    #[test]
    fn each_feature_keeps_at_most_its_limit_of_the_smallest_ids() {
        // Two threads each see more capped rounds than the limit; the merge keeps the smallest overall.
        let (mut low, mut high) = (ForceRecord::default(), ForceRecord::default());
        let limit = FORCE_IDS_PER_FEATURE_MAX as u64;
        for id in 0..2 * limit {
            high.record(1_000 + id, &capped());
            low.record(1 + 2 * id, &capped());
        }
        assert_eq!(low.ids(Feature::WinCap).len(), FORCE_IDS_PER_FEATURE_MAX);
        high.merge(&low);
        let expected: Vec<u64> = (0..limit).map(|id| 1 + 2 * id).collect();
        assert_eq!(high.ids(Feature::WinCap), expected.as_slice());
        assert_eq!(high.ids(Feature::FreeSpins(3)), expected.as_slice());
        assert!(high.ids(Feature::Retrigger).is_empty());
        let json = serde_json::to_value(high.to_json()).unwrap();
        assert_eq!(json["features"]["win_cap"][0], 1);
        assert!(json["features"]["free_spins_3_scatters"].is_array());
    }
}
