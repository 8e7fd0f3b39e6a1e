//! The WebSocket transport seen from raw TCP: the frames themselves, byte for byte, and a client that
//! never reads.

use crate::helpers::TestApp;
use crate::ws::install_chain;
use serde_json::Value;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// RFC 6455's sample key and the accept value it must produce.
const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const READ_WAIT_MS: u64 = 30_000;
/// How long a socket that never reads may stay connected: its queue fills, it is closed as a slow
/// consumer, and its stalled write is abandoned after `write_stall_timeout_ms`.
const DROP_WAIT_MAX: Duration = Duration::from_secs(25);
/// Ticks come every 20 ms in tests; a stalled socket delaying the room would show as a gap of seconds.
const TICK_GAP_MAX: Duration = Duration::from_secs(2);

/// A WebSocket client on a bare TCP stream, which keeps every server frame exactly as it arrived.
struct RawSocket {
    stream: TcpStream,
    received: Vec<u8>,
}

impl RawSocket {
    /// Upgrades `/ws` for `token`; `receive_buffer_bytes` shrinks the kernel's receive buffer.
    async fn connect(app: &TestApp, token: &str, receive_buffer_bytes: Option<u32>) -> RawSocket {
        let address: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(bytes) = receive_buffer_bytes {
            socket.set_recv_buffer_size(bytes).unwrap();
        }
        let stream = socket.connect(address).await.expect("the connection opens");
        let mut raw = RawSocket {
            stream,
            received: Vec::new(),
        };
        let request = format!(
            "GET /ws?token={token}&room=aviator HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        raw.stream.write_all(request.as_bytes()).await.unwrap();
        let head = raw.response_head().await;
        assert!(head.starts_with("HTTP/1.1 101"), "the upgrade is accepted: {head}");
        assert!(head.contains(SAMPLE_ACCEPT), "the accept key follows RFC 6455: {head}");
        raw
    }

    /// Sends the upgrade request for `token` and returns the answer's head, whatever it is.
    async fn try_upgrade(app: &TestApp, token: &str) -> (RawSocket, String) {
        let address: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
        let stream = TcpStream::connect(address).await.expect("the connection opens");
        let mut raw = RawSocket {
            stream,
            received: Vec::new(),
        };
        let request = format!(
            "GET /ws?token={token}&room=aviator HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        raw.stream.write_all(request.as_bytes()).await.unwrap();
        let head = raw.response_head().await;
        (raw, head)
    }

    async fn response_head(&mut self) -> String {
        loop {
            if let Some(end) = self.received.windows(4).position(|window| window == b"\r\n\r\n") {
                let head: Vec<u8> = self.received.drain(..end + 4).collect();
                return String::from_utf8(head).unwrap();
            }
            self.read_more().await;
        }
    }

    async fn read_more(&mut self) {
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(Duration::from_millis(READ_WAIT_MS), self.stream.read(&mut chunk))
            .await
            .expect("bytes arrive in time")
            .expect("the socket stays open");
        assert!(read > 0, "the server closed the socket");
        self.received.extend_from_slice(&chunk[..read]);
    }

    /// The next whole frame as the server wrote it, header included.
    async fn next_frame(&mut self) -> Vec<u8> {
        loop {
            if let Some(length) = frame_length(&self.received) {
                if self.received.len() >= length {
                    return self.received.drain(..length).collect();
                }
            }
            self.read_more().await;
        }
    }

    /// The next text frame that is a tick, with its sequence number; pings are answered on the way.
    async fn next_tick(&mut self) -> (u64, Vec<u8>) {
        loop {
            let frame = self.next_frame().await;
            assert_eq!(frame[1] & 0x80, 0, "server frames are unmasked");
            if frame[0] == 0x89 {
                self.send_frame(0x8A, payload(&frame)).await.expect("the pong is sent");
            }
            if frame[0] != 0x81 {
                continue;
            }
            let message: Value = serde_json::from_slice(payload(&frame)).expect("a text frame is JSON");
            if message["type"] == "tick" {
                return (message["seq"].as_u64().unwrap(), frame);
            }
        }
    }

    async fn send_text(&mut self, text: &str) -> std::io::Result<()> {
        self.send_frame(0x81, text.as_bytes()).await
    }

    /// Sends a masked final frame (RFC 6455 requires clients to mask); `first` is FIN plus the opcode.
    async fn send_frame(&mut self, first: u8, payload: &[u8]) -> std::io::Result<()> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![first];
        match payload.len() {
            length if length <= 125 => frame.push(0x80 | length as u8),
            length => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(length as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(index, byte)| byte ^ mask[index % 4]));
        self.stream.write_all(&frame).await
    }
}

/// The length of the server frame at the front of `bytes`, once its header is complete.
fn frame_length(bytes: &[u8]) -> Option<usize> {
    let length = *bytes.get(1)? & 0x7f;
    match length {
        126 => Some(4 + u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize),
        127 => Some(10 + u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?) as usize),
        length => Some(2 + length as usize),
    }
}

fn payload(frame: &[u8]) -> &[u8] {
    let header = match frame[1] & 0x7f {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    &frame[header..]
}

/// Every socket in a room receives the very same bytes for each tick: the frame (header and payload)
/// is encoded once per event and written unchanged to every socket.
#[actix_web::test]
async fn every_socket_in_a_room_receives_byte_identical_tick_frames() {
    let app = crate::helpers::spawn_app().await;
    let mut sockets = Vec::new();
    for index in 0..3 {
        let player = app.signup(&format!("same-bytes-{index}")).await;
        sockets.push(RawSocket::connect(&app, &player.token, None).await);
    }
    install_chain(&app, "aviator", 200..400).await;
    let mut ticks_by_socket = Vec::new();
    for socket in &mut sockets {
        let mut ticks = BTreeMap::new();
        while ticks.len() < 20 {
            let (seq, frame) = socket.next_tick().await;
            ticks.insert(seq, frame);
        }
        ticks_by_socket.push(ticks);
    }
    let (first, others) = ticks_by_socket.split_first().unwrap();
    let mut compared = 0;
    for (seq, frame) in first {
        for ticks in others {
            if let Some(other) = ticks.get(seq) {
                assert_eq!(other, frame, "tick {seq} is byte-identical on every socket");
                compared += 1;
            }
        }
    }
    assert!(
        compared >= 20,
        "the sockets saw the same ticks ({compared} comparisons)"
    );
}

/// A client that upgrades and then never reads (its kernel buffers fill) is dropped within a bounded
/// time, while another client in the room keeps receiving ticks on schedule.
#[actix_web::test]
async fn a_socket_that_never_reads_is_dropped_without_delaying_the_others() {
    let app = crate::helpers::spawn_app().await;
    let (stuck_player, steady_player) = (app.signup("never-reads").await, app.signup("keeps-up").await);
    let mut steady = RawSocket::connect(&app, &steady_player.token, None).await;
    // A first round long enough (7x and more, over 30 s) to hold the whole test.
    install_chain(&app, "aviator", 700..1500).await;
    let last_seq = Cell::new(steady.next_tick().await.0);
    let mut stuck = RawSocket::connect(&app, &stuck_player.token, Some(4096)).await;
    let connected = Instant::now();
    // Large pongs fill the stuck socket's window and kernel buffers, then its queue.
    let ping = serde_json::json!({ "type": "ping", "request_id": "p".repeat(3_000) }).to_string();
    let flood = async {
        while connected.elapsed() < DROP_WAIT_MAX {
            if stuck.send_text(&ping).await.is_err() {
                return Some(connected.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        None
    };
    let longest_gap = Cell::new(Duration::ZERO);
    let follow = async {
        let mut last_at = Instant::now();
        loop {
            let (seq, _) = steady.next_tick().await;
            assert!(seq > last_seq.get(), "ticks stay in sequence");
            longest_gap.set(longest_gap.get().max(last_at.elapsed()));
            (last_at, _) = (Instant::now(), last_seq.replace(seq));
        }
    };
    let dropped_after = tokio::select! {
        dropped_after = flood => dropped_after,
        () = follow => unreachable!("following never ends"),
    };
    let dropped_after = dropped_after.expect("the stuck socket is dropped in time");
    let (seq, _) = steady.next_tick().await;
    assert!(seq > last_seq.get(), "ticks continue after the drop");
    assert!(
        longest_gap.get() < TICK_GAP_MAX,
        "ticks stay on schedule: the longest gap was {:?} (the stuck socket was dropped after {dropped_after:?})",
        longest_gap.get()
    );
}

/// A node holds at most `session.sockets_max` WebSockets: one more is answered 503 `server_busy` in the
/// error envelope (nginx then tries another node), and a closed socket frees its place.
#[actix_web::test]
async fn a_node_at_its_socket_limit_answers_busy_until_a_socket_closes() {
    let mut settings = crate::helpers::test_settings();
    settings.session.sockets_max = 2;
    crate::helpers::create_database(&mut settings).await;
    let app = crate::helpers::spawn_app_with(settings).await;
    let player = app.signup("socket-limit").await;
    let first = RawSocket::connect(&app, &player.token, None).await;
    let _second = RawSocket::connect(&app, &player.token, None).await;

    let (mut refused, head) = RawSocket::try_upgrade(&app, &player.token).await;
    assert!(head.starts_with("HTTP/1.1 503"), "a third socket is refused: {head}");
    assert!(head.to_ascii_lowercase().contains("retry-after: 1"), "{head}");
    let mut body = String::new();
    let _ = refused.stream.read_to_string(&mut body).await;
    let body = String::from_utf8_lossy(&refused.received).into_owned() + &body;
    let envelope: Value = serde_json::from_str(&body).expect("the body is the JSON envelope");
    assert_eq!(envelope["error"]["code"], "server_busy");

    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_socket, head) = RawSocket::try_upgrade(&app, &player.token).await;
        if head.starts_with("HTTP/1.1 101") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed socket's place never came back: {head}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The heartbeat: a client that reads but never answers a ping and sends nothing is closed with 4002 once
/// `client_timeout_ms` has passed, while one that answers every ping stays connected.
#[actix_web::test]
async fn a_client_that_never_answers_pings_is_closed_and_one_that_answers_stays() {
    let mut settings = crate::helpers::test_settings();
    settings.session.heartbeat_interval_ms = 100;
    settings.session.client_timeout_ms = 400;
    crate::helpers::create_database(&mut settings).await;
    let app = crate::helpers::spawn_app_with(settings).await;
    let silent_player = app.signup("heartbeat-silent").await;
    let answering_player = app.signup("heartbeat-answers").await;
    let mut silent = RawSocket::connect(&app, &silent_player.token, None).await;
    let mut answering = RawSocket::connect(&app, &answering_player.token, None).await;

    // The answering client answers from the moment it connects, at the same time as the silent one is
    // watched: answering only after the silent one is closed would leave its own first pings unanswered
    // for as long as the timeout, and on a loaded machine it would be closed too.
    let connected = Instant::now();
    let silent_closed = async {
        loop {
            let frame = silent.next_frame().await;
            if frame[0] == 0x88 {
                return (frame, connected.elapsed());
            }
        }
    };
    let answering_stays = async {
        let until = Instant::now() + Duration::from_millis(1_500);
        let mut pings = 0;
        while Instant::now() < until {
            let frame = answering.next_frame().await;
            assert_ne!(frame[0], 0x88, "a client that answers its pings is not closed");
            if frame[0] == 0x89 {
                pings += 1;
                answering
                    .send_frame(0x8A, payload(&frame))
                    .await
                    .expect("the pong is sent");
            }
        }
        pings
    };
    let ((close, closed_after), pings) = tokio::join!(silent_closed, answering_stays);
    let code = u16::from_be_bytes([payload(&close)[0], payload(&close)[1]]);
    assert_eq!(code, 4002, "closed for its silence");
    assert!(closed_after < Duration::from_secs(5), "closed in {closed_after:?}");
    assert!(pings >= 5, "pings keep coming every heartbeat ({pings})");
}
