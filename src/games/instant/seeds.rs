//! Each player's seed pairs in Postgres. The active pair's server seed is read only inside the bet
//! transaction that uses it, held in a [`ServerSeed`] that cannot be printed or serialized; everything
//! that leaves the server carries its SHA-256 until a rotation reveals it.

use crate::fair::seeds::SeedInput;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};
use std::fmt;
use uuid::Uuid;

/// The longest client seed a player may choose.
pub const CLIENT_SEED_LENGTH_MAX: usize = 64;

/// A server seed that is still secret. Its `Debug` prints nothing of it and it has no `Serialize`.
pub struct ServerSeed(String);

impl fmt::Debug for ServerSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSeed(<secret>)")
    }
}

/// The active pair, locked for one bet.
#[derive(Debug)]
pub struct LockedSeed {
    pub id: i64,
    server_seed: ServerSeed,
    pub server_seed_hash: String,
    pub client_seed: String,
    pub next_nonce: i64,
}

impl LockedSeed {
    /// The fairness inputs of the bet that takes `next_nonce`.
    pub fn input(&self) -> SeedInput<'_> {
        SeedInput {
            server_seed: &self.server_seed.0,
            client_seed: &self.client_seed,
            nonce: self.next_nonce as u64,
        }
    }
}

/// The active pair as the player sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ActivePair {
    pub server_seed_hash: String,
    pub client_seed: String,
    pub next_nonce: i64,
}

/// A pair that a rotation retired, with its server seed revealed.
#[derive(Debug, Clone, Serialize)]
pub struct RevealedPair {
    pub server_seed: String,
    pub server_seed_hash: String,
    pub client_seed: String,
    /// Bets made with this pair used nonces 0 to `nonces_used - 1`.
    pub nonces_used: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    pub revealed: RevealedPair,
    pub active: ActivePair,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("client_seed must be 1 to {CLIENT_SEED_LENGTH_MAX} printable ASCII characters")]
    InvalidClientSeed,
    /// A stepwise game in progress was dealt from the active seed; revealing it would reveal the game.
    #[error("finish your {0} game before rotating the seed pair")]
    GameInProgress(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// Checks a client seed a player chose.
pub fn parse_client_seed(text: &str) -> Result<String, SeedError> {
    let printable = text.bytes().all(|byte| (0x20..=0x7e).contains(&byte));
    if text.is_empty() || text.len() > CLIENT_SEED_LENGTH_MAX || !printable {
        return Err(SeedError::InvalidClientSeed);
    }
    Ok(text.to_owned())
}

/// Starts a new active pair for a player unless one exists.
async fn ensure_active(connection: &mut PgConnection, player: Uuid, client_seed: Option<String>) -> sqlx::Result<()> {
    let server_seed = random_hex(32);
    sqlx::query(
        "INSERT INTO player_seeds (player_id, server_seed, server_seed_hash, client_seed) VALUES ($1, $2, $3, $4)
         ON CONFLICT (player_id) WHERE revealed_at IS NULL DO NOTHING",
    )
    .bind(player)
    .bind(&server_seed)
    .bind(sha256_hex(&server_seed))
    .bind(client_seed.unwrap_or_else(|| random_hex(10)))
    .execute(connection)
    .await?;
    Ok(())
}

async fn select_active_for_update(connection: &mut PgConnection, player: Uuid) -> sqlx::Result<Option<LockedSeed>> {
    let row = sqlx::query(
        "SELECT id, server_seed, server_seed_hash, client_seed, next_nonce FROM player_seeds
         WHERE player_id = $1 AND revealed_at IS NULL FOR UPDATE",
    )
    .bind(player)
    .fetch_optional(connection)
    .await?;
    row.map(|row| {
        Ok(LockedSeed {
            id: row.try_get("id")?,
            server_seed: ServerSeed(row.try_get("server_seed")?),
            server_seed_hash: row.try_get("server_seed_hash")?,
            client_seed: row.try_get("client_seed")?,
            next_nonce: row.try_get("next_nonce")?,
        })
    })
    .transpose()
}

/// Locks the player's active pair for the rest of the transaction (creating it on first use). Bets and
/// rotations of one player queue on this lock, so nonces never repeat and a rotation never splits a bet.
pub async fn lock_active(connection: &mut PgConnection, player: Uuid) -> sqlx::Result<LockedSeed> {
    if let Some(seed) = select_active_for_update(connection, player).await? {
        return Ok(seed);
    }
    ensure_active(connection, player, None).await?;
    select_active_for_update(connection, player)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// Takes the locked pair's next nonce.
pub async fn take_nonce(connection: &mut PgConnection, seed: &LockedSeed) -> sqlx::Result<()> {
    sqlx::query("UPDATE player_seeds SET next_nonce = next_nonce + 1 WHERE id = $1")
        .bind(seed.id)
        .execute(connection)
        .await?;
    Ok(())
}

/// The player's active pair, created on first use.
pub async fn active(pool: &PgPool, player: Uuid) -> sqlx::Result<ActivePair> {
    let mut transaction = pool.begin().await?;
    let seed = lock_active(&mut transaction, player).await?;
    transaction.commit().await?;
    Ok(ActivePair {
        server_seed_hash: seed.server_seed_hash,
        client_seed: seed.client_seed,
        next_nonce: seed.next_nonce,
    })
}

/// Reveals the active pair and starts a new one, with the client seed the player chose or a random one.
/// Refused while a stepwise game or a slot round dealt from the active pair is still open.
pub async fn rotate(pool: &PgPool, player: Uuid, client_seed: Option<String>) -> Result<Rotation, SeedError> {
    let client_seed = client_seed.as_deref().map(parse_client_seed).transpose()?;
    let mut transaction = pool.begin().await?;
    let old = lock_active(&mut transaction, player).await?;
    let open_game: Option<String> = sqlx::query_scalar(
        "SELECT game FROM instant_bets WHERE seed_id = $1 AND stepwise AND status IN ('pending', 'open') LIMIT 1",
    )
    .bind(old.id)
    .fetch_optional(&mut *transaction)
    .await?;
    // A slot round still being revealed was decided from this pair too: revealing the seed would tell
    // its free spins before the player sees them.
    let open_game = match open_game {
        Some(game) => Some(game),
        None => {
            sqlx::query_scalar(
                "SELECT game_id FROM slot_rounds WHERE seed_id = $1 AND status IN ('pending', 'open') LIMIT 1",
            )
            .bind(old.id)
            .fetch_optional(&mut *transaction)
            .await?
        }
    };
    if let Some(game) = open_game {
        return Err(SeedError::GameInProgress(game));
    }
    sqlx::query("UPDATE player_seeds SET revealed_at = now() WHERE id = $1")
        .bind(old.id)
        .execute(&mut *transaction)
        .await?;
    ensure_active(&mut transaction, player, client_seed).await?;
    let new = select_active_for_update(&mut transaction, player)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    transaction.commit().await?;
    Ok(Rotation {
        revealed: RevealedPair {
            server_seed: old.server_seed.0,
            server_seed_hash: old.server_seed_hash,
            client_seed: old.client_seed,
            nonces_used: old.next_nonce,
        },
        active: ActivePair {
            server_seed_hash: new.server_seed_hash,
            client_seed: new.client_seed,
            next_nonce: new.next_nonce,
        },
    })
}
