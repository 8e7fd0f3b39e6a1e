//! Hub88's game list (the Games API's `POST /operator/generic/v2/game/list` answer,
//! docs.hub88.io/developer-docs/operator-api-reference/games-api): a JSON array of games with
//! `game_code`, `name`, `category` (e.g. "Video Slots"), `enabled`, `rtp` (a decimal string such as
//! "96.5"), `volatility` (an integer, 1 the lowest), `product`, `platforms`, `url_thumb`,
//! `url_background`, `freebet_support`, `release_date`, `paylines`, `hit_ratio`, `blocked_countries`,
//! `features` and more. An object `{"games": [...]}` holding that array is read too.
//!
//! Where Hub88 has no field, or leaves one empty, we pick a default an operator can edit later:
//! - bet limits: Hub88 publishes none (the studio enforces its own), so the minimum is one Hub88 amount
//!   unit ([`BET_MIN_MICROS_DEFAULT`]) and the maximum our own limit on one movement: we never refuse a bet
//!   the studio allows;
//! - RTP: a missing or unreadable `rtp` is [`RTP_BPS_DEFAULT`]; a range such as "94.00 - 96.50" counts
//!   its first number; digits past hundredths of a percent are dropped (rounded down);
//! - volatility: 1 and 2 read as low, 3 medium, 4 high, 5 and up very high; anything else is unknown;
//! - category: the name in lower case with `_` for other characters ("Live Casino" -> `live_casino`),
//!   any slot category is `slots` and any crash category `crash` (as our own games), none is `other`.
//!
//! Games with `enabled: false` are left out. Hub88's other descriptive fields go to `metadata`, as many as
//! the catalog's metadata size limit takes.

use super::MICROS_PER_HUB88_AMOUNT;
use crate::catalog::listing::METADATA_BYTES_MAX;
use crate::catalog::GameListing;
use crate::money::AMOUNT_MAX_MICROS;
use serde_json::{Map, Value};

/// The declared RTP of a game whose list entry has none usable (96.00%).
pub const RTP_BPS_DEFAULT: i32 = 9600;
/// The smallest bet a Hub88 call can carry (one 1/100,000 unit).
pub const BET_MIN_MICROS_DEFAULT: i64 = MICROS_PER_HUB88_AMOUNT;
/// Our category names are at most this long (the catalog's check).
const CATEGORY_LENGTH_MAX: usize = 32;
/// Hub88's descriptive fields kept in a game's metadata, the most useful first.
const METADATA_FIELDS: [&str; 11] = [
    "product",
    "platforms",
    "url_thumb",
    "url_background",
    "freebet_support",
    "release_date",
    "paylines",
    "hit_ratio",
    "blocked_countries",
    "features",
    "rtp",
];

pub fn parse(list: &Value) -> Result<Vec<GameListing>, String> {
    let games = list
        .as_array()
        .or_else(|| list.get("games").and_then(Value::as_array))
        .ok_or("a Hub88 game list is a JSON array of games (or {\"games\": [...]})")?;
    let mut listings = Vec::with_capacity(games.len());
    for (index, game) in games.iter().enumerate() {
        let game = game
            .as_object()
            .ok_or_else(|| format!("game {index} of the list is not an object"))?;
        if game.get("enabled") == Some(&Value::Bool(false)) {
            continue;
        }
        listings.push(listing(game).map_err(|message| format!("game {index} of the list: {message}"))?);
    }
    Ok(listings)
}

fn listing(game: &Map<String, Value>) -> Result<GameListing, String> {
    let text = |name: &str| match game.get(name) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        _ => Err(format!("{name} must be a non-empty string")),
    };
    Ok(GameListing {
        code: text("game_code")?,
        name: text("name")?,
        category: category(game.get("category").and_then(Value::as_str).unwrap_or("")),
        rtp_bps: game.get("rtp").and_then(rtp_bps).unwrap_or(RTP_BPS_DEFAULT),
        volatility: game.get("volatility").and_then(Value::as_i64).and_then(volatility),
        bet_min_micros: BET_MIN_MICROS_DEFAULT,
        bet_max_micros: AMOUNT_MAX_MICROS,
        metadata: metadata(game),
    })
}

/// Hub88's descriptive fields, in [`METADATA_FIELDS`] order, leaving out any that would take the whole
/// past the catalog's size limit (long `blocked_countries` or `features` lists, say).
fn metadata(game: &Map<String, Value>) -> Value {
    let mut metadata = Map::new();
    for name in METADATA_FIELDS {
        let Some(value) = game.get(name) else {
            continue;
        };
        metadata.insert(name.to_owned(), value.clone());
        let size = serde_json::to_vec(&metadata).map_or(usize::MAX, |bytes| bytes.len());
        if size > METADATA_BYTES_MAX {
            metadata.remove(name);
        }
    }
    Value::Object(metadata)
}

/// Hub88's category as one of ours: lower case, `_` for anything else, slots and crash games merged.
pub fn category(hub88: &str) -> String {
    let lower = hub88.to_lowercase();
    if lower.contains("slot") {
        return "slots".into();
    }
    if lower.contains("crash") {
        return "crash".into();
    }
    let mut slug = String::new();
    for character in lower.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character);
        } else if !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let slug: String = slug.trim_matches('_').chars().take(CATEGORY_LENGTH_MAX).collect();
    let slug = slug.trim_end_matches('_');
    if slug.is_empty() {
        "other".into()
    } else {
        slug.to_owned()
    }
}

/// A percentage (string or number) in basis points: the first decimal number, hundredths kept, the rest
/// dropped; `None` unless it is above 0 and at most 100%.
pub fn rtp_bps(rtp: &Value) -> Option<i32> {
    let text = match rtp {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let text = text.trim_start();
    let whole_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let whole: i32 = text[..whole_end].parse().ok().filter(|whole| *whole <= 100)?;
    let hundredths = match text[whole_end..].strip_prefix('.') {
        Some(fraction) => {
            let digits: String = fraction.chars().take_while(char::is_ascii_digit).take(2).collect();
            format!("{digits:0<2}").parse::<i32>().ok()?
        }
        None => 0,
    };
    let bps = whole * 100 + hundredths;
    (1..=10_000).contains(&bps).then_some(bps)
}

/// Hub88's volatility integer as one of ours.
pub fn volatility(level: i64) -> Option<String> {
    let name = match level {
        1 | 2 => "low",
        3 => "medium",
        4 => "high",
        5.. => "very_high",
        _ => return None,
    };
    Some(name.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_hub88_list_becomes_listings_with_defaults_where_hub88_is_silent() {
        let list = json!([
            {"game_code": "clt_dragonrising", "name": "Dragon Rising", "category": "Video Slots",
             "enabled": true, "rtp": "96.5", "volatility": 4, "product": "Caleta", "url_thumb": "https://x/t.png"},
            {"game_code": "evo_lightning", "name": "Lightning Roulette", "category": "Live Casino",
             "enabled": true, "rtp": null, "volatility": null},
            {"game_code": "off", "name": "Retired", "category": "Video Slots", "enabled": false}
        ]);
        let games = parse(&list).unwrap();
        assert_eq!(games.len(), 2, "the disabled game is left out");
        assert_eq!(games[0].code, "clt_dragonrising");
        assert_eq!(games[0].category, "slots");
        assert_eq!(games[0].rtp_bps, 9650);
        assert_eq!(games[0].volatility.as_deref(), Some("high"));
        assert_eq!(games[0].bet_min_micros, 10);
        assert_eq!(games[0].bet_max_micros, AMOUNT_MAX_MICROS);
        assert_eq!(games[0].metadata["product"], "Caleta");
        assert_eq!(games[1].category, "live_casino");
        assert_eq!(games[1].rtp_bps, RTP_BPS_DEFAULT);
        assert_eq!(games[1].volatility, None);
        assert_eq!(parse(&json!({"games": list})).unwrap().len(), 2);
    }

    #[test]
    fn metadata_keeps_within_the_catalogs_limit() {
        let countries: Vec<String> = (0..2_000).map(|index| format!("C{index}")).collect();
        let list = json!([{"game_code": "g", "name": "G", "product": "Studio", "blocked_countries": countries,
                           "release_date": "2026-01-01"}]);
        let metadata = &parse(&list).unwrap()[0].metadata;
        assert_eq!(metadata["product"], "Studio");
        assert_eq!(metadata["release_date"], "2026-01-01");
        assert!(metadata.get("blocked_countries").is_none());
        assert!(metadata.to_string().len() <= METADATA_BYTES_MAX);
    }

    #[test]
    fn a_list_of_the_wrong_shape_is_refused_naming_the_game() {
        assert!(parse(&json!({"list": []})).is_err());
        let error = parse(&json!([{"game_code": "a", "name": "A"}, {"name": "no code"}])).unwrap_err();
        assert!(error.contains("game 1"), "{error}");
        assert!(parse(&json!([7])).is_err());
    }

    #[test]
    fn rtp_reads_decimal_percentages_without_floats() {
        assert_eq!(rtp_bps(&json!("96")), Some(9600));
        assert_eq!(rtp_bps(&json!("96.5")), Some(9650));
        assert_eq!(rtp_bps(&json!("96.559")), Some(9655));
        assert_eq!(rtp_bps(&json!(97.1)), Some(9710));
        assert_eq!(rtp_bps(&json!("94.00 - 96.50")), Some(9400));
        assert_eq!(rtp_bps(&json!("100")), Some(10000));
        for unusable in [
            json!("101"),
            json!("0"),
            json!("abc"),
            json!(""),
            json!(true),
            json!("-5"),
        ] {
            assert_eq!(rtp_bps(&unusable), None, "{unusable}");
        }
    }

    #[test]
    fn categories_become_our_slugs() {
        assert_eq!(category("Video Slots"), "slots");
        assert_eq!(category("Crash Games"), "crash");
        assert_eq!(category("Table Games"), "table_games");
        assert_eq!(category("  Live  Game Shows! "), "live_game_shows");
        assert_eq!(category("Рулетка"), "other");
        assert_eq!(category(""), "other");
        assert!(category(&"a b ".repeat(40)).len() <= CATEGORY_LENGTH_MAX);
    }
}
