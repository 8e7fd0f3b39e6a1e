//! The games shipped under `games/slots/` load, are listed, and have the shape their maths pages
//! describe (a base mode at cost 1, a bonus buy, free spins under a hard cap and a win cap).

use super::load::{list_games, load_game};
use std::path::{Path, PathBuf};

/// The games the project ships, by id.
const SHIPPED: [&str; 2] = ["fortune-lines", "gem-cascade"];

fn games_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("games").join("slots")
}

#[test]
fn list_games_lists_every_shipped_game() {
    // The directory listing is what the server offers; a shipped game missing from it would be unplayable.
    let games = list_games(&games_root()).expect("games/slots is readable");
    for id in SHIPPED {
        assert!(games.iter().any(|game| game == id), "{id} is not listed: {games:?}");
    }
}

#[test]
fn every_shipped_game_loads_with_a_base_mode_a_bonus_buy_and_caps() {
    // A definition error would only show at start-up; loading here names the game and the field at fault.
    for id in SHIPPED {
        let definition = load_game(&games_root(), id).unwrap_or_else(|error| panic!("{id} fails to load: {error}"));
        assert_eq!(definition.id(), id);
        let base = definition
            .mode("base")
            .unwrap_or_else(|| panic!("{id} has no base mode"));
        assert_eq!(base.cost(), 1, "{id}: the base mode costs one bet");
        assert!(!base.is_bonus_buy(), "{id}: the base mode plays a base spin");
        assert!(
            definition.modes().iter().any(|mode| mode.is_bonus_buy()),
            "{id} has no bonus buy"
        );
        assert!(definition.free_spins_max() > 0, "{id}: retriggers need a hard cap");
        assert!(definition.win_cap_centibet() > 0, "{id} has no win cap");
        assert_eq!(definition.target_rtp_bp(), Some(9_600), "{id} declares its 96% target");
        assert!(definition.volatility().is_some(), "{id} declares its volatility");
    }
}
