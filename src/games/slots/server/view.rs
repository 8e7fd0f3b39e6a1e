//! What players see of a round: one step as a spin or a reveal answers it, and the whole round as recall
//! shows it. Steps not revealed yet never leave the server, and neither does anything that would tell
//! them (how many steps remain, the round's total), until the round ends.

use super::store::{RoundRow, RoundStatus};
use crate::games::slots::payout_micros;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// A round as its last revealed step shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StepAnswer {
    pub spin_id: Uuid,
    pub session_id: Uuid,
    pub game_id: String,
    pub math_version: String,
    pub mode: String,
    /// The base bet and what the mode charged for it, in micro-units.
    pub bet: i64,
    pub stake: i64,
    pub balance: i64,
    pub outcome: Value,
    pub round: Value,
    /// `free_spins` while steps remain, `base_game` once the round ended.
    pub next_state: &'static str,
    /// Present on the last step of a round that played free spins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bonus_summary: Option<Value>,
    pub replayed: bool,
}

/// The steps of a stored round, as stored.
fn steps(round: &RoundRow) -> &[Value] {
    round.steps.as_array().map_or(&[], Vec::as_slice)
}

fn events_of(step: &Value) -> &[Value] {
    step.as_array().map_or(&[], Vec::as_slice)
}

fn of_type<'a>(events: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    events.iter().filter(move |event| event["type"] == kind)
}

fn win_centibet(events: &[Value]) -> u64 {
    of_type(events, "win")
        .filter_map(|event| event["amount"].as_u64())
        .fold(0, u64::saturating_add)
}

/// The round's win after `steps_seen` steps, in centi-bet, capped as the engine caps it.
fn running_centibet(round: &RoundRow, steps_seen: usize) -> u64 {
    let uncapped = steps(round)
        .iter()
        .take(steps_seen)
        .map(|step| win_centibet(events_of(step)))
        .fold(0u64, u64::saturating_add);
    uncapped.min(
        u64::try_from(round.win_centibet)
            .unwrap_or(0)
            .max(cap_seen(round, steps_seen)),
    )
}

/// A cap recorded among the seen steps (the round ended there), else no limit beyond the round's win.
fn cap_seen(round: &RoundRow, steps_seen: usize) -> u64 {
    let capped = steps(round)
        .iter()
        .take(steps_seen)
        .flat_map(|step| of_type(events_of(step), "win_cap_reached"))
        .filter_map(|event| event["cap"].as_u64())
        .next();
    capped.unwrap_or(u64::MAX)
}

/// The running win in micro-units after `steps_seen` steps; equal to the payout once all are seen.
fn running_micros(round: &RoundRow, steps_seen: usize) -> i64 {
    let seen = running_centibet(round, steps_seen);
    // Never more than the round's decided win, which the engine capped.
    let seen = seen.min(u64::try_from(round.win_centibet).unwrap_or(0));
    payout_micros(round.bet_micros, seen)
}

/// Free spins awarded by the steps seen so far (the trigger plus any retriggers).
fn free_spins_awarded(round: &RoundRow, steps_seen: usize) -> u64 {
    steps(round)
        .iter()
        .take(steps_seen)
        .flat_map(|step| events_of(step).iter())
        .map(|event| match event["type"].as_str() {
            Some("free_spins_triggered") | Some("free_spins_retriggered") => event["spins"].as_u64().unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// The largest multiplier a win of this step carried (1 when none).
fn step_multiplier(events: &[Value]) -> u64 {
    of_type(events, "win")
        .map(|event| {
            let wild = event["multiplier"].as_u64().unwrap_or(1).max(1);
            let cascade = event["cascade_multiplier"].as_u64().unwrap_or(1).max(1);
            wild.saturating_mul(cascade)
        })
        .max()
        .unwrap_or(1)
}

/// One revealed step: its boards, wins and cascades, and what it adds to the round's win.
pub fn step_view(round: &RoundRow, step: usize) -> Value {
    let events = steps(round).get(step).map_or(&[][..], |step| events_of(step));
    let reel_matrix = of_type(events, "reveal").next().map(|reveal| reveal["board"].clone());
    let wins: Vec<&Value> = of_type(events, "win").collect();
    let cascades: Vec<&Value> = of_type(events, "cascade").collect();
    let win = running_micros(round, step + 1) - running_micros(round, step);
    let trigger = of_type(events, "free_spins_triggered").next();
    let bonus_triggered = trigger.map(|trigger| {
        json!({
            "bonus_round_id": round.id,
            "free_spins": trigger["spins"],
            "bought": trigger["bought"],
        })
    });
    json!({
        "step": step,
        "phase": if step == 0 { "base_game" } else { "free_spins" },
        "reel_matrix": reel_matrix,
        "wins": wins,
        "cascades": cascades,
        "win": win,
        "multiplier": step_multiplier(events),
        "bonus_triggered": bonus_triggered,
        "events": events,
    })
}

fn round_status(round: &RoundRow) -> Value {
    let seen = round.revealed_steps.max(0) as usize;
    let finished = round.status.is_ended();
    let awarded = free_spins_awarded(round, seen);
    let played = seen.saturating_sub(1) as u64;
    json!({
        "status": round.status.as_str(),
        "finished": finished,
        "revealed_steps": seen,
        // The number of steps is only told once they are all seen: it would tell a retrigger or the cap.
        "step_count": finished.then_some(round.step_count),
        "total_free_spins": awarded,
        "free_spins_played": played,
        "free_spins_remaining": if finished { 0 } else { awarded.saturating_sub(played) },
        "running_win": running_micros(round, seen),
        "total_win": finished.then_some(round.payout_micros),
    })
}

/// The answer of a spin, a reveal or an end: the last revealed step and where the round stands.
pub fn step_answer(round: &RoundRow, balance: i64, replayed: bool) -> StepAnswer {
    step_answer_at(round, round.revealed_steps.max(1) as usize - 1, balance, replayed)
}

/// The answer showing step `step` (a retried reveal shows the step its key revealed).
pub fn step_answer_at(round: &RoundRow, step: usize, balance: i64, replayed: bool) -> StepAnswer {
    let finished = round.status.is_ended();
    let played_free_spins = round.step_count > 1;
    let bonus_summary = (finished && played_free_spins && step + 1 == round.step_count as usize).then(|| {
        json!({
            "bonus_round_id": round.id,
            "free_spins_played": round.step_count - 1,
            "total_win": round.payout_micros,
            "total_win_centibet": round.win_centibet,
        })
    });
    StepAnswer {
        spin_id: round.id,
        session_id: round.session_id,
        game_id: round.game_id.clone(),
        math_version: round.math_version.clone(),
        mode: round.mode.clone(),
        bet: round.bet_micros,
        stake: round.stake_micros,
        balance,
        outcome: step_view(round, step),
        round: round_status(round),
        next_state: if finished || round.status == RoundStatus::Void {
            "base_game"
        } else {
            "free_spins"
        },
        bonus_summary,
        replayed,
    }
}

/// A round for recall: every revealed step (all of them once it ended), its money and its fairness inputs.
pub fn recall(round: &RoundRow) -> Value {
    let seen = if round.status.is_ended() {
        round.step_count.max(0) as usize
    } else {
        round.revealed_steps.max(0) as usize
    };
    let steps: Vec<Value> = (0..seen).map(|step| step_view(round, step)).collect();
    json!({
        "spin_id": round.id,
        "session_id": round.session_id,
        "game_id": round.game_id,
        "math_version": round.math_version,
        "mode": round.mode,
        "bet": round.bet_micros,
        "stake": round.stake_micros,
        "status": round.status.as_str(),
        "ended_by": round.ended_by,
        "round": round_status(round),
        "steps": steps,
        "created_at": round.created_at,
        "settled_at": round.settled_at,
        "fairness": {
            "server_seed_hash": round.server_seed_hash,
            "client_seed": round.client_seed,
            "nonce": round.nonce,
            "server_seed": round.revealed_server_seed,
            "events_hash": round.status.is_ended().then_some(&round.events_hash),
        },
    })
}
