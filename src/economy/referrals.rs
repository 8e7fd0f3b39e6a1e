//! Referrals: every player has a code; a new player who signs up with (or later claims) someone's code
//! makes both of them eligible for a bonus. The referral row is written in the same transaction as the
//! sign-up (or the claim), under a lock on the referrer's players row so the daily cap is exact; the
//! bonuses are paid after the commit under fixed keys, so a retry or the sweep pays each exactly once.

use super::bonuses::{self, Grant, GrantError, GrantReason};
use crate::configuration::{BonusSettings, ReferralPayOn, ReferralSettings};
use crate::money::Amount;
use crate::wallet::ledger::{AccountId, IdempotencyKey, TransferError};
use crate::wallet::Wallet;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use sqlx::{PgPool, Postgres, Row, Transaction};
use std::time::Duration;
use uuid::Uuid;

/// Crockford's base32 alphabet: digits and capitals without I, L, O and U, so a code read aloud or
/// copied by hand stays unambiguous.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const REFERRAL_CODE_LENGTH: usize = 8;

/// A player's referral code: 8 characters of [`CODE_ALPHABET`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ReferralCode(String);

impl ReferralCode {
    /// Reads a code as a person may type it: any case, and the letters Crockford maps to digits
    /// (O to 0, I and L to 1) accepted. None when it cannot be a code.
    pub fn parse(text: &str) -> Option<ReferralCode> {
        if text.len() != REFERRAL_CODE_LENGTH {
            return None;
        }
        let canonical: Option<String> = text
            .chars()
            .map(|c| match c.to_ascii_uppercase() {
                'O' => Some('0'),
                'I' | 'L' => Some('1'),
                upper if CODE_ALPHABET.contains(&(upper as u8)) && upper.is_ascii() => Some(upper),
                _ => None,
            })
            .collect();
        canonical.map(ReferralCode)
    }

    pub fn generate() -> ReferralCode {
        let mut rng = rand::thread_rng();
        let code = (0..REFERRAL_CODE_LENGTH)
            .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
            .collect();
        ReferralCode(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a referral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// Recorded; its bonuses are not paid yet.
    Pending,
    Paid,
    /// Over the referrer's daily cap: recorded, nobody is paid.
    Capped,
    /// The ledger refused a bonus (the treasury pool is empty): nobody is paid more.
    Refused,
}

impl ReferralStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReferralStatus::Pending => "pending",
            ReferralStatus::Paid => "paid",
            ReferralStatus::Capped => "capped",
            ReferralStatus::Refused => "refused",
        }
    }

    fn parse(text: &str) -> Option<ReferralStatus> {
        [
            ReferralStatus::Pending,
            ReferralStatus::Paid,
            ReferralStatus::Capped,
            ReferralStatus::Refused,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// A referral as the API shows it: its status and the code that was used.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralView {
    pub status: ReferralStatus,
    pub code: ReferralCode,
}

/// The player a code belongs to.
#[derive(Debug, Clone)]
pub struct Referrer {
    pub player_id: Uuid,
    pub code: ReferralCode,
}

pub async fn find_referrer(pool: &PgPool, code: &ReferralCode) -> Result<Option<Referrer>, sqlx::Error> {
    let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM players WHERE referral_code = $1")
        .bind(code.as_str())
        .fetch_optional(pool)
        .await?;
    Ok(id.map(|player_id| Referrer {
        player_id,
        code: code.clone(),
    }))
}

/// Records that `referee` was referred by `referrer`, inside the caller's transaction: `pending`, or
/// `capped` when the referrer already has `per_day_max` referrals today (UTC). The referrer's players
/// row is locked first, so concurrent sign-ups with one code count one after another.
pub async fn record(
    transaction: &mut Transaction<'_, Postgres>,
    referee: Uuid,
    referrer: Uuid,
    per_day_max: u32,
) -> Result<ReferralStatus, sqlx::Error> {
    sqlx::query("SELECT id FROM players WHERE id = $1 FOR UPDATE")
        .bind(referrer)
        .execute(&mut **transaction)
        .await?;
    let today: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM referrals
         WHERE referrer_player_id = $1 AND status <> 'capped'
           AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    )
    .bind(referrer)
    .fetch_one(&mut **transaction)
    .await?;
    let status = if today >= i64::from(per_day_max) {
        ReferralStatus::Capped
    } else {
        ReferralStatus::Pending
    };
    sqlx::query("INSERT INTO referrals (referee_player_id, referrer_player_id, status) VALUES ($1, $2, $3)")
        .bind(referee)
        .bind(referrer)
        .bind(status.as_str())
        .execute(&mut **transaction)
        .await?;
    Ok(status)
}

/// What paying a referral needs: the amounts, the multiplier and when to pay.
#[derive(Debug, Clone)]
pub struct ReferralPolicy {
    pub referral: ReferralSettings,
    pub wagering_multiplier: u32,
}

impl ReferralPolicy {
    pub fn new(referral: &ReferralSettings, bonus: &BonusSettings) -> ReferralPolicy {
        ReferralPolicy {
            referral: referral.clone(),
            wagering_multiplier: bonus.wagering_multiplier,
        }
    }
}

/// The fixed ledger key of one side's bonus for one referral.
fn grant_key(referee: Uuid, side: GrantReason) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("referral:{referee}:{}", side.as_str())).expect("a short printable key")
}

/// Pays a pending referral's two bonuses (each exactly once, whoever calls) and answers where the
/// referral stands now. A wallet that is unavailable leaves it pending for the sweep.
#[tracing::instrument(skip(pool, wallet, policy))]
pub async fn pay(
    pool: &PgPool,
    wallet: &Wallet,
    policy: &ReferralPolicy,
    referee: Uuid,
) -> Result<Option<ReferralStatus>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT r.status, r.referrer_player_id, ee.account_id AS referee_account, er.account_id AS referrer_account
         FROM referrals r
         JOIN players ee ON ee.id = r.referee_player_id
         JOIN players er ON er.id = r.referrer_player_id
         WHERE r.referee_player_id = $1",
    )
    .bind(referee)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let status = decode_status(&row)?;
    if status != ReferralStatus::Pending {
        return Ok(Some(status));
    }
    let referrer: Uuid = row.try_get("referrer_player_id")?;
    let sides = [
        (
            GrantReason::ReferralReferee,
            referee,
            AccountId(row.try_get("referee_account")?),
            policy.referral.referee_bonus_micros,
        ),
        (
            GrantReason::ReferralReferrer,
            referrer,
            AccountId(row.try_get("referrer_account")?),
            policy.referral.referrer_bonus_micros,
        ),
    ];
    for (reason, player_id, player_account, micros) in sides {
        let amount = Amount::parse(micros).map_err(|error| sqlx::Error::Protocol(error.to_string()))?;
        let grant = Grant {
            player_id,
            player_account,
            amount,
            wagering_multiplier: policy.wagering_multiplier,
            reason,
            key: grant_key(referee, reason),
        };
        match bonuses::grant(pool, wallet, &grant).await {
            Ok(_) => {}
            Err(GrantError::Transfer(TransferError::Rejected(code))) => {
                return refuse(pool, referee, code.as_str()).await.map(Some);
            }
            Err(GrantError::Transfer(TransferError::IdempotencyConflict)) => {
                return refuse(pool, referee, "idempotency_conflict").await.map(Some);
            }
            Err(GrantError::Transfer(error)) => {
                tracing::warn!(%referee, %error, "a referral bonus could not be paid now; the sweep retries");
                return Ok(Some(ReferralStatus::Pending));
            }
            Err(GrantError::Database(error)) => return Err(error),
        }
    }
    sqlx::query(
        "UPDATE referrals SET status = 'paid', paid_at = now() WHERE referee_player_id = $1 AND status = 'pending'",
    )
    .bind(referee)
    .execute(pool)
    .await?;
    Ok(Some(ReferralStatus::Paid))
}

async fn refuse(pool: &PgPool, referee: Uuid, code: &str) -> Result<ReferralStatus, sqlx::Error> {
    tracing::warn!(%referee, code, "a referral bonus was refused by the ledger");
    sqlx::query(
        "UPDATE referrals SET status = 'refused', refusal_code = $2 WHERE referee_player_id = $1 AND status = 'pending'",
    )
    .bind(referee)
    .bind(code)
    .execute(pool)
    .await?;
    Ok(ReferralStatus::Refused)
}

fn decode_status(row: &sqlx::postgres::PgRow) -> Result<ReferralStatus, sqlx::Error> {
    let status: String = row.try_get("status")?;
    ReferralStatus::parse(&status).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "status".into(),
        source: status.into(),
    })
}

/// Pays a referral now when the policy pays at sign-up; answers its status.
pub async fn pay_if_due_at_sign_up(
    pool: &PgPool,
    wallet: &Wallet,
    policy: &ReferralPolicy,
    referee: Uuid,
    status: ReferralStatus,
) -> Result<ReferralStatus, sqlx::Error> {
    if status != ReferralStatus::Pending || policy.referral.pay_on != ReferralPayOn::SignUp {
        return Ok(status);
    }
    Ok(pay(pool, wallet, policy, referee).await?.unwrap_or(status))
}

/// Called after a deposit to `referee` posted: pays their pending referral when the policy pays on the
/// first deposit. A failure is logged; the sweep pays it later.
pub async fn on_deposit(pool: &PgPool, wallet: &Wallet, policy: &ReferralPolicy, referee: Uuid) {
    if policy.referral.pay_on != ReferralPayOn::FirstDeposit {
        return;
    }
    if let Err(error) = pay(pool, wallet, policy, referee).await {
        tracing::warn!(%referee, %error, "could not pay a referral after a deposit; the sweep retries");
    }
}

/// Why a claim is refused.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("no player has this referral code")]
    UnknownCode,
    #[error("a player cannot use their own referral code")]
    SelfReferral,
    #[error("this player already has a referral")]
    AlreadyClaimed,
    #[error("a referral code can only be claimed before the first bet or deposit and within the claim window")]
    TooLate,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A player who signed up without a code names one later: before their first bet or deposit, within
/// the claim window, once.
pub async fn claim(
    pool: &PgPool,
    wallet: &Wallet,
    policy: &ReferralPolicy,
    referee: Uuid,
    code: &str,
) -> Result<ReferralView, ClaimError> {
    let code = ReferralCode::parse(code).ok_or(ClaimError::UnknownCode)?;
    let referrer = find_referrer(pool, &code).await?.ok_or(ClaimError::UnknownCode)?;
    if referrer.player_id == referee {
        return Err(ClaimError::SelfReferral);
    }
    let mut transaction = pool.begin().await?;
    // The referee's row is locked so two claims of one player queue; the second finds the first's row.
    let row = sqlx::query(
        "SELECT p.created_at, p.account_id,
                EXISTS (SELECT 1 FROM referrals r WHERE r.referee_player_id = p.id) AS referred,
                EXISTS (SELECT 1 FROM transfers t
                        WHERE t.player_account_id = p.account_id AND t.status = 'posted'
                          AND t.kind IN ('bet', 'deposit', 'top_up')) AS played
         FROM players p WHERE p.id = $1 FOR UPDATE OF p",
    )
    .bind(referee)
    .fetch_one(&mut *transaction)
    .await?;
    if row.try_get::<bool, _>("referred")? {
        return Err(ClaimError::AlreadyClaimed);
    }
    let created_at: DateTime<Utc> = row.try_get("created_at")?;
    let window = chrono::Duration::hours(i64::from(policy.referral.claim_window_hours));
    if row.try_get::<bool, _>("played")? || Utc::now() > created_at + window {
        return Err(ClaimError::TooLate);
    }
    let status = record(
        &mut transaction,
        referee,
        referrer.player_id,
        policy.referral.referrals_per_day_max,
    )
    .await?;
    transaction.commit().await?;
    let status = pay_if_due_at_sign_up(pool, wallet, policy, referee, status).await?;
    Ok(ReferralView { status, code })
}

/// Every `sweep_interval_ms`, pays referrals a crash left pending after their sign-up committed (and,
/// when paying on the first deposit, those whose deposit has posted), at most `sweep_batch_max` a pass.
pub fn start_sweeper(pool: PgPool, wallet: Wallet, policy: ReferralPolicy) {
    actix::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_millis(policy.referral.sweep_interval_ms));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = sweep(&pool, &wallet, &policy).await {
                tracing::warn!(%error, "the referral sweep failed; it runs again next interval");
            }
        }
    });
}

/// One sweep pass; answers how many referrals it tried to pay.
pub async fn sweep(pool: &PgPool, wallet: &Wallet, policy: &ReferralPolicy) -> Result<usize, sqlx::Error> {
    let due: Vec<Uuid> = sqlx::query_scalar(
        "SELECT r.referee_player_id FROM referrals r JOIN players p ON p.id = r.referee_player_id
         WHERE r.status = 'pending' AND r.created_at < now() - make_interval(secs => $1::float8 / 1000)
           AND ($2 OR EXISTS (SELECT 1 FROM transfers t
                              WHERE t.player_account_id = p.account_id AND t.status = 'posted'
                                AND t.kind IN ('deposit', 'top_up')))
         ORDER BY r.created_at LIMIT $3",
    )
    .bind(policy.referral.sweep_age_ms as f64)
    .bind(policy.referral.pay_on == ReferralPayOn::SignUp)
    .bind(i64::from(policy.referral.sweep_batch_max))
    .fetch_all(pool)
    .await?;
    for referee in &due {
        pay(pool, wallet, policy, *referee).await?;
    }
    Ok(due.len())
}

/// The referral of a player, if any, with the code that was used.
pub async fn of_player(pool: &PgPool, referee: Uuid) -> Result<Option<ReferralView>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT r.status, p.referral_code FROM referrals r JOIN players p ON p.id = r.referrer_player_id
         WHERE r.referee_player_id = $1",
    )
    .bind(referee)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(ReferralView {
            status: decode_status(&row)?,
            code: ReferralCode(row.try_get("referral_code")?),
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_people_type_them() {
        assert_eq!(ReferralCode::parse("abcd2345").unwrap().as_str(), "ABCD2345");
        assert_eq!(ReferralCode::parse("oIl00000").unwrap().as_str(), "01100000");
        assert!(ReferralCode::parse("ABCD234").is_none());
        assert!(ReferralCode::parse("ABCD23U5").is_none());
        assert!(ReferralCode::parse("ABCD23é").is_none());
    }

    #[test]
    fn generated_codes_parse_as_themselves() {
        for _ in 0..100 {
            let code = ReferralCode::generate();
            assert_eq!(ReferralCode::parse(code.as_str()), Some(code));
        }
    }
}
