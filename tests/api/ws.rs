//! A small WebSocket client for the tests, and chain installation with known crash points.

use crate::helpers::TestApp;
use futures_util::{SinkExt, StreamExt};
use game_cluster::fair::crash::{self as fair, GameHash};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for any one expected message.
pub const MESSAGE_WAIT_MS: u64 = 30_000;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct WsClient {
    pub socket: Socket,
}

/// How a socket ended, when it did.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed(Option<u16>),
    TimedOut,
}

impl WsClient {
    pub async fn connect(app: &TestApp, query: &str) -> WsClient {
        let url = format!("{}/ws?{query}", app.address.replace("http://", "ws://"));
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("the socket opens");
        WsClient { socket }
    }

    /// Connects with a tiny TCP receive buffer, so that a client that stops reading closes its window
    /// after a few kilobytes, as a slow mobile client would.
    pub async fn connect_with_small_window(app: &TestApp, token: &str) -> WsClient {
        let address: std::net::SocketAddr = app
            .address
            .trim_start_matches("http://")
            .parse()
            .expect("a socket address");
        let tcp = tokio::net::TcpSocket::new_v4().expect("a socket");
        tcp.set_recv_buffer_size(4096).expect("a small receive buffer");
        let stream = tcp.connect(address).await.expect("the connection opens");
        let url = format!("ws://{address}/ws?token={token}&room=aviator");
        let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
        let (socket, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .expect("the socket opens");
        WsClient { socket }
    }

    pub async fn connect_player(app: &TestApp, token: &str) -> WsClient {
        WsClient::connect(app, &format!("token={token}&room=aviator")).await
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string()))
            .await
            .expect("the message is sent");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("the frame is sent");
    }

    /// The next JSON text message, skipping pings.
    pub async fn next_json(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(MESSAGE_WAIT_MS);
        self.next_json_before(deadline).await
    }

    async fn next_json_before(&mut self, deadline: tokio::time::Instant) -> Value {
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("a message arrives in time")
                .expect("the socket stays open")
                .expect("the frame is valid");
            match next {
                Message::Text(text) => return serde_json::from_str(&text).expect("server messages are JSON"),
                Message::Close(frame) => panic!("the socket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// Skips messages until one of type `kind` that satisfies `accept`.
    pub async fn wait_for(&mut self, kind: &str, accept: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(MESSAGE_WAIT_MS);
        loop {
            let message = self.next_json_before(deadline).await;
            if message["type"] == kind && accept(&message) {
                return message;
            }
        }
    }

    /// The next message whose type is one of `kinds`, within the message wait.
    pub async fn wait_for_any(&mut self, kinds: &[String]) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(MESSAGE_WAIT_MS);
        loop {
            let message = self.next_json_before(deadline).await;
            if kinds.iter().any(|kind| message["type"] == kind.as_str()) {
                return message;
            }
        }
    }

    /// Reads until the server closes the socket, returning the close code.
    pub async fn wait_for_close(&mut self, within: Duration) -> Ended {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return Ended::TimedOut,
                Ok(None) | Ok(Some(Err(_))) => return Ended::Closed(None),
                Ok(Some(Ok(Message::Close(frame)))) => return Ended::Closed(frame.map(|f| u16::from(f.code))),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

/// The highest crash point (hundredths) of the second game of a test chain: a test that waits past the
/// first round then never waits on a long second one.
const SECOND_GAME_CRASH_MAX: u32 = 500;

/// Installs a 3-link chain for `room` whose first game's crash point (hundredths) lies in `range` and whose
/// second game crashes by `SECOND_GAME_CRASH_MAX`, and returns the crash points of its two games.
pub async fn install_chain(app: &TestApp, room: &str, range: std::ops::Range<u32>) -> [u32; 2] {
    let room_settings = &app.settings.crash.rooms[room];
    let crash_of = |hash: &GameHash| fair::crash_point(&room_settings.salt, hash, room_settings.house_edge_bps);
    let chain = loop {
        let chain = fair::generate_chain(3);
        if range.contains(&crash_of(&chain[1])) && crash_of(&chain[0]) <= SECOND_GAME_CRASH_MAX {
            break chain;
        }
    };
    game_cluster::games::crash::store::insert_chain(&app.pool, room, &room_settings.salt, &chain)
        .await
        .expect("the chain is stored");
    [crash_of(&chain[1]), crash_of(&chain[0])]
}

/// The multiplier of a JSON message field in hundredths (exact for two-decimal values).
pub fn hundredths(value: &Value) -> u32 {
    (value.as_f64().expect("a multiplier") * 100.0).round() as u32
}
