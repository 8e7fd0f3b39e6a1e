//! The only code that touches a WebSocket. After actix-http hands an upgraded connection over (see
//! `server`), the socket is served by a lean task of our own (`connection`) with buffers we size, not by
//! actix-http's 8 KiB read and write buffers. A `Transport` is a cheap, cloneable handle onto the socket's
//! bounded queue of pre-encoded frames: a frame is queued without waiting, from any thread, so rooms push
//! ticks straight into it with no actor hop; when nothing waits, the frame is written to the socket right
//! there, without waking the connection's task. A full queue means the client is too slow.
//!
//! Server frames are unmasked, so a room encodes each event's whole frame once (`Frame::text`) and the
//! same reference-counted bytes are queued to every socket.

mod codec;
mod connection;
mod queue;
pub mod server;

use actix::Message;
use bytes::Bytes;

/// A ping with an empty payload, the same two bytes for every socket.
const EMPTY_PING: [u8; 2] = [0x80 | codec::opcode::PING, 0];

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// The client has not read what it was sent: it is too slow.
    Full,
    /// The socket is gone.
    Closed,
}

/// A whole server frame (header and payload), encoded once; cloning it only counts a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(Bytes);

impl Frame {
    pub fn text(text: &str) -> Frame {
        Frame(codec::encode(codec::opcode::TEXT, text.as_bytes()))
    }

    /// The encoded frame, header included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
impl Transport {
    /// A transport without a socket: its frames wait in a queue of `capacity` that nobody reads while
    /// the second value lives.
    pub fn unread_for_tests(capacity: usize) -> (Transport, impl Sized) {
        let (queue, receiver) = queue::bounded(capacity, None);
        (Transport { queue }, receiver)
    }
}

/// The per-socket limits, from `[session]`.
#[derive(Debug, Clone, Copy)]
pub struct SocketLimits {
    /// Bytes read from the kernel at a time; a socket holds no read buffer while idle.
    pub read_buffer_bytes: usize,
    pub frame_size_max_bytes: usize,
    /// Frames queued for one socket; a socket whose queue is full is a slow consumer.
    pub write_queue_frames_max: usize,
    /// A write making no progress this long (the client stopped reading) ends the connection.
    pub write_stall_timeout_ms: u64,
}

/// What the client sent, for the session actor. `Close`, `Lost`, `TooLarge`, `Violation` and
/// `Unsupported` end the reading.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub enum Incoming {
    Text(String),
    Ping(Bytes),
    Pong,
    /// The client's close frame, with its code if it gave one.
    Close(Option<u16>),
    /// The connection ended without a close frame.
    Lost(Option<std::io::Error>),
    /// A frame larger than `frame_size_max_bytes`.
    TooLarge,
    /// Binary or fragmented messages, which this protocol does not use.
    Unsupported,
    /// Bytes that break RFC 6455.
    Violation(&'static str),
}

impl Incoming {
    fn ends_reading(&self) -> bool {
        !matches!(self, Incoming::Text(_) | Incoming::Ping(_) | Incoming::Pong)
    }
}

#[derive(Clone)]
pub struct Transport {
    queue: queue::FrameSender,
}

impl Transport {
    /// Queues a pre-encoded frame if there is room right now; never waits.
    pub fn try_send(&self, frame: &Frame) -> Result<(), SendFailure> {
        self.try_queue(frame.0.clone())
    }

    /// Asks the CPU to bring this socket's queue into cache: a broadcast calls it a few sockets ahead
    /// of the one it writes. A hint only; it changes nothing.
    pub fn prefetch(&self) {
        self.queue.prefetch();
    }

    fn try_queue(&self, frame: Bytes) -> Result<(), SendFailure> {
        self.queue.try_push(frame)
    }

    /// A frame for this socket only (a reply, an error, an auto-cashout).
    pub fn try_send_text(&self, text: &str) -> Result<(), SendFailure> {
        self.try_send(&Frame::text(text))
    }

    pub fn try_send_ping(&self) -> Result<(), SendFailure> {
        self.try_queue(Bytes::from_static(&EMPTY_PING))
    }

    pub fn try_send_pong(&self, payload: &[u8]) -> Result<(), SendFailure> {
        self.try_queue(codec::encode(codec::opcode::PONG, payload))
    }

    /// Closes the socket with `code` and `reason`. The close frame goes behind the queued frames, even
    /// a full queue (a slow client gets its reason once it reads again), and nothing follows it; when
    /// every handle is dropped the connection ends once its queue is written or a write stalls.
    pub fn close(&self, code: u16, reason: &str) {
        self.queue.push_close(codec::encode_close(code, reason));
    }
}
