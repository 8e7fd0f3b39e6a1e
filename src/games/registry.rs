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

    /// Every game with its mode and limits, for `GET /api/v1/games/registry`.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> (Registry, Settings) {
        let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let settings = Settings::load_from(&config, "default-only").expect("the default configuration loads");
        (Registry::from_settings(&settings), settings)
    }

    fn return_ppm(registry: &Registry, game: &str, request: Value) -> Option<u64> {
        let game = &registry.per_player(game).unwrap().game;
        let options = game.options(request).ok()?;
        Some(game.expected_return_ppm(&options).unwrap())
    }

    /// Every option the configuration offers returns under 100%: Dice and Mines within 0.01 percentage
    /// points of 100% minus their configured edge, every Plinko table between 98.9% and 99.2%.
    #[test]
    fn every_offered_option_returns_less_than_the_stake() {
        let (registry, settings) = registry();
        let dice_target = 1_000_000 - u64::from(settings.games.dice.house_edge_bps) * 100;
        let mut dice_options = 0;
        for direction in ["over", "under"] {
            for target in 0..=10_000u32 {
                let target = serde_json::Number::from_f64(f64::from(target) / 100.0).unwrap();
                if let Some(ppm) = return_ppm(&registry, "dice", json!({"target": target, "direction": direction})) {
                    assert!(
                        ppm.abs_diff(dice_target) <= 100 && ppm < 1_000_000,
                        "dice {direction} {target}: {ppm}"
                    );
                    dice_options += 1;
                }
            }
        }
        assert_eq!(dice_options, 2 * 9800, "0.01% to 98% each way");
        let mines_target = 1_000_000 - u64::from(settings.games.mines.house_edge_bps) * 100;
        for mines in 1..=24 {
            let ppm = return_ppm(&registry, "mines", json!({ "mines": mines })).unwrap();
            assert!(
                ppm.abs_diff(mines_target) <= 100 && ppm < 1_000_000,
                "mines {mines}: {ppm}"
            );
        }
        for rows in 8..=16 {
            for risk in ["low", "medium", "high"] {
                let ppm = return_ppm(&registry, "plinko", json!({"rows": rows, "risk": risk})).unwrap();
                assert!((989_000..=992_000).contains(&ppm), "plinko {rows} {risk}: {ppm}");
            }
        }
    }

    #[test]
    fn crash_is_the_real_time_game_type() {
        let (registry, _) = registry();
        assert!(matches!(registry.entry(CRASH), Ok(Entry::RealTime(rooms)) if rooms.contains_key("aviator")));
        assert!(matches!(registry.entry("dice"), Ok(Entry::PerPlayer(_))));
        let unknown = registry.entry("roulette").err().unwrap();
        assert_eq!(unknown.known, "dice, mines, plinko, crash");
    }
}
