//! Stake Engine's RGS protocol on the slot server (the HTTP side is `api::stake`): the same sessions,
//! engine and ledger as our own API, with the round played whole (every step shown at the paid play, a
//! win credited only when the player ends the round), and the engine's events shown as Stake Engine book
//! events.
//!
//! **Idempotency.** Stake's play carries no idempotency key, so the server derives one:
//! `stake:<session id>:<n>`, `n` being how many rounds the session holds when the play arrives.
//! - Two copies of one play in flight at once (a double submit, a retry sent before the first answer)
//!   count the same `n`, so they carry the same key; the spin serializes them on the player's seed row and
//!   the second gets the first's round back, debited once.
//! - A play retried after the first one's answer was lost, when that round won (it stays active until
//!   end-round): the play finds the player's active round of this session with the same bet and mode and
//!   answers it again under its own key. Nothing is debited; no new round is played.
//! - A play retried after the first one's answer was lost, when that round lost (a zero-payout round
//!   closes itself at the play): nothing the protocol sends tells that retry from a new bet of the same
//!   amount, so it is a new bet. Answering the old round instead would show a finished round as a new
//!   one; a duplicate debit of a lost round is the protocol's limit, not ours to guess away.
//!
//! end-round is keyed `stake-end:<round id>`, so two concurrent end-rounds credit once. A won round the
//! player never ends is ended and credited by the abandoned-round sweep (`abandoned_round_after_s`), as
//! for our own API.

use super::store::{self, RoundRow, RoundStatus, SessionRow};
use super::{check_session, Player, Reveal, SlotError, SlotService, SpinRequest};
use crate::games::slots::definition::SymbolKind;
use crate::games::slots::Definition;
use crate::wallet::ledger::AccountId;
use serde_json::{json, Map, Value};
use sqlx::PgExecutor;
use std::sync::Arc;
use uuid::Uuid;

/// The longest progress event a client may store (the column's limit).
pub const EVENT_LENGTH_MAX: usize = 256;
/// The prefix of the spin keys the server derives for Stake plays.
pub const PLAY_KEY_PREFIX: &str = "stake:";

/// A round as the protocol shows it, with what the answer needs besides the row.
#[derive(Debug, Clone)]
pub struct StakeRound {
    pub round: RoundRow,
    /// The numeric round id (`betID`).
    pub bet_id: i64,
    /// The last progress event stored for the round, for resume.
    pub event: Option<String>,
    /// The definition the round was played under.
    pub definition: Arc<Definition>,
}

impl StakeRound {
    /// Whether the round still waits for end-round (or for its stake or win to move).
    pub fn active(&self) -> bool {
        !self.round.status.is_ended() && self.round.status != RoundStatus::Void
    }

    /// The mode's cost, as the round was charged: stake / bet (the stake is always bet x cost).
    pub fn cost_multiplier(&self) -> f64 {
        self.round.stake_micros as f64 / self.round.bet_micros.max(1) as f64
    }

    /// The win as a multiple of the base bet (book `payoutMultiplier / 100`).
    pub fn payout_multiplier(&self) -> f64 {
        self.round.win_centibet as f64 / 100.0
    }

    /// Every event of the round, in order, as book events.
    pub fn state(&self) -> Vec<Value> {
        book_events(&self.definition, &self.round.steps, self.round.win_centibet)
    }
}

/// A play's outcome: the round and the balance after its debit.
#[derive(Debug, Clone)]
pub struct PlayAnswer {
    pub round: StakeRound,
    pub balance: i64,
}

fn player_of(session: &SessionRow) -> Player {
    Player {
        player_id: session.player_id,
        account: AccountId(session.account_id),
    }
}

/// Rounds the session holds, whatever their status: the `n` of the next derived play key.
async fn session_round_count(executor: impl PgExecutor<'_>, session: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM slot_rounds WHERE session_id = $1")
        .bind(session)
        .fetch_one(executor)
        .await
}

async fn bet_id(executor: impl PgExecutor<'_>, round: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT bet_id FROM slot_rounds WHERE id = $1")
        .bind(round)
        .fetch_one(executor)
        .await
}

async fn clear_last_event(executor: impl PgExecutor<'_>, session: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE slot_sessions SET last_event = NULL WHERE id = $1")
        .bind(session)
        .execute(executor)
        .await?;
    Ok(())
}

impl SlotService {
    /// The game session a `sessionID` names, open and unexpired: it stands for its player.
    pub async fn stake_session(&self, session_id: Uuid) -> Result<SessionRow, SlotError> {
        let session = store::find_session(&self.inner.pool, session_id)
            .await?
            .ok_or(SlotError::SessionNotFound)?;
        check_session(&session, None)?;
        Ok(session)
    }

    /// The player's balance, for the session's player.
    pub async fn stake_balance(&self, session: &SessionRow) -> Result<i64, SlotError> {
        self.balance(AccountId(session.account_id)).await
    }

    /// The player's active round of the session's game (from any of their sessions), if any.
    pub async fn stake_active_round(&self, session: &SessionRow) -> Result<Option<StakeRound>, SlotError> {
        match store::unfinished(&self.inner.pool, session.player_id, &session.game_id).await? {
            Some(round) => Ok(Some(self.stake_round(round).await?)),
            None => Ok(None),
        }
    }

    async fn stake_round(&self, round: RoundRow) -> Result<StakeRound, SlotError> {
        let definition = self
            .inner
            .catalog
            .definition_at(&self.inner.pool, &round.game_id, &round.math_version)
            .await?
            .ok_or_else(|| SlotError::UnknownVersion(round.math_version.clone()))?;
        let event = store::find_session(&self.inner.pool, round.session_id)
            .await?
            .and_then(|session| session.last_event);
        let bet_id = bet_id(&self.inner.pool, round.id).await?;
        Ok(StakeRound {
            round,
            bet_id,
            event,
            definition,
        })
    }

    /// A paid play, whole: debits `bet_micros` x the mode's cost and shows every step; a win waits for
    /// [`SlotService::stake_end_round`]. See the module's docs for how a retry is recognized.
    pub async fn stake_play(&self, session: &SessionRow, bet_micros: i64, mode: &str) -> Result<PlayAnswer, SlotError> {
        let player = player_of(session);
        let pool = &self.inner.pool;
        // Counted before looking for an active round: a copy of this play that commits its round in
        // between is then either seen active (and answered) or counted the same (and replayed).
        let count = session_round_count(pool, session.id).await?;
        let key = match store::unfinished(pool, session.player_id, &session.game_id).await? {
            Some(round) if is_retry_of(&round, session, bet_micros, mode) => round.client_spin_id,
            Some(_) => return Err(SlotError::RoundInProgress(session.game_id.clone())),
            None => {
                clear_last_event(pool, session.id).await?;
                format!("{PLAY_KEY_PREFIX}{}:{count}", session.id)
            }
        };
        let request = SpinRequest {
            session_id: session.id,
            game_id: session.game_id.clone(),
            bet_micros,
            lines: None,
            mode: Some(mode.to_owned()),
            reveal: Reveal::Whole,
        };
        let answer = self.spin(player, request, &key).await?;
        let round = self.round(session.player_id, answer.spin_id).await?;
        Ok(PlayAnswer {
            round: self.stake_round(round).await?,
            balance: answer.balance,
        })
    }

    /// Ends the player's active round of the session's game, crediting its win once; the balance after.
    pub async fn stake_end_round(&self, session: &SessionRow) -> Result<i64, SlotError> {
        let round = store::unfinished(&self.inner.pool, session.player_id, &session.game_id)
            .await?
            .ok_or(SlotError::NoRoundInProgress)?;
        let key = format!("stake-end:{}", round.id);
        let answer = self
            .end_round(player_of(session), session.id, &session.game_id, &key)
            .await?;
        clear_last_event(&self.inner.pool, round.session_id).await?;
        Ok(answer.balance)
    }

    /// Stores the client's progress event on the active round's session, for resume.
    pub async fn stake_event(&self, session: &SessionRow, event: &str) -> Result<(), SlotError> {
        if event.len() > EVENT_LENGTH_MAX {
            return Err(SlotError::InvalidRequest(format!(
                "event must be at most {EVENT_LENGTH_MAX} bytes"
            )));
        }
        let round = store::unfinished(&self.inner.pool, session.player_id, &session.game_id)
            .await?
            .ok_or(SlotError::NoRoundInProgress)?;
        store::set_last_event(&self.inner.pool, round.session_id, event).await?;
        Ok(())
    }

    /// A finished round for replay, if `round_id` names one of `game`, math `version` and `mode`. Only
    /// settled rounds: never one whose win is still open or moving, nor a void one.
    pub async fn stake_replay(
        &self,
        game: &str,
        version: &str,
        mode: &str,
        round_id: Uuid,
    ) -> Result<Option<StakeRound>, SlotError> {
        let round = store::find_round(&self.inner.reader, round_id).await?.filter(|round| {
            round.game_id == game
                && round.math_version == version
                && round.mode == mode
                && round.status == RoundStatus::Settled
        });
        match round {
            Some(round) => Ok(Some(self.stake_round(round).await?)),
            None => Ok(None),
        }
    }
}

/// Whether a play finding `round` active is a retry of the play that started it: a Stake play of the
/// same session, bet and mode.
fn is_retry_of(round: &RoundRow, session: &SessionRow, bet_micros: i64, mode: &str) -> bool {
    round.session_id == session.id
        && round.client_spin_id.starts_with(PLAY_KEY_PREFIX)
        && round.bet_micros == bet_micros
        && round.mode == mode
}

/// The round's events as Stake Engine book events, each with its `index` in the list and its `type`.
/// Amounts stay in hundredths of the base bet, which is the books' scale too. Boards have no padding
/// rows (`paddingPositions` are the reel stops); rows count from 0 at the top of the visible board.
///
/// | engine event | book events |
/// |---|---|
/// | `reveal` | `updateFreeSpin {amount: spin, total}` first for a free spin; `reveal {board: [[{name, multiplier?}]], paddingPositions, gameType: basegame/freegame, anticipation}` |
/// | consecutive `win`s | one `winInfo {totalWin, wins: [{symbol, kind: count, win, positions, meta}]}`, then `setTotalWin {amount}` (the round's win so far, capped) |
/// | `cascade` | `tumbleBoard {explodingSymbols, newSymbols, board, paddingPositions}` |
/// | `free_spins_triggered` | `freeSpinTrigger {totalFs, positions (scatters), bought}` |
/// | `free_spins_retriggered` | `freeSpinRetrigger {totalFs, positions}` |
/// | `free_spins_ended` | `freeSpinEnd {amount, played}` |
/// | `win_cap_reached` | `wincap {amount}` |
/// | `final_win` | `finalWin {amount}` |
pub fn book_events(definition: &Definition, steps: &Value, win_centibet: i64) -> Vec<Value> {
    let scatter = definition
        .symbols()
        .iter()
        .find(|symbol| symbol.kind == SymbolKind::Scatter)
        .map(|symbol| symbol.name.as_str());
    let mut book = Book {
        events: Vec::new(),
        wins: Vec::new(),
        total_centibet: 0,
        cap_centibet: u64::try_from(win_centibet).unwrap_or(0),
        free_spins_total: 0,
        board: Value::Null,
        scatter,
    };
    let events = steps
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten();
    for event in events {
        book.add(event);
    }
    book.flush_wins();
    book.events
}

struct Book<'a> {
    events: Vec<Value>,
    /// Win events waiting to be shown together.
    wins: Vec<Value>,
    total_centibet: u64,
    cap_centibet: u64,
    free_spins_total: u64,
    /// The board as it stands (reel by reel, top to bottom).
    board: Value,
    scatter: Option<&'a str>,
}

impl Book<'_> {
    fn push(&mut self, kind: &str, fields: Value) {
        let mut event = Map::new();
        event.insert("index".to_owned(), json!(self.events.len()));
        event.insert("type".to_owned(), json!(kind));
        if let Value::Object(fields) = fields {
            event.extend(fields);
        }
        self.events.push(Value::Object(event));
    }

    fn add(&mut self, event: &Value) {
        let kind = event["type"].as_str().unwrap_or_default();
        if kind == "win" {
            self.wins.push(win_entry(event));
            return;
        }
        self.flush_wins();
        match kind {
            "reveal" => {
                let free = event["phase"] == "free_spins";
                if free {
                    let total = self.free_spins_total;
                    self.push("updateFreeSpin", json!({ "amount": event["spin"], "total": total }));
                }
                self.board = event["board"].clone();
                let reels = self.board.as_array().map_or(0, Vec::len);
                let fields = json!({
                    "board": board_objects(&self.board, &event["wild_multipliers"]),
                    "paddingPositions": event["stops"],
                    "gameType": if free { "freegame" } else { "basegame" },
                    "anticipation": vec![0; reels],
                    "spin": event["spin"],
                });
                self.push("reveal", fields);
            }
            "cascade" => {
                let fields = json!({
                    "explodingSymbols": event["removed"],
                    "newSymbols": new_symbols(&event["board"], &event["removed"]),
                    "board": board_objects(&event["board"], &Value::Null),
                    "paddingPositions": event["stops"],
                });
                self.board = event["board"].clone();
                self.push("tumbleBoard", fields);
            }
            "free_spins_triggered" => {
                self.free_spins_total = event["spins"].as_u64().unwrap_or(0);
                let positions = if event["bought"] == true {
                    json!([])
                } else {
                    self.scatters()
                };
                let fields = json!({ "totalFs": event["spins"], "positions": positions, "bought": event["bought"] });
                self.push("freeSpinTrigger", fields);
            }
            "free_spins_retriggered" => {
                self.free_spins_total = event["total"].as_u64().unwrap_or(self.free_spins_total);
                let fields = json!({ "totalFs": event["total"], "positions": self.scatters() });
                self.push("freeSpinRetrigger", fields);
            }
            "free_spins_ended" => {
                self.push(
                    "freeSpinEnd",
                    json!({ "amount": event["win"], "played": event["played"] }),
                );
            }
            "win_cap_reached" => self.push("wincap", json!({ "amount": event["cap"] })),
            "final_win" => self.push("finalWin", json!({ "amount": event["amount"] })),
            other => {
                // An event this mapping does not know yet goes out as the engine wrote it.
                let mut fields = event.clone();
                if let Value::Object(map) = &mut fields {
                    map.remove("type");
                }
                self.push(other, fields);
            }
        }
    }

    fn flush_wins(&mut self) {
        if self.wins.is_empty() {
            return;
        }
        let wins = std::mem::take(&mut self.wins);
        let total = wins
            .iter()
            .filter_map(|win| win["win"].as_u64())
            .fold(0u64, u64::saturating_add);
        self.push("winInfo", json!({ "totalWin": total, "wins": wins }));
        self.total_centibet = self.total_centibet.saturating_add(total).min(self.cap_centibet);
        let amount = self.total_centibet;
        self.push("setTotalWin", json!({ "amount": amount }));
    }

    /// Where the scatters stand on the current board.
    fn scatters(&self) -> Value {
        let Some(scatter) = self.scatter else {
            return json!([]);
        };
        let mut positions = Vec::new();
        for (reel, symbols) in self.board.as_array().into_iter().flatten().enumerate() {
            for (row, symbol) in symbols.as_array().into_iter().flatten().enumerate() {
                if symbol == scatter {
                    positions.push(json!({ "reel": reel, "row": row }));
                }
            }
        }
        Value::Array(positions)
    }
}

/// One engine win as an entry of `winInfo.wins`.
fn win_entry(event: &Value) -> Value {
    json!({
        "symbol": event["symbol"],
        "kind": event["count"],
        "win": event["amount"],
        "positions": event["positions"],
        "meta": {
            "winType": event["kind"],
            "lineIndex": event.get("line"),
            "ways": event.get("ways"),
            "multiplier": event["multiplier"],
            "cascadeMultiplier": event["cascade_multiplier"],
            "winWithoutMult": event["pay"],
            "spin": event["spin"],
            "cascade": event["cascade"],
        },
    })
}

/// `[["A", ...], ...]` as `[[{"name": "A"}, ...], ...]`, wilds with their `multiplier`.
fn board_objects(board: &Value, multipliers: &Value) -> Value {
    let reels = board
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(reel, symbols)| {
            let cells = symbols.as_array().into_iter().flatten().enumerate().map(|(row, name)| {
                let multiplier = multipliers
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|cell| cell["reel"] == reel && cell["row"] == row)
                    .map(|cell| cell["multiplier"].clone());
                match multiplier {
                    Some(multiplier) => json!({ "name": name, "multiplier": multiplier }),
                    None => json!({ "name": name }),
                }
            });
            Value::Array(cells.collect())
        });
    Value::Array(reels.collect())
}

/// The symbols that fell into each reel: the top `k` of the new board, `k` the cells removed there.
fn new_symbols(board: &Value, removed: &Value) -> Value {
    let reels = board
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(reel, symbols)| {
            let fallen = removed
                .as_array()
                .into_iter()
                .flatten()
                .filter(|cell| cell["reel"] == reel)
                .count();
            let top: Vec<Value> = symbols
                .as_array()
                .into_iter()
                .flatten()
                .take(fallen)
                .map(|name| json!({ "name": name }))
                .collect();
            Value::Array(top)
        });
    Value::Array(reels.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::slots::steps::split_steps;
    use crate::games::slots::{play_round, testkit, Event, FastDraws};

    /// Rounds of both fixtures in every mode, stored as the server stores them.
    fn stored_rounds() -> Vec<(Definition, Vec<Event>, Value, u64)> {
        let mut rounds = Vec::new();
        for definition in testkit::fixtures(None) {
            for mode in definition.modes().to_vec() {
                for id in 1..=40 {
                    let round = play_round(&definition, &mode, &mut FastDraws::for_round(7, id));
                    let steps = serde_json::to_value(split_steps(&round.events)).unwrap();
                    rounds.push((definition.clone(), round.events, steps, round.summary.win_centibet));
                }
            }
        }
        rounds
    }

    #[test]
    fn every_engine_event_has_its_book_event_in_order() {
        for (definition, events, steps, win) in stored_rounds() {
            let book = book_events(&definition, &steps, win as i64);
            for (index, event) in book.iter().enumerate() {
                assert_eq!(event["index"], index);
            }
            let count = |kind: &str| book.iter().filter(|event| event["type"] == kind).count();
            let engine = |pick: fn(&Event) -> bool| events.iter().filter(|event| pick(event)).count();
            assert_eq!(count("reveal"), engine(|event| matches!(event, Event::Reveal { .. })));
            assert_eq!(
                count("tumbleBoard"),
                engine(|event| matches!(event, Event::Cascade { .. }))
            );
            let wins: usize = book
                .iter()
                .filter(|event| event["type"] == "winInfo")
                .map(|event| event["wins"].as_array().unwrap().len())
                .sum();
            assert_eq!(wins, engine(|event| matches!(event, Event::Win { .. })));
            let free_reveals = book
                .iter()
                .filter(|event| event["type"] == "reveal" && event["gameType"] == "freegame")
                .count();
            assert_eq!(count("updateFreeSpin"), free_reveals);
            assert!(book
                .iter()
                .filter(|event| event["type"] == "setTotalWin")
                .all(|event| event["amount"].as_u64().unwrap() <= win));
            let last = book.last().unwrap();
            assert_eq!(last["type"], "finalWin");
            assert_eq!(last["amount"], win);
        }
    }

    #[test]
    fn fallen_symbols_are_the_top_of_each_reel() {
        let board = json!([["A", "B", "C"], ["D", "E", "F"]]);
        let removed = json!([{ "reel": 0, "row": 2 }, { "reel": 0, "row": 1 }]);
        assert_eq!(
            new_symbols(&board, &removed),
            json!([[{ "name": "A" }, { "name": "B" }], []])
        );
        let multipliers = json!([{ "reel": 1, "row": 0, "multiplier": 3 }]);
        assert_eq!(
            board_objects(&json!([["A"], ["W"]]), &multipliers),
            json!([[{ "name": "A" }], [{ "name": "W", "multiplier": 3 }]])
        );
    }
}
