//! The player session actor: one per WebSocket. It owns the socket's transport, answers the client's
//! messages, keeps a heartbeat, and forwards bets and cashouts to the room actors with the moment each
//! request arrived.

use super::close_code;
use super::limits::{self, MessageLimit, MessageVerdict};
use super::players::{PlayerSockets, Register, Unregister};
use super::protocol::{self, ClientMessage};
use super::reality_check;
use super::timers::SessionTimers;
use super::transport::{Incoming, SendFailure, Transport};
use crate::auth::extract::{player_from_claims, verify_token, AuthenticatedPlayer};
use crate::auth::revocation::TokenRevocations;
use crate::auth::{Claims, Role, TokenKeys};
use crate::cluster::rate_limit::policy::RateLimitPolicy;
use crate::cluster::rate_limit::RateLimiter;
use crate::configuration::SessionSettings;
use crate::error::ApiError;
use crate::games::crash::room::{Cashout, PlaceBet, PlayerRef};
use crate::games::crash::{parse_auto_cashout, GameError};
use crate::money::Amount;
use crate::session::relay::CrashRooms;
use crate::session::relay::{RoomRelay, Subscribe, ToSession, Unsubscribe};
use crate::wallet::history;
use actix::prelude::*;
use sqlx::PgPool;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

/// The longest `client_bet_id` a client may choose.
const CLIENT_BET_ID_LENGTH_MAX: usize = 64;

/// Bets and cashouts one session may have waiting for the room at once.
const REQUESTS_IN_FLIGHT_MAX: u32 = 16;

/// Everything a session needs from the node.
#[derive(Clone)]
pub struct SessionContext {
    pub rooms: CrashRooms,
    pub keys: TokenKeys,
    pub pool: PgPool,
    /// For reads that may lag the primary a little (the reality check's totals).
    pub reader: PgPool,
    /// How often a socket of a player who is staking gets a `reality_check`.
    pub reality_check_interval: Duration,
    pub settings: SessionSettings,
    pub auto_cashout_max: u32,
    /// Sessions open on this node, for the cluster registry.
    pub connections: std::sync::Arc<AtomicU64>,
    /// This node's directory of player sockets, which delivers pushes to single players.
    pub players: Addr<PlayerSockets>,
    /// Bets and cashouts count against the player's cluster-wide limit, as REST calls do.
    pub rate_limiter: RateLimiter,
    pub rate_limits: RateLimitPolicy,
    /// Refuses logged-out and revoked tokens.
    pub revocations: TokenRevocations,
}

/// Who a socket speaks for once authenticated.
#[derive(Debug, Clone)]
pub enum Viewer {
    Player(AuthenticatedPlayer),
    /// The admin watching a room (the dashboard's live curve): public events only, no bets.
    Spectator {
        admin: String,
    },
}

/// The viewer a verified token makes: an admin token watches, a player token plays.
pub fn viewer_from_claims(claims: Claims) -> Result<Viewer, ApiError> {
    if claims.role == Role::Admin {
        return Ok(Viewer::Spectator { admin: claims.sub });
    }
    player_from_claims(claims).map(Viewer::Player)
}

pub struct PlayerSession {
    id: u64,
    room_name: String,
    room: Addr<RoomRelay>,
    viewer: Option<Viewer>,
    transport: Transport,
    /// Shared by every session of the node (one copy, not one per socket).
    context: Arc<SessionContext>,
    last_heard: Instant,
    requests_in_flight: u32,
    /// When the socket connected: the reality check counts play from here.
    connected_at: chrono::DateTime<chrono::Utc>,
    connected_instant: Instant,
    /// A reality check's read is under way (a slow database never piles them up).
    reality_check_in_flight: bool,
    /// How often the session's one timer has fired: the heartbeat and the reality check both run on it,
    /// each every so many firings (a second timer would cost every socket about 150 bytes).
    timer_firings: u64,
    /// Why the session ended, for the metrics: the client's own close unless the server closed it.
    close_reason: Cell<&'static str>,
    /// The socket's own message limit.
    message_limit: MessageLimit,
}

/// The metrics label for a close code the server sends.
fn close_reason_label(code: u16) -> &'static str {
    match code {
        close_code::GOING_AWAY => "going_away",
        close_code::POLICY_VIOLATION => "policy_violation",
        close_code::UNAUTHENTICATED => "unauthenticated",
        close_code::HEARTBEAT_TIMEOUT => "heartbeat_timeout",
        close_code::TOKEN_REVOKED => "token_revoked",
        close_code::SLOW_CONSUMER => "slow_consumer",
        close_code::RATE_LIMITED => "rate_limited",
        _ => "other",
    }
}

impl PlayerSession {
    pub fn new(
        room_name: String,
        room: Addr<RoomRelay>,
        viewer: Option<Viewer>,
        transport: Transport,
        context: Arc<SessionContext>,
    ) -> PlayerSession {
        let limits = &context.rate_limits;
        let message_limit = MessageLimit::new(limits.ws_messages_per_socket, limits.ws_rate_limited_messages_max);
        PlayerSession {
            id: NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed),
            room_name,
            room,
            viewer,
            transport,
            context,
            last_heard: Instant::now(),
            requests_in_flight: 0,
            connected_at: chrono::Utc::now(),
            connected_instant: Instant::now(),
            reality_check_in_flight: false,
            timer_firings: 0,
            close_reason: Cell::new("client_closed"),
            message_limit,
        }
    }

    fn send(&self, frame: bytestring::ByteString, ctx: &mut Context<Self>) {
        if let Err(SendFailure::Full) = self.transport.try_send_text(&frame) {
            self.close(close_code::SLOW_CONSUMER, "too slow to keep up with the game", ctx);
        }
    }

    fn close(&self, code: u16, reason: &str, ctx: &mut Context<Self>) {
        tracing::debug!(session = self.id, code, reason, "closing a session");
        self.close_reason.set(close_reason_label(code));
        if code == close_code::SLOW_CONSUMER {
            metrics::counter!("ws_slow_client_disconnects_total").increment(1);
        }
        self.transport.close(code, reason);
        ctx.stop();
    }

    fn error(&self, error: &GameError, request_id: Option<&str>, ctx: &mut Context<Self>) {
        self.send(protocol::error(error.code(), &error.to_string(), request_id), ctx);
    }

    /// Counts one message against the socket's limit; over it the message is refused with `rate_limited`,
    /// and a socket that keeps going is closed (4029). False when the message must be dropped.
    fn admit_message(&mut self, ctx: &mut Context<Self>) -> bool {
        match self.message_limit.admit() {
            MessageVerdict::Admitted => return true,
            MessageVerdict::Refused { retry_after } => self.send(self.message_limit.refusal(retry_after), ctx),
            MessageVerdict::Close => self.close(close_code::RATE_LIMITED, "too many messages", ctx),
        }
        false
    }

    /// Takes a place for one more request to the room, or answers `too_many_requests`.
    fn admit_request(&mut self, request_id: Option<&str>, ctx: &mut Context<Self>) -> bool {
        if self.requests_in_flight >= REQUESTS_IN_FLIGHT_MAX {
            let message = format!("at most {REQUESTS_IN_FLIGHT_MAX} bets and cashouts may be pending at once");
            self.send(protocol::error("too_many_requests", &message, request_id), ctx);
            return false;
        }
        self.requests_in_flight += 1;
        true
    }

    fn timers(&self) -> SessionTimers {
        SessionTimers::new(
            Duration::from_millis(self.context.settings.heartbeat_interval_ms),
            self.context.reality_check_interval,
        )
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>) {
        self.timer_firings += 1;
        let timers = self.timers();
        if self.timer_firings.is_multiple_of(timers.heartbeat_every) {
            self.heartbeat(ctx);
        }
        if self.timer_firings.is_multiple_of(timers.reality_check_every) {
            self.reality_check(ctx);
        }
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        let timeout = Duration::from_millis(self.context.settings.client_timeout_ms);
        if self.last_heard.elapsed() > timeout {
            self.close(
                close_code::HEARTBEAT_TIMEOUT,
                "no message or pong within the timeout",
                ctx,
            );
            return;
        }
        if let Err(SendFailure::Full) = self.transport.try_send_ping() {
            self.close(close_code::SLOW_CONSUMER, "too slow to keep up with the game", ctx);
        }
    }

    /// Sends a `reality_check` when the player staked since the socket connected; a spectator, a socket
    /// not yet authenticated or a player who has not staked gets nothing.
    fn reality_check(&mut self, ctx: &mut Context<Self>) {
        let Some(Viewer::Player(player)) = &self.viewer else {
            return;
        };
        if self.reality_check_in_flight {
            return;
        }
        self.reality_check_in_flight = true;
        let (reader, account, since) = (self.context.reader.clone(), player.account, self.connected_at);
        let totals = async move { reality_check::play_totals(&reader, account, since).await };
        ctx.spawn(totals.into_actor(self).map(|totals, session, ctx| {
            session.reality_check_in_flight = false;
            match totals {
                Ok(totals) if totals.staked_micros > 0 => {
                    let played_seconds = session.connected_instant.elapsed().as_secs();
                    let interval_seconds = session.context.reality_check_interval.as_secs();
                    session.send(protocol::reality_check(played_seconds, totals, interval_seconds), ctx);
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(session = session.id, %error, "failed to read the reality check's totals"),
            }
        }));
    }

    /// Joins the room and sends `initial_state` with the player's bets and balance (a spectator gets
    /// neither). A player's socket is first registered with the node's directory, then its token checked
    /// against revocations: a revocation announced before the registration was already in the cache's
    /// view, one announced after it finds the socket. The session handles nothing else meanwhile, so a
    /// revoked token never bets.
    fn join_room(&mut self, ctx: &mut Context<Self>) {
        let player = match &self.viewer {
            None => return,
            Some(Viewer::Player(player)) => Some(player.clone()),
            Some(Viewer::Spectator { admin }) => {
                tracing::info!(session = self.id, admin, room = self.room_name, "admin watching a room");
                None
            }
        };
        let Some(player) = player else {
            self.subscribe(None, ctx);
            return;
        };
        let registered = self.context.players.send(Register {
            session_id: self.id,
            player_id: player.player_id,
            account: player.account.0,
            token: player.token,
            control: ctx.address().recipient(),
        });
        let revocations = self.context.revocations.clone();
        let checked = async move {
            // Undeliverable only while the node stops; the check still decides.
            let _ = registered.await;
            revocations
                .admits(player.player_id, player.token.version, player.token.jti)
                .await
                .map(|admitted| (admitted, player))
        };
        ctx.wait(checked.into_actor(self).map(|checked, session, ctx| match checked {
            Ok((true, player)) => session.subscribe(Some(player), ctx),
            Ok((false, _)) => session.close(close_code::TOKEN_REVOKED, "the token was revoked; log in again", ctx),
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "could not check a socket's token");
                session.close(close_code::GOING_AWAY, "the token cannot be checked right now", ctx)
            }
        }));
    }

    fn subscribe(&mut self, player: Option<AuthenticatedPlayer>, ctx: &mut Context<Self>) {
        let subscribe = self.room.send(Subscribe {
            session_id: self.id,
            player_id: player.as_ref().map(|player| player.player_id),
            transport: self.transport.clone(),
            control: ctx.address().recipient(),
        });
        let pool = self.context.pool.clone();
        let joined = async move {
            let balance = match player {
                Some(player) => history::balance(&pool, player.account).await.ok().flatten(),
                None => None,
            };
            (subscribe.await, balance)
        };
        ctx.spawn(
            joined
                .into_actor(self)
                .map(|(snapshot, balance), session, ctx| match snapshot {
                    Ok(snapshot) => {
                        let balance = balance.map(|balance| balance.micros());
                        session.send(protocol::initial_state(snapshot.state, &snapshot.my_bets, balance), ctx);
                    }
                    Err(_) => session.close(close_code::GOING_AWAY, "the room is unavailable", ctx),
                }),
        );
    }

    fn handle_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(message) => message,
            Err(error) => {
                let code = if error.is_data() {
                    "invalid_message"
                } else {
                    "invalid_json"
                };
                self.send(
                    protocol::error(code, &format!("the message is not valid: {error}"), None),
                    ctx,
                );
                return;
            }
        };
        match (message, self.viewer.clone()) {
            (ClientMessage::Ping { request_id }, _) => {
                let now = chrono::Utc::now().timestamp_millis();
                self.send(protocol::pong(request_id.as_deref(), now), ctx);
            }
            (ClientMessage::Auth { token }, None) => self.authenticate(&token, ctx),
            (ClientMessage::Auth { .. }, Some(_)) => self.send(
                protocol::error("already_authenticated", "this socket is already authenticated", None),
                ctx,
            ),
            (_, None) => self.send(
                protocol::error("unauthorized", "send an auth message with a token first", None),
                ctx,
            ),
            (
                ClientMessage::PlaceBet { request_id, .. } | ClientMessage::Cashout { request_id, .. },
                Some(Viewer::Spectator { .. }),
            ) => self.send(
                protocol::error("forbidden", "a spectator cannot bet or cash out", request_id.as_deref()),
                ctx,
            ),
            (
                ClientMessage::PlaceBet {
                    room,
                    amount,
                    auto_cashout,
                    client_bet_id,
                    request_id,
                },
                Some(Viewer::Player(player)),
            ) => {
                let bet = BetRequest {
                    room,
                    amount,
                    auto_cashout,
                    client_bet_id,
                };
                self.place_bet(player, bet, request_id, ctx)
            }
            (ClientMessage::Cashout { bet_id, request_id }, Some(Viewer::Player(player))) => {
                self.cash_out(player, &bet_id, request_id, ctx)
            }
        }
    }

    fn authenticate(&mut self, token: &str, ctx: &mut Context<Self>) {
        let viewer = verify_token(&self.context.keys, token).and_then(viewer_from_claims);
        match viewer {
            Ok(viewer) => {
                self.viewer = Some(viewer);
                self.join_room(ctx);
            }
            Err(error) => self.close(close_code::UNAUTHENTICATED, &error.message, ctx),
        }
    }

    fn place_bet(
        &mut self,
        player: AuthenticatedPlayer,
        bet: BetRequest,
        request_id: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let received_at = Instant::now();
        let parsed = parse_bet(&self.context, &player, bet, received_at);
        let (room, message) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => return self.error(&error, request_id.as_deref(), ctx),
        };
        if !self.admit_request(request_id.as_deref(), ctx) {
            return;
        }
        let admitted = limits::player_write(
            &self.context.rate_limiter,
            self.context.rate_limits.player_writes,
            player.player_id,
        );
        let reply = async move {
            admitted.await?;
            Ok(room.send(message).await.unwrap_or(Err(GameError::RoomUnavailable)))
        };
        ctx.spawn(reply.into_actor(self).map(move |result, session, ctx| {
            session.requests_in_flight -= 1;
            let frame = match result {
                Ok(Ok(placed)) => {
                    protocol::bet_placed(&placed.bet, placed.balance, placed.replayed, request_id.as_deref())
                }
                Ok(Err(error)) => protocol::error(error.code(), &error.to_string(), request_id.as_deref()),
                Err(limited) => limits::player_refusal(limited, request_id.as_deref()),
            };
            session.send(frame, ctx);
        }));
    }

    fn cash_out(
        &mut self,
        player: AuthenticatedPlayer,
        bet_id: &str,
        request_id: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let received_at = Instant::now();
        let Ok(bet_id) = uuid::Uuid::parse_str(bet_id) else {
            return self.error(&GameError::BetNotFound, request_id.as_deref(), ctx);
        };
        if !self.admit_request(request_id.as_deref(), ctx) {
            return;
        }
        let admitted = limits::player_write(
            &self.context.rate_limiter,
            self.context.rate_limits.player_writes,
            player.player_id,
        );
        let cashout = self.room.send(Cashout {
            player_id: player.player_id,
            bet_id,
            received_at,
        });
        let reply = async move {
            admitted.await?;
            Ok(cashout.await.unwrap_or(Err(GameError::RoomUnavailable)))
        };
        ctx.spawn(reply.into_actor(self).map(move |result, session, ctx| {
            session.requests_in_flight -= 1;
            let frame = match result {
                Ok(Ok(cashed)) => protocol::cashed_out(&cashed.bet, cashed.balance, false, request_id.as_deref()),
                Ok(Err(error)) => protocol::error(error.code(), &error.to_string(), request_id.as_deref()),
                Err(limited) => limits::player_refusal(limited, request_id.as_deref()),
            };
            session.send(frame, ctx);
        }));
    }
}

/// The fields of a bet as a client sent them, before parsing.
pub struct BetRequest {
    pub room: String,
    pub amount: serde_json::Number,
    pub auto_cashout: Option<serde_json::Number>,
    pub client_bet_id: String,
}

/// Parses a bet at the edge (shared by the WebSocket and REST): the room, a valid amount, a valid
/// auto-cashout target and a valid client bet id.
pub fn parse_bet(
    context: &SessionContext,
    player: &AuthenticatedPlayer,
    bet: BetRequest,
    received_at: Instant,
) -> Result<(Addr<RoomRelay>, PlaceBet), GameError> {
    let room = context.rooms.get(&bet.room)?.clone();
    let amount = Amount::parse_json(&bet.amount).map_err(|error| GameError::InvalidAmount(error.to_string()))?;
    let auto_cashout = bet
        .auto_cashout
        .as_ref()
        .map(|target| parse_auto_cashout(target, context.auto_cashout_max))
        .transpose()?;
    let printable = bet.client_bet_id.bytes().all(|byte| (0x21..=0x7e).contains(&byte));
    if bet.client_bet_id.is_empty() || bet.client_bet_id.len() > CLIENT_BET_ID_LENGTH_MAX || !printable {
        return Err(GameError::InvalidClientBetId(format!(
            "client_bet_id must be 1 to {CLIENT_BET_ID_LENGTH_MAX} printable ASCII characters"
        )));
    }
    let message = PlaceBet {
        player: PlayerRef {
            player_id: player.player_id,
            account: player.account,
            username: player.username.clone(),
        },
        amount,
        auto_cashout,
        client_bet_id: bet.client_bet_id,
        received_at,
    };
    Ok((room, message))
}

impl Actor for PlayerSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        metrics::gauge!("ws_connected_players").increment(1.0);
        self.context.connections.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("ws_sessions_opened_total").increment(1);
        ctx.set_mailbox_capacity(self.context.settings.mailbox_capacity);
        let period = self.timers().period;
        ctx.run_interval(period, |session, ctx| session.on_timer(ctx));
        if self.viewer.is_some() {
            self.join_room(ctx);
        } else {
            let wait = Duration::from_millis(self.context.settings.auth_timeout_ms);
            ctx.run_later(wait, |session, ctx| {
                if session.viewer.is_none() {
                    session.close(close_code::UNAUTHENTICATED, "no auth message in time", ctx);
                }
            });
        }
        tracing::debug!(session = self.id, room = self.room_name, "session started");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        metrics::gauge!("ws_connected_players").decrement(1.0);
        self.context.connections.fetch_sub(1, Ordering::Relaxed);
        metrics::counter!("ws_sessions_closed_total", "reason" => self.close_reason.get()).increment(1);
        self.room.do_send(Unsubscribe { session_id: self.id });
        self.context.players.do_send(Unregister { session_id: self.id });
        // Dropping the transport's last handles ends the writer and the connection if it is still open.
        tracing::debug!(session = self.id, "session stopped");
    }
}

impl Handler<Incoming> for PlayerSession {
    type Result = ();

    fn handle(&mut self, incoming: Incoming, ctx: &mut Context<Self>) {
        self.last_heard = Instant::now();
        match incoming {
            Incoming::Text(text) => {
                if self.admit_message(ctx) {
                    self.handle_text(&text, ctx);
                }
            }
            Incoming::Ping(payload) => {
                if let Err(SendFailure::Full) = self.transport.try_send_pong(&payload) {
                    self.close(close_code::SLOW_CONSUMER, "too slow to keep up with the game", ctx);
                }
            }
            Incoming::Pong => {}
            Incoming::Unsupported => self.close(
                close_code::POLICY_VIOLATION,
                "only single-frame text messages are accepted",
                ctx,
            ),
            Incoming::Close(code) => {
                // Echo the client's close (RFC 6455 5.5.1) before the connection ends; a code no endpoint
                // may send (1005, 1006, 1015, unassigned ones) is answered as a protocol error (7.4.1).
                let reply = match code {
                    None => close_code::NORMAL,
                    Some(code) if close_code::may_be_sent(code) => code,
                    Some(_) => close_code::PROTOCOL_ERROR,
                };
                self.transport.close(reply, "");
                ctx.stop();
            }
            Incoming::TooLarge => self.close(close_code::POLICY_VIOLATION, "frame too large", ctx),
            Incoming::Lost(error) => {
                tracing::debug!(session = self.id, ?error, "the connection was lost");
                self.close_reason.set("connection_lost");
                ctx.stop();
            }
            Incoming::Violation(why) => {
                tracing::debug!(session = self.id, why, "WebSocket protocol error");
                self.close(close_code::POLICY_VIOLATION, "protocol error", ctx);
            }
        }
    }
}

impl Handler<ToSession> for PlayerSession {
    type Result = ();

    fn handle(&mut self, message: ToSession, ctx: &mut Context<Self>) {
        match message {
            ToSession::Frame(frame) => self.send(frame, ctx),
            ToSession::Close(code, reason) => self.close(code, &reason, ctx),
        }
    }
}
