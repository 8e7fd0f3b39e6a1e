//! The only code that touches a WebSocket. A `Transport` is a cheap, cloneable handle onto the socket's
//! bounded outgoing queue (actix-ws's own channel of 32 frames): a frame is queued without waiting, from
//! any thread, so rooms push ticks straight into it with no actor hop and no writer task. A full queue
//! means the client is too slow.

use actix_ws::{CloseCode, CloseReason, Session};
use bytestring::ByteString;
use futures_util::FutureExt;
use std::time::Duration;

/// How long a close frame may wait behind queued frames (a slow client gets its reason once it reads
/// again) before the handle is dropped and the connection ends when its buffers drain.
const CLOSE_TIMEOUT_MS: u64 = 10_000;

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
    session: Session,
}

impl Transport {
    pub fn start(session: Session) -> Transport {
        Transport { session }
    }

    /// Queues a frame if there is room right now. Never waits: a send that cannot complete at once is
    /// abandoned and reported as `Full`.
    fn try_queue<F>(&self, send: impl FnOnce(Session) -> F) -> Result<(), SendFailure>
    where
        F: std::future::Future<Output = Result<(), actix_ws::Closed>>,
    {
        // Unconstrained: tokio's cooperative budget would otherwise report a full queue as pending after
        // about 128 sends in one poll, and a broadcast to thousands of sockets would drop them all.
        match tokio::task::unconstrained(send(self.session.clone())).now_or_never() {
            Some(Ok(())) => Ok(()),
            Some(Err(actix_ws::Closed)) => Err(SendFailure::Closed),
            None => Err(SendFailure::Full),
        }
    }

    pub fn try_send_text(&self, frame: ByteString) -> Result<(), SendFailure> {
        self.try_queue(|mut session| async move { session.text(frame).await })
    }

    pub fn try_send_ping(&self) -> Result<(), SendFailure> {
        self.try_queue(|mut session| async move { session.ping(b"").await })
    }

    pub fn try_send_pong(&self, payload: bytes::Bytes) -> Result<(), SendFailure> {
        self.try_queue(|mut session| async move { session.pong(&payload).await })
    }

    /// Closes the socket with `code` and `reason`. The close frame waits (bounded) behind queued frames;
    /// when every handle is dropped the connection ends regardless.
    pub fn close(&self, code: u16, reason: &str) {
        let reason = CloseReason {
            code: CloseCode::from(code),
            description: Some(reason.to_owned()),
        };
        let session = self.session.clone();
        actix_web::rt::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_millis(CLOSE_TIMEOUT_MS), session.close(Some(reason))).await;
        });
    }
}
