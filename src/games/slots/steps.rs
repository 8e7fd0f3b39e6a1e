//! A played round as a player sees it: the steps they reveal one at a time, what each step wins, and the
//! hash that pins the round's events. Pure, like the rest of the engine: the server stores what this
//! computes, and verification recomputes it from the seeds.
//!
//! Steps: step 0 is everything up to the first free spin (the base spin with its wins and cascades and
//! the trigger, or a bonus buy's trigger alone); each free spin then starts a step with its reveal. The
//! closing events (free spins ended, win cap, final win) belong to the last step.
//!
//! Step wins in micro-units add up exactly to the round's payout: step `i` wins
//! `payout(bet, min(cap, wins of steps 0..=i)) - payout(bet, min(cap, wins of steps 0..i))`, so the
//! rounding down of [`payout_micros`] happens once for the whole round, never per step.

use super::events::{Event, Phase};
use super::payout_micros;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The events of each step, in order.
pub fn split_steps(events: &[Event]) -> Vec<Vec<Event>> {
    let mut steps: Vec<Vec<Event>> = vec![Vec::new()];
    for event in events {
        let starts_free_spin = matches!(
            event,
            Event::Reveal {
                phase: Phase::FreeSpins,
                ..
            }
        );
        if starts_free_spin && !steps.last().is_some_and(Vec::is_empty) {
            steps.push(Vec::new());
        }
        steps.last_mut().expect("steps start with one").push(event.clone());
    }
    steps
}

/// Hex SHA-256 of the events' JSON as the engine serializes them (fields in declaration order), the
/// fingerprint a verification compares.
pub fn events_hash(events: &[Event]) -> String {
    let json = serde_json::to_vec(events).expect("events always serialize");
    hex::encode(Sha256::digest(json))
}

/// What the win events of one step add up to, in centi-bet, before the cap.
pub fn step_win_centibet(step: &[Event]) -> u64 {
    step.iter()
        .map(|event| match event {
            Event::Win { amount, .. } => *amount,
            _ => 0,
        })
        .fold(0u64, u64::saturating_add)
}

/// The money of each step and the running total, for a base bet of `bet_micros`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StepMoney {
    /// What this step adds to the round's win, in micro-units.
    pub win_micros: i64,
    /// The round's win after this step (capped), in centi-bet and micro-units.
    pub running_win_centibet: u64,
    pub running_win_micros: i64,
}

/// The money of every step; the last step's running win is the round's payout.
pub fn step_money(steps: &[Vec<Event>], bet_micros: i64, cap_centibet: u64) -> Vec<StepMoney> {
    let mut running_uncapped = 0u64;
    let mut paid_so_far = 0i64;
    steps
        .iter()
        .map(|step| {
            running_uncapped = running_uncapped.saturating_add(step_win_centibet(step));
            let running = running_uncapped.min(cap_centibet);
            let running_micros = payout_micros(bet_micros, running);
            let money = StepMoney {
                win_micros: running_micros - paid_so_far,
                running_win_centibet: running,
                running_win_micros: running_micros,
            };
            paid_so_far = running_micros;
            money
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::slots::testkit;
    use crate::games::slots::{play_round, FastDraws};

    #[test]
    fn steps_keep_every_event_in_order_and_start_at_each_free_spin() {
        for game in testkit::fixtures(None) {
            for mode in game.modes() {
                for round_id in 0..300 {
                    let round = play_round(&game, mode, &mut FastDraws::for_round(7, round_id));
                    let steps = split_steps(&round.events);
                    let flattened: Vec<Event> = steps.iter().flatten().cloned().collect();
                    assert_eq!(flattened, round.events);
                    assert_eq!(steps.len() as u32, 1 + round.summary.free_spins_played);
                    for step in &steps[1..] {
                        assert!(matches!(
                            step[0],
                            Event::Reveal {
                                phase: Phase::FreeSpins,
                                ..
                            }
                        ));
                    }
                }
            }
        }
    }

    #[test]
    fn step_wins_add_up_to_the_round_payout() {
        for game in testkit::fixtures(None).into_iter().chain(testkit::fixtures(Some(5))) {
            for mode in game.modes() {
                for round_id in 0..300 {
                    let round = play_round(&game, mode, &mut FastDraws::for_round(11, round_id));
                    let steps = split_steps(&round.events);
                    let bet = 333_333;
                    let money = step_money(&steps, bet, game.win_cap_centibet());
                    let total: i64 = money.iter().map(|step| step.win_micros).sum();
                    assert_eq!(total, payout_micros(bet, round.summary.win_centibet));
                    assert_eq!(money.last().unwrap().running_win_centibet, round.summary.win_centibet);
                    assert!(money.iter().all(|step| step.win_micros >= 0));
                }
            }
        }
    }

    #[test]
    fn the_events_hash_changes_with_any_event() {
        let game = &testkit::fixtures(None)[0];
        let mode = &game.modes()[0];
        let one = play_round(game, mode, &mut FastDraws::for_round(1, 1)).events;
        let two = play_round(game, mode, &mut FastDraws::for_round(1, 2)).events;
        assert_eq!(events_hash(&one), events_hash(&one.clone()));
        assert_ne!(events_hash(&one), events_hash(&two));
        assert_eq!(events_hash(&one).len(), 64);
    }
}
