//! The WebSocket protocol: JSON messages with a `type` field. Client messages are parsed strictly;
//! server messages are serialized once and shared as bytes (every game's in `games::wire`, the crash
//! game's own answers in `games::crash::messages`).

use super::reality_check::PlayTotals;
pub use crate::games::crash::messages::{bet_placed, cashed_out};
use crate::games::crash::BetView;
pub use crate::games::wire::{encode, error};
use bytestring::ByteString;
use serde::Deserialize;
use serde_json::Value;

/// What a client may send (its schema is the AsyncAPI document's client messages).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Authenticates a socket opened without `?token=` (the first message, within the auth timeout).
    Auth { token: String },
    /// Places a bet in the room's betting phase; `client_bet_id` makes it idempotent.
    PlaceBet {
        room: String,
        /// The stake in micro-units.
        #[schema(value_type = i64)]
        amount: serde_json::Number,
        /// Cash out automatically at this multiplier (for example 2.5).
        #[serde(default)]
        #[schema(value_type = Option<f64>)]
        auto_cashout: Option<serde_json::Number>,
        client_bet_id: String,
        #[serde(default)]
        request_id: Option<String>,
    },
    /// Cashes out one of the player's open bets while the round runs.
    Cashout {
        bet_id: String,
        #[serde(default)]
        request_id: Option<String>,
    },
    /// Keeps the socket alive; answered with `pong` and the server's time.
    Ping {
        #[serde(default)]
        request_id: Option<String>,
    },
}

pub fn balance(balance: i64) -> ByteString {
    encode(&serde_json::json!({ "type": "balance", "balance": balance }))
}

/// `{"type":"balance_updated","balance":..,"ts":..}`: the player's balance (micro-units) after money moved,
/// pushed to every socket of the player; `ts` is when the movement was recorded (ms since the epoch).
pub fn balance_updated(balance: i64, recorded_at_ms: i64) -> ByteString {
    encode(&serde_json::json!({ "type": "balance_updated", "balance": balance, "ts": recorded_at_ms }))
}

/// `{"type":"reality_check",..}`: time played on this socket and the player's stakes and net result
/// (wins and refunds minus stakes, negative is a loss) since it connected.
pub fn reality_check(played_seconds: u64, totals: PlayTotals, interval_seconds: u64) -> ByteString {
    encode(&serde_json::json!({
        "type": "reality_check",
        "played_seconds": played_seconds,
        "staked_micros": totals.staked_micros,
        "net_micros": totals.net_micros,
        "interval_seconds": interval_seconds,
    }))
}

pub fn pong(request_id: Option<&str>, server_time_ms: i64) -> ByteString {
    encode(&serde_json::json!({ "type": "pong", "request_id": request_id, "ts": server_time_ms }))
}

/// Adds the player's own bets to a room snapshot to make their `initial_state`.
pub fn initial_state(mut snapshot: Value, my_bets: &[BetView], balance: Option<i64>) -> ByteString {
    snapshot["type"] = Value::from("initial_state");
    snapshot["my_bets"] = serde_json::to_value(my_bets).expect("bets serialize");
    snapshot["balance"] = balance.map(Value::from).unwrap_or(Value::Null);
    encode(&snapshot)
}
