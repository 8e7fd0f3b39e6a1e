//! Rounds a provider left open (bets, no win and no end for `providers.open_round_after_s`), listed for
//! operators, and the operator's action that closes one. Closing goes through the same rules and the same
//! journal as a provider's own calls: a refund is a rollback of each standing bet, a settlement a zero win
//! (the bets are lost), then the round ends. The journal rows carry transaction ids starting with
//! `operator:` so they are told apart from the provider's.

use super::journal::Decided;
use super::model::{Operation, Status, WalletCall};
use super::service::ProviderWallet;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// The most open rounds one listing returns.
pub const OPEN_ROUNDS_LISTED_MAX: i64 = 500;

/// A round a provider left open.
#[derive(Debug, Clone, Serialize)]
pub struct OpenRound {
    pub provider_id: String,
    pub round_id: String,
    pub player_id: Uuid,
    pub game_id: i64,
    pub game_code: String,
    pub live_bets: i32,
    pub staked_micros: i64,
    pub won_micros: i64,
    pub opened_at: DateTime<Utc>,
    pub last_call_at: DateTime<Utc>,
}

/// How an operator closes a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseAction {
    /// Every standing bet goes back to the player.
    Refund,
    /// The bets are lost: nothing moves, and they can no longer be rolled back.
    Settle,
}

/// Open rounds whose last call is older than `idle_s`, oldest first.
pub async fn open_rounds(pool: &PgPool, idle_s: u64, limit: i64) -> Result<Vec<OpenRound>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT r.provider_id, r.round_id, r.player_id, r.game_id, g.code, r.live_bets, r.staked_micros,
                r.won_micros, r.opened_at, r.last_call_at
         FROM provider_rounds r JOIN games g ON g.id = r.game_id
         WHERE r.closed_at IS NULL AND r.last_call_at < now() - make_interval(secs => $1)
         ORDER BY r.last_call_at LIMIT $2",
    )
    .bind(idle_s as f64)
    .bind(limit.clamp(1, OPEN_ROUNDS_LISTED_MAX))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(OpenRound {
                provider_id: row.try_get("provider_id")?,
                round_id: row.try_get("round_id")?,
                player_id: row.try_get("player_id")?,
                game_id: row.try_get("game_id")?,
                game_code: row.try_get("code")?,
                live_bets: row.try_get("live_bets")?,
                staked_micros: row.try_get("staked_micros")?,
                won_micros: row.try_get("won_micros")?,
                opened_at: row.try_get("opened_at")?,
                last_call_at: row.try_get("last_call_at")?,
            })
        })
        .collect()
}

/// Why a round could not be closed.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    #[error("no such round")]
    UnknownRound,
    #[error("the round is already closed")]
    AlreadyClosed,
    #[error("the provider is unknown or speaks no wallet protocol")]
    UnknownProvider,
    #[error("the wallet refused a step of the close: {0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a close did: each call it made and its answer.
#[derive(Debug, Serialize)]
pub struct Closed {
    pub action: CloseAction,
    pub calls: Vec<serde_json::Value>,
}

/// Closes one open round through the provider wallet's rules.
pub async fn close_round(
    wallet: &ProviderWallet,
    pool: &PgPool,
    (provider_id, round_id, player_id): (&str, &str, Uuid),
    action: CloseAction,
) -> Result<Closed, CloseError> {
    let round: Option<(Option<DateTime<Utc>>, i32)> = sqlx::query_as(
        "SELECT closed_at, live_bets FROM provider_rounds WHERE provider_id = $1 AND round_id = $2 AND player_id = $3",
    )
    .bind(provider_id)
    .bind(round_id)
    .bind(player_id)
    .fetch_optional(pool)
    .await?;
    let live_bets = match round {
        None => return Err(CloseError::UnknownRound),
        Some((Some(_), _)) => return Err(CloseError::AlreadyClosed),
        Some((None, live_bets)) => live_bets,
    };
    let provider = wallet.provider(provider_id).await?.ok_or(CloseError::UnknownProvider)?;
    let adapter = super::adapter_for(provider.protocol).ok_or(CloseError::UnknownProvider)?;
    let mut calls = Vec::new();
    let base = WalletCall {
        operation: Operation::EndRound,
        player: player_id.to_string(),
        token: None,
        game_code: None,
        round_id: Some(round_id.to_owned()),
        transaction_id: None,
        reference_id: None,
        amount_micros: None,
        currency: None,
        free: false,
        round_closed: false,
        request_id: Some("operator".into()),
    };
    match action {
        CloseAction::Refund => {
            for bet in standing_bets(pool, provider_id, round_id, player_id).await? {
                calls.push(WalletCall {
                    operation: Operation::Rollback,
                    transaction_id: Some(operator_id(&format!("refund:{bet}"))),
                    reference_id: Some(bet),
                    ..base.clone()
                });
            }
        }
        // A round whose bets were all rolled back has nothing to settle: it only ends.
        CloseAction::Settle if live_bets == 0 => {}
        CloseAction::Settle => calls.push(WalletCall {
            operation: Operation::Win,
            transaction_id: Some(operator_id(&format!("settle:{round_id}"))),
            amount_micros: Some(0),
            ..base.clone()
        }),
    }
    calls.push(base);
    let mut answers = Vec::with_capacity(calls.len());
    for call in calls {
        let operation = call.operation;
        let Decided { answer, body, .. } = wallet.handle(provider.clone(), adapter.clone(), call).await;
        if answer.status != Status::Ok {
            return Err(CloseError::Refused(format!(
                "{}: {}",
                operation.as_str(),
                answer.status.code()
            )));
        }
        answers.push(body);
    }
    // The rules closed the round under the player's lock; only the label of who closed it changes here.
    sqlx::query(
        "UPDATE provider_rounds SET closed_by = 'operator'
         WHERE provider_id = $1 AND round_id = $2 AND player_id = $3 AND closed_at IS NOT NULL",
    )
    .bind(provider_id)
    .bind(round_id)
    .bind(player_id)
    .execute(pool)
    .await?;
    Ok(Closed { action, calls: answers })
}

async fn standing_bets(
    pool: &PgPool,
    provider_id: &str,
    round_id: &str,
    player_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT transaction_id FROM provider_transactions
         WHERE provider_id = $1 AND round_id = $2 AND player_id = $3 AND kind = 'bet' AND status = 'ok'
         ORDER BY created_at",
    )
    .bind(provider_id)
    .bind(round_id)
    .bind(player_id)
    .fetch_all(pool)
    .await
}

/// An operator's transaction id, kept within the 128 characters a provider id may have.
fn operator_id(suffix: &str) -> String {
    let id = format!("operator:{suffix}");
    if id.chars().count() <= super::model::PROVIDER_ID_LENGTH_MAX {
        return id;
    }
    use sha2::{Digest, Sha256};
    format!("operator:h:{}", hex::encode(Sha256::digest(suffix.as_bytes())))
}
