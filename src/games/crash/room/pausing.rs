//! An operator's betting pause in the round actor: the round under way finishes, no new round starts,
//! and every node's players see `betting_paused` until it is lifted.

use super::*;

impl CrashRoom {
    /// Takes the pause state recorded in Postgres, telling the relays when it changed.
    pub(super) fn adopt_pause(&mut self, stored: Option<BettingPause>) {
        let changed = stored.is_some() != self.betting_pause.is_some();
        self.betting_pause = stored;
        // A term that starts paused says so; one that starts open says nothing (its round_start does).
        if changed || (!self.pause_announced && self.betting_pause.is_some()) {
            self.announce_pause();
        }
    }

    /// Publishes whether betting is paused (a room event, so every node's view and player learns it).
    pub(super) fn announce_pause(&mut self) {
        self.pause_announced = true;
        let event = match &self.betting_pause {
            Some(pause) => json!({"type": "betting_paused", "reason": pause.reason, "since": pause.at}),
            None => json!({"type": "betting_resumed"}),
        };
        self.publish(event);
    }

    /// Leaves the room between rounds until an operator resumes betting.
    pub(super) fn wait_for_resume(&mut self) {
        if !self.waiting_for_resume {
            tracing::info!(room = self.name, "betting paused; no new round until it is resumed");
        }
        self.waiting_for_resume = true;
        if !self.pause_announced {
            self.announce_pause();
        }
    }
}

impl Handler<SetBettingPaused> for CrashRoom {
    type Result = Result<PauseApplied, GameError>;

    fn handle(&mut self, request: SetBettingPaused, ctx: &mut Context<Self>) -> Self::Result {
        let changed = request.pause.is_some() != self.betting_pause.is_some();
        self.betting_pause = request.pause;
        if changed {
            self.announce_pause();
        }
        if self.betting_pause.is_none() && std::mem::take(&mut self.waiting_for_resume) {
            tracing::info!(room = self.name, "betting resumed");
            self.open_betting(ctx);
        }
        Ok(PauseApplied {
            betting_paused: self.betting_pause.is_some(),
            phase: self.view.phase.clone(),
            round_id: self.view.round_id,
        })
    }
}
