//! Pushes to one player: a message reaches each of the player's sockets on every node. The sender
//! publishes it once on the cluster's players channel (through its own bounded [`EventBus`], so pushes
//! never crowd out room events); every node's listener hands it to that node's directory of player
//! sockets, which writes it to the sockets of the addressed player, if any.

use super::bus::EventBus;
use super::Namespace;
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Whom a push is for: a player, or the player owning a ledger account (what the wallet reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Addressee {
    Player(Uuid),
    Account(i64),
}

/// Which of a player's tokens were revoked (see `auth::revocation`): their sockets are closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scope")]
pub enum RevokedTokens {
    /// One logged-out token, by its id (`jti`).
    Token { jti: Uuid },
    /// Every token of a version below `version`.
    AllBefore { version: i64 },
}

/// What travels on the players channel: the addressee and the frame, as the socket will carry it, or
/// (with an empty frame) the news that some of the addressee's tokens were revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerEnvelope {
    pub to: Addressee,
    #[serde(default)]
    pub frame: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<RevokedTokens>,
}

/// The publishing side, cloned wherever something must reach a player (the wallet's balance changes, a
/// game's own events).
#[derive(Clone)]
pub struct PlayerPush {
    bus: EventBus,
    channel: String,
}

impl PlayerPush {
    pub fn new(bus: EventBus, namespace: &Namespace) -> PlayerPush {
        PlayerPush {
            bus,
            channel: namespace.players_channel(),
        }
    }

    /// Sends `message` (a JSON object with a `type`, sent as it is) to every socket of `player_id` on every
    /// node. Never waits: when the publishing queue is full the push is dropped and counted
    /// (`event_bus_dropped_total{bus="players"}`). Delivery is at most once; a player without a socket
    /// gets nothing.
    pub fn to_player(&self, player_id: Uuid, message: &Value) {
        self.frame_to(Addressee::Player(player_id), message.to_string());
    }

    /// Sends a frame already encoded (as `session::protocol` makes them) to every socket of `to`.
    pub fn frame_to(&self, to: Addressee, frame: String) {
        self.publish(&PlayerEnvelope {
            to,
            frame,
            revoked: None,
        });
    }

    /// Tells every node that `revoked` tokens of `player_id` are void: each node forgets what it cached of
    /// the player's tokens and closes the sockets that hold one. At most once, like every push: a node
    /// that misses it refuses the tokens on its next read (`auth.token_version_cache_ms` at most).
    pub fn revoked(&self, player_id: Uuid, revoked: RevokedTokens) {
        self.publish(&PlayerEnvelope {
            to: Addressee::Player(player_id),
            frame: String::new(),
            revoked: Some(revoked),
        });
    }

    fn publish(&self, envelope: &PlayerEnvelope) {
        let text = serde_json::to_string(envelope).expect("an envelope of strings and ids always serializes");
        self.bus.publish(&self.channel, ByteString::from(text));
    }
}
