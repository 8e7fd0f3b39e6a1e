//! Player accounts: a username, an Argon2id password hash and one ledger account.

pub mod protection;

use crate::economy::referrals::{self, ReferralCode, ReferralStatus};
use crate::money::Currency;
use crate::wallet::ledger::AccountId;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Serialize;
use sqlx::{PgPool, Row};
use uuid::Uuid;

pub const USERNAME_LENGTH: std::ops::RangeInclusive<usize> = 3..=32;
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 8..=128;

/// A username: 3 to 32 characters among ASCII letters, digits, `_`, `.` and `-`.
#[derive(Debug, Clone)]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Username, String> {
        let allowed = text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'));
        if !USERNAME_LENGTH.contains(&text.len()) || !allowed {
            return Err(format!(
                "username must be {} to {} characters: letters, digits, '_', '.' or '-'",
                USERNAME_LENGTH.start(),
                USERNAME_LENGTH.end()
            ));
        }
        Ok(Username(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8 to 128 characters. It is only ever held as a secret.
pub fn parse_new_password(text: &str) -> Result<SecretString, String> {
    let length = text.chars().count();
    if !PASSWORD_LENGTH.contains(&length) {
        return Err(format!(
            "password must be {} to {} characters",
            PASSWORD_LENGTH.start(),
            PASSWORD_LENGTH.end()
        ));
    }
    Ok(SecretString::from(text))
}

#[derive(Debug, Clone, Serialize)]
pub struct Player {
    pub id: Uuid,
    pub username: String,
    #[serde(skip)]
    pub account: AccountId,
    pub created_at: DateTime<Utc>,
    /// The code other players sign up with to be referred by this one.
    pub referral_code: String,
    /// The version new tokens carry; bumping it revokes every older token (`auth::revocation`).
    #[serde(skip)]
    pub token_version: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    #[error("the username is already taken")]
    UsernameTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A referral to record with a sign-up: who referred the new player, and the referrer's daily cap.
#[derive(Debug, Clone, Copy)]
pub struct NewReferral {
    pub referrer: Uuid,
    pub per_day_max: u32,
}

/// Attempts to draw a referral code that no player has yet (8 characters of base32: a collision is
/// rare until there are hundreds of millions of players).
const REFERRAL_CODE_ATTEMPTS_MAX: u32 = 5;

/// Creates a player, their ledger account and (when referred) their referral row in one transaction;
/// answers the referral's status too.
#[tracing::instrument(skip(pool, password_hash), fields(username = username.as_str()))]
pub async fn create(
    pool: &PgPool,
    username: &Username,
    password_hash: &str,
    currency: &Currency,
    referral: Option<NewReferral>,
) -> Result<(Player, Option<ReferralStatus>), SignupError> {
    for _ in 1..REFERRAL_CODE_ATTEMPTS_MAX {
        match create_once(pool, username, password_hash, currency, referral).await {
            Err(SignupError::Database(sqlx::Error::Database(error)))
                if error.constraint() == Some("players_referral_code_idx") => {}
            other => return other,
        }
    }
    create_once(pool, username, password_hash, currency, referral).await
}

async fn create_once(
    pool: &PgPool,
    username: &Username,
    password_hash: &str,
    currency: &Currency,
    referral: Option<NewReferral>,
) -> Result<(Player, Option<ReferralStatus>), SignupError> {
    let id = Uuid::now_v7();
    let referral_code = ReferralCode::generate();
    let mut transaction = pool.begin().await?;
    let account: i64 =
        sqlx::query_scalar("INSERT INTO accounts (code, kind, currency) VALUES ($1, 'player', $2) RETURNING id")
            .bind(format!("player:{id}"))
            .bind(currency.as_str())
            .fetch_one(&mut *transaction)
            .await?;
    let inserted = sqlx::query(
        "INSERT INTO players (id, username, password_hash, account_id, referral_code) VALUES ($1, $2, $3, $4, $5)
         RETURNING created_at",
    )
    .bind(id)
    .bind(username.as_str())
    .bind(password_hash)
    .bind(account)
    .bind(referral_code.as_str())
    .fetch_one(&mut *transaction)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(sqlx::Error::Database(error))
            if error.is_unique_violation() && error.constraint() != Some("players_referral_code_idx") =>
        {
            return Err(SignupError::UsernameTaken)
        }
        Err(error) => return Err(error.into()),
    };
    let status = match referral {
        Some(referral) => Some(referrals::record(&mut transaction, id, referral.referrer, referral.per_day_max).await?),
        None => None,
    };
    transaction.commit().await?;
    let player = Player {
        id,
        username: username.as_str().to_owned(),
        account: AccountId(account),
        created_at: row.try_get("created_at")?,
        referral_code: referral_code.as_str().to_owned(),
        token_version: 0,
    };
    Ok((player, status))
}

fn player_from_row(row: &sqlx::postgres::PgRow) -> Result<Player, sqlx::Error> {
    Ok(Player {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        account: AccountId(row.try_get("account_id")?),
        created_at: row.try_get("created_at")?,
        referral_code: row.try_get("referral_code")?,
        token_version: row.try_get("token_version")?,
    })
}

/// The player with this username (in any case) and their password hash.
pub async fn find_credentials(pool: &PgPool, username: &str) -> Result<Option<(Player, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, username, account_id, created_at, referral_code, token_version, password_hash FROM players
         WHERE lower(username) = lower($1)",
    )
    .bind(username)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((player_from_row(&row)?, row.try_get("password_hash")?)))
        .transpose()
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<Player>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, username, account_id, created_at, referral_code, token_version FROM players WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| player_from_row(&row)).transpose()
}
