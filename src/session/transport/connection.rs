//! One upgraded connection: a task that reads client frames into the session actor and writes the
//! queued server frames, owning the socket and nothing bigger than it needs. An idle socket holds no read
//! buffer at all; the write side holds only the bounded queue of pre-encoded frames.

use super::codec::{self, opcode, ClientFrame, DecodeError};
use super::queue::FrameReceiver;
use super::{Incoming, SocketLimits};
use actix::Recipient;
use bytes::BytesMut;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// What is read at a time from a client whose session is over.
const DISCARD_BUFFER_BYTES: usize = 1024;

/// Serves the socket until the client goes, a write stalls, or every `Transport` handle is dropped.
pub async fn serve(
    stream: Arc<TcpStream>,
    read_buffer: BytesMut,
    limits: SocketLimits,
    mut queue: FrameReceiver,
    session: Recipient<Incoming>,
) {
    let reading = read_frames(&stream, read_buffer, &limits, &session);
    let writing = write_frames(
        &stream,
        &mut queue,
        Duration::from_millis(limits.write_stall_timeout_ms),
    );
    tokio::pin!(reading, writing);
    tokio::select! {
        // A write stalled or failed: the session hears of it now rather than at its heartbeat timeout.
        () = &mut writing => session.do_send(Incoming::Lost(None)),
        // The session is over; its close frame still goes out, and the writer ends once the session and
        // its room drop their handles. Whatever the client still sends is read and dropped, so a client
        // blocked on a full window can take its close frame.
        () = &mut reading => tokio::select! {
            () = &mut writing => {}
            () = discard_input(&stream) => writing.await,
        },
    }
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
            if session.send(incoming).await.is_err() || last {
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
        let _ = session.send(lost).await;
        return;
    }
}

async fn read_some(stream: &TcpStream, buffer: &mut BytesMut, read_buffer_bytes: usize) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        buffer.reserve(read_buffer_bytes);
        match stream.try_read_buf(buffer) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                // Readiness was stale (it always is after a read that emptied the socket): give the
                // reservation back rather than hold it while the client is idle.
                if buffer.is_empty() {
                    *buffer = BytesMut::new();
                }
            }
            result => return result,
        }
    }
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

/// Writes queued frames in order. A write that makes no progress for `stall_timeout` (a client that
/// stopped reading and filled the kernel's buffers) ends the connection.
async fn write_frames(stream: &TcpStream, queue: &mut FrameReceiver, stall_timeout: Duration) {
    while let Some(frame) = queue.recv().await {
        let mut remaining = &frame[..];
        while !remaining.is_empty() {
            match tokio::time::timeout(stall_timeout, write_some(stream, remaining)).await {
                Ok(Ok(written)) => remaining = &remaining[written..],
                Ok(Err(error)) => {
                    tracing::debug!(%error, "a WebSocket write failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("a WebSocket write stalled; dropping the connection");
                    return;
                }
            }
        }
    }
}

async fn write_some(stream: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    loop {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
}
