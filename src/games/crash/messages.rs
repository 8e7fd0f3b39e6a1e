//! The crash game's answers to one player (a bet placed, a cashout), as the room sends them for an
//! automatic cashout and the sessions for a player's own request.

use super::{multiplier_json, BetView};
use crate::games::wire::encode;
use bytestring::ByteString;

pub fn bet_placed(bet: &BetView, balance: Option<i64>, replayed: bool, request_id: Option<&str>) -> ByteString {
    encode(&serde_json::json!({
        "type": "bet_placed", "bet": bet, "balance": balance, "replayed": replayed, "request_id": request_id,
    }))
}

pub fn cashed_out(bet: &BetView, balance: Option<i64>, automatic: bool, request_id: Option<&str>) -> ByteString {
    encode(&serde_json::json!({
        "type": "cashed_out",
        "bet_id": bet.bet_id,
        "round_id": bet.round_id,
        "multiplier": bet.cashout_multiplier.map(multiplier_json),
        "payout": bet.payout,
        "balance": balance,
        "auto": automatic,
        "request_id": request_id,
    }))
}
