//! The broadcast: one ticker builds each tick's frame once; every shard writes those same bytes to each
//! of its sockets with one non-blocking `write` and nothing else. The sockets leave tokio's reactor after
//! the handshake: nothing ever waits on them, so a tick costs one system call per socket and no wake-up.

use crate::{frame, handshake};
use bytes::Bytes;
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// Handshakes in progress at once; further accepted connections wait for one to finish.
const HANDSHAKES_IN_FLIGHT_MAX: usize = 1_024;
/// Upgraded sockets waiting for their shard's next tick to join it.
const JOIN_QUEUE_SOCKETS_MAX: usize = 4_096;
/// After an accept error (out of descriptors, say), the listener pauses this long before the next.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

pub struct Settings {
    pub tick_interval: Duration,
    pub payload_bytes: usize,
    pub shards: usize,
    pub tick_phase: TickPhase,
}

/// When the first tick falls; every later one follows an interval after the previous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TickPhase {
    /// On the next wall-clock multiple of the interval (every process on the machine in step).
    Aligned,
    /// At once.
    Free,
}

pub struct Server {
    shards: Vec<mpsc::Sender<TcpStream>>,
    next_shard: AtomicUsize,
    handshakes: Arc<Semaphore>,
}

impl Server {
    /// Starts the ticker and the shards on the current runtime.
    pub fn start(settings: Settings) -> Server {
        let (frames, frame) = watch::channel(Bytes::new());
        let first_tick = match settings.tick_phase {
            TickPhase::Aligned => Instant::now() + until_next_multiple(settings.tick_interval),
            TickPhase::Free => Instant::now(),
        };
        tokio::spawn(tick_forever(
            first_tick,
            settings.tick_interval,
            settings.payload_bytes,
            frames,
        ));
        let shards = (0..settings.shards)
            .map(|_| {
                let (join, joins) = mpsc::channel(JOIN_QUEUE_SOCKETS_MAX);
                tokio::spawn(write_forever(joins, frame.clone()));
                join
            })
            .collect();
        Server {
            shards,
            next_shard: AtomicUsize::new(0),
            handshakes: Arc::new(Semaphore::new(HANDSHAKES_IN_FLIGHT_MAX)),
        }
    }

    /// Accepts and upgrades connections, handing each to the shards in turn.
    pub async fn accept_forever(&self, listener: TcpListener) -> Result<(), String> {
        loop {
            let permit = Arc::clone(&self.handshakes)
                .acquire_owned()
                .await
                .map_err(|_| "the handshake semaphore closed".to_owned())?;
            let mut stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(error) => {
                    eprintln!("broadcast-baseline: accept: {error}");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            };
            let index = self.next_shard.fetch_add(1, Ordering::Relaxed) % self.shards.len();
            let shard = self.shards[index].clone();
            tokio::spawn(async move {
                let upgraded = handshake::upgrade(&mut stream).await;
                drop(permit);
                // As the game server does: every frame leaves at once, never held by Nagle's algorithm.
                if upgraded.is_ok() && stream.set_nodelay(true).is_ok() {
                    if let Ok(socket) = stream.into_std() {
                        let _ = shard.send(socket).await;
                    }
                }
            });
        }
    }
}

/// How long until the wall clock reaches the next multiple of `interval`. Processes of one machine share
/// the monotonic clock, so ticks aligned once stay aligned.
fn until_next_multiple(interval: Duration) -> Duration {
    let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(interval_ms - wall_clock_ms() % interval_ms)
}

/// The ticks' timer: every `interval` from `first_tick`, on that grid even after a late tick.
fn tick_timer(first_tick: Instant, interval: Duration) -> Interval {
    let mut timer = tokio::time::interval_at(first_tick, interval);
    // A late tick is not made up for, and the ticks after it stay on the grid of `first_tick`: with
    // `Delay` a tick more than 5 ms late (the process waited for a core) moved every later one, and
    // under load the aligned processes drifted apart within seconds (measured: ticks at 2, 34 and 57 ms
    // past the 100 ms multiple), spreading their writes over the interval. The cluster's nodes relay one
    // room's tick at the same instant, so the baseline's processes must stay in step to do the same job.
    timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
    timer
}

/// Publishes tick `seq` (1, 2, ...) every `interval` from `first_tick`, stamped with the wall clock when
/// it is built.
async fn tick_forever(first_tick: Instant, interval: Duration, payload_bytes: usize, frames: watch::Sender<Bytes>) {
    let mut timer = tick_timer(first_tick, interval);
    for seq in 1_u64.. {
        timer.tick().await;
        frames.send_replace(frame::tick(seq, wall_clock_ms(), payload_bytes));
    }
}

fn wall_clock_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// One shard: at every new frame, takes in the sockets that joined, then writes the frame to each.
async fn write_forever(mut joins: mpsc::Receiver<TcpStream>, mut frame: watch::Receiver<Bytes>) {
    let mut sockets: Vec<Socket> = Vec::new();
    while frame.changed().await.is_ok() {
        let bytes = frame.borrow_and_update().clone();
        while let Ok(stream) = joins.try_recv() {
            sockets.push(Socket {
                stream,
                unsent: Bytes::new(),
            });
        }
        sockets.retain_mut(|socket| socket.send(&bytes));
    }
}

/// A socket and what the kernel did not take of its last frame (at most that one frame's rest).
struct Socket {
    stream: TcpStream,
    unsent: Bytes,
}

impl Socket {
    /// Writes `frame`; false when the socket is gone or too slow and must be dropped (which closes it).
    /// Too slow means the rest of the previous frame is still unsent a whole tick later.
    fn send(&mut self, frame: &Bytes) -> bool {
        if !self.unsent.is_empty() {
            let rest = std::mem::take(&mut self.unsent);
            if !self.write(rest) || !self.unsent.is_empty() {
                return false;
            }
        }
        self.write(frame.clone())
    }

    /// One non-blocking write; what the kernel does not take is kept for the next tick.
    fn write(&mut self, bytes: Bytes) -> bool {
        match self.stream.write(&bytes) {
            Ok(written) => {
                self.unsent = bytes.slice(written..);
                true
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                self.unsent = bytes;
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;

    /// A tick that fires late (the process waited for a core) leaves the later ticks on the grid, so
    /// processes that started aligned stay aligned.
    #[tokio::test]
    async fn a_late_tick_keeps_the_next_ones_on_the_grid() {
        let start = Instant::now();
        let interval = Duration::from_millis(100);
        let mut timer = tick_timer(start, interval);
        assert_eq!(timer.tick().await, start);
        // The runtime's only thread is busy past the next tick's time and its 5 ms of grace.
        std::thread::sleep(Duration::from_millis(130));
        assert_eq!(
            timer.tick().await - start,
            interval,
            "the late tick is the one that was due"
        );
        for _ in 0..2 {
            let since_start = timer.tick().await - start;
            assert_eq!(
                since_start.as_nanos() % interval.as_nanos(),
                0,
                "a later tick falls on the grid ({since_start:?} after the first)"
            );
        }
    }

    #[test]
    fn an_aligned_first_tick_lands_on_a_multiple_of_the_interval() {
        let interval = Duration::from_millis(100);
        let wait = until_next_multiple(interval);
        assert!((Duration::from_millis(1)..=interval).contains(&wait));
        let landing_ms = (wall_clock_ms() + u64::try_from(wait.as_millis()).unwrap()) % 100;
        // The clock moved on while the test ran, by at most a few milliseconds.
        assert!(
            !(5..=95).contains(&landing_ms),
            "lands {landing_ms} ms off the multiple"
        );
    }

    /// Proves the baseline upgrades the swarm's URL and sends frames of the configured size with an
    /// increasing `seq`.
    #[tokio::test]
    async fn a_client_receives_tick_frames_of_the_configured_size_in_sequence() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let server = Server::start(Settings {
            tick_interval: Duration::from_millis(20),
            payload_bytes: 200,
            shards: 1,
            tick_phase: TickPhase::Aligned,
        });
        tokio::spawn(async move { server.accept_forever(listener).await });
        let url = format!("ws://{address}/ws?room=aviator&token=anything");
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("upgrade");
        let mut seqs = Vec::new();
        for _ in 0..2 {
            let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
                .await
                .expect("a frame within 5 s")
                .expect("open socket")
                .expect("a valid frame");
            let Message::Text(text) = message else {
                panic!("a text frame")
            };
            assert_eq!(text.len(), 200);
            let tick: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(tick["type"], "tick");
            seqs.push(tick["seq"].as_u64().expect("seq"));
        }
        assert!(seqs[1] > seqs[0], "seq increases: {seqs:?}");
    }
}
