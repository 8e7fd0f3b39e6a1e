//! A socket's bounded queue of pre-encoded frames. tokio's bounded channel allocates a 32-slot block and
//! cache-padded state up front (about 1.6 KiB a socket, idle or not); this queue allocates nothing until a
//! frame waits, and holds only what is waiting.

use super::SendFailure;
use bytes::Bytes;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

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
}

#[derive(Default)]
struct State {
    frames: VecDeque<Bytes>,
    senders: usize,
    /// A close frame was queued: nothing may follow it.
    closing: bool,
    receiver_gone: bool,
    writer: Option<Waker>,
}

pub fn bounded(capacity: usize) -> (FrameSender, FrameReceiver) {
    let shared = Arc::new(Shared {
        capacity,
        state: Mutex::new(State {
            senders: 1,
            ..State::default()
        }),
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

    fn push(&self, frame: Bytes, close: bool) -> Result<(), SendFailure> {
        let mut state = self.shared.lock();
        if state.receiver_gone || state.closing {
            return Err(SendFailure::Closed);
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
    /// The next frame, or `None` once the queue is empty and every sender is gone.
    pub async fn recv(&mut self) -> Option<Bytes> {
        poll_fn(|context| {
            let mut state = self.shared.lock();
            if let Some(frame) = state.frames.pop_front() {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_come_out_in_order_until_every_sender_is_gone() {
        let (sender, mut receiver) = bounded(2);
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
        let (sender, mut receiver) = bounded(1);
        sender.try_push(Bytes::from_static(b"tick")).unwrap();
        sender.push_close(Bytes::from_static(b"close"));
        assert_eq!(sender.try_push(Bytes::from_static(b"late")), Err(SendFailure::Closed));
        assert_eq!(receiver.recv().await.as_deref(), Some(&b"tick"[..]));
        assert_eq!(receiver.recv().await.as_deref(), Some(&b"close"[..]));
    }

    #[tokio::test]
    async fn a_waiting_writer_wakes_for_a_frame_and_senders_see_it_gone() {
        let (sender, mut receiver) = bounded(4);
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
}
