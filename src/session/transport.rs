//! The only code that touches a WebSocket. A `Transport` is a cheap, cloneable handle onto a bounded
//! queue of outgoing frames; one writer task per socket drains it into the actix-ws session. Rooms
//! push ticks straight into the queue (no actor hop); a full queue means the client is too slow.

use actix_ws::{CloseCode, CloseReason, Session};
use bytestring::ByteString;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long one frame may take to enter the socket before the client counts as stuck.
const WRITE_TIMEOUT_MS: u64 = 5_000;

enum Outbound {
    Text(ByteString),
    Ping,
    Pong(bytes::Bytes),
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// The client has not read what it was sent: it is too slow.
    Full,
    /// The socket is gone.
    Closed,
}

#[derive(Clone)]
pub struct Transport {
    frames: mpsc::Sender<Outbound>,
    close: mpsc::Sender<CloseReason>,
}

impl Transport {
    /// Starts the writer task for `session` on the current arbiter, with room for `capacity` frames.
    pub fn start(session: Session, capacity: usize) -> Transport {
        let (frames, frames_rx) = mpsc::channel(capacity);
        let (close, close_rx) = mpsc::channel(1);
        actix_web::rt::spawn(write_loop(session, frames_rx, close_rx));
        Transport { frames, close }
    }

    pub fn try_send_text(&self, frame: ByteString) -> Result<(), SendFailure> {
        self.try_send(Outbound::Text(frame))
    }

    pub fn try_send_ping(&self) -> Result<(), SendFailure> {
        self.try_send(Outbound::Ping)
    }

    pub fn try_send_pong(&self, payload: bytes::Bytes) -> Result<(), SendFailure> {
        self.try_send(Outbound::Pong(payload))
    }

    fn try_send(&self, outbound: Outbound) -> Result<(), SendFailure> {
        self.frames.try_send(outbound).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => SendFailure::Full,
            mpsc::error::TrySendError::Closed(_) => SendFailure::Closed,
        })
    }

    /// Closes the socket with `code` and `reason`, ahead of any queued frames.
    pub fn close(&self, code: u16, reason: &str) {
        let reason = CloseReason {
            code: CloseCode::from(code),
            description: Some(reason.to_owned()),
        };
        let _ = self.close.try_send(reason);
    }

    pub fn is_closed(&self) -> bool {
        self.frames.is_closed()
    }
}

async fn write_loop(
    mut session: Session,
    mut frames: mpsc::Receiver<Outbound>,
    mut close: mpsc::Receiver<CloseReason>,
) {
    let timeout = Duration::from_millis(WRITE_TIMEOUT_MS);
    loop {
        tokio::select! {
            biased;
            reason = close.recv() => {
                let _ = tokio::time::timeout(timeout, session.close(reason)).await;
                return;
            }
            frame = frames.recv() => {
                let written = match frame {
                    Some(Outbound::Text(text)) => tokio::time::timeout(timeout, session.text(text)).await,
                    Some(Outbound::Ping) => tokio::time::timeout(timeout, session.ping(b"")).await,
                    Some(Outbound::Pong(payload)) => tokio::time::timeout(timeout, session.pong(&payload)).await,
                    None => {
                        let _ = tokio::time::timeout(timeout, session.close(None)).await;
                        return;
                    }
                };
                if !matches!(written, Ok(Ok(()))) {
                    // The socket is closed or stuck; dropping the session ends the connection.
                    return;
                }
            }
        }
    }
}
