//! The reality check: every configured interval of a socket's life, a player who staked since the socket
//! connected is reminded how long they have played and what they won or lost. The figures come from the
//! player's own ledger transfers since the connection, read from the reader pool.

use crate::wallet::ledger::AccountId;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// The most transfers one reality check adds up (the newest ones). A player who made more within one
/// interval sees the sum of the newest; reading them costs one bounded index range scan.
pub const REALITY_CHECK_TRANSFERS_MAX: i64 = 100_000;

/// What a player did on the ledger since a socket connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayTotals {
    /// Every posted stake, including any later refunded.
    pub staked_micros: i64,
    /// Wins and refunds paid to the player minus their stakes: negative is a loss.
    pub net_micros: i64,
}

/// The smallest UUIDv7 of the millisecond `at` falls in: every transfer id generated from that moment on
/// sorts at or above it (UUIDv7 starts with the Unix time in milliseconds, big-endian).
pub fn uuid_v7_floor(at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    Uuid::from_bytes(bytes)
}

/// The player's posted stakes, wins and refunds since `since`, at most the newest
/// `REALITY_CHECK_TRANSFERS_MAX` transfers.
pub async fn play_totals(reader: &PgPool, account: AccountId, since: DateTime<Utc>) -> Result<PlayTotals, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(amount) FILTER (WHERE kind = 'bet' AND debit_account_id = $1), 0)::BIGINT AS staked,
                COALESCE(SUM(amount) FILTER (WHERE kind IN ('win', 'refund') AND credit_account_id = $1), 0)::BIGINT
                    AS returned
         FROM (SELECT kind, amount, debit_account_id, credit_account_id
               FROM transfers
               WHERE player_account_id = $1 AND id >= $2 AND status = 'posted'
               ORDER BY id DESC
               LIMIT $3) AS recent",
    )
    .bind(account.0)
    .bind(uuid_v7_floor(since))
    .bind(REALITY_CHECK_TRANSFERS_MAX)
    .fetch_one(reader)
    .await?;
    let staked: i64 = row.try_get("staked")?;
    let returned: i64 = row.try_get("returned")?;
    Ok(PlayTotals {
        staked_micros: staked,
        net_micros: returned.saturating_sub(staked),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use uuid::{NoContext, Timestamp};

    fn at_millis(millis: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(millis).unwrap()
    }

    #[test]
    fn the_floor_carries_the_milliseconds_and_nothing_else() {
        let floor = uuid_v7_floor(at_millis(0x0123_4567_89ab));
        assert_eq!(floor.to_string(), "01234567-89ab-0000-0000-000000000000");
    }

    #[test]
    fn the_message_carries_the_contract_fields() {
        let totals = PlayTotals {
            staked_micros: 12_500_000,
            net_micros: -2_250_000,
        };
        let frame = crate::session::protocol::reality_check(3_605, totals, 3_600);
        let message: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(
            message,
            serde_json::json!({
                "type": "reality_check", "played_seconds": 3_605, "staked_micros": 12_500_000,
                "net_micros": -2_250_000, "interval_seconds": 3_600,
            })
        );
    }

    #[test]
    fn a_moment_before_the_epoch_floors_at_zero() {
        assert_eq!(uuid_v7_floor(at_millis(-5)), Uuid::nil());
    }

    proptest! {
        /// Any UUIDv7 made at or after a moment sorts at or above that moment's floor, and any made in an
        /// earlier millisecond sorts below it: the floor bounds "transfers since" exactly.
        #[test]
        fn ids_made_since_a_moment_sort_at_or_above_its_floor(
            millis in 0u64..(1 << 47),
            later_ms in 0u64..10_000,
            earlier_ms in 1u64..10_000,
            nanos in 0u32..1_000_000,
        ) {
            let make = |ms: u64| {
                let seconds = ms / 1_000;
                let nanos = (ms % 1_000) as u32 * 1_000_000 + nanos;
                Uuid::new_v7(Timestamp::from_unix(NoContext, seconds, nanos))
            };
            let floor = uuid_v7_floor(at_millis(millis as i64));
            prop_assert!(make(millis + later_ms) >= floor);
            if millis >= earlier_ms {
                prop_assert!(make(millis - earlier_ms) < floor);
            }
        }
    }
}
