//! The seamless-wallet rules, as one pure function over the state a batch loaded: given a provider's call
//! and what the journal, the round, the session and the player's balance say, decide the answer and what
//! to write. No I/O here: the journal module loads a [`BatchState`], runs [`decide`] for each call in
//! arrival order (each decision sees the ones before it) and writes what changed in one transaction.
//! The rules are those of `../shared/reference/seamless-wallet.md`; each branch names the one it keeps.

use super::model::{Answer, Operation, Status, WalletCall};
use crate::catalog::CatalogGame;
use crate::wallet::guard::{self, PlayerGuard};
use crate::wallet::ledger::{AccountId, RejectionCode};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// A player as a batch locked them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerState {
    pub id: Uuid,
    pub account: AccountId,
    pub username: String,
    pub registered_at: DateTime<Utc>,
    pub currency: String,
    pub balance_micros: i64,
    pub disabled: bool,
    pub self_excluded_until: Option<DateTime<Utc>>,
    /// The player's responsible-gaming guard, when they have one: their bets are checked against it and
    /// their bets, wins and rollbacks counted into it.
    pub guard: Option<PlayerGuard>,
}

impl PlayerState {
    fn may_bet(&self, now: DateTime<Utc>) -> bool {
        !self.disabled && self.self_excluded_until.is_none_or(|until| until <= now)
    }
}

/// A launched game session, found by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub player_id: Uuid,
    pub provider_id: String,
    pub game_id: i64,
    pub open: bool,
    pub expires_at: DateTime<Utc>,
}

/// A journal row's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryStatus {
    Ok,
    Refused,
    /// A bet that a rollback took back.
    RolledBack,
    /// A bet id a rollback named before the bet arrived.
    RolledBackUnseen,
}

impl EntryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Ok => "ok",
            EntryStatus::Refused => "refused",
            EntryStatus::RolledBack => "rolled_back",
            EntryStatus::RolledBackUnseen => "rolled_back_unseen",
        }
    }

    pub fn parse(text: &str) -> Option<EntryStatus> {
        [
            EntryStatus::Ok,
            EntryStatus::Refused,
            EntryStatus::RolledBack,
            EntryStatus::RolledBackUnseen,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// One provider transaction in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub provider_id: String,
    pub transaction_id: String,
    pub kind: Operation,
    pub player_id: Uuid,
    pub game_id: Option<i64>,
    pub round_id: Option<String>,
    pub reference_id: Option<String>,
    pub amount_micros: Option<i64>,
    pub currency: String,
    pub free: bool,
    /// `None` only for `RolledBackUnseen` markers, which no request made.
    pub request_hash: Option<String>,
    pub status: EntryStatus,
    /// The status the call was answered with.
    pub answered: Status,
    pub balance_before: Option<i64>,
    pub balance_after: Option<i64>,
    pub ledger_transfer_id: Option<Uuid>,
    /// The answer as first sent, in the provider's protocol.
    pub answer: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// One player's part of one provider round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundState {
    pub game_id: i64,
    pub live_bets: i32,
    pub bets: i32,
    pub wins: i32,
    pub staked_micros: i64,
    pub won_micros: i64,
    pub closed: bool,
    pub opened_at: DateTime<Utc>,
    pub last_call_at: DateTime<Utc>,
}

impl RoundState {
    fn new(game_id: i64, now: DateTime<Utc>) -> RoundState {
        RoundState {
            game_id,
            live_bets: 0,
            bets: 0,
            wins: 0,
            staked_micros: 0,
            won_micros: 0,
            closed: false,
            opened_at: now,
            last_call_at: now,
        }
    }

    /// A round counts for RTP while it has a bet standing or a win paid.
    fn counts(&self) -> bool {
        self.live_bets > 0 || self.wins > 0
    }
}

/// A money movement a decision asks for: between the player and the provider's house account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub transfer_id: Uuid,
    pub provider_id: String,
    pub transaction_id: String,
    pub player: AccountId,
    /// Positive: the house pays the player; negative: the player pays the house.
    pub player_delta_micros: i64,
    pub kind: Operation,
    pub player_balance_after: i64,
    pub at: DateTime<Utc>,
}

/// What a decision adds to a game's RTP rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpChange {
    pub game_id: i64,
    pub staked_micros: i64,
    pub won_micros: i64,
    pub rounds: i64,
}

/// Round keys: (provider, round id, player).
pub type RoundKey = (String, String, Uuid);
/// Journal keys: (provider, transaction id).
pub type JournalKey = (String, String);

/// Everything a batch loaded, changed in place as its calls are decided in order, plus what to write.
#[derive(Debug, Default)]
pub struct BatchState {
    pub players: BTreeMap<Uuid, PlayerState>,
    pub sessions: BTreeMap<String, SessionState>,
    /// Catalog games by (provider, code).
    pub games: BTreeMap<(String, String), CatalogGame>,
    pub journal: BTreeMap<JournalKey, JournalEntry>,
    pub rounds: BTreeMap<RoundKey, RoundState>,
    /// Journal rows this batch inserted (new) or changed (existing), by key.
    pub journal_inserted: BTreeSet<JournalKey>,
    pub journal_updated: BTreeSet<JournalKey>,
    pub rounds_changed: BTreeSet<RoundKey>,
    pub movements: Vec<Movement>,
    pub rtp: Vec<RtpChange>,
    /// Players whose guard usage this batch changed: the journal writes them back.
    pub guards_changed: BTreeSet<Uuid>,
}

/// The call plus who made it.
pub struct Context<'a> {
    pub provider_id: &'a str,
    /// The currencies the provider may use.
    pub currencies: &'a [String],
    pub now: DateTime<Utc>,
}

/// What the caller must do with a decided call: answer it, and (for a new journal row) store the
/// rendered answer in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub answer: Answer,
    /// The journal row this decision inserted, whose `answer` the caller fills once rendered.
    pub journaled: Option<JournalKey>,
}

/// The hex SHA-256 of the fields that identify a money call: a retry must repeat them exactly. The
/// request id and the token are left out (a provider's retry may carry new ones).
pub fn request_hash(call: &WalletCall) -> String {
    let fields = serde_json::json!([
        call.operation.as_str(),
        call.player,
        call.game_code,
        call.round_id,
        call.reference_id,
        call.amount_micros,
        call.currency,
        call.free,
    ]);
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

/// Decides one call against `state` and records its effects there.
pub fn decide(state: &mut BatchState, context: &Context<'_>, call: &WalletCall) -> Decision {
    match call.operation {
        Operation::UserInfo | Operation::Balance => read_only(state, call),
        Operation::EndRound => end_round(state, context, call),
        Operation::Bet | Operation::Win | Operation::Rollback => money_call(state, context, call),
    }
}

fn read_only(state: &BatchState, call: &WalletCall) -> Decision {
    let Some(player) = find_player(state, call) else {
        return unjournaled(Answer::refused(Status::UnknownPlayer, Some(call), "no such player"));
    };
    let mut answer = answer_for(call, player, Status::Ok, "");
    if call.operation == Operation::UserInfo {
        answer.info = Some(super::model::PlayerInfo {
            player_id: player.id,
            username: player.username.clone(),
            registered_at: player.registered_at,
        });
    }
    unjournaled(answer)
}

/// Closes the player's round; a repeated end answers success.
fn end_round(state: &mut BatchState, context: &Context<'_>, call: &WalletCall) -> Decision {
    let Some(player) = find_player(state, call).cloned() else {
        return unjournaled(Answer::refused(Status::UnknownPlayer, Some(call), "no such player"));
    };
    if let Some(round_id) = &call.round_id {
        let key = (context.provider_id.to_owned(), round_id.clone(), player.id);
        if let Some(round) = state.rounds.get_mut(&key) {
            if !round.closed {
                round.closed = true;
                round.last_call_at = context.now;
                state.rounds_changed.insert(key);
            }
        }
    }
    unjournaled(answer_for(call, &player, Status::Ok, ""))
}

fn money_call(state: &mut BatchState, context: &Context<'_>, call: &WalletCall) -> Decision {
    let transaction_id = call
        .transaction_id
        .clone()
        .expect("the adapters refuse a money call without a transaction id");
    let key = (context.provider_id.to_owned(), transaction_id);
    let hash = request_hash(call);
    if let Some(existing) = state.journal.get(&key) {
        return repeat(state, call, existing, &hash);
    }
    let Some(player) = find_player(state, call).cloned() else {
        // Not journaled: the journal names a player, and this one does not exist.
        return unjournaled(Answer::refused(Status::UnknownPlayer, Some(call), "no such player"));
    };
    let verdict = match call.operation {
        Operation::Bet => bet(state, context, call, &player),
        Operation::Win => win(state, context, call, &player),
        Operation::Rollback => rollback(state, context, call, &player),
        _ => unreachable!("only money calls reach here"),
    };
    record(state, context, call, key, hash, &player, verdict)
}

/// A transaction id seen before: an exact retry gets the first answer, anything else is a duplicate.
fn repeat(state: &BatchState, call: &WalletCall, existing: &JournalEntry, hash: &str) -> Decision {
    let balance = find_player(state, call).map(|player| player.balance_micros);
    if existing.status == EntryStatus::RolledBackUnseen {
        // A rollback named this id before the bet arrived: the bet is refused, never debited.
        let status = if call.operation == Operation::Bet && existing.player_id.to_string() == call.player {
            Status::TransactionRolledBack
        } else {
            Status::DuplicateTransaction
        };
        let mut answer = Answer::refused(
            status,
            Some(call),
            "this transaction id was rolled back before it arrived",
        );
        answer.balance_micros = balance;
        return unjournaled(answer);
    }
    if existing.request_hash.as_deref() != Some(hash) {
        let mut answer = Answer::refused(
            Status::DuplicateTransaction,
            Some(call),
            "this transaction id was already used for a different call",
        );
        answer.balance_micros = balance;
        return unjournaled(answer);
    }
    let balance_then = if existing.answered == Status::Ok {
        existing.balance_after
    } else {
        existing.balance_before
    };
    let answer = Answer {
        status: existing.answered,
        player: call.player.clone(),
        currency: Some(existing.currency.clone()),
        balance_micros: balance_then,
        transaction_id: call.transaction_id.clone(),
        ledger_transfer_id: existing.ledger_transfer_id,
        replayed: true,
        message: "a retry of an earlier call: its first answer".into(),
        info: None,
    };
    unjournaled(answer)
}

/// The outcome of a money call's rules, before it is recorded.
struct Verdict {
    status: Status,
    message: &'static str,
    game_id: Option<i64>,
    /// What the player's balance changes by (0 when nothing moves).
    delta_micros: i64,
    /// Applied to the round (created if needed) when the call succeeds.
    round_change: Option<RoundChange>,
    /// A bet this call rolls back, or a bet id it marks as rolled back before it arrived.
    rolls_back: Option<RollbackTarget>,
}

#[derive(Clone, Copy)]
enum RoundChange {
    Bet { amount: i64 },
    Win { amount: i64 },
    Rollback { amount: i64 },
}

enum RollbackTarget {
    Seen(JournalKey),
    Unseen(String),
}

impl Verdict {
    fn refuse(status: Status, message: &'static str, game_id: Option<i64>) -> Verdict {
        Verdict {
            status,
            message,
            game_id,
            delta_micros: 0,
            round_change: None,
            rolls_back: None,
        }
    }
}

fn bet(state: &BatchState, context: &Context<'_>, call: &WalletCall, player: &PlayerState) -> Verdict {
    let amount = call.amount_micros.expect("the adapters refuse a bet without an amount");
    let Some(game) = game_of(state, context, call).filter(|game| game.active) else {
        return Verdict::refuse(Status::InvalidGame, "the game is unknown or disabled", None);
    };
    let game_id = Some(game.id);
    if let Some(refusal) = currency_refusal(context, call, player) {
        return Verdict::refuse(refusal, "the currency is not the player's wallet currency", game_id);
    }
    // Token expiry is enforced for bets, never for wins and rollbacks.
    let session = call.token.as_ref().and_then(|token| state.sessions.get(token));
    let Some(session) =
        session.filter(|session| session.player_id == player.id && session.provider_id == context.provider_id)
    else {
        return Verdict::refuse(
            Status::InvalidToken,
            "the session token is unknown or not this player's",
            game_id,
        );
    };
    if !session.open || session.expires_at <= context.now {
        return Verdict::refuse(Status::TokenExpired, "the game session has expired", game_id);
    }
    if !player.may_bet(context.now) {
        return Verdict::refuse(Status::UserDisabled, "the player is disabled or self-excluded", game_id);
    }
    if let Some(refusal) = guard_refusal(player, amount, context.now) {
        return Verdict::refuse(refusal, "a limit the player set would be exceeded", game_id);
    }
    if amount < game.bet_min_micros || amount > game.bet_max_micros {
        return Verdict::refuse(
            Status::BetLimitExceeded,
            "the bet is outside the game's limits",
            game_id,
        );
    }
    if round_of(state, context, call, player).is_some_and(|round| round.closed) {
        return Verdict::refuse(Status::RoundClosed, "the round is closed", game_id);
    }
    if player.balance_micros < amount {
        return Verdict::refuse(Status::NotEnoughMoney, "not enough money", game_id);
    }
    Verdict {
        status: Status::Ok,
        message: "",
        game_id,
        delta_micros: -amount,
        round_change: Some(RoundChange::Bet { amount }),
        rolls_back: None,
    }
}

fn win(state: &BatchState, context: &Context<'_>, call: &WalletCall, player: &PlayerState) -> Verdict {
    let amount = call.amount_micros.expect("the adapters refuse a win without an amount");
    let round = round_of(state, context, call, player);
    let bet = reference_of(state, context, call);
    // A win for a game disabled since its bet is still paid: only an unknown game is refused.
    let game_id = match (game_of(state, context, call), &call.game_code) {
        (Some(game), _) => Some(game.id),
        (None, Some(_)) => return Verdict::refuse(Status::InvalidGame, "the game is unknown", None),
        (None, None) => round.map(|round| round.game_id).or(bet.and_then(|bet| bet.game_id)),
    };
    if let Some(refusal) = currency_refusal(context, call, player) {
        return Verdict::refuse(refusal, "the currency is not the player's wallet currency", game_id);
    }
    if let Some(bet) = bet {
        if bet.kind != Operation::Bet || bet.player_id != player.id {
            return Verdict::refuse(
                Status::TransactionDoesNotExist,
                "the referenced bet does not exist",
                game_id,
            );
        }
        match bet.status {
            EntryStatus::RolledBack | EntryStatus::RolledBackUnseen => {
                return Verdict::refuse(Status::TransactionRolledBack, "the bet was rolled back", game_id)
            }
            EntryStatus::Refused if !call.free => {
                return Verdict::refuse(
                    Status::TransactionDoesNotExist,
                    "the referenced bet was refused",
                    game_id,
                )
            }
            _ => {}
        }
    } else if call.reference_id.is_some() && !call.free {
        // A credit naming a bet we never saw is refused, even where the round holds other bets.
        return Verdict::refuse(
            Status::TransactionDoesNotExist,
            "the referenced bet does not exist",
            game_id,
        );
    } else if !call.free {
        match round {
            Some(round) if round.live_bets > 0 => {}
            Some(round) if round.bets > 0 => {
                return Verdict::refuse(
                    Status::TransactionRolledBack,
                    "every bet of the round was rolled back",
                    game_id,
                )
            }
            _ => return Verdict::refuse(Status::TransactionDoesNotExist, "the round has no bet", game_id),
        }
    }
    let Some(game_id) = game_id else {
        // A free round or promotion naming neither a game nor a known round: nothing to count it under.
        return Verdict::refuse(Status::InvalidGame, "a win without a bet must name its game", None);
    };
    if player.balance_micros.checked_add(amount).is_none() {
        return Verdict::refuse(Status::Unknown, "the balance would overflow", Some(game_id));
    }
    Verdict {
        status: Status::Ok,
        message: "",
        game_id: Some(game_id),
        delta_micros: amount,
        round_change: Some(RoundChange::Win { amount }),
        rolls_back: None,
    }
}

fn rollback(state: &BatchState, context: &Context<'_>, call: &WalletCall, player: &PlayerState) -> Verdict {
    let bet_id = call
        .reference_id
        .clone()
        .expect("the adapters refuse a rollback without the bet it names");
    let game_id = game_of(state, context, call).map(|game| game.id);
    let Some(bet) = reference_of(state, context, call) else {
        // Rollback of a bet never seen: success, and the id is remembered so the bet is refused later.
        return Verdict {
            status: Status::Ok,
            message: "",
            game_id,
            delta_micros: 0,
            round_change: None,
            rolls_back: Some(RollbackTarget::Unseen(bet_id)),
        };
    };
    if bet.kind != Operation::Bet || bet.player_id != player.id {
        return Verdict::refuse(
            Status::TransactionDoesNotExist,
            "the referenced bet does not exist",
            game_id,
        );
    }
    let game_id = bet.game_id.or(game_id);
    match bet.status {
        // Already rolled back (by another rollback id), or refused (it never took money): nothing to return.
        EntryStatus::RolledBack | EntryStatus::RolledBackUnseen | EntryStatus::Refused => {
            return Verdict::refuse(Status::Ok, "", game_id)
        }
        EntryStatus::Ok => {}
    }
    let bet_round = bet.round_id.as_ref().and_then(|round_id| {
        state
            .rounds
            .get(&(context.provider_id.to_owned(), round_id.clone(), player.id))
    });
    if bet_round.is_some_and(|round| round.wins > 0) {
        return Verdict::refuse(
            Status::BetAlreadySettled,
            "the bet was already settled by a win",
            game_id,
        );
    }
    let amount = bet.amount_micros.unwrap_or(0);
    if player.balance_micros.checked_add(amount).is_none() {
        return Verdict::refuse(Status::Unknown, "the balance would overflow", game_id);
    }
    Verdict {
        status: Status::Ok,
        message: "",
        game_id,
        delta_micros: amount,
        round_change: Some(RoundChange::Rollback { amount }),
        rolls_back: Some(RollbackTarget::Seen((
            context.provider_id.to_owned(),
            bet.transaction_id.clone(),
        ))),
    }
}

/// Applies a verdict to the state: the journal row, the balance, the round, the rolled-back bet.
fn record(
    state: &mut BatchState,
    context: &Context<'_>,
    call: &WalletCall,
    key: JournalKey,
    hash: String,
    player: &PlayerState,
    verdict: Verdict,
) -> Decision {
    let now = context.now;
    let journal_amount = journal_amount(call, &verdict);
    let balance_before = player.balance_micros;
    let ok = verdict.status == Status::Ok;
    let balance_after = balance_before + if ok { verdict.delta_micros } else { 0 };
    let mut transfer_id = None;
    if ok && verdict.delta_micros != 0 {
        let id = Uuid::now_v7();
        transfer_id = Some(id);
        state.movements.push(Movement {
            transfer_id: id,
            provider_id: context.provider_id.to_owned(),
            transaction_id: key.1.clone(),
            player: player.account,
            player_delta_micros: verdict.delta_micros,
            kind: call.operation,
            player_balance_after: balance_after,
            at: now,
        });
        let stored = state
            .players
            .get_mut(&player.id)
            .expect("the player was found in this state");
        stored.balance_micros = balance_after;
        if let Some(guard) = stored.guard.as_mut() {
            let movement = match call.operation {
                Operation::Bet => guard::Movement::Stake,
                _ => guard::Movement::Payout,
            };
            guard::apply(guard, movement, verdict.delta_micros.abs(), now);
            state.guards_changed.insert(player.id);
        }
    }
    // A rollback belongs to its bet's round; a win that names only its bet, too.
    let bet_round = reference_of(state, context, call).and_then(|bet| bet.round_id.clone());
    let round_id = match call.operation {
        Operation::Rollback => bet_round.or_else(|| call.round_id.clone()),
        _ => call.round_id.clone().or(bet_round),
    };
    if ok {
        if let (Some(change), Some(round_id), Some(game_id)) = (verdict.round_change, &round_id, verdict.game_id) {
            apply_round_change(state, context, call, (round_id.clone(), player.id), game_id, change);
        }
        match verdict.rolls_back {
            Some(RollbackTarget::Seen(bet_key)) => {
                let bet = state
                    .journal
                    .get_mut(&bet_key)
                    .expect("the rolled-back bet is in this state");
                bet.status = EntryStatus::RolledBack;
                if !state.journal_inserted.contains(&bet_key) {
                    state.journal_updated.insert(bet_key);
                }
            }
            Some(RollbackTarget::Unseen(bet_id)) => {
                let marker = JournalEntry {
                    provider_id: context.provider_id.to_owned(),
                    transaction_id: bet_id.clone(),
                    kind: Operation::Bet,
                    player_id: player.id,
                    game_id: verdict.game_id,
                    round_id: round_id.clone(),
                    reference_id: None,
                    amount_micros: None,
                    currency: player.currency.clone(),
                    free: false,
                    request_hash: None,
                    status: EntryStatus::RolledBackUnseen,
                    answered: Status::TransactionRolledBack,
                    balance_before: None,
                    balance_after: None,
                    ledger_transfer_id: None,
                    answer: None,
                    created_at: now,
                };
                let marker_key = (context.provider_id.to_owned(), bet_id);
                state.journal.insert(marker_key.clone(), marker);
                state.journal_inserted.insert(marker_key);
            }
            None => {}
        }
    }
    let entry = JournalEntry {
        provider_id: context.provider_id.to_owned(),
        transaction_id: key.1.clone(),
        kind: call.operation,
        player_id: player.id,
        game_id: verdict.game_id,
        round_id,
        reference_id: call.reference_id.clone(),
        amount_micros: journal_amount,
        currency: call.currency.clone().unwrap_or_else(|| player.currency.clone()),
        free: call.free,
        request_hash: Some(hash),
        status: if ok { EntryStatus::Ok } else { EntryStatus::Refused },
        answered: verdict.status,
        balance_before: Some(balance_before),
        balance_after: Some(balance_after),
        ledger_transfer_id: transfer_id,
        answer: None,
        created_at: now,
    };
    state.journal.insert(key.clone(), entry);
    state.journal_inserted.insert(key.clone());
    let mut answer = answer_for(call, &state.players[&player.id], verdict.status, verdict.message);
    answer.ledger_transfer_id = transfer_id;
    Decision {
        answer,
        journaled: Some(key),
    }
}

/// The status a bet gets when the player's guard refuses it (blocked and self-excluded players were
/// refused before, from their `players` row).
fn guard_refusal(player: &PlayerState, amount: i64, now: DateTime<Utc>) -> Option<Status> {
    let guard = player.guard.as_ref()?;
    match guard::check(guard, guard::Movement::Stake, amount, now) {
        Ok(()) => None,
        Err(RejectionCode::PlayerBlocked | RejectionCode::SelfExcluded) => Some(Status::UserDisabled),
        Err(_) => Some(Status::PlayerLimitReached),
    }
}

/// A rollback is journaled with the amount it returned; other calls with the amount they named.
fn journal_amount(call: &WalletCall, verdict: &Verdict) -> Option<i64> {
    match (call.operation, verdict.round_change) {
        (Operation::Rollback, Some(RoundChange::Rollback { amount })) => Some(amount),
        (Operation::Rollback, _) => Some(0),
        _ => call.amount_micros,
    }
}

fn apply_round_change(
    state: &mut BatchState,
    context: &Context<'_>,
    call: &WalletCall,
    (round_id, player_id): (String, Uuid),
    game_id: i64,
    change: RoundChange,
) {
    let key = (context.provider_id.to_owned(), round_id, player_id);
    let round = state
        .rounds
        .entry(key.clone())
        .or_insert_with(|| RoundState::new(game_id, context.now));
    let counted_before = round.counts();
    let (staked, won) = match change {
        RoundChange::Bet { amount } => {
            round.bets += 1;
            round.live_bets += 1;
            round.staked_micros += amount;
            (amount, 0)
        }
        RoundChange::Win { amount } => {
            round.wins += 1;
            round.won_micros += amount;
            (0, amount)
        }
        RoundChange::Rollback { amount } => {
            round.live_bets -= 1;
            round.staked_micros -= amount;
            (-amount, 0)
        }
    };
    debug_assert!(round.live_bets >= 0 && round.staked_micros >= 0);
    if call.round_closed {
        round.closed = true;
    }
    round.last_call_at = context.now;
    let rounds = i64::from(round.counts()) - i64::from(counted_before);
    let game_id = round.game_id;
    state.rounds_changed.insert(key);
    state.rtp.push(RtpChange {
        game_id,
        staked_micros: staked,
        won_micros: won,
        rounds,
    });
}

fn currency_refusal(context: &Context<'_>, call: &WalletCall, player: &PlayerState) -> Option<Status> {
    let currency = call.currency.as_deref().unwrap_or(&player.currency);
    let allowed = currency == player.currency && context.currencies.iter().any(|allowed| allowed == currency);
    (!allowed).then_some(Status::WrongCurrency)
}

fn find_player<'a>(state: &'a BatchState, call: &WalletCall) -> Option<&'a PlayerState> {
    let id = Uuid::parse_str(&call.player).ok()?;
    state.players.get(&id)
}

fn game_of<'a>(state: &'a BatchState, context: &Context<'_>, call: &WalletCall) -> Option<&'a CatalogGame> {
    let code = call.game_code.as_ref()?;
    state.games.get(&(context.provider_id.to_owned(), code.clone()))
}

fn round_of<'a>(
    state: &'a BatchState,
    context: &Context<'_>,
    call: &WalletCall,
    player: &PlayerState,
) -> Option<&'a RoundState> {
    let round_id = call.round_id.as_ref()?;
    state
        .rounds
        .get(&(context.provider_id.to_owned(), round_id.clone(), player.id))
}

fn reference_of<'a>(state: &'a BatchState, context: &Context<'_>, call: &WalletCall) -> Option<&'a JournalEntry> {
    let reference = call.reference_id.as_ref()?;
    state.journal.get(&(context.provider_id.to_owned(), reference.clone()))
}

fn answer_for(call: &WalletCall, player: &PlayerState, status: Status, message: &str) -> Answer {
    Answer {
        status,
        player: call.player.clone(),
        currency: Some(player.currency.clone()),
        balance_micros: Some(player.balance_micros),
        transaction_id: call.transaction_id.clone(),
        ledger_transfer_id: None,
        replayed: false,
        message: message.to_owned(),
        info: None,
    }
}

fn unjournaled(answer: Answer) -> Decision {
    Decision {
        answer,
        journaled: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PROVIDER: &str = "studio";

    fn state(balance: i64) -> (BatchState, Uuid) {
        let player = Uuid::from_u128(7);
        let mut state = BatchState::default();
        state.players.insert(
            player,
            PlayerState {
                id: player,
                account: AccountId(1),
                username: "p".into(),
                registered_at: Utc::now(),
                currency: "USD".into(),
                balance_micros: balance,
                disabled: false,
                self_excluded_until: None,
                guard: None,
            },
        );
        state.sessions.insert(
            "token".into(),
            SessionState {
                player_id: player,
                provider_id: PROVIDER.into(),
                game_id: 1,
                open: true,
                expires_at: Utc::now() + chrono::Duration::hours(1),
            },
        );
        state.games.insert(
            (PROVIDER.into(), "game".into()),
            CatalogGame {
                id: 1,
                provider_id: PROVIDER.into(),
                code: "game".into(),
                name: "Game".into(),
                category: "slots".into(),
                rtp_bps: 9600,
                volatility: None,
                bet_min_micros: 1,
                bet_max_micros: 1_000_000,
                active: true,
            },
        );
        (state, player)
    }

    /// One call of a random sequence: operation, transaction number, round number, bet number, amount.
    fn call(player: Uuid, (operation, transaction, round, bet, amount): (u8, u8, u8, u8, i64)) -> WalletCall {
        let operation =
            [Operation::Bet, Operation::Win, Operation::Rollback, Operation::EndRound][operation as usize % 4];
        WalletCall {
            operation,
            player: player.to_string(),
            token: Some("token".into()),
            game_code: Some("game".into()),
            round_id: Some(format!("r{round}")),
            transaction_id: (operation != Operation::EndRound).then(|| format!("t{transaction}")),
            reference_id: (operation == Operation::Rollback).then(|| format!("t{bet}")),
            amount_micros: matches!(operation, Operation::Bet | Operation::Win).then_some(amount),
            currency: Some("USD".into()),
            free: false,
            round_closed: false,
            request_id: None,
        }
    }

    fn context() -> Context<'static> {
        static CURRENCIES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        Context {
            provider_id: PROVIDER,
            currencies: CURRENCIES.get_or_init(|| vec!["USD".to_owned()]),
            now: Utc::now(),
        }
    }

    proptest! {
        /// Whatever a provider sends, in whatever order: the balance never goes below zero, it always
        /// equals the opening balance plus the movements the decisions made, each transaction id moves
        /// money at most once, and sending any call again changes nothing and answers as before.
        #[test]
        fn any_call_sequence_keeps_the_money_consistent_and_retries_idempotent(
            calls in proptest::collection::vec((0u8..4, 0u8..12, 0u8..3, 0u8..12, 1i64..400), 1..60),
            opening in 0i64..2_000,
        ) {
            let (mut state, player) = state(opening);
            let context = context();
            let mut answers = Vec::new();
            for raw in &calls {
                let call = call(player, *raw);
                let decision = decide(&mut state, &context, &call);
                let balance = state.players[&player].balance_micros;
                prop_assert!(balance >= 0);
                answers.push((call, decision.answer.status, balance));
            }
            let moved: i64 = state.movements.iter().map(|movement| movement.player_delta_micros).sum();
            prop_assert_eq!(state.players[&player].balance_micros, opening + moved);
            let mut moved_ids = std::collections::BTreeSet::new();
            for movement in &state.movements {
                prop_assert!(moved_ids.insert(movement.transaction_id.clone()), "one id moved money twice");
            }
            let before = state.players[&player].balance_micros;
            let movements = state.movements.len();
            for (call, status, _) in &answers {
                if call.operation == Operation::EndRound {
                    continue;
                }
                let again = decide(&mut state, &context, call);
                prop_assert_eq!(again.answer.status, *status, "a retry answers as the first time");
            }
            prop_assert_eq!(state.players[&player].balance_micros, before);
            prop_assert_eq!(state.movements.len(), movements);
        }
    }

    #[test]
    fn a_rollback_before_its_bet_refuses_the_bet_and_a_win_after_a_rollback_is_refused() {
        let (mut state, player) = state(1_000);
        let context = context();
        let early = decide(&mut state, &context, &call(player, (2, 1, 0, 5, 0)));
        assert_eq!(early.answer.status, Status::Ok);
        let late = decide(&mut state, &context, &call(player, (0, 5, 0, 0, 100)));
        assert_eq!(late.answer.status, Status::TransactionRolledBack);
        assert_eq!(state.players[&player].balance_micros, 1_000);
        decide(&mut state, &context, &call(player, (0, 6, 1, 0, 100)));
        decide(&mut state, &context, &call(player, (2, 7, 1, 6, 0)));
        let win = decide(&mut state, &context, &call(player, (1, 8, 1, 0, 500)));
        assert_eq!(win.answer.status, Status::TransactionRolledBack);
        assert_eq!(state.players[&player].balance_micros, 1_000);
    }
}
