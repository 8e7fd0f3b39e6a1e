//! One upgraded connection: a task that reads client frames into the session actor and writes the
//! queued server frames, owning the socket and nothing bigger than it needs. An idle socket holds no read
//! buffer at all; the write side holds only the bounded queue of pre-encoded frames.
//!
//! The task's future is what every open socket costs, so what only a busy socket needs is boxed and
//! allocated when it is needed: the wait for a session whose mailbox is full, and the wait (with its
//! timer) for a socket whose kernel buffer is full. Readiness is polled in place (`poll_read_ready`,
//! `poll_write_ready`), which keeps the waker in tokio's registration rather than a waiter in the future.
//! Idle, the future is about a third of what `readable().await`, `send().await` and a `timeout` made it.

use super::codec::{self, opcode, ClientFrame, DecodeError};
use super::queue::{FrameReceiver, SocketHandle};
use super::server::SocketCount;
use super::{Incoming, SocketLimits};
use actix::dev::{RecipientRequest, SendError};
use actix::Recipient;
use bytes::BytesMut;
use std::cell::Cell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Poll};
use std::time::Duration;
use tokio::net::TcpStream;

/// What is read at a time from a client whose session is over.
const DISCARD_BUFFER_BYTES: usize = 1024;

/// Serves the socket until the client goes, a write stalls, or every `Transport` handle is dropped;
/// `open` is the socket's place in the node's count, given back when this ends.
///
/// The future is what a socket costs while it lives, so it is kept small: reading and, once the
/// session is over, discarding share one slot (one runs after the other), and it is spawned as it is,
/// not inside a wrapper that would hold a second copy of it.
pub async fn serve(
    stream: SocketHandle,
    read_buffer: BytesMut,
    limits: SocketLimits,
    mut queue: FrameReceiver,
    session: Recipient<Incoming>,
    open: SocketCount,
) {
    let session_over = Cell::new(false);
    let reading = async {
        read_frames(&stream, read_buffer, &limits, &session).await;
        session_over.set(true);
        // The session's close frame still goes out, and the writer ends once the session and its room
        // drop their handles. Whatever the client still sends is read and dropped meanwhile, so a client
        // blocked on a full window can take its close frame.
        discard_input(&stream).await;
    };
    let writing = write_frames(
        &stream,
        &mut queue,
        Duration::from_millis(limits.write_stall_timeout_ms),
    );
    tokio::pin!(reading, writing);
    tokio::select! {
        // A write stalled or failed: the session hears of it now rather than at its heartbeat timeout.
        () = &mut writing => if !session_over.get() {
            session.do_send(Incoming::Lost(None));
        },
        // The client's side ended after the session did: the rest of the queue still goes out.
        () = &mut reading => writing.await,
    }
    drop(open);
}

/// Reads and drops bytes until the stream ends.
async fn discard_input(stream: &TcpStream) {
    let mut sink = BytesMut::new();
    while let Ok(1..) = read_some(stream, &mut sink, DISCARD_BUFFER_BYTES).await {
        sink.clear();
    }
}

/// Reads and decodes frames, handing each to the session in turn (a session that falls behind stops the
/// reading, not the node). Ends after a close, a protocol error or the end of the stream.
async fn read_frames(stream: &TcpStream, mut buffer: BytesMut, limits: &SocketLimits, session: &Recipient<Incoming>) {
    loop {
        loop {
            let incoming = match codec::decode(&mut buffer, limits.frame_size_max_bytes) {
                Ok(Some(frame)) => incoming_from(frame),
                Ok(None) => break,
                Err(DecodeError::TooLarge) => Incoming::TooLarge,
                Err(DecodeError::Protocol(why)) => Incoming::Violation(why),
            };
            let last = incoming.ends_reading();
            let delivered = match offer(session, incoming) {
                Offer::Taken => true,
                Offer::Wait(request) => request.await.is_ok(),
                Offer::Closed => false,
            };
            if !delivered || last {
                return;
            }
        }
        if buffer.is_empty() {
            // Idle: hold no buffer while waiting for the client.
            buffer = BytesMut::new();
        }
        let lost = match read_some(stream, &mut buffer, limits.read_buffer_bytes).await {
            Ok(0) => Incoming::Lost(None),
            Ok(_) => continue,
            Err(error) => Incoming::Lost(Some(error)),
        };
        // The last message: past the mailbox's bound rather than lost behind a full mailbox.
        session.do_send(lost);
        return;
    }
}

/// What became of a frame offered to the session.
enum Offer {
    Taken,
    /// The session is behind: the frame waits for room in its mailbox. Boxed, as only a busy socket
    /// needs it.
    Wait(Pin<Box<RecipientRequest<Incoming>>>),
    Closed,
}

/// Hands a frame to the session without waiting. Not `async`: what it holds does not stay in the
/// connection's future.
fn offer(session: &Recipient<Incoming>, incoming: Incoming) -> Offer {
    match session.try_send(incoming) {
        Ok(()) => Offer::Taken,
        Err(SendError::Full(incoming)) => Offer::Wait(Box::pin(session.send(incoming))),
        Err(SendError::Closed(_)) => Offer::Closed,
    }
}

async fn read_some(stream: &TcpStream, buffer: &mut BytesMut, read_buffer_bytes: usize) -> io::Result<usize> {
    poll_fn(|context| loop {
        ready!(stream.poll_read_ready(context))?;
        buffer.reserve(read_buffer_bytes);
        match stream.try_read_buf(buffer) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                // Readiness was stale (it always is after a read that emptied the socket): give the
                // reservation back rather than hold it while the client is idle.
                if buffer.is_empty() {
                    *buffer = BytesMut::new();
                }
            }
            result => return Poll::Ready(result),
        }
    })
    .await
}

/// What a decoded frame means to the session: only single-frame text, ping, pong and close are spoken.
fn incoming_from(frame: ClientFrame) -> Incoming {
    match (frame.opcode, frame.fin) {
        (opcode::TEXT, true) => match String::from_utf8(frame.payload.to_vec()) {
            Ok(text) => Incoming::Text(text),
            Err(_) => Incoming::Violation("text frames must be UTF-8"),
        },
        (opcode::PING, _) => Incoming::Ping(frame.payload),
        (opcode::PONG, _) => Incoming::Pong,
        (opcode::CLOSE, _) => Incoming::Close(codec::close_code(&frame.payload)),
        _ => Incoming::Unsupported,
    }
}

/// Writes queued frames in order, each whole before the next. A write that makes no progress for
/// `stall_timeout` (a client that stopped reading and filled the kernel's buffers) ends the connection.
async fn write_frames(stream: &TcpStream, queue: &mut FrameReceiver, stall_timeout: Duration) {
    while let Some(frame) = queue.recv().await {
        let mut remaining = &frame[..];
        while !remaining.is_empty() {
            let written = match stream.try_write(remaining) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    // The socket is full: only now does the connection need a timer.
                    match Box::pin(tokio::time::timeout(stall_timeout, write_some(stream, remaining))).await {
                        Ok(written) => written,
                        Err(_) => {
                            tracing::debug!("a WebSocket write stalled; dropping the connection");
                            return;
                        }
                    }
                }
                written => written,
            };
            match written {
                Ok(0) => {
                    tracing::debug!("a WebSocket write took nothing; dropping the connection");
                    return;
                }
                Ok(written) => remaining = &remaining[written..],
                Err(error) => {
                    tracing::debug!(%error, "a WebSocket write failed");
                    return;
                }
            }
        }
    }
}

/// Waits until the socket takes some of `bytes`, and writes them.
async fn write_some(stream: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    poll_fn(|context| loop {
        ready!(stream.poll_write_ready(context))?;
        match stream.try_write(bytes) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            result => return Poll::Ready(result),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::transport::queue;
    use crate::session::transport::server::OpenSockets;
    use actix::{Actor, Context, Handler};

    struct Session;

    impl Actor for Session {
        type Context = Context<Self>;
    }

    impl Handler<Incoming> for Session {
        type Result = ();
        fn handle(&mut self, _: Incoming, _: &mut Context<Self>) {}
    }

    /// Every open socket holds its connection's future for its whole life: what only a busy socket needs
    /// (a full mailbox's wait, a full socket's timer) must stay boxed out of it. 1,128 bytes before they
    /// were.
    const CONNECTION_FUTURE_BYTES_MAX: usize = 768;

    #[actix_web::test]
    async fn a_connection_future_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (_sender, frames) = queue::bounded(4, Some(stream));
        let stream = frames.socket().unwrap();
        let limits = SocketLimits {
            read_buffer_bytes: 1024,
            frame_size_max_bytes: 1024,
            write_queue_frames_max: 4,
            write_stall_timeout_ms: 1000,
        };
        let open = OpenSockets::default().open_one_for_tests();
        let connection = serve(
            stream,
            BytesMut::new(),
            limits,
            frames,
            Session.start().recipient(),
            open,
        );
        let size = std::mem::size_of_val(&connection);
        assert!(size <= CONNECTION_FUTURE_BYTES_MAX, "{size} bytes");
    }
}
