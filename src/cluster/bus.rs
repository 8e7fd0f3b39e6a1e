//! The event bus: a room leader publishes each event once to Redis, in order, and stores the room's view
//! for resyncs. Publishing never blocks the round actor: events wait in a bounded queue drained by one
//! task, which sends whatever has accumulated as one pipeline. When Redis is slow or away the queue fills
//! and new events are dropped (counted); nodes see the gap in the sequence and resync.

use bytestring::ByteString;
use fred::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Commands sent to Redis in one pipeline at most.
const PIPELINE_COMMANDS_MAX: usize = 256;

/// A perishable event (a tick) that waited longer than this, because Redis was away, is not sent late:
/// showing an old multiplier would mislead; relays notice the gap and resync instead.
const PERISHABLE_AGE_MAX: Duration = Duration::from_millis(1_000);

enum Outgoing {
    Publish {
        channel: String,
        payload: ByteString,
        /// Set for perishable events: when they were queued.
        perishable_since: Option<Instant>,
    },
    Store {
        key: String,
        value: String,
    },
}

#[derive(Clone)]
pub struct EventBus {
    queue: mpsc::Sender<Outgoing>,
    dropped: Arc<AtomicU64>,
    /// Names the bus in its drop counter (`event_bus_dropped_total{bus=..}`) and log lines.
    name: &'static str,
}

impl EventBus {
    /// Starts the publishing task on the current runtime; `name` labels its drops.
    pub fn start(client: Client, capacity: usize, name: &'static str) -> EventBus {
        let (queue, receiver) = mpsc::channel(capacity);
        tokio::spawn(drain(client, receiver));
        EventBus {
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
            name,
        }
    }

    /// Queues `payload` for `channel`; drops it when the queue is full.
    pub fn publish(&self, channel: &str, payload: ByteString) {
        self.enqueue(Outgoing::Publish {
            channel: channel.to_owned(),
            payload,
            perishable_since: None,
        });
    }

    /// Like `publish`, but the event is dropped if it cannot be sent within `PERISHABLE_AGE_MAX`.
    pub fn publish_perishable(&self, channel: &str, payload: ByteString) {
        self.enqueue(Outgoing::Publish {
            channel: channel.to_owned(),
            payload,
            perishable_since: Some(Instant::now()),
        });
    }

    /// Queues a write of `value` at `key` (a room view), ordered with the events around it.
    pub fn store(&self, key: &str, value: String) {
        self.enqueue(Outgoing::Store {
            key: key.to_owned(),
            value,
        });
    }

    fn enqueue(&self, outgoing: Outgoing) {
        if self.queue.try_send(outgoing).is_err() {
            metrics::counter!("event_bus_dropped_total", "bus" => self.name).increment(1);
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // One line per thousand drops keeps a Redis outage from flooding the log.
            if dropped % 1000 == 1 {
                tracing::warn!(bus = self.name, dropped, "event bus queue full; dropping events");
            }
        }
    }
}

async fn drain(client: Client, mut receiver: mpsc::Receiver<Outgoing>) {
    let mut batch = Vec::with_capacity(PIPELINE_COMMANDS_MAX);
    while receiver.recv_many(&mut batch, PIPELINE_COMMANDS_MAX).await > 0 {
        let pipeline = client.pipeline();
        for outgoing in batch.drain(..) {
            let queued: Result<(), Error> = match outgoing {
                Outgoing::Publish {
                    perishable_since: Some(since),
                    ..
                } if since.elapsed() > PERISHABLE_AGE_MAX => continue,
                Outgoing::Publish { channel, payload, .. } => pipeline.publish(channel, payload.into_bytes()).await,
                Outgoing::Store { key, value } => pipeline.set(key, value, None, None, false).await,
            };
            if let Err(error) = queued {
                tracing::warn!(%error, "failed to queue a Redis command");
            }
        }
        let failures = pipeline
            .try_all::<Value>()
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect::<Vec<_>>();
        if let Some(error) = failures.first() {
            tracing::warn!(%error, failed = failures.len(), "failed to publish events to Redis");
        }
    }
}
