//! The slot simulator and its outputs: plays many rounds of a mode on several threads and derives a PAR
//! sheet, a force record and Stake Engine files from them. Unlike the engine it reads clocks, spawns
//! threads and writes files, so it lives beside it.
//!
//! Reproducibility: round `id` (1-based, the book id of Stake Engine's files) draws from
//! [`FastDraws::for_round`]`(seed, id)`, so every figure depends on the seed and the number of rounds
//! only, never on the thread count, and any round replays alone (`slots replay --seed S --sim-id N`).

pub mod baseline;
pub mod command;
pub mod files;
pub mod force;
pub mod par;
pub mod stats;

use super::{play_round_into, Definition, FastDraws, Mode, NoEvents};
use force::ForceRecord;
use stats::Stats;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The most rounds of one simulation (ten billion: hours on a small machine).
pub const ROUNDS_MAX: u64 = 10_000_000_000;
/// The most threads of one simulation.
pub const THREADS_MAX: u32 = 256;
/// Rounds a thread plays between two updates of the shared progress counter.
const PROGRESS_CHUNK_ROUNDS: u64 = 16_384;

/// What to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub rounds: u64,
    pub threads: u32,
    pub seed: u64,
}

/// A finished simulation.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub plan: Plan,
    pub stats: Stats,
    pub force: ForceRecord,
    pub elapsed: Duration,
}

/// Plays rounds `1..=plan.rounds` of `mode`, split into contiguous ranges over `plan.threads` threads;
/// `progress` counts the rounds played so far (for a progress bar).
pub fn simulate(definition: &Definition, mode: &Mode, plan: Plan, progress: &AtomicU64) -> Outcome {
    assert!(
        plan.threads >= 1 && plan.threads <= THREADS_MAX,
        "callers check the thread count"
    );
    let started = Instant::now();
    let ranges = split(plan.rounds, plan.threads);
    let parts: Vec<(Stats, ForceRecord)> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .iter()
            .map(|(first, last)| scope.spawn(move || play_range(definition, mode, plan.seed, *first, *last, progress)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let mut stats = Stats::default();
    let mut force = ForceRecord::default();
    for (part_stats, part_force) in &parts {
        stats.merge(part_stats);
        force.merge(part_force);
    }
    Outcome {
        plan,
        stats,
        force,
        elapsed: started.elapsed(),
    }
}

/// `threads` contiguous id ranges `(first, last)` covering `1..=rounds`; the first `rounds % threads`
/// ranges hold one round more (the division rounds down, the remainder is spread).
pub fn split(rounds: u64, threads: u32) -> Vec<(u64, u64)> {
    let threads = u64::from(threads.max(1));
    let (each, extra) = (rounds / threads, rounds % threads);
    let mut next = 1;
    (0..threads)
        .map(|index| {
            let size = each + u64::from(index < extra);
            let range = (next, next + size - 1);
            next += size;
            range
        })
        .filter(|(first, last)| last >= first)
        .collect()
}

fn play_range(
    definition: &Definition,
    mode: &Mode,
    seed: u64,
    first: u64,
    last: u64,
    progress: &AtomicU64,
) -> (Stats, ForceRecord) {
    let mut stats = Stats::default();
    let mut force = ForceRecord::default();
    let mut unreported = 0;
    for id in first..=last {
        let summary = play(definition, mode, seed, id);
        stats.record(&summary);
        force.record(id, &summary);
        unreported += 1;
        if unreported == PROGRESS_CHUNK_ROUNDS {
            progress.fetch_add(unreported, Ordering::Relaxed);
            unreported = 0;
        }
    }
    progress.fetch_add(unreported, Ordering::Relaxed);
    (stats, force)
}

/// Simulation round `id` of `seed`, without events.
#[inline]
pub fn play(definition: &Definition, mode: &Mode, seed: u64, id: u64) -> super::RoundSummary {
    let mut draws = FastDraws::for_round(seed, id);
    play_round_into(definition, mode, &mut draws, &mut NoEvents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::slots::testkit::{lines_game, ways_game};

    #[test]
    fn ranges_cover_every_round_once() {
        // 10 rounds on 3 threads: 4, 3, 3; more threads than rounds leaves the extra ones out.
        assert_eq!(split(10, 3), [(1, 4), (5, 7), (8, 10)]);
        assert_eq!(split(2, 4), [(1, 1), (2, 2)]);
        assert_eq!(split(5, 1), [(1, 5)]);
    }

    #[test]
    fn results_depend_on_the_seed_not_the_thread_count() {
        // The same seed on 1 and 3 threads gives identical statistics and force records; another seed not.
        for definition in [lines_game(), ways_game()] {
            for mode in definition.modes() {
                let run = |threads, seed| {
                    let plan = Plan {
                        rounds: 3_000,
                        threads,
                        seed,
                    };
                    simulate(&definition, mode, plan, &AtomicU64::new(0))
                };
                let (one, three) = (run(1, 7), run(3, 7));
                assert_eq!(one.stats.win_squares, three.stats.win_squares);
                assert_eq!(one.stats.buckets, three.stats.buckets);
                assert_eq!(one.force, three.force);
                assert_eq!(one.stats.rounds, 3_000);
                assert_ne!(one.stats.win_squares, run(1, 8).stats.win_squares);
            }
        }
    }
}
