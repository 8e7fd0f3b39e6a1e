//! Logout and token revocation.
//!
//! Our tokens are stateless JWTs, so revoking one needs state the nodes consult. Postgres holds it (the
//! source of truth; Redis only speeds things up):
//! - every player has a `token_version`, which every token carries as its `ver` claim; bumping it revokes
//!   every token issued before (the operator's "revoke all", or a logout the denylist cannot take);
//! - `revoked_tokens` lists single logged-out tokens by their `jti` until they would have expired anyway,
//!   at most `auth.revoked_tokens_per_player_max` per player, so each check reads a bounded list.
//!
//! Each node keeps what it read of a player (the [`TokenStanding`]) for `auth.token_version_cache_ms` at
//! most; a revocation clears every node's copy at once through the cluster's players channel (see
//! `session::players`), so the cache only bounds how long a lost message could leave a revoked token
//! working on another node. A read that raced a revocation is never cached (a generation counter).

use anyhow::Context;
use sqlx::{PgPool, Row};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

use crate::configuration::AuthSettings;

/// What a player's tokens must satisfy: the current version, and not one of the logged-out ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStanding {
    pub version: i64,
    pub revoked: Vec<Uuid>,
}

impl TokenStanding {
    /// Whether a token of version `version` and id `jti` is still good. A version other than the
    /// current one is refused both ways: an older one was revoked, a newer one was never issued.
    pub fn admits(&self, version: i64, jti: Option<Uuid>) -> bool {
        version == self.version && jti.is_none_or(|jti| !self.revoked.contains(&jti))
    }
}

/// What a logout or an operator's revocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// The one token is refused from now on.
    Token { jti: Uuid },
    /// Every token of a version below `version` is refused from now on.
    AllBefore { version: i64 },
}

/// The standings a node read lately, each trusted for `ttl`.
pub struct StandingCache {
    entries: HashMap<Uuid, (TokenStanding, Instant)>,
    ttl: Duration,
    entries_max: usize,
    /// Bumped by every `forget`: a read that started before a revocation must not be cached after it.
    generation: u64,
}

impl StandingCache {
    pub fn new(ttl: Duration, entries_max: usize) -> StandingCache {
        StandingCache {
            entries: HashMap::new(),
            ttl,
            entries_max: entries_max.max(1),
            generation: 0,
        }
    }

    pub fn get(&self, player: Uuid, now: Instant) -> Option<TokenStanding> {
        let (standing, read_at) = self.entries.get(&player)?;
        (now.saturating_duration_since(*read_at) < self.ttl).then(|| standing.clone())
    }

    /// The generation a read must present to `insert` what it read.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Keeps a standing read at `read_at`, unless a revocation happened since the read began. When full,
    /// expired copies go first, then all of them (the next reads refill it).
    pub fn insert(&mut self, player: Uuid, standing: TokenStanding, read_at: Instant, generation: u64) {
        if generation != self.generation || self.ttl.is_zero() {
            return;
        }
        if self.entries.len() >= self.entries_max && !self.entries.contains_key(&player) {
            let ttl = self.ttl;
            self.entries
                .retain(|_, (_, at)| read_at.saturating_duration_since(*at) < ttl);
            if self.entries.len() >= self.entries_max {
                self.entries.clear();
            }
        }
        self.entries.insert(player, (standing, read_at));
    }

    /// Drops the player's copy (a revocation happened) and voids reads still under way.
    pub fn forget(&mut self, player: Uuid) {
        self.entries.remove(&player);
        self.generation = self.generation.wrapping_add(1);
    }

    /// Drops every copy (revocations may have been missed) and voids reads still under way.
    pub fn forget_all(&mut self) {
        self.entries.clear();
        self.generation = self.generation.wrapping_add(1);
    }
}

/// Players whose standings one query reads at most when a node rechecks its sockets.
const STANDINGS_PER_QUERY_MAX: usize = 1_000;

/// The node's view of revoked tokens: checks, logouts and revocations against Postgres, with the cache.
#[derive(Clone)]
pub struct TokenRevocations {
    pool: PgPool,
    cache: Arc<Mutex<StandingCache>>,
    revoked_per_player_max: i64,
}

impl TokenRevocations {
    /// `pool` must be the primary: a lagging replica could still show a revoked token as good.
    pub fn new(pool: PgPool, settings: &AuthSettings) -> TokenRevocations {
        TokenRevocations {
            pool,
            cache: Arc::new(Mutex::new(StandingCache::new(
                Duration::from_millis(settings.token_version_cache_ms),
                settings.token_version_cache_entries_max as usize,
            ))),
            revoked_per_player_max: i64::from(settings.revoked_tokens_per_player_max),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, StandingCache> {
        // The lock guards plain map operations that cannot panic halfway; a poisoned lock is still sound.
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `player`'s token of `version` and id `jti` is still good. A player who no longer exists has
    /// no good tokens.
    pub async fn admits(&self, player: Uuid, version: i64, jti: Option<Uuid>) -> anyhow::Result<bool> {
        let now = Instant::now();
        if let Some(standing) = self.cache().get(player, now) {
            return Ok(standing.admits(version, jti));
        }
        let generation = self.cache().generation();
        let Some(standing) = self.read_standing(player).await? else {
            return Ok(false);
        };
        let admits = standing.admits(version, jti);
        self.cache().insert(player, standing, now, generation);
        Ok(admits)
    }

    /// Drops this node's copy of the player's standing (another node revoked something).
    pub fn forget(&self, player: Uuid) {
        self.cache().forget(player);
    }

    /// Drops every copy this node holds (it may have missed revocations).
    pub fn forget_all(&self) {
        self.cache().forget_all();
    }

    /// The current standings of `players`, read fresh, `STANDINGS_PER_QUERY_MAX` per query; a player who
    /// no longer exists is absent.
    pub async fn read_standings(&self, players: &[Uuid]) -> anyhow::Result<HashMap<Uuid, TokenStanding>> {
        let mut standings = HashMap::with_capacity(players.len());
        for chunk in players.chunks(STANDINGS_PER_QUERY_MAX) {
            let rows = sqlx::query(
                "SELECT p.id, p.token_version,
                        COALESCE(array_agg(r.jti) FILTER (WHERE r.jti IS NOT NULL), '{}') AS revoked
                 FROM players p LEFT JOIN revoked_tokens r ON r.player_id = p.id AND r.expires_at > now()
                 WHERE p.id = ANY($1) GROUP BY p.id, p.token_version",
            )
            .bind(chunk)
            .fetch_all(&self.pool)
            .await
            .context("failed to read players' token versions")?;
            for row in rows {
                let standing = TokenStanding {
                    version: row.try_get("token_version")?,
                    revoked: row.try_get("revoked")?,
                };
                standings.insert(row.try_get("id")?, standing);
            }
        }
        Ok(standings)
    }

    #[tracing::instrument(skip(self))]
    async fn read_standing(&self, player: Uuid) -> anyhow::Result<Option<TokenStanding>> {
        let row = sqlx::query(
            "SELECT p.token_version,
                    COALESCE(array_agg(r.jti) FILTER (WHERE r.jti IS NOT NULL), '{}') AS revoked
             FROM players p LEFT JOIN revoked_tokens r ON r.player_id = p.id AND r.expires_at > now()
             WHERE p.id = $1 GROUP BY p.token_version",
        )
        .bind(player)
        .fetch_optional(&self.pool)
        .await
        .context("failed to read a player's token version")?;
        row.map(|row| {
            Ok(TokenStanding {
                version: row.try_get("token_version")?,
                revoked: row.try_get("revoked")?,
            })
        })
        .transpose()
    }

    /// Logs out one token: its id joins the denylist until `expires_at` (unix seconds). A token without an
    /// id (issued before logout existed), or a player already at the denylist's limit, has every token
    /// revoked instead: still sound, only broader.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_token(&self, player: Uuid, jti: Option<Uuid>, expires_at: i64) -> anyhow::Result<Revoked> {
        let mut transaction = self.pool.begin().await?;
        // The player's row lock orders this logout with other logouts and revocations of the player.
        sqlx::query("SELECT 1 FROM players WHERE id = $1 FOR UPDATE")
            .bind(player)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM revoked_tokens WHERE player_id = $1 AND expires_at <= now()")
            .bind(player)
            .execute(&mut *transaction)
            .await?;
        let listed: i64 = sqlx::query_scalar("SELECT count(*) FROM revoked_tokens WHERE player_id = $1")
            .bind(player)
            .fetch_one(&mut *transaction)
            .await?;
        let revoked = match jti {
            Some(jti) if listed < self.revoked_per_player_max => {
                sqlx::query(
                    "INSERT INTO revoked_tokens (jti, player_id, expires_at) VALUES ($1, $2, to_timestamp($3))
                     ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(player)
                .bind(expires_at as f64)
                .execute(&mut *transaction)
                .await?;
                Revoked::Token { jti }
            }
            _ => Revoked::AllBefore {
                version: bump_version(&mut transaction, player).await?,
            },
        };
        transaction.commit().await.context("failed to commit a logout")?;
        self.forget(player);
        Ok(revoked)
    }

    /// Revokes every token of the player (the operator's action) and returns the new token version.
    /// `None` when no player has this id.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_all(&self, player: Uuid) -> anyhow::Result<Option<i64>> {
        let mut transaction = self.pool.begin().await?;
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM players WHERE id = $1 FOR UPDATE")
            .bind(player)
            .fetch_optional(&mut *transaction)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let version = bump_version(&mut transaction, player).await?;
        transaction.commit().await.context("failed to commit a revocation")?;
        self.forget(player);
        Ok(Some(version))
    }
}

/// Moves the player to the next token version; the single denylisted tokens are older, so their rows
/// are no longer needed.
async fn bump_version(connection: &mut sqlx::PgConnection, player: Uuid) -> anyhow::Result<i64> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE players SET token_version = token_version + 1 WHERE id = $1 RETURNING token_version",
    )
    .bind(player)
    .fetch_one(&mut *connection)
    .await
    .context("failed to bump a player's token version")?;
    sqlx::query("DELETE FROM revoked_tokens WHERE player_id = $1")
        .bind(player)
        .execute(&mut *connection)
        .await?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(version: i64, revoked: &[Uuid]) -> TokenStanding {
        TokenStanding {
            version,
            revoked: revoked.to_vec(),
        }
    }

    #[test]
    fn only_the_current_version_and_no_logged_out_id_is_admitted() {
        let (out, other) = (Uuid::new_v4(), Uuid::new_v4());
        let current = standing(2, &[out]);
        assert!(current.admits(2, Some(other)));
        assert!(current.admits(2, None), "a token from before ids exists at its version");
        assert!(!current.admits(2, Some(out)), "logged out");
        assert!(!current.admits(1, Some(other)), "revoked by the bump to 2");
        assert!(!current.admits(3, Some(other)), "never issued");
    }

    #[test]
    fn the_cache_trusts_a_read_for_its_ttl_only() {
        let mut cache = StandingCache::new(Duration::from_millis(100), 10);
        let (player, start) = (Uuid::new_v4(), Instant::now());
        cache.insert(player, standing(0, &[]), start, cache.generation());
        assert_eq!(
            cache.get(player, start + Duration::from_millis(99)),
            Some(standing(0, &[]))
        );
        assert_eq!(cache.get(player, start + Duration::from_millis(100)), None);
    }

    #[test]
    fn a_read_that_raced_a_revocation_is_not_kept() {
        let mut cache = StandingCache::new(Duration::from_secs(10), 10);
        let (player, now) = (Uuid::new_v4(), Instant::now());
        let generation = cache.generation();
        cache.forget(player);
        cache.insert(player, standing(0, &[]), now, generation);
        assert_eq!(cache.get(player, now), None, "the read began before the revocation");
        cache.insert(player, standing(1, &[]), now, cache.generation());
        assert_eq!(cache.get(player, now), Some(standing(1, &[])));
        cache.forget(player);
        assert_eq!(cache.get(player, now), None);
    }

    #[test]
    fn a_full_cache_drops_expired_copies_then_everything() {
        let mut cache = StandingCache::new(Duration::from_millis(100), 2);
        let start = Instant::now();
        let players: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        cache.insert(players[0], standing(0, &[]), start, 0);
        cache.insert(players[1], standing(0, &[]), start + Duration::from_millis(50), 0);
        let later = start + Duration::from_millis(120);
        cache.insert(players[2], standing(0, &[]), later, 0);
        assert_eq!(cache.entries.len(), 2, "the expired copy made room");
        assert!(cache.get(players[1], later).is_some());
        cache.insert(players[3], standing(0, &[]), later, 0);
        assert_eq!(cache.entries.len(), 1, "nothing had expired: the cache started over");
        assert!(cache.get(players[3], later).is_some());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let mut cache = StandingCache::new(Duration::ZERO, 10);
        let (player, now) = (Uuid::new_v4(), Instant::now());
        cache.insert(player, standing(0, &[]), now, 0);
        assert_eq!(cache.get(player, now), None);
    }
}
