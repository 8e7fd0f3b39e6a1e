//! The `instant_bets` table: what each per-player bet decided, so that a retry or the recovery sweep can
//! finish it. Reads join the bet's seed pair and carry the server seed only once it is revealed.

use crate::catalog::rtp;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, Row};
use std::sync::LazyLock;
use uuid::Uuid;

/// A bet's lifecycle (see the migration): pending, open, paying, then settled; or void.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BetStatus {
    /// The stake is being debited.
    Pending,
    /// A stepwise game waits for the player.
    Open,
    /// The payout is decided and being credited.
    Paying,
    Settled,
    /// The stake never moved.
    Void,
}

impl BetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BetStatus::Pending => "pending",
            BetStatus::Open => "open",
            BetStatus::Paying => "paying",
            BetStatus::Settled => "settled",
            BetStatus::Void => "void",
        }
    }

    fn parse(text: &str) -> Result<BetStatus, sqlx::Error> {
        [
            BetStatus::Pending,
            BetStatus::Open,
            BetStatus::Paying,
            BetStatus::Settled,
            BetStatus::Void,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown bet status {text:?}").into()))
    }
}

/// A bet as stored, with the public data of its seed pair.
#[derive(Debug, Clone)]
pub struct BetRow {
    pub id: Uuid,
    pub player_id: Uuid,
    pub account_id: i64,
    pub game: String,
    pub client_bet_id: String,
    pub amount: i64,
    pub payout_max: i64,
    pub options: Value,
    pub state: Value,
    pub status: BetStatus,
    pub payout: Option<i64>,
    pub nonce: i64,
    pub server_seed_hash: String,
    pub client_seed: String,
    /// Present only once the player rotated the pair.
    pub revealed_server_seed: Option<String>,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

/// A bet about to be inserted.
pub struct NewBet<'a> {
    pub id: Uuid,
    pub player_id: Uuid,
    pub account_id: i64,
    pub game: &'a str,
    pub stepwise: bool,
    pub client_bet_id: &'a str,
    pub seed_id: i64,
    pub nonce: i64,
    pub amount: i64,
    pub payout_max: i64,
    pub options: &'a Value,
    pub state: &'a Value,
    pub payout: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const SELECT_BET: &str = "SELECT b.id, b.player_id, b.account_id, b.game, b.client_bet_id, b.amount, b.payout_max,
        b.options, b.state, b.status, b.payout, b.nonce, b.created_at, b.settled_at,
        s.server_seed_hash, s.client_seed,
        CASE WHEN s.revealed_at IS NOT NULL THEN s.server_seed END AS revealed_server_seed
    FROM instant_bets b JOIN player_seeds s ON s.id = b.seed_id";

fn bet_from_row(row: &PgRow) -> sqlx::Result<BetRow> {
    Ok(BetRow {
        id: row.try_get("id")?,
        player_id: row.try_get("player_id")?,
        account_id: row.try_get("account_id")?,
        game: row.try_get("game")?,
        client_bet_id: row.try_get("client_bet_id")?,
        amount: row.try_get("amount")?,
        payout_max: row.try_get("payout_max")?,
        options: row.try_get("options")?,
        state: row.try_get("state")?,
        status: BetStatus::parse(row.try_get("status")?)?,
        payout: row.try_get("payout")?,
        nonce: row.try_get("nonce")?,
        server_seed_hash: row.try_get("server_seed_hash")?,
        client_seed: row.try_get("client_seed")?,
        revealed_server_seed: row.try_get("revealed_server_seed")?,
        created_at: row.try_get("created_at")?,
        settled_at: row.try_get("settled_at")?,
    })
}

pub async fn insert(connection: &mut PgConnection, bet: &NewBet<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO instant_bets (id, player_id, account_id, game, stepwise, client_bet_id, seed_id, nonce, amount,
             payout_max, options, state, status, payout, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14)",
    )
    .bind(bet.id)
    .bind(bet.player_id)
    .bind(bet.account_id)
    .bind(bet.game)
    .bind(bet.stepwise)
    .bind(bet.client_bet_id)
    .bind(bet.seed_id)
    .bind(bet.nonce)
    .bind(bet.amount)
    .bind(bet.payout_max)
    .bind(bet.options)
    .bind(bet.state)
    .bind(bet.payout)
    .bind(bet.created_at)
    .execute(connection)
    .await?;
    Ok(())
}

pub async fn find(executor: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<BetRow>> {
    let row = sqlx::query(&format!("{SELECT_BET} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(bet_from_row).transpose()
}

pub async fn find_by_client_bet_id(
    executor: impl PgExecutor<'_>,
    player: Uuid,
    client_bet_id: &str,
) -> sqlx::Result<Option<BetRow>> {
    let row = sqlx::query(&format!("{SELECT_BET} WHERE b.player_id = $1 AND b.client_bet_id = $2"))
        .bind(player)
        .bind(client_bet_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(bet_from_row).transpose()
}

/// A player's unfinished game of a stepwise kind, if any.
pub async fn open_game(executor: impl PgExecutor<'_>, player: Uuid, game: &str) -> sqlx::Result<Option<BetRow>> {
    let row = sqlx::query(&format!(
        "{SELECT_BET} WHERE b.player_id = $1 AND b.game = $2 AND b.stepwise AND b.status IN ('pending', 'open', 'paying')"
    ))
    .bind(player)
    .bind(game)
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(bet_from_row).transpose()
}

/// Locks a player's bet for an action: concurrent actions on one game queue here, on any node.
pub async fn lock_for_action(connection: &mut PgConnection, id: Uuid, player: Uuid) -> sqlx::Result<Option<BetRow>> {
    let row = sqlx::query(&format!(
        "{SELECT_BET} WHERE b.id = $1 AND b.player_id = $2 FOR UPDATE OF b"
    ))
    .bind(id)
    .bind(player)
    .fetch_optional(connection)
    .await?;
    row.as_ref().map(bet_from_row).transpose()
}

/// What a bet settling adds to its game's RTP rollups: the game, the stake and the payout (0 for a loss).
fn settles_into_rtp() -> String {
    rtp::house_returning("game", "amount", "COALESCE(payout, 0)", "status = 'settled'")
}

/// A stepwise game's action; a bet it settles counts in the RTP rollups in the same statement.
static RECORD_PROGRESS_SQL: LazyLock<String> = LazyLock::new(|| {
    rtp::settle_and_record(&format!(
        "UPDATE instant_bets SET state = $2, status = $3, payout = $4,
             settled_at = CASE WHEN $3 = 'settled' THEN now() END
         WHERE id = $1 AND status = 'open' {}",
        settles_into_rtp()
    ))
});

/// A guarded status move; a bet it settles counts in the RTP rollups in the same statement.
static TRANSITION_SQL: LazyLock<String> = LazyLock::new(|| {
    rtp::settle_and_record(&format!(
        "UPDATE instant_bets SET status = $3, settled_at = CASE WHEN $3 IN ('settled', 'void') THEN now() END
         WHERE id = $1 AND status = $2 {}",
        settles_into_rtp()
    ))
});

/// Records an action's result on a locked bet.
pub async fn record_progress(
    connection: &mut PgConnection,
    id: Uuid,
    state: &Value,
    status: BetStatus,
    payout: Option<i64>,
) -> sqlx::Result<()> {
    let row = sqlx::query(&RECORD_PROGRESS_SQL)
        .bind(id)
        .bind(state)
        .bind(status.as_str())
        .bind(payout)
        .fetch_one(connection)
        .await?;
    rtp::moved(&row, "instant_bets")?;
    Ok(())
}

/// Moves a bet from `from` to `to`; false when another request or the recovery sweep moved it first.
pub async fn transition(executor: impl PgExecutor<'_>, id: Uuid, from: BetStatus, to: BetStatus) -> sqlx::Result<bool> {
    let row = sqlx::query(&TRANSITION_SQL)
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .fetch_one(executor)
        .await?;
    Ok(rtp::moved(&row, "instant_bets")? == 1)
}

/// The player's bets among `ids` (in no particular order): the entries of one history page.
pub async fn history_entries(executor: impl PgExecutor<'_>, player: Uuid, ids: &[Uuid]) -> sqlx::Result<Vec<BetRow>> {
    let rows = sqlx::query(&format!("{SELECT_BET} WHERE b.player_id = $1 AND b.id = ANY($2)"))
        .bind(player)
        .bind(ids)
        .fetch_all(executor)
        .await?;
    rows.iter().map(bet_from_row).collect()
}

/// Bets left pending or paying for longer than `age_ms`, oldest first: the recovery sweep's work.
pub async fn unfinished(executor: impl PgExecutor<'_>, age_ms: u64, limit: u32) -> sqlx::Result<Vec<BetRow>> {
    let rows = sqlx::query(&format!(
        "{SELECT_BET} WHERE b.status IN ('pending', 'paying') AND b.created_at < now() - $1 * interval '1 millisecond'
         ORDER BY b.created_at LIMIT $2"
    ))
    .bind(age_ms as i64)
    .bind(i64::from(limit))
    .fetch_all(executor)
    .await?;
    rows.iter().map(bet_from_row).collect()
}
