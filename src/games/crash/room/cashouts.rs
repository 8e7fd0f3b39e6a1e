//! Cashouts in the round actor: a manual cashout is judged by the elapsed time at its arrival, an
//! auto-cashout pays exactly its target when it falls due, and a decided win is credited through the
//! wallet (retried under its key) before the bet is marked cashed out.

use super::*;

impl CrashRoom {
    /// Pays every auto-cashout due at or before `elapsed_ms`, each at exactly its target.
    pub(super) fn pay_due_autos(&mut self, elapsed_ms: u64, ctx: &mut Context<Self>) {
        loop {
            let Some(round) = self.round.as_mut() else { return };
            let Some(&(due_ms, bet_id)) = round.autos.first() else {
                return;
            };
            if due_ms > elapsed_ms {
                return;
            }
            round.autos.pop_first();
            let Some(entry) = round.bets.get(&bet_id) else { continue };
            if entry.view.status != BetStatus::Open {
                continue;
            }
            let (amount, auto_cashout, player_id) =
                (entry.view.amount, entry.view.auto_cashout, entry.player.player_id);
            let target = self
                .effective_target(amount, auto_cashout)
                .expect("a bet in the auto list has a target");
            let credit = self.decide_cashout(bet_id, target);
            self.detach(ctx, credit, move |room, outcome, ctx| {
                room.finish_cashout(&outcome, ctx);
                let frame = match &outcome {
                    Ok(cashed) => crate::games::crash::messages::cashed_out(&cashed.bet, cashed.balance, true, None),
                    Err(error) => crate::games::wire::error(error.code(), &error.to_string(), None),
                };
                room.send_to_player(player_id, frame);
            });
        }
    }

    /// Records the decision to cash `bet_id` out at `multiplier` (once) and returns the future that
    /// credits the win and stores the result.
    fn decide_cashout(
        &mut self,
        bet_id: Uuid,
        multiplier: u32,
    ) -> impl std::future::Future<Output = Result<CashedOut, GameError>> {
        let payout_max = self.settings.payout_max_micros;
        let round = self.round.as_mut().expect("a cashout happens in a round");
        let entry = round.bets.get_mut(&bet_id).expect("the bet exists");
        let payout = fair::payout(entry.view.amount, multiplier).min(payout_max);
        entry.view.status = BetStatus::CashingOut;
        entry.view.cashout_multiplier = Some(multiplier);
        entry.view.payout = Some(payout);
        round.in_flight += 1;
        round.cashouts_since_tick.push(json!({
            "username": entry.player.username,
            "multiplier": multiplier_json(multiplier),
            "payout": payout,
        }));
        let wallet = self.wallet.clone();
        let pool = self.pool.clone();
        let fence = self.fence.clone();
        let account = entry.player.account;
        let round_id = round.id;
        let mut view = entry.view.clone();
        async move {
            // The decision is made durable (under the fence) before any money moves, so that recovery
            // pays it whatever happens next, and a deposed leader's decision never counts.
            store::set_bet_status(&pool, &fence, bet_id, BetStatus::CashingOut, Some((multiplier, payout)))
                .await
                .map_err(|error| {
                    tracing::error!(%bet_id, %error, "failed to record a cashout decision");
                    GameError::from(error)
                })?;
            let amount = Amount::parse(payout).map_err(|error| GameError::InvalidAmount(error.to_string()))?;
            let reference = format!("crash:{round_id}:{multiplier}");
            let request = wallet.payout_request(
                account,
                amount,
                TransferKind::Win,
                store::win_key(bet_id),
                reference,
                Some(store::stake_key(bet_id)),
            );
            let receipt = credit_win(&wallet, request).await?;
            let bookkeeping_failed =
                match store::set_bet_status(&pool, &fence, bet_id, BetStatus::CashedOut, Some((multiplier, payout)))
                    .await
                {
                    Ok(()) => false,
                    Err(error) => {
                        tracing::error!(%bet_id, %error, "a paid cashout could not be recorded; recovery will");
                        true
                    }
                };
            view.status = BetStatus::CashedOut;
            Ok(CashedOut {
                bet: view,
                balance: Some(receipt.credit_balance_after.micros()),
                bookkeeping_failed,
            })
        }
    }

    /// A write refused by the fence means another node leads the room now: stop at once.
    pub(super) fn stop_if_superseded<T>(&mut self, outcome: &Result<T, GameError>, ctx: &mut Context<Self>) {
        if matches!(outcome, Err(GameError::LeaderChanged)) {
            tracing::warn!(
                room = self.name,
                token = self.fence.token,
                "leadership superseded; stopping"
            );
            ctx.stop();
        }
    }

    fn finish_cashout(&mut self, outcome: &Result<CashedOut, GameError>, ctx: &mut Context<Self>) {
        self.stop_if_superseded(outcome, ctx);
        if let Some(round) = self.round.as_mut() {
            round.in_flight -= 1;
            match outcome {
                Ok(cashed) => {
                    if let Some(entry) = round.bets.get_mut(&cashed.bet.bet_id) {
                        entry.view.status = BetStatus::CashedOut;
                    }
                    round.needs_recovery |= cashed.bookkeeping_failed;
                }
                // The decision stands (it is never re-judged at a later multiplier); the ledger tells
                // recovery whether the win was paid.
                Err(_) => round.needs_recovery = true,
            }
        }
        self.try_settle(ctx);
    }

    fn judge_cashout(&mut self, request: &Cashout, ctx: &mut Context<Self>) -> Result<u32, GameError> {
        let losses_settled = self.round.as_ref().is_none_or(|round| round.losses_settled);
        match self.phase {
            Phase::Running => {}
            // Within the crash grace a request is still judged by when it arrived (below).
            Phase::Crashed if !losses_settled => {}
            Phase::Crashed => return Err(GameError::RoundCrashed),
            _ => return Err(GameError::RoundNotRunning),
        }
        let elapsed = self.elapsed_ms(request.received_at).ok_or(GameError::RoundNotRunning)?;
        let round = self.round.as_ref().ok_or(GameError::RoundNotRunning)?;
        if elapsed >= round.crash_ms {
            return Err(GameError::RoundCrashed);
        }
        // Auto-cashouts that fell due before this request are decided first, as they happened first.
        self.pay_due_autos(elapsed, ctx);
        let round = self.round.as_ref().ok_or(GameError::RoundNotRunning)?;
        let entry = round
            .bets
            .get(&request.bet_id)
            .filter(|entry| entry.player.player_id == request.player_id)
            .ok_or(GameError::BetNotFound)?;
        match entry.view.status {
            BetStatus::Open => Ok(fair::multiplier_at(elapsed)),
            BetStatus::CashingOut | BetStatus::CashedOut => Err(GameError::AlreadyCashedOut),
            _ => Err(GameError::BetNotOpen),
        }
    }
}

impl Handler<Cashout> for CrashRoom {
    type Result = ResponseFuture<Result<CashedOut, GameError>>;

    fn handle(&mut self, request: Cashout, ctx: &mut Context<Self>) -> Self::Result {
        let multiplier = match self.judge_cashout(&request, ctx) {
            Ok(multiplier) => multiplier,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        let credit = self.decide_cashout(request.bet_id, multiplier);
        let (done, answer) = tokio::sync::oneshot::channel();
        self.detach(ctx, credit, move |room, outcome, ctx| {
            room.finish_cashout(&outcome, ctx);
            let _ = done.send(outcome);
        });
        Box::pin(async move { answer.await.unwrap_or(Err(GameError::OutcomeUnknown)) })
    }
}

/// Credits a decided win, retrying answers that leave its fate open (the key makes retries safe). After
/// the last attempt the decision stays recorded as `cashing_out` and recovery pays it.
async fn credit_win(
    wallet: &Wallet,
    request: TransferRequest,
) -> Result<crate::wallet::ledger::TransferReceipt, GameError> {
    let mut attempt = 1;
    loop {
        match wallet.transfer(request.clone()).await {
            Ok(receipt) => return Ok(receipt),
            Err(error @ crate::wallet::ledger::TransferError::Rejected(_)) => return Err(error.into()),
            Err(error) if attempt >= WIN_ATTEMPTS_MAX => {
                tracing::error!(key = request.key.as_str(), %error, "a decided win could not be credited; recovery will");
                return Err(error.into());
            }
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(
                    WIN_RETRY_BACKOFF_MS * u64::from(attempt),
                ))
                .await;
                attempt += 1;
            }
        }
    }
}
