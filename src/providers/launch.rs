//! Launching a catalog game: checks the player, the game and the balance, opens a game session.
//!
//! The session's token is what an outside provider's calls carry (bets need it unexpired; wins and
//! rollbacks do not). The URL is ours for house games and the provider adapter's for outside games.
//! Checks run in a fixed order, so a client always learns the first reason, and nothing is written
//! unless all pass.

use super::adapter::Launch;
use crate::catalog::{self, CatalogGame, Protocol, ProviderRecord};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sqlx::{PgPool, Row};
use std::time::Duration;
use uuid::Uuid;

/// Random bytes in a session token (written as hex, twice as many characters).
pub const SESSION_TOKEN_BYTES: usize = 32;

/// What launching needs from the configuration.
#[derive(Debug, Clone)]
pub struct LaunchSettings {
    pub session_ttl: Duration,
    /// Where our own games' pages are (no trailing '/').
    pub public_base_url: String,
}

/// An opened game session, as the launch answers it.
#[derive(Debug, Clone, Serialize)]
pub struct GameSession {
    pub session_id: Uuid,
    pub game_id: i64,
    pub provider: String,
    pub code: String,
    pub currency: String,
    pub token: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("no game has this id")]
    UnknownGame,
    #[error("this game is not available")]
    GameDisabled,
    #[error("the player of this token no longer exists")]
    UnknownPlayer,
    #[error("the player is blocked by the operator")]
    PlayerBlocked,
    #[error("this account is self-excluded until {0}")]
    SelfExcluded(DateTime<Utc>),
    #[error("the game's provider does not take {0}")]
    CurrencyNotSupported(String),
    #[error("the balance is below the game's minimum bet of {bet_min_micros} micro-units")]
    InsufficientBalance { bet_min_micros: i64 },
    #[error("the game's provider has no launch URL configured")]
    NoLaunchUrl,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The player as a launch checks them, read from the primary.
struct PlayerStanding {
    blocked: bool,
    /// `Some` while the exclusion lasts (compared with Postgres' clock).
    excluded_until: Option<DateTime<Utc>>,
    currency: String,
    balance_micros: i64,
}

/// Checks and opens a session of `game_id` for `player_id` (see the module comment for the order).
#[tracing::instrument(skip(pool, settings))]
pub async fn launch(
    pool: &PgPool,
    settings: &LaunchSettings,
    player_id: Uuid,
    game_id: i64,
) -> Result<GameSession, LaunchError> {
    let game = catalog::game(pool, game_id).await?.ok_or(LaunchError::UnknownGame)?;
    let provider = catalog::provider(pool, &game.provider_id)
        .await?
        .ok_or(LaunchError::UnknownGame)?;
    if !(game.active && provider.active) {
        return Err(LaunchError::GameDisabled);
    }
    let player = standing(pool, player_id).await?.ok_or(LaunchError::UnknownPlayer)?;
    check_player(&player, &provider, &game)?;
    let session_id = Uuid::now_v7();
    let token = new_token();
    let launch = Launch {
        session_id,
        token: &token,
        game_code: &game.code,
        player_id,
        currency: &player.currency,
    };
    let url = launch_url(settings, &provider, &launch)?;
    let expires_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO game_sessions (id, player_id, game_id, provider_id, currency, token, url, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))
         RETURNING expires_at",
    )
    .bind(session_id)
    .bind(player_id)
    .bind(game.id)
    .bind(&provider.id)
    .bind(&player.currency)
    .bind(&token)
    .bind(&url)
    .bind(settings.session_ttl.as_secs_f64())
    .fetch_one(pool)
    .await?;
    tracing::info!(%session_id, game_id, provider = %provider.id, "game session opened");
    Ok(GameSession {
        session_id,
        game_id: game.id,
        provider: provider.id,
        code: game.code,
        currency: player.currency,
        token,
        url,
        expires_at,
    })
}

async fn standing(pool: &PgPool, player_id: Uuid) -> Result<Option<PlayerStanding>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT p.status, CASE WHEN p.self_excluded_until > now() THEN p.self_excluded_until END AS excluded_until,
                a.currency, a.balance
         FROM players p JOIN accounts a ON a.id = p.account_id WHERE p.id = $1",
    )
    .bind(player_id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let status: String = row.try_get("status")?;
    Ok(Some(PlayerStanding {
        blocked: status == "blocked",
        excluded_until: row.try_get("excluded_until")?,
        currency: row.try_get("currency")?,
        balance_micros: row.try_get("balance")?,
    }))
}

/// The player's checks, in order: status, self-exclusion, currency (outside games), balance.
fn check_player(player: &PlayerStanding, provider: &ProviderRecord, game: &CatalogGame) -> Result<(), LaunchError> {
    if player.blocked {
        return Err(LaunchError::PlayerBlocked);
    }
    if let Some(until) = player.excluded_until {
        return Err(LaunchError::SelfExcluded(until));
    }
    let house = provider.protocol == Protocol::House;
    if !house && !provider.currencies.contains(&player.currency) {
        return Err(LaunchError::CurrencyNotSupported(player.currency.clone()));
    }
    if player.balance_micros < game.bet_min_micros {
        return Err(LaunchError::InsufficientBalance {
            bet_min_micros: game.bet_min_micros,
        });
    }
    Ok(())
}

fn launch_url(
    settings: &LaunchSettings,
    provider: &ProviderRecord,
    launch: &Launch<'_>,
) -> Result<String, LaunchError> {
    let Some(adapter) = super::adapter_for(provider.protocol) else {
        return Ok(house_url(
            &settings.public_base_url,
            launch.game_code,
            launch.session_id,
        ));
    };
    if provider.launch_url.is_empty() {
        return Err(LaunchError::NoLaunchUrl);
    }
    Ok(adapter.launch_url(provider, launch))
}

/// Our own page of a house game (game codes are URL-safe by their pattern).
pub fn house_url(public_base_url: &str, code: &str, session_id: Uuid) -> String {
    format!("{public_base_url}/#/play/{code}?session={session_id}")
}

fn new_token() -> String {
    let mut bytes = [0u8; SESSION_TOKEN_BYTES];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(protocol: Protocol, currencies: &[&str]) -> ProviderRecord {
        ProviderRecord {
            id: "studio".into(),
            name: "Studio".into(),
            protocol,
            secret: None,
            public_key: None,
            launch_url: String::new(),
            currencies: currencies.iter().map(|currency| currency.to_string()).collect(),
            active: true,
        }
    }

    fn game() -> CatalogGame {
        CatalogGame {
            id: 1,
            provider_id: "studio".into(),
            code: "g".into(),
            name: "G".into(),
            category: "slots".into(),
            rtp_bps: 9_600,
            volatility: None,
            bet_min_micros: 100_000,
            bet_max_micros: 1_000_000,
            active: true,
        }
    }

    fn player() -> PlayerStanding {
        PlayerStanding {
            blocked: false,
            excluded_until: None,
            currency: "USD".into(),
            balance_micros: 100_000,
        }
    }

    #[test]
    fn the_checks_run_in_order() {
        let generic = provider(Protocol::Generic, &["EUR"]);
        let blocked_and_poor = PlayerStanding {
            blocked: true,
            balance_micros: 0,
            ..player()
        };
        assert!(matches!(
            check_player(&blocked_and_poor, &generic, &game()),
            Err(LaunchError::PlayerBlocked)
        ));
        let excluded = PlayerStanding {
            excluded_until: Some(Utc::now()),
            ..player()
        };
        assert!(matches!(
            check_player(&excluded, &generic, &game()),
            Err(LaunchError::SelfExcluded(_))
        ));
        assert!(matches!(
            check_player(&player(), &generic, &game()),
            Err(LaunchError::CurrencyNotSupported(_))
        ));
        let poor = PlayerStanding {
            balance_micros: 99_999,
            ..player()
        };
        assert!(matches!(
            check_player(&poor, &provider(Protocol::Generic, &["USD"]), &game()),
            Err(LaunchError::InsufficientBalance { .. })
        ));
        assert!(check_player(&player(), &provider(Protocol::Generic, &["USD"]), &game()).is_ok());
    }

    #[test]
    fn house_games_take_any_currency() {
        assert!(check_player(&player(), &provider(Protocol::House, &[]), &game()).is_ok());
    }

    #[test]
    fn tokens_are_64_hex_characters_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 2 * SESSION_TOKEN_BYTES);
        assert!(a.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
