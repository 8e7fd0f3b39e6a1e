//! Load-test fixtures: many funded players and their tokens, made in seconds rather than through the
//! HTTP signup, whose Argon2 hash per player is deliberately slow. Development, test and local only.

use crate::auth::{PasswordHasherConfig, TokenKeys};
use crate::configuration::Settings;
use crate::db::Database;
use crate::money::{Amount, Currency};
use crate::players::{self, Player, SignupError, Username};
use crate::wallet::ledger::{IdempotencyKey, TransferError, TransferKind};
use crate::wallet::Wallet;
use anyhow::Context;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use secrecy::SecretString;
use std::sync::atomic::{AtomicU32, Ordering};

/// The most players one call creates.
pub const PLAYERS_MAX: u32 = 100_000;
/// Players being created and funded at once (each holds a writer connection for a moment, then waits
/// on its wallet shard).
const CREATE_IN_FLIGHT_MAX: usize = 64;

/// Creates `count` players named `{prefix}0` to `{prefix}{count - 1}`, funds each with `funds_micros`
/// through the wallet (a `top_up` transfer from the treasury with the key `loadtest-fund:{player_id}`,
/// so the ledger stays balanced and the audit passes), and returns one token per player, in index order.
///
/// The Argon2 hash is computed once: every fixture player gets the hash of the same random password,
/// which is never shown, so the players are usable through their tokens only. A username that already
/// exists is reused rather than refused: its player gets a token, and since the funding key names the
/// player, a player funded by an earlier run is not funded again. Running twice with the same prefix
/// therefore returns tokens for the same players, and a run that failed half-way can simply be repeated.
///
/// Refuses to run unless `wallet.dev_top_up_enabled` is set (the development, test and local settings).
/// Runs inside an actix system (the CLI's runtime), since the wallet's shard actors are started on the
/// current arbiter.
#[tracing::instrument(skip(settings))]
pub async fn create_players(
    settings: &Settings,
    count: u32,
    prefix: &str,
    funds_micros: i64,
) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(
        settings.wallet.dev_top_up_enabled,
        "load-test players are only made where wallet.dev_top_up_enabled is set (development, test, local)"
    );
    anyhow::ensure!(
        (1..=PLAYERS_MAX).contains(&count),
        "the player count must be 1 to {PLAYERS_MAX}"
    );
    let funds = Amount::parse(funds_micros).map_err(|error| anyhow::anyhow!("invalid funds: {error}"))?;
    for index in [0, count - 1] {
        Username::parse(&format!("{prefix}{index}"))
            .map_err(|error| anyhow::anyhow!("the prefix {prefix:?} makes invalid usernames: {error}"))?;
    }
    let database = Database::connect_lazy(&settings.database);
    database.migrate().await?;
    let wallet = Wallet::start(&database, &settings.wallet, settings.currency()).await?;
    let password = SecretString::from(uuid::Uuid::new_v4().simple().to_string());
    let password_hash = PasswordHasherConfig::new(&settings.auth)?.hash(password).await?;
    let fixture = Fixture {
        database,
        wallet,
        keys: TokenKeys::new(&settings.auth),
        password_hash,
        currency: settings.currency(),
        funds,
        reused: AtomicU32::new(0),
    };
    let tokens = stream::iter(0..count)
        .map(|index| fixture.player_token(prefix, index))
        .buffered(CREATE_IN_FLIGHT_MAX)
        .try_collect::<Vec<String>>()
        .await;
    // Every credit was answered, so this only stops the shards.
    fixture.wallet.drain().await;
    let tokens = tokens?;
    tracing::info!(
        players = tokens.len(),
        reused = fixture.reused.load(Ordering::Relaxed),
        "load-test players ready"
    );
    Ok(tokens)
}

struct Fixture {
    database: Database,
    wallet: Wallet,
    keys: TokenKeys,
    password_hash: String,
    currency: Currency,
    funds: Amount,
    reused: AtomicU32,
}

impl Fixture {
    /// Creates (or finds) player `{prefix}{index}`, funds it once, and returns its token.
    async fn player_token(&self, prefix: &str, index: u32) -> anyhow::Result<String> {
        let username = Username::parse(&format!("{prefix}{index}")).map_err(anyhow::Error::msg)?;
        let player = self.create_or_find(&username).await?;
        let key = IdempotencyKey::parse(&format!("loadtest-fund:{}", player.id))
            .context("a player id makes a valid idempotency key")?;
        let funded = self
            .wallet
            .credit_from_treasury(
                player.account,
                self.funds,
                TransferKind::TopUp,
                key,
                "load-test funding".into(),
            )
            .await;
        match funded {
            // A conflict means an earlier run funded this player with another amount: funded already.
            Ok(_) | Err(TransferError::IdempotencyConflict) => {}
            Err(error) => anyhow::bail!("failed to fund load-test player {}: {error}", player.username),
        }
        self.keys
            .issue_player(player.id, player.account, &player.username, player.token_version)
    }

    async fn create_or_find(&self, username: &Username) -> anyhow::Result<Player> {
        let created = players::create(
            &self.database.writer,
            username,
            &self.password_hash,
            &self.currency,
            None,
        )
        .await;
        match created {
            Ok((player, _)) => Ok(player),
            Err(SignupError::UsernameTaken) => {
                self.reused.fetch_add(1, Ordering::Relaxed);
                let found = players::find_credentials(&self.database.writer, username.as_str())
                    .await
                    .context("failed to look up an existing load-test player")?;
                found
                    .map(|(player, _)| player)
                    .with_context(|| format!("player {} exists but cannot be found", username.as_str()))
            }
            Err(SignupError::Database(error)) => {
                Err(error).with_context(|| format!("failed to create load-test player {}", username.as_str()))
            }
        }
    }
}
