//! A round's life in the round actor: recovery and the next game of the chain, betting, closing, the
//! clock and its ticks, the crash, and settling the losses before the next round opens.

use super::*;

impl CrashRoom {
    /// Finishes whatever earlier rounds left unsettled (a previous leader's, or this one's own that
    /// needed recovery), then takes the next game of the chain and opens betting.
    pub(super) fn open_betting(&mut self, ctx: &mut Context<Self>) {
        if self.retiring {
            ctx.stop();
            return;
        }
        if self.betting_pause.is_some() {
            self.wait_for_resume();
            return;
        }
        let pool = self.pool.clone();
        let wallet = self.wallet.clone();
        let fence = self.fence.clone();
        let edge = self.settings.house_edge_bps;
        let salt = self.settings.salt.clone();
        let generate = self.chain_auto_generate_length;
        let next = async move {
            let report = recovery::recover_room(&pool, &wallet, &fence).await?;
            if report.rounds > 0 {
                tracing::warn!(room = fence.room, ?report, "recovered unsettled rounds");
            }
            // An operator may have paused the room while it had no leader (or before this one took over).
            let pause = pause::read(&pool, &fence.room).await;
            if matches!(pause, Some(Some(_))) {
                return Ok((report.aborted, pause, None));
            }
            if let Some(round) = store::start_round(&pool, &fence, edge).await? {
                return Ok((report.aborted, pause, Some(round)));
            }
            if generate == 0 {
                return Ok((report.aborted, pause, None));
            }
            let chain = fair::generate_chain(generate as usize);
            store::insert_chain(&pool, &fence.room, &salt, &chain).await?;
            tracing::info!(room = fence.room, length = generate, "generated a new hash chain");
            Ok((report.aborted, pause, store::start_round(&pool, &fence, edge).await?))
        };
        ctx.wait(next.into_actor(self).map(|result: anyhow::Result<_>, room, ctx| {
            let (aborted, pause, round) = match result {
                Ok(outcome) => outcome,
                Err(error) => {
                    if let Some(store_error) = error.downcast_ref::<StoreError>() {
                        if matches!(store_error, StoreError::Fenced { .. }) {
                            room.store_failed(store_error, "start a round", ctx);
                            return;
                        }
                    }
                    tracing::error!(
                        room = room.name,
                        error = format!("{error:#}"),
                        "failed to start a round"
                    );
                    ctx.run_later(room.chain_retry, |room, ctx| room.open_betting(ctx));
                    return;
                }
            };
            for round_id in aborted {
                room.publish(json!({"type": "round_aborted", "round_id": round_id, "reason": "leader_changed"}));
            }
            if let Some(stored) = pause {
                room.adopt_pause(stored);
            }
            if room.betting_pause.is_some() {
                room.wait_for_resume();
                return;
            }
            match round {
                Some(round) => {
                    room.waiting_for_chain = false;
                    room.begin_round(round, ctx);
                }
                None => {
                    if !std::mem::replace(&mut room.waiting_for_chain, true) {
                        tracing::warn!(
                            room = room.name,
                            "no usable hash chain; run `game-cluster chain generate`"
                        );
                    }
                    ctx.run_later(room.chain_retry, |room, ctx| room.open_betting(ctx));
                }
            }
        }));
    }

    pub(super) fn begin_round(&mut self, new_round: store::NewRound, ctx: &mut Context<Self>) {
        let betting = Duration::from_millis(self.settings.betting_ms);
        let crash_ms = fair::elapsed_for(new_round.crash_point);
        let betting_ends_wall = Utc::now() + chrono::Duration::milliseconds(self.settings.betting_ms as i64);
        self.round = Some(Round {
            id: new_round.id,
            hash: new_round.hash,
            crash_point: new_round.crash_point,
            crash_ms,
            betting_opened_at: Instant::now(),
            betting_ends_at: Instant::now() + betting,
            started_at: None,
            started_wall: None,
            bets: HashMap::new(),
            by_client_id: HashMap::new(),
            bets_per_player: HashMap::new(),
            autos: BTreeSet::new(),
            in_flight: 0,
            pending_stakes: 0,
            losses_settled: false,
            crash_recorded: false,
            settled: false,
            needs_recovery: false,
            cashouts_since_tick: Vec::new(),
        });
        self.phase = Phase::Betting;
        self.publish(json!({
            "type": "round_start",
            "round_id": new_round.id,
            "betting_ms": self.settings.betting_ms,
            "betting_ends_at": betting_ends_wall,
            "terminating_hash": new_round.terminating_hash,
            "previous_round": self.previous,
        }));
        ctx.run_later(betting, |room, ctx| room.close_betting(ctx));
    }

    pub(super) fn close_betting(&mut self, ctx: &mut Context<Self>) {
        self.phase = Phase::Closing;
        let pending = self.round.as_ref().map_or(0, |round| round.pending_stakes);
        if pending == 0 {
            self.start_running(ctx);
        } else {
            // Stakes accepted in time but not yet debited get a bounded grace period.
            let round_id = self.round.as_ref().map(|round| round.id);
            ctx.run_later(self.closing_wait_max, move |room, ctx| {
                let same_round = room.round.as_ref().map(|round| round.id) == round_id;
                if room.phase == Phase::Closing && same_round {
                    room.start_running(ctx);
                }
            });
        }
    }

    pub(super) fn start_running(&mut self, ctx: &mut Context<Self>) {
        let Some(round_id) = self.round.as_ref().map(|round| round.id) else {
            return;
        };
        self.phase = Phase::Running;
        let pool = self.pool.clone();
        let fence = self.fence.clone();
        // The running phase is recorded before the clock starts, so the crash is always written after it.
        let record = async move { store::mark_running(&pool, &fence, round_id).await };
        ctx.wait(record.into_actor(self).map(|result, room, ctx| {
            if let Err(error) = result {
                room.store_failed(&error, "record the running phase", ctx);
                if matches!(error, StoreError::Fenced { .. }) {
                    return;
                }
            }
            room.start_clock(ctx);
        }));
    }

    pub(super) fn start_clock(&mut self, ctx: &mut Context<Self>) {
        let Some(round) = self.round.as_mut() else { return };
        round.started_at = Some(Instant::now());
        round.started_wall = Some(Utc::now());
        let crash_in = Duration::from_millis(round.crash_ms);
        // The interval travels with the round: a node's view may come from an older leader's store.
        let event = json!({
            "type": "round_running",
            "round_id": round.id,
            "started_at": round.started_wall,
            "tick_interval_ms": self.settings.tick_interval_ms,
        });
        self.publish(event);
        let tick = Duration::from_millis(self.settings.tick_interval_ms);
        self.tick_timer = Some(ctx.run_interval(tick, |room, ctx| room.tick(ctx)));
        // The crash fires at its exact time, not at the next tick boundary.
        ctx.run_later(crash_in, |room, ctx| room.crash(ctx));
    }

    pub(super) fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.phase != Phase::Running {
            return;
        }
        let Some(elapsed) = self.elapsed_ms(Instant::now()) else {
            return;
        };
        let crash_ms = self.round.as_ref().map_or(0, |round| round.crash_ms);
        if elapsed >= crash_ms {
            return;
        }
        self.pay_due_autos(elapsed, ctx);
        let Some(round) = self.round.as_mut() else { return };
        let event = json!({
            "type": "tick",
            "round_id": round.id,
            "multiplier": multiplier_json(fair::multiplier_at(elapsed)),
            "elapsed_ms": elapsed,
            "ts": Utc::now().timestamp_millis(),
            "cashouts": std::mem::take(&mut round.cashouts_since_tick),
        });
        self.publish(event);
    }

    pub(super) fn crash(&mut self, ctx: &mut Context<Self>) {
        if self.phase != Phase::Running {
            return;
        }
        if let Some(timer) = self.tick_timer.take() {
            ctx.cancel_future(timer);
        }
        let crash_ms = self.round.as_ref().map_or(0, |round| round.crash_ms);
        // Auto-cashouts due strictly before the crash are paid (at their exact target).
        if crash_ms > 0 {
            self.pay_due_autos(crash_ms - 1, ctx);
        }
        self.phase = Phase::Crashed;
        let Some(round) = self.round.as_mut() else { return };
        let revealed = RevealedRound {
            round_id: round.id,
            hash: hex::encode(round.hash),
            crash_point: multiplier_json(round.crash_point),
            crash_point_hundredths: round.crash_point,
            crashed_at: Some(Utc::now()),
            status: RoundOutcome::Crashed,
        };
        let event = json!({
            "type": "crash",
            "round_id": round.id,
            "crash_point": revealed.crash_point,
            "hash": revealed.hash,
            "elapsed_ms": crash_ms,
            "ts": Utc::now().timestamp_millis(),
            "cashouts": std::mem::take(&mut round.cashouts_since_tick),
        });
        self.previous = Some(revealed);
        self.publish(event);
        let grace = Duration::from_millis(CRASH_SETTLE_GRACE_MS);
        ctx.run_later(grace, |room, ctx| room.settle_losses(ctx));
    }

    /// Marks every bet still open as lost and records the crash, once the grace for requests that arrived
    /// before the crash is over.
    pub(super) fn settle_losses(&mut self, ctx: &mut Context<Self>) {
        let Some(round) = self.round.as_mut() else { return };
        round.losses_settled = true;
        let mut lost = Vec::new();
        for entry in round.bets.values_mut() {
            if entry.view.status == BetStatus::Open {
                entry.view.status = BetStatus::Lost;
                lost.push(entry.view.bet_id);
            }
        }
        round.autos.clear();
        let pool = self.pool.clone();
        let fence = self.fence.clone();
        let round_id = round.id;
        let record = async move { store::mark_crashed(&pool, &fence, round_id, &lost).await };
        ctx.spawn(record.into_actor(self).map(|result, room, ctx| {
            if let Err(error) = &result {
                room.store_failed(error, "record the crash; recovery will settle the round", ctx);
            }
            if let Some(round) = room.round.as_mut() {
                round.needs_recovery |= result.is_err();
                round.crash_recorded = true;
            }
            room.try_settle(ctx);
        }));
    }

    /// Closes the round once the crash is recorded and no money is in flight, then schedules the next.
    pub(super) fn try_settle(&mut self, ctx: &mut Context<Self>) {
        let Some(round) = self.round.as_mut() else { return };
        if self.phase != Phase::Crashed || !round.crash_recorded || round.in_flight > 0 || round.settled {
            return;
        }
        round.settled = true;
        let pool = self.pool.clone();
        let fence = self.fence.clone();
        let round_id = round.id;
        let needs_recovery = round.needs_recovery;
        if needs_recovery {
            tracing::error!(
                room = self.name,
                round_id,
                "round left unsettled; recovery finishes it before the next"
            );
        }
        let settle = async move {
            if needs_recovery {
                return Ok(());
            }
            store::settle_round(&pool, &fence, round_id).await
        };
        ctx.spawn(settle.into_actor(self).map(|result, room, ctx| {
            if let Err(error) = result {
                room.store_failed(&error, "settle a round; recovery will", ctx);
            }
            if room.retiring {
                ctx.stop();
                return;
            }
            let pause = Duration::from_millis(room.settings.crashed_pause_ms);
            ctx.run_later(pause, |room, ctx| room.open_betting(ctx));
        }));
    }

    pub(super) fn elapsed_ms(&self, at: Instant) -> Option<u64> {
        let started = self.round.as_ref()?.started_at?;
        if at < started {
            return None;
        }
        Some(at.duration_since(started).as_millis() as u64)
    }
}
