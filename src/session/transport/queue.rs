//! A socket's bounded queue of pre-encoded frames. tokio's bounded channel allocates a 32-slot block and
//! cache-padded state up front (about 1.6 KiB a socket, idle or not); this queue allocates nothing until a
//! frame waits, and holds only what is waiting.
//!
//! A frame pushed while nothing waits and the writer is between frames is written to the socket at once,
//! on the pushing thread, with one non-blocking write: a room's tick reaches thousands of sockets without
//! waking thousands of connection tasks (the baseline broadcaster's way). Only what the kernel does not
//! take at once waits in the queue for the connection's writer. The lock orders both paths, so frames
//! leave in the order they were pushed.

use super::SendFailure;
use bytes::Bytes;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use tokio::net::TcpStream;

/// Capacity an emptied queue may keep; a queue that grew past it after a burst gives the memory back.
const IDLE_CAPACITY_FRAMES_MAX: usize = 8;

/// The sending side; every clone is one more handle keeping the connection open.
pub struct FrameSender {
    shared: Arc<Shared>,
}

/// The writing side, owned by the connection task.
pub struct FrameReceiver {
    shared: Arc<Shared>,
}

struct Shared {
    capacity: usize,
    state: Mutex<State>,
    /// The socket, for writing a frame at once when nothing waits. It lives here, next to the queue's
    /// state, so a broadcast reaches both in one place instead of following a second pointer per socket.
    socket: Option<TcpStream>,
}

/// The connection's handle onto its socket, which lives in the queue's shared state.
pub struct SocketHandle {
    shared: Arc<Shared>,
}

impl std::ops::Deref for SocketHandle {
    type Target = TcpStream;

    fn deref(&self) -> &TcpStream {
        self.shared
            .socket
            .as_ref()
            .expect("a socket handle is only made for a queue with a socket")
    }
}

#[derive(Default)]
struct State {
    frames: VecDeque<Bytes>,
    senders: usize,
    /// A close frame was queued: nothing may follow it.
    closing: bool,
    receiver_gone: bool,
    writer: Option<Waker>,
    /// The writer holds a frame it has not finished writing: a new frame must queue behind it.
    writing: bool,
}

/// A queue of at most `capacity` waiting frames; with a `socket`, frames go straight to it when they can.
pub fn bounded(capacity: usize, socket: Option<TcpStream>) -> (FrameSender, FrameReceiver) {
    let shared = Arc::new(Shared {
        capacity,
        state: Mutex::new(State {
            senders: 1,
            ..State::default()
        }),
        socket,
    });
    (FrameSender { shared: shared.clone() }, FrameReceiver { shared })
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data that is still consistent.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl FrameSender {
    /// Queues a frame if there is room right now; never waits.
    pub fn try_push(&self, frame: Bytes) -> Result<(), SendFailure> {
        self.push(frame, false)
    }

    /// Queues the close frame behind whatever waits, full queue or not; nothing is queued after it.
    pub fn push_close(&self, frame: Bytes) {
        let _ = self.push(frame, true);
    }

    /// Asks the CPU to fetch the queue's lock and socket, which a push touches first, without touching
    /// them itself (no load, so nothing waits for memory here).
    pub fn prefetch(&self) {
        prefetch(std::ptr::from_ref(&self.shared.state).cast());
        prefetch(std::ptr::from_ref(&self.shared.socket).cast());
    }

    fn push(&self, mut frame: Bytes, close: bool) -> Result<(), SendFailure> {
        let mut state = self.shared.lock();
        if state.receiver_gone || state.closing {
            return Err(SendFailure::Closed);
        }
        if !close && state.frames.is_empty() && !state.writing {
            if let Some(socket) = &self.shared.socket {
                let written = write_now(socket, &frame);
                if written == frame.len() {
                    return Ok(());
                }
                frame = frame.slice(written..);
            }
        }
        if !close && state.frames.len() >= self.shared.capacity {
            return Err(SendFailure::Full);
        }
        state.frames.push_back(frame);
        state.closing = close;
        let writer = state.writer.take();
        drop(state);
        if let Some(writer) = writer {
            writer.wake();
        }
        Ok(())
    }
}

/// A hint to bring the cache line at `address` close to this core; a no-op where there is no such hint.
#[inline]
fn prefetch(address: *const i8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address, and reads nothing into the program; SSE,
    // which it belongs to, is part of every x86_64 processor.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Writes what the socket takes without waiting (nothing when it would block); an error is left for the
/// connection's writer, which meets it on the queued frame and ends the connection.
///
/// The socket is non-blocking, so a plain `send` never waits. It goes around tokio's readiness check,
/// which costs a cache miss per socket per tick (profiled: 8% of a node's CPU in a broadcast); tokio's
/// readiness is left as it was, so the connection's writer at worst meets one `WouldBlock` itself. The
/// writer never waits for readiness while this path writes: it waits only with frames queued, and then
/// new frames queue behind them.
fn write_now(socket: &TcpStream, frame: &[u8]) -> usize {
    socket2::SockRef::from(socket).send(frame).unwrap_or(0)
}

impl Clone for FrameSender {
    fn clone(&self) -> FrameSender {
        self.shared.lock().senders += 1;
        FrameSender {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for FrameSender {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        let writer = if state.senders == 0 { state.writer.take() } else { None };
        drop(state);
        if let Some(writer) = writer {
            writer.wake();
        }
    }
}

impl FrameReceiver {
    /// The socket this queue writes to, for the connection's reads and writes; `None` without one.
    pub fn socket(&self) -> Option<SocketHandle> {
        self.shared.socket.as_ref()?;
        Some(SocketHandle {
            shared: self.shared.clone(),
        })
    }

    /// The next frame, or `None` once the queue is empty and every sender is gone. The writer calls it
    /// again only once it has written the previous frame whole: until then, pushers queue behind it.
    pub async fn recv(&mut self) -> Option<Bytes> {
        poll_fn(|context| {
            let mut state = self.shared.lock();
            state.writing = false;
            if let Some(frame) = state.frames.pop_front() {
                state.writing = true;
                if state.frames.is_empty() && state.frames.capacity() > IDLE_CAPACITY_FRAMES_MAX {
                    state.frames = VecDeque::new();
                }
                return Poll::Ready(Some(frame));
            }
            if state.senders == 0 {
                return Poll::Ready(None);
            }
            state.writer = Some(context.waker().clone());
            Poll::Pending
        })
        .await
    }
}

impl Drop for FrameReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        state.frames = VecDeque::new();
        state.writer = None;
        drop(state);
        // The connection is over: the client hears so now, whatever handles still hold the socket's
        // memory (the descriptor closes when the last of them goes, moments later).
        if let Some(socket) = &self.shared.socket {
            let _ = socket2::SockRef::from(socket).shutdown(std::net::Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_come_out_in_order_until_every_sender_is_gone() {
        let (sender, mut receiver) = bounded(2, None);
        let other = sender.clone();
        sender.try_push(Bytes::from_static(b"a")).unwrap();
        other.try_push(Bytes::from_static(b"b")).unwrap();
        assert_eq!(sender.try_push(Bytes::from_static(b"c")), Err(SendFailure::Full));
        assert_eq!(receiver.recv().await.as_deref(), Some(&b"a"[..]));
        drop((sender, other));
        assert_eq!(receiver.recv().await.as_deref(), Some(&b"b"[..]));
        assert_eq!(receiver.recv().await, None);
    }

    #[tokio::test]
    async fn a_close_frame_gets_in_when_full_and_ends_the_queue() {
        let (sender, mut receiver) = bounded(1, None);
        sender.try_push(Bytes::from_static(b"tick")).unwrap();
        sender.push_close(Bytes::from_static(b"close"));
        assert_eq!(sender.try_push(Bytes::from_static(b"late")), Err(SendFailure::Closed));
        assert_eq!(receiver.recv().await.as_deref(), Some(&b"tick"[..]));
        assert_eq!(receiver.recv().await.as_deref(), Some(&b"close"[..]));
    }

    #[tokio::test]
    async fn a_waiting_writer_wakes_for_a_frame_and_senders_see_it_gone() {
        let (sender, mut receiver) = bounded(4, None);
        let waiting = tokio::spawn(async move {
            let frame = receiver.recv().await;
            (frame, receiver)
        });
        tokio::task::yield_now().await;
        sender.try_push(Bytes::from_static(b"x")).unwrap();
        let (frame, receiver) = waiting.await.unwrap();
        assert_eq!(frame.as_deref(), Some(&b"x"[..]));
        drop(receiver);
        assert_eq!(sender.try_push(Bytes::from_static(b"y")), Err(SendFailure::Closed));
    }

    async fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (server, client)
    }

    async fn read_exactly(client: &mut TcpStream, length: usize) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut bytes = vec![0; length];
        client.read_exact(&mut bytes).await.unwrap();
        bytes
    }

    #[tokio::test]
    async fn a_frame_pushed_while_nothing_waits_is_written_without_the_writer() {
        let (server, mut client) = socket_pair().await;
        server.writable().await.unwrap();
        let (sender, _receiver) = bounded(4, Some(server));
        sender.try_push(Bytes::from_static(b"tick")).unwrap();
        // Nobody polls the receiver: the frame went out on the pushing call.
        assert_eq!(read_exactly(&mut client, 4).await, b"tick");
    }

    #[tokio::test]
    async fn frames_pushed_behind_a_waiting_one_keep_their_order() {
        const FRAME_BYTES: usize = 1 << 20;
        const FRAMES: u8 = 8;
        let (server, mut client) = socket_pair().await;
        server.writable().await.unwrap();
        let (sender, mut receiver) = bounded(usize::from(FRAMES) + 1, Some(server));
        let server = receiver.socket().unwrap();
        // More than the kernel's buffers take: the first frames go out at once, the rest wait.
        for value in 0..FRAMES {
            sender.try_push(Bytes::from(vec![value; FRAME_BYTES])).unwrap();
        }
        sender.try_push(Bytes::from_static(b"z")).unwrap();
        drop(sender);
        let writer = tokio::spawn(async move {
            while let Some(frame) = receiver.recv().await {
                let mut rest = &frame[..];
                while !rest.is_empty() {
                    server.writable().await.unwrap();
                    match server.try_write(rest) {
                        Ok(written) => rest = &rest[written..],
                        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(error) => panic!("{error}"),
                    }
                }
            }
        });
        let bytes = read_exactly(&mut client, usize::from(FRAMES) * FRAME_BYTES + 1).await;
        writer.await.unwrap();
        for value in 0..FRAMES {
            let start = usize::from(value) * FRAME_BYTES;
            assert!(bytes[start..start + FRAME_BYTES].iter().all(|byte| *byte == value));
        }
        assert_eq!(bytes.last(), Some(&b'z'));
    }
}
