//! Pushes to one player: a message reaches each of the player's sockets on every node. The sender
//! publishes it once on the cluster's players channel (through its own bounded [`EventBus`], so pushes
//! never crowd out room events); every node's listener hands it to that node's directory of player
//! sockets, which writes it to the sockets of the addressed player, if any. Pushes made together (the
//! wallet's balance changes of one moment) travel together, up to `PLAYER_PUSHES_PER_MESSAGE_MAX` per
//! message: a burst of ten thousand bets is a few dozen messages for Redis and every node, not ten
//! thousand.

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

/// The most pushes one message on the players channel carries (about 200 bytes each).
pub const PLAYER_PUSHES_PER_MESSAGE_MAX: usize = 256;

/// What travels on the players channel: one push, or several made together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PlayerMessage {
    Batch { batch: Vec<PlayerEnvelope> },
    One(PlayerEnvelope),
}

impl PlayerMessage {
    pub fn into_envelopes(self) -> Vec<PlayerEnvelope> {
        match self {
            PlayerMessage::Batch { batch } => batch,
            PlayerMessage::One(envelope) => vec![envelope],
        }
    }
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
    /// Pushes each frame to its addressee, in as few messages as their number allows.
    pub fn frames_to_each(&self, frames: impl IntoIterator<Item = (Addressee, String)>) {
        let mut batch = Vec::with_capacity(PLAYER_PUSHES_PER_MESSAGE_MAX);
        for (to, frame) in frames {
            batch.push(PlayerEnvelope {
                to,
                frame,
                revoked: None,
            });
            if batch.len() == PLAYER_PUSHES_PER_MESSAGE_MAX {
                self.publish_message(&PlayerMessage::Batch {
                    batch: std::mem::take(&mut batch),
                });
            }
        }
        match batch.len() {
            0 => {}
            1 => self.publish_message(&PlayerMessage::One(batch.remove(0))),
            _ => self.publish_message(&PlayerMessage::Batch { batch }),
        }
    }

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

    fn publish_message(&self, message: &PlayerMessage) {
        let text = serde_json::to_string(message).expect("envelopes of strings and ids always serialize");
        self.bus.publish(&self.channel, ByteString::from(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(account: i64) -> PlayerEnvelope {
        PlayerEnvelope {
            to: Addressee::Account(account),
            frame: format!(r#"{{"type":"balance_updated","balance":{account}}}"#),
            revoked: None,
        }
    }

    /// A single push keeps the envelope's own shape on the wire, so a message from a node that does not
    /// batch still reads; a batch reads back envelope by envelope, in order.
    #[test]
    fn one_push_and_a_batch_read_back_as_their_envelopes() {
        let single = serde_json::to_string(&envelope(7)).unwrap();
        let read: PlayerMessage = serde_json::from_str(&single).unwrap();
        assert_eq!(read.into_envelopes(), vec![envelope(7)]);

        let batch = PlayerMessage::Batch {
            batch: vec![envelope(1), envelope(2), envelope(3)],
        };
        let read: PlayerMessage = serde_json::from_str(&serde_json::to_string(&batch).unwrap()).unwrap();
        assert_eq!(read.into_envelopes(), vec![envelope(1), envelope(2), envelope(3)]);

        let revocation = PlayerEnvelope {
            to: Addressee::Player(Uuid::nil()),
            frame: String::new(),
            revoked: Some(RevokedTokens::AllBefore { version: 3 }),
        };
        let read: PlayerMessage = serde_json::from_str(&serde_json::to_string(&revocation).unwrap()).unwrap();
        assert_eq!(read.into_envelopes(), vec![revocation]);
    }
}
