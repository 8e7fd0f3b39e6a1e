//! Authentication: Argon2id password hashes and HS256 JWTs for players and the admin.

pub mod extract;
pub mod revocation;

use crate::configuration::AuthSettings;
use crate::wallet::ledger::AccountId;
use anyhow::Context;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Player,
    Admin,
}

/// The claims of our tokens. A player token carries the player's ledger account so that wallet calls
/// need no lookup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<i64>,
    /// The player's username, shown to others when they cash out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub iat: i64,
    pub exp: i64,
    /// A player token's id, for logging out this one token (absent in tokens issued before logout
    /// existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<Uuid>,
    /// The player's token version at issue; a token older than the player's current version is revoked.
    /// Tokens issued before versions existed read as 0, the version every player starts with.
    #[serde(default)]
    pub ver: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is invalid")]
    Invalid,
}

/// Signs and checks tokens with the configured secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_s: i64,
}

impl TokenKeys {
    pub fn new(settings: &AuthSettings) -> TokenKeys {
        let secret = settings.jwt_secret.expose_secret().as_bytes();
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_s: i64::try_from(settings.token_ttl_s).unwrap_or(i64::MAX),
        }
    }

    /// A player token at the player's current `token_version`, with its own id (`jti`) for logout.
    pub fn issue_player(
        &self,
        player: Uuid,
        account: AccountId,
        username: &str,
        token_version: i64,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            jti: Some(Uuid::new_v4()),
            ver: token_version,
            ..self.claims(
                player.to_string(),
                Role::Player,
                Some(account.0),
                Some(username),
                self.ttl_s,
            )
        };
        self.sign(&claims)
    }

    pub fn issue_admin(&self, username: &str) -> anyhow::Result<String> {
        self.issue(format!("admin:{username}"), Role::Admin, None, self.ttl_s)
    }

    /// Issues a token that lives `ttl_s` seconds from now (negative values make expired tokens for tests).
    pub fn issue(&self, sub: String, role: Role, account: Option<i64>, ttl_s: i64) -> anyhow::Result<String> {
        self.issue_named(sub, role, account, None, ttl_s)
    }

    fn issue_named(
        &self,
        sub: String,
        role: Role,
        account: Option<i64>,
        name: Option<&str>,
        ttl_s: i64,
    ) -> anyhow::Result<String> {
        self.sign(&self.claims(sub, role, account, name, ttl_s))
    }

    fn claims(&self, sub: String, role: Role, account: Option<i64>, name: Option<&str>, ttl_s: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub,
            role,
            account,
            name: name.map(str::to_owned),
            iat: now,
            exp: now.saturating_add(ttl_s),
            jti: None,
            ver: 0,
        }
    }

    fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        jsonwebtoken::encode(&Header::default(), claims, &self.encoding).context("failed to sign a token")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

/// Hashes and verifies passwords with Argon2id at the configured cost.
#[derive(Clone)]
pub struct PasswordHasherConfig {
    params: Params,
    /// Bounds the hashes computed at once: each holds `password_hash_memory_kib` of memory.
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    queue_timeout: std::time::Duration,
}

/// Every hashing slot stayed taken for the whole queue timeout.
#[derive(Debug, thiserror::Error)]
#[error("too many sign-ups and logins at once; try again shortly")]
pub struct HasherBusy;

impl PasswordHasherConfig {
    pub fn new(settings: &AuthSettings) -> anyhow::Result<PasswordHasherConfig> {
        let params = Params::new(
            settings.password_hash_memory_kib,
            settings.password_hash_iterations,
            1,
            None,
        )
        .map_err(|error| anyhow::anyhow!("invalid Argon2 parameters: {error}"))?;
        Ok(PasswordHasherConfig {
            params,
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(
                settings.password_hash_concurrency_max as usize,
            )),
            queue_timeout: std::time::Duration::from_millis(settings.password_hash_queue_timeout_ms),
        })
    }

    /// Waits for a hashing slot, or fails with [`HasherBusy`] after the queue timeout.
    async fn slot(&self) -> anyhow::Result<tokio::sync::OwnedSemaphorePermit> {
        tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| anyhow::Error::new(HasherBusy))?
            .context("the hashing slots were closed")
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes on a blocking thread: Argon2 is deliberately slow and must not stall the event loop.
    pub async fn hash(&self, password: SecretString) -> anyhow::Result<String> {
        let argon2 = self.argon2();
        let slot = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| anyhow::anyhow!("failed to hash a password: {error}"))
        })
        .await
        .context("the password hashing task failed")?
    }

    /// Verifies on a blocking thread. Without a stored hash it still spends the same effort, so a
    /// response time does not reveal whether a username exists.
    pub async fn verify(&self, password: SecretString, stored_hash: Option<String>) -> anyhow::Result<bool> {
        let argon2 = self.argon2();
        let slot = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let Some(stored_hash) = stored_hash else {
                let salt = SaltString::generate(&mut OsRng);
                let _ = argon2.hash_password(password.expose_secret().as_bytes(), &salt);
                return Ok(false);
            };
            let parsed = PasswordHash::new(&stored_hash)
                .map_err(|error| anyhow::anyhow!("a stored password hash is invalid: {error}"))?;
            Ok(argon2
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok())
        })
        .await
        .context("the password verification task failed")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        AuthSettings {
            jwt_secret: SecretString::from("0123456789abcdef0123456789abcdef"),
            token_ttl_s: 60,
            token_version_cache_ms: 1000,
            token_version_cache_entries_max: 100,
            revoked_tokens_per_player_max: 4,
            password_hash_memory_kib: 1024,
            password_hash_iterations: 1,
            password_hash_concurrency_max: 2,
            password_hash_queue_timeout_ms: 1000,
        }
    }

    #[test]
    fn tokens_round_trip_and_expire() {
        let keys = TokenKeys::new(&settings());
        let player = Uuid::new_v4();
        let token = keys.issue_player(player, AccountId(7), "alice", 3).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(
            (claims.sub, claims.role, claims.account, claims.ver),
            (player.to_string(), Role::Player, Some(7), 3)
        );
        assert!(claims.jti.is_some(), "a player token has its own id");
        let expired = keys.issue("x".into(), Role::Player, Some(7), -10).unwrap();
        assert_eq!(keys.verify(&expired).unwrap_err(), TokenError::Expired);
        assert_eq!(keys.verify("not.a.token").unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn a_token_from_before_versions_reads_as_version_zero_without_an_id() {
        let keys = TokenKeys::new(&settings());
        let now = chrono::Utc::now().timestamp();
        let old_claims = serde_json::json!({
            "sub": Uuid::new_v4().to_string(), "role": "player", "account": 7, "name": "old",
            "iat": now, "exp": now + 60,
        });
        let token = jsonwebtoken::encode(&Header::default(), &old_claims, &keys.encoding).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.ver, claims.jti), (0, None));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid() {
        let mut other = settings();
        other.jwt_secret = SecretString::from("another-secret-another-secret-another");
        let token = TokenKeys::new(&other).issue_admin("admin").unwrap();
        assert_eq!(
            TokenKeys::new(&settings()).verify(&token).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let hasher = PasswordHasherConfig::new(&settings()).unwrap();
        let hash = hasher.hash(SecretString::from("correct horse")).await.unwrap();
        assert!(hasher
            .verify(SecretString::from("correct horse"), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify(SecretString::from("wrong horse"), Some(hash))
            .await
            .unwrap());
        assert!(!hasher.verify(SecretString::from("anything"), None).await.unwrap());
    }
}
