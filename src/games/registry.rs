//! Every game the server offers, keyed by its type: the per-player games behind the [`AnyGame`] contract
//! with their limits, and the crash rooms as the real-time type (played through their room actors, but
//! listed, limited and verified through the same registry).

use super::contract::{AnyGame, Mode};
use super::{dice::Dice, mines::Mines, plinko::Plinko};
use crate::configuration::{BetLimits, Settings};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The registry's name for the crash game type.
pub const CRASH: &str = "crash";

/// A per-player game and its limits.
#[derive(Clone)]
pub struct Registered {
    pub game: Arc<dyn AnyGame>,
    pub limits: BetLimits,
}

/// A crash room as the registry describes it.
#[derive(Debug, Clone)]
pub struct CrashRoomEntry {
    pub house_edge_bps: u32,
    pub limits: BetLimits,
}

/// What a game type name resolves to.
pub enum Entry<'a> {
    PerPlayer(&'a Registered),
    RealTime(&'a BTreeMap<String, CrashRoomEntry>),
}

#[derive(Clone)]
pub struct Registry {
    games: BTreeMap<&'static str, Registered>,
    crash_rooms: BTreeMap<String, CrashRoomEntry>,
}

/// A game type the server does not offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no game is called {name:?}; the games are {known}")]
pub struct UnknownGame {
    pub name: String,
    pub known: String,
}

impl Registry {
    /// The games of this server, configured from `settings`. A new game is one more line here.
    pub fn from_settings(settings: &Settings) -> Registry {
        let games = &settings.games;
        let mut registry = Registry {
            games: BTreeMap::new(),
            crash_rooms: settings
                .crash
                .rooms
                .iter()
                .map(|(name, room)| {
                    let limits = BetLimits {
                        bet_min_micros: room.bet_min_micros,
                        bet_max_micros: room.bet_max_micros,
                        payout_max_micros: room.payout_max_micros,
                    };
                    let entry = CrashRoomEntry {
                        house_edge_bps: room.house_edge_bps,
                        limits,
                    };
                    (name.clone(), entry)
                })
                .collect(),
        };
        registry.register(
            Dice {
                house_edge_bps: games.dice.house_edge_bps,
                chance_min_hundredths: games.dice.chance_min_hundredths,
                chance_max_hundredths: games.dice.chance_max_hundredths,
            },
            games.dice.limits(),
        );
        registry.register(Plinko, games.plinko.limits());
        registry.register(
            Mines {
                house_edge_bps: games.mines.house_edge_bps,
            },
            games.mines.limits(),
        );
        registry
    }

    fn register(&mut self, game: impl AnyGame + 'static, limits: BetLimits) {
        let kind = game.kind();
        assert!(
            kind != CRASH && !self.games.contains_key(kind),
            "game {kind} is registered once"
        );
        self.games.insert(
            kind,
            Registered {
                game: Arc::new(game),
                limits,
            },
        );
    }

    fn unknown(&self, name: &str) -> UnknownGame {
        let known: Vec<&str> = self.games.keys().copied().chain([CRASH]).collect();
        UnknownGame {
            name: name.chars().take(32).collect(),
            known: known.join(", "),
        }
    }

    pub fn entry(&self, name: &str) -> Result<Entry<'_>, UnknownGame> {
        if name == CRASH {
            return Ok(Entry::RealTime(&self.crash_rooms));
        }
        self.games
            .get(name)
            .map(Entry::PerPlayer)
            .ok_or_else(|| self.unknown(name))
    }

    /// A per-player game by name.
    pub fn per_player(&self, name: &str) -> Result<&Registered, UnknownGame> {
        self.games.get(name).ok_or_else(|| self.unknown(name))
    }

    /// Every game with its mode and limits, for `GET /api/v1/games`.
    pub fn describe(&self) -> Value {
        let mut games: Vec<Value> = self
            .games
            .values()
            .map(|registered| {
                json!({
                    "game": registered.game.kind(),
                    "mode": registered.game.mode(),
                    "limits": limits_json(&registered.limits),
                })
            })
            .collect();
        let rooms: BTreeMap<&String, Value> = self
            .crash_rooms
            .iter()
            .map(|(name, room)| {
                let room_json = json!({
                    "house_edge_bps": room.house_edge_bps,
                    "expected_return_percent": f64::from(10_000 - room.house_edge_bps) / 100.0,
                    "limits": limits_json(&room.limits),
                });
                (name, room_json)
            })
            .collect();
        games.push(json!({ "game": CRASH, "mode": Mode::RealTime, "rooms": rooms }));
        json!({ "games": games })
    }
}

fn limits_json(limits: &BetLimits) -> Value {
    json!({
        "bet_min": limits.bet_min_micros,
        "bet_max": limits.bet_max_micros,
        "payout_max": limits.payout_max_micros,
    })
}
