//! This node's directory of player sockets: which sessions speak for which player (and ledger account).
//! It takes the pushes of the cluster's players channel (see `cluster::push`) from the pub/sub listener
//! and hands each to the sessions of its addressee, through their bounded mailboxes. A session whose
//! mailbox is full is too slow: it is told to close, as a room relay does.
//!
//! A revocation (a logout, or the operator revoking a player's tokens; see `auth::revocation`) travels
//! the same way: every node forgets its cached copy of the player's token standing and closes, with
//! close code 4003, each socket authenticated by a revoked token.

use super::actor::close_code;
use crate::auth::extract::TokenIdentity;
use crate::auth::revocation::{Revoked, TokenRevocations};
use crate::cluster::listener::BusMessage;
use crate::cluster::push::{Addressee, PlayerEnvelope, PlayerPush, RevokedTokens};
use crate::games::crash::relay::ToSession;
use actix::prelude::*;
use bytestring::ByteString;
use std::collections::HashMap;
use uuid::Uuid;

/// A session of a player joins the directory.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Register {
    pub session_id: u64,
    pub player_id: Uuid,
    pub account: i64,
    pub token: TokenIdentity,
    pub control: Recipient<ToSession>,
}

/// A session left (its socket closed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unregister {
    pub session_id: u64,
}

struct Entry {
    player_id: Uuid,
    account: i64,
    token: TokenIdentity,
    control: Recipient<ToSession>,
}

/// Announces a revocation this node made to every node, this one included (its sockets are closed when
/// the message comes back through Redis, like everyone else's).
pub fn announce_revocation(push: &PlayerPush, player_id: Uuid, revoked: Revoked) {
    let revoked = match revoked {
        Revoked::Token { jti } => RevokedTokens::Token { jti },
        Revoked::AllBefore { version } => RevokedTokens::AllBefore { version },
    };
    push.revoked(player_id, revoked);
}

/// Whether a socket authenticated with `token` must close after `revoked`.
fn holds_revoked(token: &TokenIdentity, revoked: &RevokedTokens) -> bool {
    match revoked {
        RevokedTokens::Token { jti } => token.jti == Some(*jti),
        RevokedTokens::AllBefore { version } => token.version < *version,
    }
}

pub struct PlayerSockets {
    sessions: HashMap<u64, Entry>,
    by_player: HashMap<Uuid, Vec<u64>>,
    /// Each connected player's account, to resolve pushes addressed by account.
    player_of_account: HashMap<i64, Uuid>,
    /// Pushes waiting for the directory at most (the listener's `try_send` fails past it).
    mailbox_capacity: usize,
    /// The node's cache of token standings, cleared for a player whose tokens were revoked.
    revocations: TokenRevocations,
}

impl PlayerSockets {
    pub fn new(mailbox_capacity: usize, revocations: TokenRevocations) -> PlayerSockets {
        PlayerSockets {
            sessions: HashMap::new(),
            by_player: HashMap::new(),
            player_of_account: HashMap::new(),
            mailbox_capacity,
            revocations,
        }
    }

    /// Forgets the player's cached standing first, so that a socket registering after this refuses its
    /// token on its own check (see `PlayerSession::join_room`), then closes the sockets that hold one.
    fn revoke(&mut self, player_id: Uuid, revoked: RevokedTokens) {
        self.revocations.forget(player_id);
        let Some(session_ids) = self.by_player.get(&player_id) else {
            return;
        };
        let closing: Vec<u64> = session_ids
            .iter()
            .copied()
            .filter(|id| {
                self.sessions
                    .get(id)
                    .is_some_and(|entry| holds_revoked(&entry.token, &revoked))
            })
            .collect();
        for session_id in &closing {
            if let Some(entry) = self.sessions.get(session_id) {
                entry.control.do_send(ToSession::Close(
                    close_code::TOKEN_REVOKED,
                    "the token was revoked; log in again".into(),
                ));
            }
        }
        metrics::counter!("ws_sessions_revoked_total").increment(closing.len() as u64);
        for session_id in closing {
            self.remove(session_id);
        }
    }

    fn deliver(&mut self, envelope: PlayerEnvelope) {
        if let (Some(revoked), Addressee::Player(player_id)) = (envelope.revoked, envelope.to) {
            self.revoke(player_id, revoked);
            return;
        }
        let player_id = match envelope.to {
            Addressee::Player(player_id) => player_id,
            Addressee::Account(account) => match self.player_of_account.get(&account) {
                Some(player_id) => *player_id,
                None => return,
            },
        };
        let Some(session_ids) = self.by_player.get(&player_id) else {
            return;
        };
        let frame = ByteString::from(envelope.frame);
        let mut too_slow = Vec::new();
        for session_id in session_ids {
            let Some(entry) = self.sessions.get(session_id) else {
                continue;
            };
            if entry.control.try_send(ToSession::Frame(frame.clone())).is_err() {
                entry.control.do_send(ToSession::Close(
                    close_code::SLOW_CONSUMER,
                    "too slow to keep up with the game".into(),
                ));
                too_slow.push(*session_id);
            }
        }
        metrics::counter!("player_pushes_delivered_total").increment((session_ids.len() - too_slow.len()) as u64);
        for session_id in too_slow {
            self.remove(session_id);
        }
    }

    fn remove(&mut self, session_id: u64) {
        let Some(entry) = self.sessions.remove(&session_id) else {
            return;
        };
        let Some(sessions) = self.by_player.get_mut(&entry.player_id) else {
            return;
        };
        sessions.retain(|id| *id != session_id);
        if sessions.is_empty() {
            self.by_player.remove(&entry.player_id);
            self.player_of_account.remove(&entry.account);
        }
    }
}

impl Actor for PlayerSockets {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox_capacity);
    }
}

impl Handler<BusMessage> for PlayerSockets {
    type Result = ();

    fn handle(&mut self, message: BusMessage, _: &mut Context<Self>) {
        match message {
            BusMessage::Event(payload) => match serde_json::from_str::<PlayerEnvelope>(&payload) {
                Ok(envelope) => self.deliver(envelope),
                Err(error) => tracing::warn!(%error, "dropped a player push that is not an envelope"),
            },
            // Pushes may have been lost (a reconnect, a full mailbox). They carry no state to rebuild: the
            // next push, or the client's own read, brings the balance up to date.
            BusMessage::Resync => metrics::counter!("player_push_gaps_total").increment(1),
        }
    }
}

impl Handler<Register> for PlayerSockets {
    type Result = ();

    fn handle(&mut self, register: Register, _: &mut Context<Self>) {
        self.by_player
            .entry(register.player_id)
            .or_default()
            .push(register.session_id);
        self.player_of_account.insert(register.account, register.player_id);
        self.sessions.insert(
            register.session_id,
            Entry {
                player_id: register.player_id,
                account: register.account,
                token: register.token,
                control: register.control,
            },
        );
    }
}

impl Handler<Unregister> for PlayerSockets {
    type Result = ();

    fn handle(&mut self, unregister: Unregister, _: &mut Context<Self>) {
        self.remove(unregister.session_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_reaches_the_sockets_of_the_revoked_tokens_only() {
        let (out, other) = (Uuid::new_v4(), Uuid::new_v4());
        let token = |jti: Option<Uuid>, version: i64| TokenIdentity {
            jti,
            version,
            expires_at: 0,
        };
        let logout = RevokedTokens::Token { jti: out };
        assert!(holds_revoked(&token(Some(out), 0), &logout));
        assert!(!holds_revoked(&token(Some(other), 0), &logout));
        assert!(!holds_revoked(&token(None, 0), &logout), "an old token without an id");
        let all = RevokedTokens::AllBefore { version: 2 };
        assert!(holds_revoked(&token(Some(other), 1), &all));
        assert!(holds_revoked(&token(None, 0), &all));
        assert!(
            !holds_revoked(&token(Some(other), 2), &all),
            "issued after the revocation"
        );
    }
}
