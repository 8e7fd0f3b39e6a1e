//! The game contract. A game says how to read and check a bet's options, how to derive its outcome from
//! the fairness inputs, how later actions change it (for games played in steps), what it pays and what
//! the player may see. Everything else (seeds, the ledger, idempotency, limits, history, errors and
//! verification) is shared by every game, so adding a game is adding a module that implements [`Game`]
//! and one line in the registry.
//!
//! Games are typed ([`Game`]); the registry holds them behind [`AnyGame`], which speaks JSON, because
//! options and states are stored as JSON with each bet.

use crate::fair::seeds::SeedInput;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// How a game is played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One request, one outcome (Dice, Plinko).
    Instant,
    /// A bet opens a game the player continues with actions until it ends (Mines).
    Stepwise,
    /// Rounds shared by every player of a room, run by the room's leader (crash).
    RealTime,
}

/// Why a request breaks a game's rules: a client error, never a server failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    pub kind: RuleErrorKind,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleErrorKind {
    /// The request itself is malformed or out of range (400).
    Invalid,
    /// The request is well formed but the game's state refuses it (409).
    Conflict,
    /// Stored data no longer reads back (a server bug; 500).
    Corrupt,
}

impl RuleError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> RuleError {
        RuleError {
            kind: RuleErrorKind::Invalid,
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> RuleError {
        RuleError {
            kind: RuleErrorKind::Conflict,
            code,
            message: message.into(),
        }
    }

    fn corrupt(what: &str, error: serde_json::Error) -> RuleError {
        RuleError {
            kind: RuleErrorKind::Corrupt,
            code: "internal_error",
            message: format!("a stored {what} does not read back: {error}"),
        }
    }
}

/// What a bet stakes and the most it may win; a stepwise game ends on its own before passing the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BetTerms {
    pub amount: i64,
    pub payout_max: i64,
}

/// One game's rules.
pub trait Game: Send + Sync + 'static {
    /// The options as the player sends them (everything in the bet body but the amount).
    type Request: DeserializeOwned;
    /// The checked options, stored with the bet.
    type Options: Serialize + DeserializeOwned + PartialEq;
    /// The bet's state, stored with it: the outcome derived from the seeds and, for stepwise games, the
    /// player's progress. It may hold secrets (mine positions) that `public_state` hides.
    type State: Serialize + DeserializeOwned;
    /// A later move in a stepwise game.
    type Action: DeserializeOwned;

    fn kind(&self) -> &'static str;

    fn mode(&self) -> Mode;

    /// Checks the player's options against the game's rules and configuration.
    fn options(&self, request: Self::Request) -> Result<Self::Options, RuleError>;

    /// The most a bet could be paid at its first chance to win; the bet is refused when this exceeds the
    /// payout limit. (A stepwise game may grow past it later; it ends the game at the limit instead.)
    fn first_payout_max(&self, amount: i64, options: &Self::Options) -> i64;

    /// Derives the outcome from the fairness inputs, and nothing else.
    fn start(&self, options: &Self::Options, seeds: SeedInput<'_>) -> Self::State;

    /// The part of the state the seeds decide, compared when a bet is verified.
    fn outcome(&self, state: &Self::State) -> Value;

    /// Applies a player's action to an unfinished game.
    fn act(
        &self,
        _terms: BetTerms,
        _options: &Self::Options,
        _state: &mut Self::State,
        _action: Self::Action,
    ) -> Result<(), RuleError> {
        Err(RuleError::conflict(
            "no_actions",
            format!("{} bets take no further actions", self.kind()),
        ))
    }

    fn is_finished(&self, terms: BetTerms, options: &Self::Options, state: &Self::State) -> bool;

    /// What the bet pays (0 for a loss); final once the game is finished.
    fn payout(&self, terms: BetTerms, options: &Self::Options, state: &Self::State) -> i64;

    /// The state as the player may see it: a stepwise game keeps its secrets until it is finished.
    fn public_state(&self, options: &Self::Options, state: &Self::State, finished: bool) -> Value;

    /// The exact expected return, in parts per million, of a bet with these options.
    fn expected_return_ppm(&self, options: &Self::Options) -> u64;
}

/// A game behind the registry: the same contract, with options, states and actions as JSON.
pub trait AnyGame: Send + Sync {
    fn kind(&self) -> &'static str;
    fn mode(&self) -> Mode;
    /// Reads and checks the player's options; the result is what gets stored.
    fn options(&self, request: Value) -> Result<Value, RuleError>;
    fn first_payout_max(&self, amount: i64, options: &Value) -> Result<i64, RuleError>;
    fn start(&self, options: &Value, seeds: SeedInput<'_>) -> Result<Value, RuleError>;
    fn outcome(&self, state: &Value) -> Result<Value, RuleError>;
    fn act(&self, terms: BetTerms, options: &Value, state: &mut Value, action: Value) -> Result<(), RuleError>;
    fn is_finished(&self, terms: BetTerms, options: &Value, state: &Value) -> Result<bool, RuleError>;
    fn payout(&self, terms: BetTerms, options: &Value, state: &Value) -> Result<i64, RuleError>;
    fn public_state(&self, options: &Value, state: &Value, finished: bool) -> Result<Value, RuleError>;
    fn expected_return_ppm(&self, options: &Value) -> Result<u64, RuleError>;
}

fn stored<T: DeserializeOwned>(what: &str, value: &Value) -> Result<T, RuleError> {
    T::deserialize(value).map_err(|error| RuleError::corrupt(what, error))
}

fn to_json<T: Serialize>(what: &str, value: &T) -> Result<Value, RuleError> {
    serde_json::to_value(value).map_err(|error| RuleError::corrupt(what, error))
}

/// Reads a request's JSON; the serde message names the field that is wrong.
fn request<T: DeserializeOwned>(value: Value) -> Result<T, RuleError> {
    T::deserialize(value)
        .map_err(|error| RuleError::invalid("invalid_request", format!("the request is not valid: {error}")))
}

impl<G: Game> AnyGame for G {
    fn kind(&self) -> &'static str {
        Game::kind(self)
    }

    fn mode(&self) -> Mode {
        Game::mode(self)
    }

    fn options(&self, request_json: Value) -> Result<Value, RuleError> {
        let options = Game::options(self, request(request_json)?)?;
        to_json("options", &options)
    }

    fn first_payout_max(&self, amount: i64, options: &Value) -> Result<i64, RuleError> {
        Ok(Game::first_payout_max(self, amount, &stored("options", options)?))
    }

    fn start(&self, options: &Value, seeds: SeedInput<'_>) -> Result<Value, RuleError> {
        to_json("state", &Game::start(self, &stored("options", options)?, seeds))
    }

    fn outcome(&self, state: &Value) -> Result<Value, RuleError> {
        Ok(Game::outcome(self, &stored("state", state)?))
    }

    fn act(&self, terms: BetTerms, options: &Value, state: &mut Value, action: Value) -> Result<(), RuleError> {
        let options: G::Options = stored("options", options)?;
        let mut typed: G::State = stored("state", state)?;
        Game::act(self, terms, &options, &mut typed, request(action)?)?;
        *state = to_json("state", &typed)?;
        Ok(())
    }

    fn is_finished(&self, terms: BetTerms, options: &Value, state: &Value) -> Result<bool, RuleError> {
        Ok(Game::is_finished(
            self,
            terms,
            &stored("options", options)?,
            &stored("state", state)?,
        ))
    }

    fn payout(&self, terms: BetTerms, options: &Value, state: &Value) -> Result<i64, RuleError> {
        Ok(Game::payout(
            self,
            terms,
            &stored("options", options)?,
            &stored("state", state)?,
        ))
    }

    fn public_state(&self, options: &Value, state: &Value, finished: bool) -> Result<Value, RuleError> {
        Ok(Game::public_state(
            self,
            &stored("options", options)?,
            &stored("state", state)?,
            finished,
        ))
    }

    fn expected_return_ppm(&self, options: &Value) -> Result<u64, RuleError> {
        Ok(Game::expected_return_ppm(self, &stored("options", options)?))
    }
}

/// Reads a JSON number as a whole count within `range`, answering `code` otherwise.
pub fn whole_number(
    number: &serde_json::Number,
    range: std::ops::RangeInclusive<u32>,
    code: &'static str,
    field: &str,
) -> Result<u32, RuleError> {
    number
        .as_u64()
        .and_then(|value| u32::try_from(value).ok())
        .filter(|value| range.contains(value))
        .ok_or_else(|| {
            RuleError::invalid(
                code,
                format!(
                    "{field} must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}
