//! The WebSocket protocol of `GET /ws` as an AsyncAPI 3.0 document, served at `/api/asyncapi.json`.
//!
//! Client messages come from `session::protocol::ClientMessage`'s derived schema, the type the server
//! parses them with. Server messages are built as JSON where they are sent (the room actor, the relay,
//! the session), so they are described in `SERVER_MESSAGES`; a test reads those senders' sources and
//! fails for any message type sent that the table lacks. Close codes come from `session::close_code`.

use crate::session::close_code;
use crate::session::protocol::ClientMessage;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use utoipa::PartialSchema;

/// One field of a server message: name, JSON Schema type, description.
type Field = (&'static str, &'static str, &'static str);

/// A message the server sends: its `type`, what it means and its fields besides `type`.
pub struct ServerMessage {
    pub name: &'static str,
    pub summary: &'static str,
    pub fields: &'static [Field],
}

/// Fields every room event carries (added by the leader's publisher).
const ROOM_EVENT: [Field; 3] = [
    ("room", "string", "the room"),
    (
        "epoch",
        "integer",
        "the leader's fencing token: events of an older epoch are dropped",
    ),
    ("seq", "integer", "from 1 per leader: a gap makes the relay resync"),
];

const BET: &str = "a bet: bet_id, round_id, room, client_bet_id, amount (micro-units), auto_cashout, status, \
cashout_multiplier, payout";

pub const SERVER_MESSAGES: &[ServerMessage] = &[
    ServerMessage {
        name: "initial_state",
        summary: "The room's state when the socket opens (the same shape as `GET /api/v1/game/state`)",
        fields: &[
            ("phase", "string", "`betting`, `running`, `crashed` or `starting`"),
            ("round_id", "integer", "the round under way"),
            ("my_bets", "array", BET),
            (
                "balance",
                "integer",
                "the player's balance in micro-units (null for a viewer)",
            ),
        ],
    },
    ServerMessage {
        name: "round_start",
        summary: "A round opens for bets (room event)",
        fields: &[
            ("round_id", "integer", "the new round"),
            ("betting_ms", "integer", "how long betting stays open"),
            ("betting_ends_at", "string", "when betting closes (RFC 3339)"),
            ("terminating_hash", "string", "the chain's published terminating hash"),
            (
                "previous_round",
                "object",
                "the previous round revealed: round_id, hash, crash_point",
            ),
        ],
    },
    ServerMessage {
        name: "round_running",
        summary: "Betting closed and the multiplier started (room event)",
        fields: &[
            ("round_id", "integer", "the round"),
            ("started_at", "string", "the curve's time zero (RFC 3339)"),
            ("tick_interval_ms", "integer", "how often ticks come"),
        ],
    },
    ServerMessage {
        name: "tick",
        summary: "The multiplier now and the cashouts since the last tick (room event)",
        fields: &[
            ("round_id", "integer", "the round"),
            ("multiplier", "number", "the multiplier, two decimals"),
            ("elapsed_ms", "integer", "since the curve started"),
            ("ts", "integer", "the server's time, ms since the epoch"),
            (
                "cashouts",
                "array",
                "cashouts since the last tick: username, multiplier, payout",
            ),
        ],
    },
    ServerMessage {
        name: "crash",
        summary: "The round crashed; its hash is revealed (room event)",
        fields: &[
            ("round_id", "integer", "the round"),
            ("crash_point", "number", "the crash point, two decimals"),
            ("hash", "string", "the game's hash, to verify"),
            ("elapsed_ms", "integer", "when it crashed, since the curve started"),
            ("ts", "integer", "the server's time, ms since the epoch"),
            ("cashouts", "array", "cashouts since the last tick"),
        ],
    },
    ServerMessage {
        name: "round_aborted",
        summary: "A round cut short by a leader change; its stakes are refunded (room event)",
        fields: &[
            ("round_id", "integer", "the round"),
            ("reason", "string", "`leader_changed`"),
        ],
    },
    ServerMessage {
        name: "betting_paused",
        summary: "The operator paused betting in the room (room event)",
        fields: &[
            ("reason", "string", "the operator's reason"),
            ("since", "string", "when (RFC 3339)"),
        ],
    },
    ServerMessage {
        name: "betting_resumed",
        summary: "Betting is open again between rounds (room event)",
        fields: &[],
    },
    ServerMessage {
        name: "resync",
        summary: "The node missed events; here is the room's state to start again from",
        fields: &[("state", "object", "the room's state, as in `initial_state`")],
    },
    ServerMessage {
        name: "bet_placed",
        summary: "The answer to `place_bet`",
        fields: &[
            ("bet", "object", BET),
            ("balance", "integer", "the balance after the stake"),
            (
                "replayed",
                "boolean",
                "true when the same client_bet_id was already placed",
            ),
            ("request_id", "string", "the request's id, echoed"),
        ],
    },
    ServerMessage {
        name: "cashed_out",
        summary: "A bet was cashed out (the answer to `cashout`, or an auto-cashout)",
        fields: &[
            ("bet_id", "string", "the bet"),
            ("round_id", "integer", "its round"),
            ("multiplier", "number", "the cashout multiplier"),
            ("payout", "integer", "micro-units credited"),
            ("balance", "integer", "the balance after the win"),
            ("auto", "boolean", "true for an auto-cashout"),
            ("request_id", "string", "the request's id, echoed"),
        ],
    },
    ServerMessage {
        name: "balance",
        summary: "The player's balance after authenticating",
        fields: &[("balance", "integer", "micro-units")],
    },
    ServerMessage {
        name: "balance_updated",
        summary: "The player's balance changed (any game, any node)",
        fields: &[
            ("balance", "integer", "micro-units"),
            ("ts", "integer", "when the movement was recorded, ms since the epoch"),
        ],
    },
    ServerMessage {
        name: "reality_check",
        summary: "Time played and the net result since the socket connected, every interval",
        fields: &[
            ("played_seconds", "integer", "time on this socket"),
            ("staked_micros", "integer", "stakes since it connected"),
            (
                "net_micros",
                "integer",
                "wins and refunds minus stakes (negative is a loss)",
            ),
            ("interval_seconds", "integer", "how often this comes"),
        ],
    },
    ServerMessage {
        name: "game_event",
        summary: "A slot round with free spins ended (`event`: `bonus_completed`)",
        fields: &[
            ("event", "string", "`bonus_completed`"),
            ("game_id", "string", "the slot game"),
            ("spin_id", "string", "the round"),
            ("bonus_round_id", "string", "the bonus round"),
            ("free_spins_played", "integer", "free spins in it"),
            ("total_win", "integer", "micro-units"),
            ("ended_by", "string", "who ended it"),
            ("ts", "integer", "ms since the epoch"),
        ],
    },
    ServerMessage {
        name: "maintenance",
        summary: "The operator's broadcast message",
        fields: &[("message", "string", "the text"), ("at", "string", "when (RFC 3339)")],
    },
    ServerMessage {
        name: "pong",
        summary: "The answer to `ping`",
        fields: &[
            ("request_id", "string", "the request's id, echoed"),
            ("ts", "integer", "the server's time, ms since the epoch"),
        ],
    },
    ServerMessage {
        name: "error",
        summary: "A request was refused: the same codes as the REST API's envelope",
        fields: &[
            (
                "code",
                "string",
                "snake_case, for example `betting_closed`, `insufficient_funds`, `invalid_message`",
            ),
            ("message", "string", "for people"),
            ("request_id", "string", "the request's id, echoed"),
        ],
    },
];

/// Messages sent on a room's channel, which carry `room`, `epoch` and `seq`.
const ROOM_EVENTS: [&str; 7] = [
    "round_start",
    "round_running",
    "tick",
    "crash",
    "round_aborted",
    "betting_paused",
    "betting_resumed",
];

/// The close codes the server sends, from `close_code`, with what a client should do.
pub fn close_codes() -> Vec<(u16, &'static str, &'static str)> {
    vec![
        (close_code::NORMAL, "normal", "the client closed; the server echoes it"),
        (
            close_code::GOING_AWAY,
            "going_away",
            "the node drains or stops: reconnect through nginx",
        ),
        (
            close_code::PROTOCOL_ERROR,
            "protocol_error",
            "the client's close frame carried a code no endpoint may send",
        ),
        (
            close_code::POLICY_VIOLATION,
            "policy_violation",
            "a frame broke the limits (too large, binary)",
        ),
        (
            close_code::UNAUTHENTICATED,
            "unauthenticated",
            "no valid `auth` message in time",
        ),
        (
            close_code::HEARTBEAT_TIMEOUT,
            "heartbeat_timeout",
            "no message or pong within the client timeout",
        ),
        (
            close_code::TOKEN_REVOKED,
            "token_revoked",
            "the token was logged out or revoked by an operator: log in again",
        ),
        (
            close_code::RATE_LIMITED,
            "rate_limited",
            "the socket kept sending past its message limit after `rate_limited` errors: slow down, then reconnect",
        ),
        (
            close_code::SLOW_CONSUMER,
            "slow_consumer",
            "the client did not read its frames fast enough",
        ),
    ]
}

fn server_payload(message: &ServerMessage) -> Value {
    let mut properties = Map::new();
    properties.insert("type".into(), json!({ "const": message.name }));
    let room_fields: &[Field] = if ROOM_EVENTS.contains(&message.name) {
        &ROOM_EVENT
    } else {
        &[]
    };
    for (name, kind, description) in message.fields.iter().chain(room_fields) {
        properties.insert((*name).into(), json!({ "type": kind, "description": description }));
    }
    json!({ "type": "object", "required": ["type"], "properties": properties })
}

/// The client messages, one per variant of `ClientMessage`'s derived `oneOf`, named by their `type`.
fn client_messages() -> Vec<(String, Value)> {
    let schema = serde_json::to_value(ClientMessage::schema()).expect("a schema serializes");
    let variants = schema["oneOf"].as_array().cloned().unwrap_or_default();
    variants
        .into_iter()
        .map(|variant| {
            let name = variant["properties"]["type"]["enum"][0]
                .as_str()
                .expect("every client message has a type")
                .to_owned();
            (name, variant)
        })
        .collect()
}

fn message(name: &str, summary: &str, direction: &str, payload: Value) -> Value {
    json!({
        "name": name,
        "title": name,
        "summary": summary,
        "contentType": "application/json",
        "payload": payload,
        "x-direction": direction,
    })
}

fn document() -> Value {
    let mut messages = Map::new();
    let mut client_refs = Vec::new();
    let mut server_refs = Vec::new();
    for (name, payload) in client_messages() {
        let summary = payload["description"].as_str().unwrap_or_default().to_owned();
        messages.insert(name.clone(), message(&name, &summary, "client", payload));
        client_refs.push(json!({ "$ref": format!("#/channels/session/messages/{name}") }));
    }
    for server in SERVER_MESSAGES {
        messages.insert(
            server.name.into(),
            message(server.name, server.summary, "server", server_payload(server)),
        );
        server_refs.push(json!({ "$ref": format!("#/channels/session/messages/{}", server.name) }));
    }
    let channel_messages: Map<String, Value> = messages
        .keys()
        .map(|name| (name.clone(), json!({ "$ref": format!("#/components/messages/{name}") })))
        .collect();
    let close_codes: Vec<Value> = close_codes()
        .into_iter()
        .map(|(code, name, meaning)| json!({ "code": code, "name": name, "meaning": meaning }))
        .collect();
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "game-cluster WebSocket protocol",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "One socket per player and room at GET /ws?room=<room>[&token=<player JWT>]. Every \
                frame is a JSON text with a `type`. Without a token the first message must be `auth`. Room events \
                carry `epoch` and `seq`; the server pings, and a client that neither answers nor sends is closed \
                with 4002. Money is integer micro-units; multipliers are numbers with two decimals.",
        },
        "servers": {
            "cluster": {
                "host": "127.0.0.1:8080",
                "protocol": "ws",
                "description": "nginx in front of the nodes (make up); any node answers the same"
            }
        },
        "channels": {
            "session": {
                "address": "/ws",
                "messages": channel_messages,
                "bindings": { "ws": { "method": "GET", "query": {
                    "type": "object",
                    "properties": {
                        "room": { "type": "string", "description": "the room (the first configured one when absent)" },
                        "token": { "type": "string", "description": "a player token; without it, send `auth` first" }
                    }
                } } }
            }
        },
        "operations": {
            "receiveClientMessages": {
                "action": "receive",
                "channel": { "$ref": "#/channels/session" },
                "messages": client_refs
            },
            "sendServerMessages": {
                "action": "send",
                "channel": { "$ref": "#/channels/session" },
                "messages": server_refs
            }
        },
        "components": { "messages": messages },
        "x-close-codes": close_codes,
    })
}

/// The document as served, rendered once per process.
pub fn asyncapi_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::to_string_pretty(&document()).expect("the document serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sources that build server messages, relative to the crate.
    const SENDERS: [&str; 7] = [
        "src/session/protocol.rs",
        "src/games/wire.rs",
        "src/games/crash/messages.rs",
        "src/games/crash/room/mod.rs",
        "src/session/relay.rs",
        "src/admin/cluster.rs",
        "src/games/slots/server/settle.rs",
    ];

    /// Internal frames that never reach a socket.
    const NOT_SENT_TO_CLIENTS: [&str; 1] = ["player_frame"];

    fn types_written_in(source: &str) -> Vec<String> {
        let mut types = Vec::new();
        for marker in ["\"type\": \"", "\"type\":\"", "Value::from(\""] {
            for rest in source.split(marker).skip(1) {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    types.push(name);
                }
            }
        }
        types
    }

    #[test]
    fn every_message_the_server_sends_is_documented() {
        // Proves the table cannot fall behind the code: a new message type written by a sender fails here.
        let document: Value = serde_json::from_str(asyncapi_json()).expect("the document is JSON");
        let messages = document["components"]["messages"].as_object().expect("messages");
        for path in SENDERS {
            let source = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
                .expect("the sender's source is readable");
            for name in types_written_in(&source) {
                if NOT_SENT_TO_CLIENTS.contains(&name.as_str()) {
                    continue;
                }
                assert!(
                    messages.contains_key(&name),
                    "{path} sends `{name}`, which the AsyncAPI document lacks"
                );
            }
        }
    }

    #[test]
    fn the_document_is_asyncapi_3_with_every_client_message_and_close_code() {
        // Proves the client messages are the parser's own variants and every close code is listed.
        let document: Value = serde_json::from_str(asyncapi_json()).expect("the document is JSON");
        assert_eq!(document["asyncapi"], "3.0.0");
        let messages = document["components"]["messages"].as_object().expect("messages");
        for name in ["auth", "place_bet", "cashout", "ping"] {
            assert_eq!(messages[name]["x-direction"], "client", "{name}");
        }
        let codes: Vec<u64> = document["x-close-codes"]
            .as_array()
            .expect("close codes")
            .iter()
            .filter_map(|entry| entry["code"].as_u64())
            .collect();
        for code in [1000, 1001, 1002, 1008, 4001, 4002, 4008] {
            assert!(codes.contains(&code), "close code {code} is not documented");
        }
        let source =
            std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/session/close_code.rs"))
                .expect("the close codes' source is readable");
        let module = source
            .split("pub fn may_be_sent")
            .next()
            .expect("close_code declares its codes before may_be_sent");
        let declared = module.matches("pub const ").count();
        assert_eq!(
            declared,
            codes.len(),
            "close_code declares a code the document does not list"
        );
    }
}
