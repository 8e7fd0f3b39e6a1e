//! This node's directory of player sockets: which sessions speak for which player (and ledger account).
//! It takes the pushes of the cluster's players channel (see `cluster::push`) from the pub/sub listener
//! and hands each to the sessions of its addressee, through their bounded mailboxes. A session whose
//! mailbox is full is too slow: it is told to close, as a room relay does.
//!
//! A revocation (a logout, or the operator revoking a player's tokens; see `auth::revocation`) travels
//! the same way: every node forgets its cached copy of the player's token standing and closes, with
//! close code 4003, each socket authenticated by a revoked token.

use super::close_code;
use crate::auth::extract::TokenIdentity;
use crate::auth::revocation::{Revoked, TokenRevocations, TokenStanding};
use crate::cluster::listener::BusMessage;
use crate::cluster::push::{Addressee, PlayerEnvelope, PlayerMessage, PlayerPush, RevokedTokens};
use crate::session::relay::ToSession;
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

/// The sockets among `sockets` whose token `standings` no longer admit (a player no longer found has no
/// good token).
fn unadmitted(sockets: &[(u64, Uuid, TokenIdentity)], standings: &HashMap<Uuid, TokenStanding>) -> Vec<u64> {
    sockets
        .iter()
        .filter(|(_, player_id, token)| {
            standings
                .get(player_id)
                .is_none_or(|standing| !standing.admits(token.version, token.jti))
        })
        .map(|(session_id, _, _)| *session_id)
        .collect()
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
    /// A recheck of every socket's token is under way (after a gap in the players channel).
    recheck_in_flight: bool,
    /// Another gap came during that recheck: run one more after it.
    recheck_again: bool,
}

impl PlayerSockets {
    pub fn new(mailbox_capacity: usize, revocations: TokenRevocations) -> PlayerSockets {
        PlayerSockets {
            sessions: HashMap::new(),
            by_player: HashMap::new(),
            player_of_account: HashMap::new(),
            mailbox_capacity,
            revocations,
            recheck_in_flight: false,
            recheck_again: false,
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
        self.close_revoked(closing);
    }

    /// After a gap in the players channel: forgets every cached standing, reads the standings of every
    /// connected player afresh and closes the sockets whose token was revoked meanwhile. One recheck at a
    /// time; a gap during one is covered by its fresh reads only if they began after it, so it then runs
    /// again.
    fn recheck_tokens(&mut self, ctx: &mut Context<Self>) {
        self.revocations.forget_all();
        if self.recheck_in_flight {
            self.recheck_again = true;
            return;
        }
        // Only the sockets open now are judged: one that registers later checks its own token.
        let sockets: Vec<(u64, Uuid, TokenIdentity)> = self
            .sessions
            .iter()
            .map(|(session_id, entry)| (*session_id, entry.player_id, entry.token))
            .collect();
        if sockets.is_empty() {
            return;
        }
        let players: Vec<Uuid> = self.by_player.keys().copied().collect();
        self.recheck_in_flight = true;
        let revocations = self.revocations.clone();
        let read = async move { revocations.read_standings(&players).await };
        ctx.spawn(read.into_actor(self).map(move |standings, directory, ctx| {
            directory.recheck_in_flight = false;
            match standings {
                Ok(standings) => directory.close_revoked(unadmitted(&sockets, &standings)),
                Err(error) => tracing::warn!(error = format!("{error:#}"), "could not recheck the sockets' tokens"),
            }
            if std::mem::take(&mut directory.recheck_again) {
                directory.recheck_tokens(ctx);
            }
        }));
    }

    fn close_revoked(&mut self, session_ids: Vec<u64>) {
        for session_id in &session_ids {
            if let Some(entry) = self.sessions.get(session_id) {
                entry.control.do_send(ToSession::Close(
                    close_code::TOKEN_REVOKED,
                    "the token was revoked; log in again".into(),
                ));
            }
        }
        metrics::counter!("ws_sessions_revoked_total").increment(session_ids.len() as u64);
        for session_id in session_ids {
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

    fn handle(&mut self, message: BusMessage, ctx: &mut Context<Self>) {
        match message {
            BusMessage::Event(payload) => match serde_json::from_str::<PlayerMessage>(&payload) {
                Ok(message) => {
                    for envelope in message.into_envelopes() {
                        self.deliver(envelope);
                    }
                }
                Err(error) => tracing::warn!(%error, "dropped a player push that is not an envelope"),
            },
            // Pushes may have been lost (a reconnect, a full mailbox). Balances need nothing rebuilt: the
            // next push, or the client's own read, brings them up to date. A lost revocation would leave
            // a socket open, so every socket's token is checked again.
            BusMessage::Resync => {
                metrics::counter!("player_push_gaps_total").increment(1);
                self.recheck_tokens(ctx);
            }
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

    #[test]
    fn a_recheck_closes_the_sockets_whose_token_is_no_longer_admitted() {
        let (revoked_player, good_player, gone_player) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let out = Uuid::new_v4();
        let token = |jti: Uuid, version: i64| TokenIdentity {
            jti: Some(jti),
            version,
            expires_at: 0,
        };
        let sockets = [
            (1, revoked_player, token(Uuid::new_v4(), 0)),
            (2, good_player, token(out, 1)),
            (3, good_player, token(Uuid::new_v4(), 1)),
            (4, gone_player, token(Uuid::new_v4(), 0)),
        ];
        let standings = HashMap::from([
            (
                revoked_player,
                TokenStanding {
                    version: 1,
                    revoked: vec![],
                },
            ),
            (
                good_player,
                TokenStanding {
                    version: 1,
                    revoked: vec![out],
                },
            ),
        ]);
        assert_eq!(unadmitted(&sockets, &standings), vec![1, 2, 4]);
    }
}
