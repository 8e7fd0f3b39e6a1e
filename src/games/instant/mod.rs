//! The shared engine of the per-player games. For any game in the registry it checks the limits, deals the
//! outcome from the player's seed pair, records the bet, moves the stake and the payout through the ledger
//! with keys derived from the bet id, and answers every retry with the first result. Games only supply
//! their rules (see `contract`).
//!
//! Postgres is the serializer: a player's bets queue on their seed row, and actions on one game queue on
//! the bet row, so any node can serve any request and exactly one of two racing actions wins.

pub mod recovery;
pub mod seeds;
pub mod store;
pub mod verify;
pub mod view;

use super::contract::{BetTerms, Mode, RuleError};
use super::registry::{Registered, Registry, UnknownGame};
use crate::money::Amount;
use crate::wallet::ledger::{AccountId, IdempotencyKey, TransferError, TransferKind};
use crate::wallet::Wallet;
use serde_json::Value;
use sqlx::PgPool;
use store::{BetRow, BetStatus, NewBet};
use uuid::Uuid;
pub use view::BetView;

/// Why a per-player game request failed.
#[derive(Debug, thiserror::Error)]
pub enum InstantError {
    #[error(transparent)]
    UnknownGame(#[from] UnknownGame),
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("{0}")]
    InvalidAmount(String),
    #[error("{0}")]
    PayoutLimit(String),
    #[error("you already have a {0} game in progress; finish it first")]
    GameInProgress(String),
    #[error("no such game of yours")]
    GameNotFound,
    #[error("this game is already finished")]
    GameFinished,
    #[error("this bet's stake is still being taken; try again")]
    BetInProgress,
    #[error("this Idempotency-Key was already used for a different bet")]
    IdempotencyConflict,
    #[error(transparent)]
    Wallet(#[from] TransferError),
    #[error("the game store failed: {0}")]
    Store(#[from] sqlx::Error),
}

/// A bet request as the API hands it over.
pub struct PlaceBet<'a> {
    pub player_id: Uuid,
    pub account: AccountId,
    pub game: &'a str,
    pub amount: Amount,
    /// The body without the amount: the game reads its options from it.
    pub request: Value,
    /// The client's Idempotency-Key: a retry with it returns the first result.
    pub client_bet_id: &'a str,
}

/// What a bet request or action answers.
#[derive(Debug)]
pub struct BetAnswer {
    pub bet: BetView,
    pub balance: i64,
    pub replayed: bool,
}

/// The per-player games of this node: cheap to clone, shared by every HTTP worker.
#[derive(Clone)]
pub struct InstantGames {
    registry: Registry,
    pool: PgPool,
    wallet: Wallet,
}

/// The ledger key of a bet's stake.
pub fn stake_key(bet: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("instant:stake:{bet}")).expect("a bet id makes a valid key")
}

/// The ledger key of a bet's payout.
pub fn win_key(bet: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("instant:win:{bet}")).expect("a bet id makes a valid key")
}

fn terms_of(bet: &BetRow) -> BetTerms {
    BetTerms {
        amount: bet.amount,
        payout_max: bet.payout_max,
    }
}

impl InstantGames {
    pub fn new(registry: Registry, pool: PgPool, wallet: Wallet) -> InstantGames {
        InstantGames { registry, pool, wallet }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Places a bet: checks it, deals its outcome from the next nonce, records it, then takes the stake and
    /// pays what the outcome pays. A retry with the same key finishes and returns the first bet.
    pub async fn place(&self, bet: PlaceBet<'_>) -> Result<BetAnswer, InstantError> {
        let started = std::time::Instant::now();
        // Only registered names become labels, so a client cannot create series.
        let game = match self.registry.per_player(bet.game) {
            Ok(_) => bet.game.to_owned(),
            Err(_) => "unknown".to_owned(),
        };
        let outcome = self.place_measured(bet).await;
        let result = if outcome.is_ok() { "ok" } else { "error" };
        metrics::histogram!("instant_bet_seconds", "game" => game.clone()).record(started.elapsed().as_secs_f64());
        metrics::counter!("instant_bets_total", "game" => game, "result" => result).increment(1);
        outcome
    }

    async fn place_measured(&self, bet: PlaceBet<'_>) -> Result<BetAnswer, InstantError> {
        let registered = self.registry.per_player(bet.game)?;
        let options = registered.game.options(bet.request)?;
        let terms = check_limits(registered, bet.amount, &options)?;
        let mut transaction = self.pool.begin().await?;
        let seed = seeds::lock_active(&mut transaction, bet.player_id).await?;
        if let Some(first) = store::find_by_client_bet_id(&mut *transaction, bet.player_id, bet.client_bet_id).await? {
            transaction.rollback().await?;
            if first.game != bet.game || first.amount != terms.amount || first.options != options {
                return Err(InstantError::IdempotencyConflict);
            }
            return self.finish(registered, first, true).await;
        }
        let stepwise = registered.game.mode() == Mode::Stepwise;
        if stepwise
            && store::open_game(&mut *transaction, bet.player_id, bet.game)
                .await?
                .is_some()
        {
            return Err(InstantError::GameInProgress(bet.game.to_owned()));
        }
        let state = registered.game.start(&options, seed.input())?;
        let payout = match registered.game.is_finished(terms, &options, &state)? {
            true => Some(registered.game.payout(terms, &options, &state)?),
            false => None,
        };
        let id = Uuid::now_v7();
        let created_at = chrono::Utc::now();
        let new_bet = NewBet {
            id,
            player_id: bet.player_id,
            account_id: bet.account.0,
            game: bet.game,
            stepwise,
            client_bet_id: bet.client_bet_id,
            seed_id: seed.id,
            nonce: seed.next_nonce,
            amount: terms.amount,
            payout_max: terms.payout_max,
            options: &options,
            state: &state,
            payout,
            created_at,
        };
        store::insert(&mut transaction, &new_bet).await?;
        seeds::take_nonce(&mut transaction, &seed).await?;
        transaction.commit().await?;
        // The row as stored, built from what was just written rather than read back.
        let row = BetRow {
            id,
            player_id: bet.player_id,
            account_id: bet.account.0,
            game: bet.game.to_owned(),
            client_bet_id: bet.client_bet_id.to_owned(),
            amount: terms.amount,
            payout_max: terms.payout_max,
            options,
            state,
            status: BetStatus::Pending,
            payout,
            nonce: seed.next_nonce,
            server_seed_hash: seed.server_seed_hash.clone(),
            client_seed: seed.client_seed.clone(),
            revealed_server_seed: None,
            created_at,
            settled_at: None,
        };
        self.finish(registered, row, false).await
    }

    /// Applies a player's action to their open game, then pays it if the action ended it. The bet row's
    /// lock makes racing actions take turns: the first to finish the game wins, the other gets
    /// `game_finished`.
    pub async fn act(&self, player: Uuid, game: &str, bet_id: Uuid, action: Value) -> Result<BetAnswer, InstantError> {
        let registered = self.registry.per_player(game)?;
        let mut transaction = self.pool.begin().await?;
        let mut bet = store::lock_for_action(&mut transaction, bet_id, player)
            .await?
            .filter(|bet| bet.game == game)
            .ok_or(InstantError::GameNotFound)?;
        match bet.status {
            BetStatus::Open => {}
            BetStatus::Pending => return Err(InstantError::BetInProgress),
            BetStatus::Paying | BetStatus::Settled | BetStatus::Void => return Err(InstantError::GameFinished),
        }
        let terms = terms_of(&bet);
        registered.game.act(terms, &bet.options, &mut bet.state, action)?;
        if registered.game.is_finished(terms, &bet.options, &bet.state)? {
            let payout = registered.game.payout(terms, &bet.options, &bet.state)?;
            bet.status = if payout > 0 {
                BetStatus::Paying
            } else {
                BetStatus::Settled
            };
            bet.payout = Some(payout);
        }
        store::record_progress(&mut transaction, bet.id, &bet.state, bet.status, bet.payout).await?;
        transaction.commit().await?;
        self.finish(registered, bet, false).await
    }

    /// A player's bet by id, as they may see it.
    pub async fn bet(&self, player: Uuid, bet_id: Uuid) -> Result<BetView, InstantError> {
        let bet = store::find(&self.pool, bet_id)
            .await?
            .filter(|bet| bet.player_id == player)
            .ok_or(InstantError::GameNotFound)?;
        let registered = self.registry.per_player(&bet.game)?;
        Ok(BetView::of(registered, &bet)?)
    }

    /// The player's unfinished game of a stepwise kind, if any.
    pub async fn open_game(&self, player: Uuid, game: &str) -> Result<Option<BetView>, InstantError> {
        let registered = self.registry.per_player(game)?;
        let bet = store::open_game(&self.pool, player, game).await?;
        Ok(bet.map(|bet| BetView::of(registered, &bet)).transpose()?)
    }

    /// Verifies one of the player's bets from its revealed seed pair.
    pub async fn verify_bet(&self, player: Uuid, bet_id: Uuid) -> Result<verify::BetVerdict, InstantError> {
        let bet = store::find(&self.pool, bet_id)
            .await?
            .filter(|bet| bet.player_id == player)
            .ok_or(InstantError::GameNotFound)?;
        verify::verify_bet(&self.registry, &bet)
    }

    pub async fn active_seeds(&self, player: Uuid) -> Result<seeds::ActivePair, sqlx::Error> {
        seeds::active(&self.pool, player).await
    }

    pub async fn rotate_seeds(
        &self,
        player: Uuid,
        client_seed: Option<String>,
    ) -> Result<seeds::Rotation, seeds::SeedError> {
        seeds::rotate(&self.pool, player, client_seed).await
    }

    /// Drives a recorded bet to where it can rest (open, settled or void) and answers with it.
    async fn finish(&self, registered: &Registered, bet: BetRow, replayed: bool) -> Result<BetAnswer, InstantError> {
        let bet = advance(&self.pool, &self.wallet, bet).await?;
        let balance = crate::wallet::history::balance(&self.pool, AccountId(bet.account_id))
            .await?
            .map_or(0, |balance| balance.micros());
        Ok(BetAnswer {
            bet: BetView::of(registered, &bet)?,
            balance,
            replayed,
        })
    }
}

/// Checks the amount and the payout limit; the terms the bet is played under.
fn check_limits(registered: &Registered, amount: Amount, options: &Value) -> Result<BetTerms, InstantError> {
    let limits = &registered.limits;
    let game = registered.game.kind();
    if !(limits.bet_min_micros..=limits.bet_max_micros).contains(&amount.micros()) {
        return Err(InstantError::InvalidAmount(format!(
            "a {game} bet must be {} to {} micro-units",
            limits.bet_min_micros, limits.bet_max_micros
        )));
    }
    let first_payout = registered.game.first_payout_max(amount.micros(), options)?;
    if first_payout > limits.payout_max_micros {
        return Err(InstantError::PayoutLimit(format!(
            "this {game} bet could pay {first_payout} micro-units, above the limit of {}; lower the amount or the risk",
            limits.payout_max_micros
        )));
    }
    Ok(BetTerms {
        amount: amount.micros(),
        payout_max: limits.payout_max_micros,
    })
}

/// Moves a bet forward through the ledger: takes a pending bet's stake (voiding it if the ledger refuses),
/// pays a paying bet. Every step is idempotent (fixed ledger keys, status updates guarded by the expected
/// status), so a retry, another node and the recovery sweep may all run it on the same bet.
pub async fn advance(pool: &PgPool, wallet: &Wallet, mut bet: BetRow) -> Result<BetRow, InstantError> {
    let player = AccountId(bet.account_id);
    let reference = format!("{}:{}", bet.game, bet.id);
    loop {
        match bet.status {
            BetStatus::Pending | BetStatus::Void => {
                let amount =
                    Amount::parse(bet.amount).map_err(|error| TransferError::Unavailable(error.to_string()))?;
                let stake = wallet.stake_request(player, amount, stake_key(bet.id), reference.clone());
                let from = bet.status;
                match wallet.transfer(stake).await {
                    Ok(_) if from == BetStatus::Void => {
                        return Err(TransferError::Unavailable("a void bet's stake was posted".into()).into())
                    }
                    Ok(_) => {
                        if !store::transition(pool, bet.id, BetStatus::Pending, staked_status(&bet)).await? {
                            bet = reload(pool, &bet).await?;
                            continue;
                        }
                        bet.status = staked_status(&bet);
                        if bet.status == BetStatus::Settled {
                            bet.settled_at = Some(chrono::Utc::now());
                        }
                    }
                    Err(TransferError::Rejected(code)) => {
                        store::transition(pool, bet.id, BetStatus::Pending, BetStatus::Void).await?;
                        return Err(TransferError::Rejected(code).into());
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            BetStatus::Paying => {
                let payout = bet.payout.unwrap_or(0);
                let amount = Amount::parse(payout).map_err(|error| TransferError::Unavailable(error.to_string()))?;
                let win = wallet.payout_request(
                    player,
                    amount,
                    TransferKind::Win,
                    win_key(bet.id),
                    reference.clone(),
                    Some(stake_key(bet.id)),
                );
                wallet.transfer(win).await?;
                if !store::transition(pool, bet.id, BetStatus::Paying, BetStatus::Settled).await? {
                    bet = reload(pool, &bet).await?;
                    continue;
                }
                bet.status = BetStatus::Settled;
                bet.settled_at = Some(chrono::Utc::now());
            }
            BetStatus::Open | BetStatus::Settled => return Ok(bet),
        }
    }
}

/// The bet as another request or the recovery sweep left it, after they moved it first.
async fn reload(pool: &PgPool, bet: &BetRow) -> Result<BetRow, InstantError> {
    store::find(pool, bet.id).await?.ok_or(InstantError::GameNotFound)
}

/// Where a bet goes once its stake is taken: an unfinished game opens; a decided one pays or settles.
fn staked_status(bet: &BetRow) -> BetStatus {
    match bet.payout {
        None => BetStatus::Open,
        Some(0) => BetStatus::Settled,
        Some(_) => BetStatus::Paying,
    }
}
