//! Our own games in the catalog: at start-up every node writes each crash room, Dice, Plinko, Mines and
//! each slot game as a `games` row of provider `house`, with the RTP and limits its configuration gives
//! it now. The lobby, launch and RTP tracking then treat them like any provider's games. An operator's
//! active flag is never touched; a game that leaves the configuration keeps its row (its history and
//! rollups still point at it) and is disabled from the admin API if need be.

use super::contract::Mode;
use super::registry::{Registry, CRASH};
use super::slots::server::catalog::{Catalog as SlotCatalog, ServedGame};
use crate::catalog::listing::{self, UpsertCounts};
use crate::catalog::{GameListing, HOUSE_PROVIDER};
use crate::configuration::{BetLimits, Settings};
use crate::fair::plinko::{self, Risk};
use anyhow::Context;
use serde_json::{json, Value};
use sqlx::PgPool;

/// The category of crash rooms, of Dice/Plinko/Mines and of slot games.
pub const CATEGORY_CRASH: &str = "crash";
pub const CATEGORY_ORIGINALS: &str = "originals";
pub const CATEGORY_SLOTS: &str = "slots";
/// The per-player games, by their registry names.
const ORIGINALS: [&str; 3] = ["dice", "plinko", "mines"];

/// Writes every house game of this configuration into the catalog (see the module comment).
#[tracing::instrument(skip_all)]
pub async fn sync(pool: &PgPool, settings: &Settings, slots: &SlotCatalog) -> anyhow::Result<UpsertCounts> {
    let mut listings = house_listings(settings, slots)?;
    for (listing, _) in &mut listings {
        listing::validate(listing).with_context(|| format!("house game {} is not a valid listing", listing.code))?;
    }
    let mut transaction = pool.begin().await.context("failed to begin the house games sync")?;
    let counts = listing::upsert(&mut transaction, HOUSE_PROVIDER, &listings)
        .await
        .context("failed to write the house games into the catalog")?;
    transaction
        .commit()
        .await
        .context("failed to commit the house games sync")?;
    tracing::info!(
        inserted = counts.inserted,
        updated = counts.updated,
        unchanged = counts.unchanged,
        "house games synced into the catalog"
    );
    Ok(counts)
}

/// Every house game with whether a new row of it starts active (a slot the configuration disables
/// does not).
pub fn house_listings(settings: &Settings, slots: &SlotCatalog) -> anyhow::Result<Vec<(GameListing, bool)>> {
    let registry = Registry::from_settings(settings);
    let mut listings: Vec<(GameListing, bool)> = settings
        .crash
        .rooms
        .iter()
        .map(|(room, room_settings)| {
            let limits = BetLimits {
                bet_min_micros: room_settings.bet_min_micros,
                bet_max_micros: room_settings.bet_max_micros,
                payout_max_micros: room_settings.payout_max_micros,
            };
            let metadata = json!({
                "game": CRASH,
                "mode": Mode::RealTime,
                "house_edge_bps": room_settings.house_edge_bps,
                "payout_max_micros": limits.payout_max_micros,
            });
            let rtp_bps = rtp_from_edge(room_settings.house_edge_bps);
            (house_listing(room, CATEGORY_CRASH, rtp_bps, &limits, metadata), true)
        })
        .collect();
    for game in ORIGINALS {
        let registered = registry
            .per_player(game)
            .with_context(|| format!("{game} is not in the game registry"))?;
        let rtp_bps = match game {
            "dice" => rtp_from_edge(settings.games.dice.house_edge_bps),
            "mines" => rtp_from_edge(settings.games.mines.house_edge_bps),
            _ => plinko_rtp_bps(),
        };
        let metadata = json!({
            "game": game,
            "mode": registered.game.mode(),
            "payout_max_micros": registered.limits.payout_max_micros,
        });
        let listing = house_listing(game, CATEGORY_ORIGINALS, rtp_bps, &registered.limits, metadata);
        listings.push((listing, true));
    }
    for game in slots.games() {
        let listing = slot_listing(game, settings)?;
        let active = !slots.is_disabled(&listing.code);
        listings.push((listing, active));
    }
    Ok(listings)
}

fn house_listing(code: &str, category: &str, rtp_bps: i32, limits: &BetLimits, metadata: Value) -> GameListing {
    GameListing {
        code: code.to_owned(),
        name: display_name(code),
        category: category.to_owned(),
        rtp_bps,
        volatility: None,
        bet_min_micros: limits.bet_min_micros,
        bet_max_micros: limits.bet_max_micros,
        metadata,
    }
}

/// A slot game: its definition's name, target RTP (else the base mode's measured PAR RTP, rounded
/// down) and volatility label; bets from the configured levels (the smallest is the minimum bet, the
/// largest the maximum).
fn slot_listing(game: &ServedGame, settings: &Settings) -> anyhow::Result<GameListing> {
    let definition = &game.definition;
    let levels = &settings.games.slots.bet_levels_micros;
    let (Some(bet_min), Some(bet_max)) = (levels.iter().min(), levels.iter().max()) else {
        anyhow::bail!("games.slots.bet_levels_micros is empty");
    };
    let rtp_bps = match definition.target_rtp_bp() {
        Some(target) => i32::try_from(target).context("a slot's target RTP fits in basis points")?,
        None => game
            .par_rtp
            .get("base")
            // The measured ratio in basis points, rounded down (never declared above what was measured).
            .map(|ratio| (ratio * 10_000.0).floor() as i32)
            .with_context(|| {
                format!(
                    "slot {} declares no target RTP and has no PAR baseline",
                    definition.id()
                )
            })?,
    };
    let volatility = definition
        .volatility()
        .map(|volatility| serde_json::to_value(volatility).map(|value| value.as_str().map(str::to_owned)))
        .transpose()?
        .flatten();
    Ok(GameListing {
        code: definition.id().to_owned(),
        name: definition.name().to_owned(),
        category: CATEGORY_SLOTS.to_owned(),
        rtp_bps,
        volatility,
        bet_min_micros: *bet_min,
        bet_max_micros: *bet_max,
        metadata: json!({
            "game": "slots",
            "math_version": definition.math_version(),
            "reels": definition.reels(),
            "rows": definition.rows(),
            "bonus_buy": definition.modes().iter().any(|mode| mode.is_bonus_buy()),
        }),
    })
}

/// The return of a game whose only edge is `house_edge_bps`.
fn rtp_from_edge(house_edge_bps: u32) -> i32 {
    10_000 - house_edge_bps.min(10_000) as i32
}

/// Plinko's edge lives in its published payout tables (each returns 98.9% to 99.2%, depending on rows
/// and risk); the declared figure is the lowest of them, rounded down to a basis point, so no table a
/// player can choose returns less than declared.
pub fn plinko_rtp_bps() -> i32 {
    let lowest_ppm = (plinko::ROWS_MIN..=plinko::ROWS_MAX)
        .flat_map(|rows| [Risk::Low, Risk::Medium, Risk::High].map(|risk| plinko::expected_return_ppm(rows, risk)))
        .flatten()
        .min()
        .unwrap_or(0);
    // ppm to basis points: divide by 100, rounding down.
    (lowest_ppm / 100) as i32
}

/// `aviator` → `Aviator`, `gem-cascade` → `Gem Cascade`.
fn display_name(code: &str) -> String {
    code.split(['-', '_'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut characters = word.chars();
            characters
                .next()
                .map(|first| first.to_uppercase().chain(characters).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default configuration's house games: every room, the three originals and both shipped
    /// slots, each a valid listing with its configured RTP.
    #[test]
    fn the_default_configuration_lists_every_house_game() {
        let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let settings = Settings::load_from(&config, "default-only").expect("the default configuration loads");
        let slots = SlotCatalog::load(&settings.games.slots).expect("the shipped slots load");
        let listings = house_listings(&settings, &slots).unwrap();
        let found: Vec<(&str, &str, i32, bool)> = listings
            .iter()
            .map(|(listing, active)| {
                (
                    listing.code.as_str(),
                    listing.category.as_str(),
                    listing.rtp_bps,
                    *active,
                )
            })
            .collect();
        let plinko = plinko_rtp_bps();
        assert_eq!(
            found,
            [
                ("aviator", "crash", 9_900, true),
                ("jetx", "crash", 9_900, true),
                ("dice", "originals", 9_900, true),
                ("plinko", "originals", plinko, true),
                ("mines", "originals", 9_900, true),
                ("fortune-lines", "slots", 9_600, true),
                ("gem-cascade", "slots", 9_600, true),
            ]
        );
        for (mut game, _) in listings {
            assert_eq!(listing::validate(&mut game), Ok(()), "{}", game.code);
        }
    }

    #[test]
    fn plinko_declares_the_lowest_table_return() {
        let rtp = plinko_rtp_bps();
        assert!((9_890..=9_920).contains(&rtp), "plinko rtp {rtp}");
    }

    #[test]
    fn display_names_read_well() {
        assert_eq!(display_name("aviator"), "Aviator");
        assert_eq!(display_name("gem-cascade"), "Gem Cascade");
        assert_eq!(display_name("dice"), "Dice");
    }

    #[test]
    fn edges_become_returns() {
        assert_eq!(rtp_from_edge(100), 9_900);
        assert_eq!(rtp_from_edge(0), 10_000);
    }
}
