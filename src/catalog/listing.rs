//! What a catalog game may say about itself, checked before it reaches `games` (the table's own checks
//! are the last line, not the first), and the one upsert that writes listings for the house sync, the
//! admin API and provider imports alike.

use super::GameListing;
use crate::money::Amount;
use sqlx::{Postgres, Transaction};

/// Bounds of the fields a listing carries (the `games` table checks the same ones).
pub const GAME_CODE_LENGTH_MAX: usize = 100;
pub const GAME_NAME_LENGTH_MAX: usize = 200;
pub const CATEGORY_LENGTH_MAX: usize = 32;
pub const RTP_BPS_MAX: i32 = 10_000;
/// A game's metadata, serialized, holds at most this many bytes.
pub const METADATA_BYTES_MAX: usize = 4_096;
/// The volatility labels a game may carry.
pub const VOLATILITIES: [&str; 4] = ["low", "medium", "high", "very_high"];

/// Why a listing cannot enter the catalog; `code` is the error code clients see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidListing {
    pub code: &'static str,
    pub message: String,
}

impl InvalidListing {
    fn new(code: &'static str, message: impl Into<String>) -> InvalidListing {
        InvalidListing {
            code,
            message: message.into(),
        }
    }
}

/// A game code: 1 to 100 of ASCII letters, digits, `_`, `.`, `:` and `-`.
pub fn valid_game_code(code: &str) -> bool {
    (1..=GAME_CODE_LENGTH_MAX).contains(&code.len())
        && code
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b':' | b'-'))
}

/// A category: 1 to 32 of lower-case ASCII letters, digits, `_` and `-`.
pub fn valid_category(category: &str) -> bool {
    (1..=CATEGORY_LENGTH_MAX).contains(&category.len())
        && category
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'_' | b'-'))
}

/// Checks every field of a listing; an absent (`null`) metadata becomes `{}`.
pub fn validate(listing: &mut GameListing) -> Result<(), InvalidListing> {
    if !valid_game_code(&listing.code) {
        return Err(InvalidListing::new(
            "invalid_game_code",
            format!("a game code is 1 to {GAME_CODE_LENGTH_MAX} of letters, digits, '_', '.', ':' or '-'"),
        ));
    }
    let name_length = listing.name.chars().count();
    if listing.name.trim().is_empty()
        || name_length > GAME_NAME_LENGTH_MAX
        || listing.name.chars().any(char::is_control)
    {
        return Err(InvalidListing::new(
            "invalid_game_name",
            format!("a game name is 1 to {GAME_NAME_LENGTH_MAX} characters, none of them control characters"),
        ));
    }
    if !valid_category(&listing.category) {
        return Err(InvalidListing::new(
            "invalid_category",
            format!("a category is 1 to {CATEGORY_LENGTH_MAX} of lower-case letters, digits, '_' or '-'"),
        ));
    }
    if !(1..=RTP_BPS_MAX).contains(&listing.rtp_bps) {
        return Err(InvalidListing::new(
            "invalid_rtp",
            format!("rtp_bps is the declared return in basis points, 1 to {RTP_BPS_MAX}"),
        ));
    }
    if let Some(volatility) = &listing.volatility {
        if !VOLATILITIES.contains(&volatility.as_str()) {
            return Err(InvalidListing::new(
                "invalid_volatility",
                format!("volatility is null or one of {}", VOLATILITIES.join(", ")),
            ));
        }
    }
    validate_limits(listing.bet_min_micros, listing.bet_max_micros)?;
    validate_metadata(&mut listing.metadata)
}

/// Both limits are valid amounts and the minimum is at most the maximum.
pub fn validate_limits(bet_min_micros: i64, bet_max_micros: i64) -> Result<(), InvalidListing> {
    if Amount::parse(bet_min_micros).is_err()
        || Amount::parse(bet_max_micros).is_err()
        || bet_min_micros > bet_max_micros
    {
        return Err(InvalidListing::new(
            "invalid_limits",
            "bet_min_micros and bet_max_micros are positive amounts of micro-units with min <= max",
        ));
    }
    Ok(())
}

/// Metadata is a JSON object (`null` reads as `{}`) of bounded size.
pub fn validate_metadata(metadata: &mut serde_json::Value) -> Result<(), InvalidListing> {
    if metadata.is_null() {
        *metadata = serde_json::Value::Object(Default::default());
    }
    if !metadata.is_object() || metadata.to_string().len() > METADATA_BYTES_MAX {
        return Err(InvalidListing::new(
            "invalid_metadata",
            format!("metadata is a JSON object of at most {METADATA_BYTES_MAX} bytes"),
        ));
    }
    Ok(())
}

/// What an upsert did to the listings it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpsertCounts {
    pub inserted: u64,
    pub updated: u64,
    /// Listings equal to their row already: nothing written.
    pub unchanged: u64,
}

/// Inserts each listing of `provider_id` or updates its name, category, RTP, volatility, limits and
/// metadata, in one statement. `active` only applies to rows inserted: an existing row keeps the active
/// flag an operator gave it. A row whose fields are all equal is not written (so a re-import or a
/// restart changes nothing). Concurrent upserts of the same games (two nodes starting at once) wait for
/// each other on the unique key instead of failing; listings are written in code order, so two such
/// statements lock rows in the same order. Codes must be unique within `listings`.
pub async fn upsert(
    transaction: &mut Transaction<'_, Postgres>,
    provider_id: &str,
    listings: &[(GameListing, bool)],
) -> Result<UpsertCounts, sqlx::Error> {
    let mut ordered: Vec<&(GameListing, bool)> = listings.iter().collect();
    ordered.sort_by(|a, b| a.0.code.cmp(&b.0.code));
    let column =
        |field: fn(&GameListing) -> String| ordered.iter().map(|(listing, _)| field(listing)).collect::<Vec<_>>();
    let inserted: Vec<bool> = sqlx::query_scalar(
        "INSERT INTO games (provider_id, code, name, category, rtp_bps, volatility, bet_min_micros, bet_max_micros,
                            metadata, active)
         SELECT $1, listing.* FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::bigint[],
                                          $8::bigint[], $9::jsonb[], $10::bool[])
             AS listing(code, name, category, rtp_bps, volatility, bet_min_micros, bet_max_micros, metadata, active)
         ON CONFLICT (provider_id, code) DO UPDATE SET
             name = EXCLUDED.name, category = EXCLUDED.category, rtp_bps = EXCLUDED.rtp_bps,
             volatility = EXCLUDED.volatility, bet_min_micros = EXCLUDED.bet_min_micros,
             bet_max_micros = EXCLUDED.bet_max_micros, metadata = EXCLUDED.metadata, updated_at = now()
         WHERE (games.name, games.category, games.rtp_bps, games.volatility, games.bet_min_micros,
                games.bet_max_micros, games.metadata)
               IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.category, EXCLUDED.rtp_bps, EXCLUDED.volatility,
                                 EXCLUDED.bet_min_micros, EXCLUDED.bet_max_micros, EXCLUDED.metadata)
         RETURNING (xmax = 0) AS inserted",
    )
    .bind(provider_id)
    .bind(column(|listing| listing.code.clone()))
    .bind(column(|listing| listing.name.clone()))
    .bind(column(|listing| listing.category.clone()))
    .bind(ordered.iter().map(|(listing, _)| listing.rtp_bps).collect::<Vec<i32>>())
    .bind(
        ordered
            .iter()
            .map(|(listing, _)| listing.volatility.clone())
            .collect::<Vec<Option<String>>>(),
    )
    .bind(
        ordered
            .iter()
            .map(|(listing, _)| listing.bet_min_micros)
            .collect::<Vec<i64>>(),
    )
    .bind(
        ordered
            .iter()
            .map(|(listing, _)| listing.bet_max_micros)
            .collect::<Vec<i64>>(),
    )
    .bind(
        ordered
            .iter()
            .map(|(listing, _)| listing.metadata.clone())
            .collect::<Vec<serde_json::Value>>(),
    )
    .bind(ordered.iter().map(|(_, active)| *active).collect::<Vec<bool>>())
    .fetch_all(&mut **transaction)
    .await?;
    let inserted_count = inserted.iter().filter(|inserted| **inserted).count() as u64;
    let written = inserted.len() as u64;
    Ok(UpsertCounts {
        inserted: inserted_count,
        updated: written - inserted_count,
        unchanged: listings.len() as u64 - written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listing() -> GameListing {
        GameListing {
            code: "sweet_bonanza".into(),
            name: "Sweet Bonanza".into(),
            category: "slots".into(),
            rtp_bps: 9_651,
            volatility: Some("high".into()),
            bet_min_micros: 200_000,
            bet_max_micros: 100_000_000,
            metadata: serde_json::Value::Null,
        }
    }

    fn code_of(change: impl FnOnce(&mut GameListing)) -> Option<&'static str> {
        let mut listing = listing();
        change(&mut listing);
        validate(&mut listing).err().map(|error| error.code)
    }

    #[test]
    fn a_valid_listing_passes_and_gets_empty_metadata() {
        let mut listing = listing();
        assert_eq!(validate(&mut listing), Ok(()));
        assert_eq!(listing.metadata, json!({}));
    }

    #[test]
    fn each_bad_field_has_its_code() {
        assert_eq!(code_of(|l| l.code = "has space".into()), Some("invalid_game_code"));
        assert_eq!(code_of(|l| l.code = "x".repeat(101)), Some("invalid_game_code"));
        assert_eq!(code_of(|l| l.code = String::new()), Some("invalid_game_code"));
        assert_eq!(code_of(|l| l.name = "  ".into()), Some("invalid_game_name"));
        assert_eq!(code_of(|l| l.name = "a\nb".into()), Some("invalid_game_name"));
        assert_eq!(code_of(|l| l.category = "Slots".into()), Some("invalid_category"));
        assert_eq!(code_of(|l| l.rtp_bps = 0), Some("invalid_rtp"));
        assert_eq!(code_of(|l| l.rtp_bps = 10_001), Some("invalid_rtp"));
        assert_eq!(
            code_of(|l| l.volatility = Some("wild".into())),
            Some("invalid_volatility")
        );
        assert_eq!(code_of(|l| l.bet_min_micros = 0), Some("invalid_limits"));
        assert_eq!(code_of(|l| l.bet_max_micros = 100_000), Some("invalid_limits"));
        assert_eq!(code_of(|l| l.metadata = json!([1])), Some("invalid_metadata"));
        assert_eq!(
            code_of(|l| l.metadata = json!({"a": "x".repeat(5000)})),
            Some("invalid_metadata")
        );
        assert_eq!(code_of(|l| l.code = "pragmatic:vs20.sweet-bonanza_1".into()), None);
        assert_eq!(code_of(|l| l.volatility = None), None);
    }
}
