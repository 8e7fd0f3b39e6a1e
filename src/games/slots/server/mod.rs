//! Slots served to players, as a certified remote game server serves them: the whole round is decided
//! at the paid spin from the player's seed pair and nonce and stored at once; the player then reveals it
//! step by step (free spins one at a time); the stake is debited once and the round's win credited once,
//! when the round ends; a round left unfinished is completed by a sweep on any node; any round can be
//! recalled and verified under the math version it was played with.
//!
//! Postgres is the serializer, as for the instant games: a player's spins queue on their seed row, a
//! round's reveals on the round row, and every money step is an idempotent ledger transfer keyed by the
//! round id, so a retry, another node and the sweeps may all push the same round forward.

pub mod catalog;
pub mod error;
pub mod recovery;
mod settle;
pub mod stake;
pub mod store;
pub mod verify;
pub mod view;

use crate::cluster::push::PlayerPush;
use crate::configuration::SlotsSettings;
pub use crate::configuration::{ClientVersion, CLIENT_VERSION_LENGTH_MAX};
use crate::games::instant::seeds;
use crate::games::slots::steps::{events_hash, split_steps};
use crate::games::slots::{payout_micros, play_round, FairDraws};
use crate::money::Amount;
use crate::wallet::ledger::AccountId;
use crate::wallet::Wallet;
use catalog::{BetLevels, Catalog, ServedGame};
pub use error::SlotError;
use serde_json::Value;
pub use settle::{advance, announce_bonus_completed, stake_key, win_key};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
pub use store::Reveal;
use store::{NewRound, NewSession, RoundRow, RoundStatus, SessionRow};
use uuid::Uuid;
pub use view::StepAnswer;

/// The longest platform and locale a client may send (the client version's is `CLIENT_VERSION_LENGTH_MAX`).
pub const PLATFORM_LENGTH_MAX: usize = 32;
pub const LOCALE_LENGTH_MAX: usize = 16;
/// The most rounds one recall list holds (the regulators' minimum is the last 10).
pub const RECALL_LIST_MAX: u32 = 100;

/// The player a request is for.
#[derive(Debug, Clone, Copy)]
pub struct Player {
    pub player_id: Uuid,
    pub account: AccountId,
}

/// `POST /api/v1/game/init`.
#[derive(Debug, Clone)]
pub struct InitRequest {
    pub game_id: String,
    pub platform: String,
    pub locale: String,
    pub client_version: String,
}

/// What `init` answers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InitAnswer {
    pub session_id: Uuid,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub game: Value,
    pub balance: i64,
    pub unfinished_round: Option<StepAnswer>,
}

/// A paid round: a spin in a mode (the base mode when `None`), or a bonus buy.
#[derive(Debug, Clone)]
pub struct SpinRequest {
    pub session_id: Uuid,
    pub game_id: String,
    pub bet_micros: i64,
    pub lines: Option<u32>,
    pub mode: Option<String>,
    /// By step (our API) or whole (every step at once, the win held until the round's end).
    pub reveal: Reveal,
}

/// The slot server of this node: cheap to clone, shared by every HTTP worker.
#[derive(Clone)]
pub struct SlotService {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    pool: PgPool,
    reader: PgPool,
    wallet: Wallet,
    settings: SlotsSettings,
    bets: BetLevels,
    client_version_min: ClientVersion,
    push: PlayerPush,
}

impl SlotService {
    /// Loads the games and records their math versions.
    pub async fn start(
        settings: &SlotsSettings,
        pool: PgPool,
        reader: PgPool,
        wallet: Wallet,
        push: PlayerPush,
    ) -> anyhow::Result<SlotService> {
        let catalog = Catalog::load(settings)?;
        catalog.publish(&pool).await?;
        let client_version_min = ClientVersion::parse(&settings.client_version_min)
            .ok_or_else(|| anyhow::anyhow!("games.slots.client_version_min is not a version"))?;
        Ok(SlotService {
            inner: Arc::new(Inner {
                catalog,
                pool,
                reader,
                wallet,
                bets: BetLevels {
                    levels: settings.bet_levels_micros.clone(),
                    default: settings.default_bet_micros,
                },
                settings: settings.clone(),
                client_version_min,
                push,
            }),
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    pub fn wallet(&self) -> &Wallet {
        &self.inner.wallet
    }

    pub fn bet_levels(&self) -> &BetLevels {
        &self.inner.bets
    }

    pub fn settings(&self) -> &SlotsSettings {
        &self.inner.settings
    }

    fn served(&self, game_id: &str) -> Result<&Arc<ServedGame>, SlotError> {
        self.inner
            .catalog
            .game(game_id)
            .ok_or_else(|| SlotError::UnknownGame(game_id.to_owned()))
    }

    /// The public configuration of a game.
    pub fn public_config(&self, game_id: &str) -> Result<Value, SlotError> {
        Ok(catalog::public_config(self.served(game_id)?, &self.inner.bets))
    }

    /// Opens a game session and tells the client everything it needs to start.
    pub async fn init(&self, player: Player, request: InitRequest) -> Result<InitAnswer, SlotError> {
        let game = self.served(&request.game_id)?;
        check_text("platform", &request.platform, PLATFORM_LENGTH_MAX)?;
        check_text("locale", &request.locale, LOCALE_LENGTH_MAX)?;
        let version = ClientVersion::parse(&request.client_version).ok_or_else(|| {
            SlotError::InvalidRequest("client_version must be dotted numbers such as 1.2.0".to_owned())
        })?;
        if self.inner.catalog.is_disabled(&request.game_id) {
            return Err(SlotError::GameDisabled(request.game_id));
        }
        if version < self.inner.client_version_min {
            return Err(SlotError::ClientVersionTooOld {
                min: self.inner.settings.client_version_min.clone(),
            });
        }
        let id = Uuid::now_v7();
        let expires_at = chrono::Utc::now() + chrono::Duration::seconds(self.inner.settings.session_ttl_s as i64);
        let session = NewSession {
            id,
            player_id: player.player_id,
            account_id: player.account.0,
            game_id: &request.game_id,
            platform: &request.platform,
            locale: &request.locale,
            client_version: &request.client_version,
            expires_at,
        };
        store::insert_session(&self.inner.pool, &session).await?;
        let balance = self.balance(player.account).await?;
        let unfinished = store::unfinished(&self.inner.pool, player.player_id, &request.game_id).await?;
        Ok(InitAnswer {
            session_id: id,
            expires_at,
            game: catalog::public_config(game, &self.inner.bets),
            balance,
            unfinished_round: unfinished.map(|round| view::step_answer(&round, balance, true)),
        })
    }

    /// The player's session, if it is theirs, open and unexpired, for `game_id` when given.
    pub async fn session(
        &self,
        player: Uuid,
        session_id: Uuid,
        game_id: Option<&str>,
    ) -> Result<SessionRow, SlotError> {
        let session = store::find_session(&self.inner.pool, session_id)
            .await?
            .filter(|session| session.player_id == player)
            .ok_or(SlotError::SessionNotFound)?;
        check_session(&session, game_id)?;
        Ok(session)
    }

    /// A paid round: checks it, decides it from the next nonce, stores it, takes the stake and shows
    /// its first step. A retry with the same key returns the same round.
    pub async fn spin(&self, player: Player, request: SpinRequest, client_key: &str) -> Result<StepAnswer, SlotError> {
        let started = std::time::Instant::now();
        let mode_label = request.mode.clone().unwrap_or_else(|| "base".to_owned());
        let game_label = match self.inner.catalog.game(&request.game_id) {
            Some(_) => request.game_id.clone(),
            None => "unknown".to_owned(),
        };
        let answer = self.spin_measured(player, request, client_key).await;
        let result = if answer.is_ok() { "ok" } else { "error" };
        let mode_label = if game_label == "unknown" {
            "unknown".to_owned()
        } else {
            mode_label
        };
        metrics::histogram!("slot_spin_seconds", "game" => game_label.clone(), "mode" => mode_label.clone())
            .record(started.elapsed().as_secs_f64());
        metrics::counter!("slot_spins_total", "game" => game_label, "mode" => mode_label, "result" => result)
            .increment(1);
        answer
    }

    async fn spin_measured(
        &self,
        player: Player,
        request: SpinRequest,
        client_key: &str,
    ) -> Result<StepAnswer, SlotError> {
        let game = self.served(&request.game_id)?.clone();
        if self.inner.catalog.is_disabled(&request.game_id) {
            return Err(SlotError::GameDisabled(request.game_id));
        }
        let definition = &game.definition;
        let mode = match &request.mode {
            None => definition
                .modes()
                .first()
                .ok_or_else(|| SlotError::Corrupt("a game without modes".into()))?,
            Some(name) => definition
                .mode(name)
                .ok_or_else(|| SlotError::InvalidMode(format!("{} has no mode {name:?}", request.game_id)))?,
        };
        self.check_bet(definition, request.bet_micros, request.lines)?;
        let stake = mode
            .stake_micros(request.bet_micros)
            .filter(|stake| Amount::parse(*stake).is_ok())
            .ok_or_else(|| SlotError::InvalidBet("the stake of this bet and mode is out of range".into()))?;
        let mut transaction = self.inner.pool.begin().await?;
        let session = store::find_session(&mut *transaction, request.session_id)
            .await?
            .filter(|session| session.player_id == player.player_id)
            .ok_or(SlotError::SessionNotFound)?;
        let seed = seeds::lock_active(&mut transaction, player.player_id).await?;
        let (retried, unfinished) =
            store::spin_precedents(&mut *transaction, player.player_id, client_key, &request.game_id).await?;
        if let Some(first) = retried {
            transaction.rollback().await?;
            let same = first.game_id == request.game_id
                && first.session_id == request.session_id
                && first.bet_micros == request.bet_micros
                && first.mode == mode.name();
            if !same {
                return Err(SlotError::IdempotencyConflict);
            }
            return self.finish(first, true).await;
        }
        check_session(&session, Some(&request.game_id))?;
        if unfinished.is_some() {
            return Err(SlotError::RoundInProgress(request.game_id));
        }
        let input = seed.input();
        let draws = &mut FairDraws::new(input.server_seed, input.client_seed, input.nonce);
        let round = play_round(definition, mode, draws);
        let steps = split_steps(&round.events);
        let steps_json = serde_json::to_value(&steps).map_err(|error| SlotError::Corrupt(error.to_string()))?;
        let win_centibet = round.summary.win_centibet;
        let id = Uuid::now_v7();
        let hash = events_hash(&round.events);
        let new_round = NewRound {
            id,
            session_id: session.id,
            player_id: player.player_id,
            account_id: player.account.0,
            game_id: &request.game_id,
            math_version: definition.math_version(),
            mode: mode.name(),
            client_spin_id: client_key,
            seed_id: seed.id,
            nonce: seed.next_nonce,
            bet_micros: request.bet_micros,
            stake_micros: stake,
            steps: &steps_json,
            step_count: steps.len() as i32,
            revealed_steps: match request.reveal {
                Reveal::ByStep => 1,
                Reveal::Whole => steps.len() as i32,
            },
            reveal: request.reveal,
            events_hash: &hash,
            win_centibet: i64::try_from(win_centibet).unwrap_or(i64::MAX),
            payout_micros: payout_micros(request.bet_micros, win_centibet),
            created_at: chrono::Utc::now(),
        };
        store::insert_round(&mut transaction, &new_round).await?;
        transaction.commit().await?;
        let (step_count, revealed_steps, win_centibet, payout, created_at) = (
            new_round.step_count,
            new_round.revealed_steps,
            new_round.win_centibet,
            new_round.payout_micros,
            new_round.created_at,
        );
        let row = RoundRow {
            id,
            session_id: session.id,
            player_id: player.player_id,
            account_id: player.account.0,
            game_id: request.game_id.clone(),
            math_version: definition.math_version().to_owned(),
            mode: mode.name().to_owned(),
            client_spin_id: client_key.to_owned(),
            seed_id: seed.id,
            nonce: seed.next_nonce,
            bet_micros: request.bet_micros,
            stake_micros: stake,
            steps: steps_json,
            step_count,
            revealed_steps,
            events_hash: hash,
            win_centibet,
            payout_micros: payout,
            reveal: request.reveal,
            status: RoundStatus::Pending,
            ended_by: None,
            end_client_key: None,
            created_at,
            settled_at: None,
            server_seed_hash: seed.server_seed_hash.clone(),
            client_seed: seed.client_seed.clone(),
            revealed_server_seed: None,
        };
        self.finish(row, false).await
    }

    fn check_bet(
        &self,
        definition: &crate::games::slots::Definition,
        bet: i64,
        lines: Option<u32>,
    ) -> Result<(), SlotError> {
        let levels = &self.inner.bets.levels;
        if !levels.contains(&bet) {
            return Err(SlotError::InvalidBet(format!(
                "bet.amount must be one of the bet levels {levels:?} (micro-units)"
            )));
        }
        if let Some(lines) = lines {
            let fixed = match definition.evaluation() {
                crate::games::slots::definition::Evaluation::Lines(paylines) => Some(paylines.lines().len() as u32),
                crate::games::slots::definition::Evaluation::Ways => None,
            };
            if fixed != Some(lines) {
                let message = match fixed {
                    Some(count) => format!("this game plays all {count} lines: bet.lines must be {count} or absent"),
                    None => "this game pays ways, not lines: leave bet.lines out".to_owned(),
                };
                return Err(SlotError::InvalidBet(message));
            }
        }
        Ok(())
    }

    /// Reveals the next step of an open round (a free spin). A retry with the same key answers the step
    /// that key revealed; the last step ends the round and credits its win.
    pub async fn reveal_next(
        &self,
        player: Player,
        session_id: Uuid,
        game_id: &str,
        round_id: Uuid,
        client_key: &str,
    ) -> Result<StepAnswer, SlotError> {
        self.served(game_id)?;
        let mut transaction = self.inner.pool.begin().await?;
        let round = store::lock_round(&mut transaction, round_id, player.player_id)
            .await?
            .filter(|round| round.game_id == game_id)
            .ok_or(SlotError::RoundNotFound)?;
        if let Some(step) = store::revealed_by(&mut transaction, round_id, client_key).await? {
            transaction.rollback().await?;
            let balance = self.balance(player.account).await?;
            return Ok(view::step_answer_at(&round, step as usize, balance, true));
        }
        let session = store::find_session(&mut *transaction, session_id)
            .await?
            .filter(|session| session.player_id == player.player_id)
            .ok_or(SlotError::SessionNotFound)?;
        check_session(&session, Some(game_id))?;
        match round.status {
            RoundStatus::Open => {}
            RoundStatus::Pending => return Err(SlotError::RoundPending),
            _ => return Err(SlotError::RoundFinished),
        }
        if round.revealed_steps >= round.step_count {
            return Err(SlotError::InvalidRequest(
                "every step of this round is shown: end it with round/end".to_owned(),
            ));
        }
        let step = round.revealed_steps;
        debug_assert!(step < round.step_count, "an open round has steps to reveal");
        let status = store::reveal(&mut transaction, &round, step, client_key).await?;
        transaction.commit().await?;
        let mut round = round;
        round.revealed_steps = step + 1;
        round.status = status;
        if status.is_ended() {
            round.ended_by = Some("last_step".to_owned());
        }
        self.finish(round, false).await
    }

    /// Ends the player's open round of the session's game: reveals the rest and credits the win once.
    pub async fn end_round(
        &self,
        player: Player,
        session_id: Uuid,
        game_id: &str,
        client_key: &str,
    ) -> Result<StepAnswer, SlotError> {
        self.served(game_id)?;
        if let Some(round) = store::find_by_end_key(&self.inner.pool, player.player_id, game_id, client_key).await? {
            return self.finish(round, true).await;
        }
        self.session(player.player_id, session_id, Some(game_id)).await?;
        let round = store::unfinished(&self.inner.pool, player.player_id, game_id)
            .await?
            .ok_or(SlotError::NoRoundInProgress)?;
        match round.status {
            RoundStatus::Open => {
                if !store::end_open_round(&self.inner.pool, &round, "player", Some(client_key)).await? {
                    let round = self.reload(&round).await?;
                    return self.finish(round, true).await;
                }
                let round = self.reload(&round).await?;
                self.finish(round, false).await
            }
            RoundStatus::Pending => Err(SlotError::RoundPending),
            _ => self.finish(round, true).await,
        }
    }

    /// A round of the player's, for recall.
    pub async fn round(&self, player: Uuid, round_id: Uuid) -> Result<RoundRow, SlotError> {
        store::find_round(&self.inner.pool, round_id)
            .await?
            .filter(|round| round.player_id == player)
            .ok_or(SlotError::RoundNotFound)
    }

    /// The player's latest rounds (of one game when given), newest first, from the reader pool.
    pub async fn rounds(&self, player: Uuid, game_id: Option<&str>, limit: u32) -> Result<Vec<RoundRow>, SlotError> {
        Ok(store::player_rounds(&self.inner.reader, player, game_id, limit.min(RECALL_LIST_MAX)).await?)
    }

    /// Verifies one of the player's rounds from its revealed seed pair.
    pub async fn verify(&self, player: Uuid, round_id: Uuid) -> Result<verify::RoundVerdict, SlotError> {
        let round = self.round(player, round_id).await?;
        verify::verify_round(&self.inner.catalog, &self.inner.pool, &round).await
    }

    /// The player's unfinished round of a game, if any.
    pub async fn unfinished(&self, player: Uuid, game_id: &str) -> Result<Option<RoundRow>, SlotError> {
        Ok(store::unfinished(&self.inner.pool, player, game_id).await?)
    }

    pub async fn balance(&self, account: AccountId) -> Result<i64, SlotError> {
        Ok(crate::wallet::history::balance(&self.inner.pool, account)
            .await?
            .map_or(0, |balance| balance.micros()))
    }

    async fn reload(&self, round: &RoundRow) -> Result<RoundRow, SlotError> {
        store::find_round(&self.inner.pool, round.id)
            .await?
            .ok_or(SlotError::RoundNotFound)
    }

    /// Drives a round to where it rests and answers with its last revealed step.
    async fn finish(&self, round: RoundRow, replayed: bool) -> Result<StepAnswer, SlotError> {
        let (round, balance) = advance(&self.inner.pool, &self.inner.wallet, round).await?;
        // Only the call that ended the round announces it, not a retry.
        if !replayed {
            announce_bonus_completed(&self.inner.push, &round);
        }
        let balance = match balance {
            Some(balance) => balance,
            None => self.balance(AccountId(round.account_id)).await?,
        };
        Ok(view::step_answer(&round, balance, replayed))
    }
}

fn check_text(field: &str, text: &str, length_max: usize) -> Result<(), SlotError> {
    let printable = text.bytes().all(|byte| (0x20..=0x7e).contains(&byte));
    if text.is_empty() || text.len() > length_max || !printable {
        return Err(SlotError::InvalidRequest(format!(
            "{field} must be 1 to {length_max} printable ASCII characters"
        )));
    }
    Ok(())
}

fn check_session(session: &SessionRow, game_id: Option<&str>) -> Result<(), SlotError> {
    if session.closed_at.is_some() {
        return Err(SlotError::SessionClosed);
    }
    if session.expires_at <= chrono::Utc::now() {
        return Err(SlotError::SessionExpired);
    }
    if let Some(game_id) = game_id {
        if session.game_id != game_id {
            return Err(SlotError::SessionGameMismatch(session.game_id.clone()));
        }
    }
    Ok(())
}

/// How often the sweeps run, from the settings of the per-player games and the slots.
#[derive(Debug, Clone, Copy)]
pub struct SweepSettings {
    pub interval: Duration,
    pub unsettled_age: Duration,
    pub batch_max: u32,
    pub abandoned_after: Duration,
    pub abandoned_batch_max: u32,
}
