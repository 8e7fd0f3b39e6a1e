//! The games' settings: the crash rooms (`[crash]`), and Dice, Plinko, Mines and the slot games
//! (`[games]`), each checked at start-up naming its bad field.

use super::{ClientVersion, ConfigError};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashSettings {
    /// When a room has no usable chain, generate one of this many links (0: never; production waits
    /// for `game-cluster chain generate`).
    pub chain_auto_generate_length: u32,
    /// How often a room without a chain looks again.
    pub chain_retry_ms: u64,
    /// How long a closed betting phase waits for stakes still being debited before the round runs.
    pub closing_wait_max_ms: u64,
    pub rooms: std::collections::BTreeMap<String, RoomSettings>,
}

/// One crash room: its fairness inputs, timings and limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSettings {
    /// The public salt of the room's chains (fixed before the chain is used).
    pub salt: String,
    pub house_edge_bps: u32,
    pub betting_ms: u64,
    pub tick_interval_ms: u64,
    pub crashed_pause_ms: u64,
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
    /// The most one bet can win; a bet reaching it is cashed out at the multiplier that pays it.
    pub payout_max_micros: i64,
    pub bets_per_player_max: u32,
    /// The highest auto-cashout target, in hundredths (100000 = 1000x).
    pub auto_cashout_max: u32,
}

/// The per-player games (Dice, Plinko, Mines): their limits and edges, and the recovery sweep that
/// finishes bets a failure left half-way.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GamesSettings {
    /// How often each node looks for bets left pending or paying (a crash, a ledger outage).
    pub recovery_interval_ms: u64,
    /// A bet is only recovered once it is this old, so live requests finish their own bets.
    pub recovery_age_ms: u64,
    /// The most bets one recovery pass takes on.
    pub recovery_batch_max: u32,
    /// How long a node serves a leaderboard from its cache before reading it again (0: every request).
    pub leaderboard_cache_ttl_ms: u64,
    pub dice: DiceSettings,
    pub plinko: PlinkoSettings,
    pub mines: MinesSettings,
    pub slots: SlotsSettings,
}

/// The slot games served to players (`games/slots/<game_id>/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotsSettings {
    /// Where the game definitions live, relative to the working directory.
    pub dir: String,
    /// How long a game session of `POST /api/v1/game/init` lasts.
    pub session_ttl_s: u64,
    /// The oldest client (`client_version`, dotted numbers) a session is opened for.
    pub client_version_min: String,
    /// Games that are loaded (their rounds stay recallable) but open no new session.
    pub games_disabled: Vec<String>,
    /// The base bets a player may choose, ascending; the smallest is the minimum bet, the largest the
    /// maximum (a bonus buy costs a multiple of it).
    pub bet_levels_micros: Vec<i64>,
    /// The bet level a client starts on (one of `bet_levels_micros`).
    pub default_bet_micros: i64,
    /// A round left open this long (no reveal) is completed and paid by the sweep.
    pub abandoned_round_after_s: u64,
    /// The most abandoned rounds one sweep pass completes.
    pub abandoned_batch_max: u32,
}

/// The most bet levels a slot game offers.
pub const SLOT_BET_LEVELS_MAX: usize = 32;

/// The amount limits every game has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BetLimits {
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
    /// The most one bet may be paid.
    pub payout_max_micros: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiceSettings {
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
    pub payout_max_micros: i64,
    pub house_edge_bps: u32,
    /// The win chances players may pick, in hundredths of a percent (1 = 0.01%, 9800 = 98%).
    pub chance_min_hundredths: u32,
    pub chance_max_hundredths: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlinkoSettings {
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
    pub payout_max_micros: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinesSettings {
    pub bet_min_micros: i64,
    pub bet_max_micros: i64,
    /// A game whose next safe reveal would pay more ends (and cashes out) before it.
    pub payout_max_micros: i64,
    pub house_edge_bps: u32,
}

macro_rules! bet_limits {
    ($($settings:ty),*) => {$(
        impl $settings {
            pub fn limits(&self) -> BetLimits {
                BetLimits {
                    bet_min_micros: self.bet_min_micros,
                    bet_max_micros: self.bet_max_micros,
                    payout_max_micros: self.payout_max_micros,
                }
            }
        }
    )*};
}
bet_limits!(DiceSettings, PlinkoSettings, MinesSettings);

impl BetLimits {
    /// Checks the limits of one game; the message names the bad key.
    pub fn validate(&self) -> Result<(), String> {
        let bet_min = crate::money::Amount::parse(self.bet_min_micros);
        let bet_max = crate::money::Amount::parse(self.bet_max_micros);
        if bet_min.is_err() || bet_max.is_err() || self.bet_min_micros > self.bet_max_micros {
            return Err("bet_min_micros and bet_max_micros must be valid amounts with min <= max".into());
        }
        if crate::money::Amount::parse(self.payout_max_micros).is_err() || self.payout_max_micros < self.bet_max_micros
        {
            return Err("payout_max_micros must be a valid amount of at least bet_max_micros".into());
        }
        Ok(())
    }
}

impl GamesSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: String| Err(ConfigError { field, reason });
        if !(100..=3_600_000).contains(&self.recovery_interval_ms) {
            return invalid("games.recovery_interval_ms", "must be 100 to 3600000".into());
        }
        if !(1_000..=3_600_000).contains(&self.recovery_age_ms) {
            return invalid("games.recovery_age_ms", "must be 1000 to 3600000".into());
        }
        if !(1..=10_000).contains(&self.recovery_batch_max) {
            return invalid("games.recovery_batch_max", "must be 1 to 10000".into());
        }
        if self.leaderboard_cache_ttl_ms > 600_000 {
            return invalid("games.leaderboard_cache_ttl_ms", "must be 0 to 600000".into());
        }
        for (field, limits) in [
            ("games.dice", self.dice.limits()),
            ("games.plinko", self.plinko.limits()),
            ("games.mines", self.mines.limits()),
        ] {
            if let Err(reason) = limits.validate() {
                return invalid(field, reason);
            }
        }
        for (field, edge) in [
            ("games.dice.house_edge_bps", self.dice.house_edge_bps),
            ("games.mines.house_edge_bps", self.mines.house_edge_bps),
        ] {
            if edge == 0 || edge >= 5_000 {
                return invalid(field, "must be 1 to 4999".into());
            }
        }
        self.slots.validate()?;
        let dice = &self.dice;
        if dice.chance_min_hundredths == 0 || dice.chance_min_hundredths > dice.chance_max_hundredths {
            return invalid(
                "games.dice.chance_min_hundredths",
                "must be 1 to games.dice.chance_max_hundredths".into(),
            );
        }
        if dice.chance_max_hundredths > 9_900 {
            return invalid("games.dice.chance_max_hundredths", "must be at most 9900 (99%)".into());
        }
        Ok(())
    }
}

impl SlotsSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.dir.is_empty() {
            return invalid("games.slots.dir", "must name the directory of the slot games");
        }
        if !(60..=7 * 24 * 3600).contains(&self.session_ttl_s) {
            return invalid("games.slots.session_ttl_s", "must be 60 to 604800");
        }
        if ClientVersion::parse(&self.client_version_min).is_none() {
            return invalid("games.slots.client_version_min", "must be dotted numbers such as 1.2.0");
        }
        let levels = &self.bet_levels_micros;
        let valid_amounts = levels.iter().all(|level| crate::money::Amount::parse(*level).is_ok());
        if levels.is_empty() || levels.len() > SLOT_BET_LEVELS_MAX || !valid_amounts {
            return invalid(
                "games.slots.bet_levels_micros",
                "must be 1 to 32 positive amounts in micro-units",
            );
        }
        if levels.windows(2).any(|pair| pair[0] >= pair[1]) {
            return invalid("games.slots.bet_levels_micros", "must be strictly ascending");
        }
        if !levels.contains(&self.default_bet_micros) {
            return invalid(
                "games.slots.default_bet_micros",
                "must be one of games.slots.bet_levels_micros",
            );
        }
        if !(1..=7 * 24 * 3600).contains(&self.abandoned_round_after_s) {
            return invalid("games.slots.abandoned_round_after_s", "must be 1 to 604800");
        }
        if !(1..=10_000).contains(&self.abandoned_batch_max) {
            return invalid("games.slots.abandoned_batch_max", "must be 1 to 10000");
        }
        Ok(())
    }
}

impl RoomSettings {
    /// Checks one room; the message names the bad key.
    pub fn validate(&self, name: &str) -> Result<(), String> {
        let valid_name = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid_name {
            return Err("the room name must be 1 to 32 lower-case letters, digits or '_'".into());
        }
        if self.salt.is_empty() {
            return Err("salt must not be empty".into());
        }
        if self.house_edge_bps == 0 || self.house_edge_bps >= 5_000 {
            return Err("house_edge_bps must be 1 to 4999".into());
        }
        if !(10..=1_000).contains(&self.tick_interval_ms) {
            return Err("tick_interval_ms must be 10 to 1000".into());
        }
        if !(100..=60_000).contains(&self.betting_ms) || self.crashed_pause_ms > 60_000 {
            return Err("betting_ms must be 100 to 60000 and crashed_pause_ms at most 60000".into());
        }
        let bet_min = crate::money::Amount::parse(self.bet_min_micros);
        let bet_max = crate::money::Amount::parse(self.bet_max_micros);
        if bet_min.is_err() || bet_max.is_err() || self.bet_min_micros > self.bet_max_micros {
            return Err("bet_min_micros and bet_max_micros must be valid amounts with min <= max".into());
        }
        if crate::money::Amount::parse(self.payout_max_micros).is_err() || self.payout_max_micros < self.bet_max_micros
        {
            return Err("payout_max_micros must be a valid amount of at least bet_max_micros".into());
        }
        if !(1..=10).contains(&self.bets_per_player_max) {
            return Err("bets_per_player_max must be 1 to 10".into());
        }
        if !(101..=crate::fair::crash::MULTIPLIER_MAX).contains(&self.auto_cashout_max) {
            return Err("auto_cashout_max must be 101 to 100000000 (hundredths)".into());
        }
        Ok(())
    }
}
