//! Bet admission in the round actor: a bet, or a batch of bets that reached the node together (a follower
//! forwards every bet that arrived within a few milliseconds in one call), is judged in one handler run,
//! each bet by its own arrival time, and the accepted ones are staked together: their records go to the
//! bet writer and their debits to the wallet's shards at once, so the shards take them in a few
//! transactions instead of the room awaiting one debit after another.

use super::{BetEntry, CrashRoom, Phase, PlaceBet, PlacedBet, PlayerRef};
use crate::fair::crash as fair;
use crate::games::crash::bet_writer::{BetWriter, PendingBet};
use crate::games::crash::store::{self, Fence, StoreError};
use crate::games::crash::{BetStatus, BetView, GameError};
use crate::money::Amount;
use crate::wallet::ledger::TransferKind;
use crate::wallet::Wallet;
use actix::prelude::*;
use futures_util::future::join_all;
use sqlx::PgPool;
use tokio::sync::oneshot;
use uuid::Uuid;

/// Bets that reached this node together; each is judged by its own `received_at`, and the answers come
/// back in the order of `bets` (the batch as a whole is never refused: each bet gets its own answer).
#[derive(Message)]
#[rtype(result = "Result<Vec<Result<PlacedBet, GameError>>, GameError>")]
pub struct PlaceBets {
    pub bets: Vec<PlaceBet>,
}

/// What the room decided about one bet of a batch before any money moved.
enum Admission {
    /// Refused, or a repeat of a bet already decided: answered at once.
    Answered(Result<PlacedBet, GameError>),
    /// Registered as pending: its stake is to be recorded and debited.
    Staking(PlayerRef, BetView),
}

impl CrashRoom {
    /// The multiplier at which a bet is cashed out automatically: its own target, or earlier if that is
    /// where it would reach the room's maximum payout.
    pub(super) fn effective_target(&self, amount: i64, auto_cashout: Option<u32>) -> Option<u32> {
        let cap = u128::from(self.settings.payout_max_micros as u64) * 100 / u128::from(amount as u64);
        let cap = u32::try_from(cap).unwrap_or(u32::MAX).max(fair::MULTIPLIER_MIN + 1);
        let cap = (cap < fair::MULTIPLIER_MAX).then_some(cap);
        match (auto_cashout, cap) {
            (Some(target), Some(cap)) => Some(target.min(cap)),
            (target, cap) => target.or(cap),
        }
    }

    fn validate_bet(&self, bet: &PlaceBet) -> Result<(), GameError> {
        if self.betting_pause.is_some() {
            return Err(GameError::BettingPaused);
        }
        let round = self.round.as_ref().ok_or(GameError::BettingClosed)?;
        let in_window = bet.received_at >= round.betting_opened_at && bet.received_at < round.betting_ends_at;
        if self.phase != Phase::Betting || !in_window {
            return Err(GameError::BettingClosed);
        }
        let amount = bet.amount.micros();
        if amount < self.settings.bet_min_micros || amount > self.settings.bet_max_micros {
            return Err(GameError::InvalidAmount(format!(
                "a bet must be {} to {} micro-units",
                self.settings.bet_min_micros, self.settings.bet_max_micros
            )));
        }
        if bet
            .auto_cashout
            .is_some_and(|target| target > self.settings.auto_cashout_max)
        {
            return Err(GameError::InvalidAutoCashout(
                "auto_cashout is above the room's maximum".into(),
            ));
        }
        let placed = round.bets_per_player.get(&bet.player.player_id).copied().unwrap_or(0);
        if placed >= self.settings.bets_per_player_max {
            return Err(GameError::TooManyBets(self.settings.bets_per_player_max));
        }
        Ok(())
    }

    fn finish_stake(&mut self, bet_id: Uuid, outcome: &Result<PlacedBet, GameError>, ctx: &mut Context<Self>) {
        self.stop_if_superseded(outcome, ctx);
        let phase = self.phase;
        let Some(round) = self.round.as_mut() else { return };
        round.in_flight -= 1;
        round.pending_stakes -= 1;
        let accepted = matches!(outcome, Ok(placed) if !placed.replayed);
        let definite = matches!(
            outcome,
            Ok(_)
                | Err(GameError::Wallet(crate::wallet::ledger::TransferError::Rejected(_)) | GameError::BetInProgress)
        );
        if !definite {
            // Whether the stake moved is unknown: the round is left to recovery, which asks the ledger.
            round.needs_recovery = true;
        }
        let mut auto_entry = None;
        if accepted && phase != Phase::Crashed {
            if let Some(entry) = round.bets.get_mut(&bet_id) {
                entry.view.status = BetStatus::Open;
                auto_entry = Some((entry.view.amount, entry.view.auto_cashout));
            }
        } else if let Some(entry) = round.bets.remove(&bet_id) {
            round
                .by_client_id
                .remove(&(entry.player.player_id, entry.view.client_bet_id.clone()));
            if let Some(count) = round.bets_per_player.get_mut(&entry.player.player_id) {
                *count = count.saturating_sub(1);
            }
            if accepted {
                // The stake landed after the round had crashed: the bet never played, so it is refunded.
                tracing::warn!(room = self.name, %bet_id, "a stake completed after the crash; refunding");
                self.refund_late_stake(entry, ctx);
            }
        }
        if let Some((amount, auto_cashout)) = auto_entry {
            if let Some(target) = self.effective_target(amount, auto_cashout) {
                if let Some(round) = self.round.as_mut() {
                    round.autos.insert((fair::elapsed_for(target), bet_id));
                }
            }
        }
        if self.phase == Phase::Closing && self.round.as_ref().is_some_and(|round| round.pending_stakes == 0) {
            self.start_running(ctx);
        }
        self.try_settle(ctx);
    }

    fn refund_late_stake(&mut self, entry: BetEntry, ctx: &mut Context<Self>) {
        let wallet = self.wallet.clone();
        let pool = self.pool.clone();
        let fence = self.fence.clone();
        if let Some(round) = self.round.as_mut() {
            round.in_flight += 1;
        }
        let bet = entry.view;
        let refund = async move {
            let amount = Amount::parse(bet.amount).expect("a stored stake is a valid amount");
            // The same reference as recovery's refund: both may send this key, and a key's fields must match.
            let reference = format!("crash:{}:refund", bet.round_id);
            let key = store::refund_key(bet.bet_id);
            let request = wallet.payout_request(
                entry.player.account,
                amount,
                TransferKind::Refund,
                key,
                reference,
                Some(store::stake_key(bet.bet_id)),
            );
            wallet.transfer(request).await.map_err(|error| error.to_string())?;
            store::set_bet_status(&pool, &fence, bet.bet_id, BetStatus::Refunded, None)
                .await
                .map_err(|error| error.to_string())
        };
        self.detach(ctx, refund, |room, result, ctx| {
            if let Some(round) = room.round.as_mut() {
                round.in_flight -= 1;
                if let Err(error) = result {
                    tracing::error!(room = room.name, error, "failed to refund a late stake; recovery will");
                    round.needs_recovery = true;
                }
            }
            room.try_settle(ctx);
        });
    }

    /// Judges one bet at its arrival time and, when it is new and valid, registers it as pending.
    fn admit(&mut self, bet: PlaceBet) -> Admission {
        // A retry of a bet this round already took gets the first answer, even once betting has closed:
        // the client only resends what it never heard the answer to.
        let client_key = (bet.player.player_id, bet.client_bet_id.clone());
        if let Some(round) = self.round.as_ref() {
            if let Some(existing) = round.by_client_id.get(&client_key).and_then(|id| round.bets.get(id)) {
                return Admission::Answered(if existing.view.status == BetStatus::Pending {
                    Err(GameError::BetInProgress)
                } else {
                    Ok(PlacedBet {
                        bet: existing.view.clone(),
                        balance: None,
                        replayed: true,
                    })
                });
            }
        }
        if let Err(error) = self.validate_bet(&bet) {
            return Admission::Answered(Err(error));
        }
        let Some(round) = self.round.as_mut() else {
            return Admission::Answered(Err(GameError::BettingClosed));
        };
        let view = BetView {
            bet_id: Uuid::now_v7(),
            round_id: round.id,
            room: self.name.clone(),
            client_bet_id: bet.client_bet_id,
            amount: bet.amount.micros(),
            auto_cashout: bet.auto_cashout,
            status: BetStatus::Pending,
            cashout_multiplier: None,
            payout: None,
        };
        round.by_client_id.insert(client_key, view.bet_id);
        *round.bets_per_player.entry(bet.player.player_id).or_default() += 1;
        round.bets.insert(
            view.bet_id,
            BetEntry {
                view: view.clone(),
                player: bet.player.clone(),
            },
        );
        round.in_flight += 1;
        round.pending_stakes += 1;
        Admission::Staking(bet.player, view)
    }
}

impl Handler<PlaceBets> for CrashRoom {
    type Result = ResponseFuture<Result<Vec<Result<PlacedBet, GameError>>, GameError>>;

    fn handle(&mut self, batch: PlaceBets, ctx: &mut Context<Self>) -> Self::Result {
        let mut answers: Vec<Option<Result<PlacedBet, GameError>>> = Vec::with_capacity(batch.bets.len());
        let mut staking = Vec::new();
        for (index, bet) in batch.bets.into_iter().enumerate() {
            match self.admit(bet) {
                Admission::Answered(answer) => answers.push(Some(answer)),
                Admission::Staking(player, view) => {
                    answers.push(None);
                    staking.push((index, player, view));
                }
            }
        }
        let writes = (self.pool.clone(), self.fence.clone(), self.bets.clone());
        let wallet = self.wallet.clone();
        // Every stake of the batch is in flight at once (the bet writer and the wallet's shards batch
        // them). A bet is answered the moment its stake is debited: from then on it is in play whatever
        // happens to its bookkeeping (a successor's recovery refunds every staked bet of a round it
        // aborts, open or not). The room finishes it once it is also marked open (its bet opens, or is
        // refunded if the round crashed meanwhile), so the round starts running only with every bet open.
        let staked: Vec<_> = staking
            .into_iter()
            .map(|(index, player, view)| {
                let bet_id = view.bet_id;
                let (done, outcome) = oneshot::channel();
                let bets = writes.2.clone();
                let (writes, wallet) = (writes.clone(), wallet.clone());
                // The stake's future is made inside the block, not captured: a captured future is kept
                // twice (the capture and the awaited copy), and a window's every bet is in flight at once.
                let stake_and_open = async move {
                    let staked = place_stake(writes, wallet, player, view).await;
                    let _ = done.send(staked.clone());
                    match staked {
                        Ok(placed) if !placed.replayed => mark_open(&bets, placed).await,
                        other => other,
                    }
                };
                self.detach(ctx, stake_and_open, move |room, outcome, ctx| {
                    room.finish_stake(bet_id, &outcome, ctx)
                });
                async move { (index, outcome.await.unwrap_or(Err(GameError::OutcomeUnknown))) }
            })
            .collect();
        Box::pin(async move {
            for (index, outcome) in join_all(staked).await {
                answers[index] = Some(outcome);
            }
            Ok(answers
                .into_iter()
                .map(|answer| answer.unwrap_or(Err(GameError::OutcomeUnknown)))
                .collect())
        })
    }
}

/// A single bet is a batch of one, so both take the same path.
impl Handler<PlaceBet> for CrashRoom {
    type Result = ResponseFuture<Result<PlacedBet, GameError>>;

    fn handle(&mut self, bet: PlaceBet, ctx: &mut Context<Self>) -> Self::Result {
        let answers = <Self as Handler<PlaceBets>>::handle(self, PlaceBets { bets: vec![bet] }, ctx);
        Box::pin(async move {
            answers
                .await?
                .into_iter()
                .next()
                .unwrap_or(Err(GameError::OutcomeUnknown))
        })
    }
}

/// Records the pending bet and debits the stake; a failed debit voids the bet.
async fn place_stake(
    (pool, fence, bets): (PgPool, Fence, BetWriter),
    wallet: Wallet,
    player: PlayerRef,
    mut view: BetView,
) -> Result<PlacedBet, GameError> {
    let new_bet = PendingBet {
        id: view.bet_id,
        round: view.round_id,
        player: player.player_id,
        account: player.account,
        client_bet_id: view.client_bet_id.clone(),
        amount: view.amount,
        auto_cashout: view.auto_cashout,
    };
    let started = std::time::Instant::now();
    let existing = bets.insert(new_bet).await.map_err(|error| {
        tracing::error!(%error, "failed to record a bet");
        GameError::from(error)
    })?;
    if let Some(existing) = existing {
        if existing.status == BetStatus::Pending {
            // An earlier attempt's stake is unresolved; recovery settles it, this request places nothing.
            return Err(GameError::BetInProgress);
        }
        return Ok(PlacedBet {
            bet: existing,
            balance: None,
            replayed: true,
        });
    }
    record_stage("record", started);
    let amount = Amount::parse(view.amount).expect("validated amount");
    let reference = format!("crash:{}", view.round_id);
    let request = wallet.stake_request(player.account, amount, store::stake_key(view.bet_id), reference);
    let started = std::time::Instant::now();
    let debited = wallet.transfer(request).await;
    record_stage("debit", started);
    match debited {
        Ok(receipt) => {
            view.status = BetStatus::Open;
            Ok(PlacedBet {
                bet: view,
                balance: Some(receipt.debit_balance_after.micros()),
                replayed: false,
            })
        }
        Err(error) => {
            // The stake did not move (or its fate is unknown and recovery will look it up by key).
            if matches!(error, crate::wallet::ledger::TransferError::Rejected(_)) {
                // Boxed: a pool query is a large future, and unboxed it would size every stake in flight.
                let void = Box::pin(store::set_bet_status(&pool, &fence, view.bet_id, BetStatus::Void, None));
                let _ = void.await;
            }
            Err(GameError::Wallet(error))
        }
    }
}

/// Marks a staked bet open. The stake has moved, so the bet is in play whatever happens to this
/// bookkeeping write (the crash and cashout writes that follow overwrite the status either way); a refused
/// fence means a successor leads the room, and the room stops.
async fn mark_open(bets: &BetWriter, placed: PlacedBet) -> Result<PlacedBet, GameError> {
    let started = std::time::Instant::now();
    let marked = bets.mark_open(placed.bet.bet_id).await;
    record_stage("open", started);
    match marked {
        Ok(()) => {}
        Err(StoreError::Fenced { .. }) => return Err(GameError::LeaderChanged),
        Err(error) => tracing::error!(bet_id = %placed.bet.bet_id, %error, "failed to mark a staked bet open"),
    }
    Ok(placed)
}

/// How long one step of a stake took on the leader: recording the bet, debiting it, marking it open.
fn record_stage(stage: &'static str, started: std::time::Instant) {
    metrics::histogram!("crash_stake_seconds", "stage" => stage).record(started.elapsed().as_secs_f64());
}
