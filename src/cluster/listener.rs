//! The pub/sub listener of a node: one Redis subscription for every room's events and the cluster
//! heartbeat. Events go to the room relays as they arrive; a reconnect (after a Redis failover, say), a
//! lagging receiver or a full relay mailbox make the relays resync from the stored views, since events
//! may have been missed meanwhile.
//!
//! Every node also publishes a heartbeat and listens for its own: a node whose heartbeat has not come back
//! for a few seconds reports itself unhealthy, even when its connections look fine.

use actix::prelude::*;
use bytestring::ByteString;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

/// What the listener hands a room relay.
#[derive(Message)]
#[rtype(result = "()")]
pub enum BusMessage {
    /// One event as published by the room's leader.
    Event(ByteString),
    /// Events may have been missed: reload the stored view.
    Resync,
}

/// When this node last heard its own heartbeat through pub/sub.
#[derive(Debug)]
pub struct PubsubHealth {
    last_heard: Mutex<Option<Instant>>,
    stale_after: Duration,
}

impl PubsubHealth {
    pub fn new(stale_after: Duration) -> PubsubHealth {
        PubsubHealth {
            last_heard: Mutex::new(None),
            stale_after,
        }
    }

    fn heard(&self) {
        *self.last_heard.lock().expect("the heartbeat lock is never poisoned") = Some(Instant::now());
    }

    /// Milliseconds since the node's own heartbeat last came back, if it ever did.
    pub fn silence_ms(&self) -> Option<u64> {
        let last = *self.last_heard.lock().expect("the heartbeat lock is never poisoned");
        last.map(|heard| heard.elapsed().as_millis() as u64)
    }

    pub fn is_fresh(&self) -> bool {
        self.silence_ms()
            .is_some_and(|silence| silence <= self.stale_after.as_millis() as u64)
    }
}

pub struct Listener {
    pub subscriber: SubscriberClient,
    pub publisher: Client,
    pub node_id: String,
    pub heartbeat_channel: String,
    pub heartbeat_interval: Duration,
    /// Each room relay by its events channel.
    pub relays: HashMap<String, Recipient<BusMessage>>,
    pub health: Arc<PubsubHealth>,
}

/// Subscribes to the relays' channels and the heartbeat channel, and runs the dispatch, resync and
/// heartbeat tasks for as long as the node lives.
pub async fn start(listener: Listener) {
    let Listener {
        subscriber,
        publisher,
        node_id,
        heartbeat_channel,
        heartbeat_interval,
        relays,
        health,
    } = listener;
    let mut channels: Vec<String> = relays.keys().cloned().collect();
    channels.push(heartbeat_channel.clone());
    let relays: Arc<HashMap<String, RelayInbox>> = Arc::new(
        relays
            .into_iter()
            .map(|(channel, recipient)| {
                let inbox = RelayInbox {
                    recipient,
                    resync_pending: Arc::new(AtomicBool::new(false)),
                };
                (channel, inbox)
            })
            .collect(),
    );
    let heartbeat = Heartbeat {
        channel: heartbeat_channel,
        node_id,
    };
    let subscription = Subscription { subscriber, channels };
    tokio::spawn(subscription.clone().ensure());
    tokio::spawn(dispatch(
        subscription.subscriber.clone(),
        heartbeat.clone(),
        relays.clone(),
        health.clone(),
    ));
    tokio::spawn(resync_on_reconnect(subscription.clone(), relays));
    tokio::spawn(publish_heartbeats(
        publisher,
        heartbeat,
        heartbeat_interval,
        subscription,
        health,
    ));
}

/// The node's channels and the client subscribed to them.
#[derive(Clone)]
struct Subscription {
    subscriber: SubscriberClient,
    channels: Vec<String>,
}

/// How long to wait between attempts to subscribe.
const SUBSCRIBE_RETRY_MS: u64 = 500;

impl Subscription {
    /// Subscribes until it succeeds. The client only resubscribes after a reconnect to channels whose
    /// subscription once succeeded, so a failure here must be retried, not left to the reconnect.
    async fn ensure(self) {
        loop {
            match self.subscriber.subscribe(self.channels.clone()).await {
                Ok(()) => return,
                Err(error) => tracing::warn!(%error, "could not subscribe to the cluster's channels; retrying"),
            }
            tokio::time::sleep(Duration::from_millis(SUBSCRIBE_RETRY_MS)).await;
        }
    }
}

/// A relay and whether a resync for it is already on its way (so resyncs never pile up).
struct RelayInbox {
    recipient: Recipient<BusMessage>,
    resync_pending: Arc<AtomicBool>,
}

impl RelayInbox {
    fn request_resync(&self) {
        if self.resync_pending.swap(true, Ordering::SeqCst) {
            return;
        }
        let (recipient, pending) = (self.recipient.clone(), self.resync_pending.clone());
        tokio::spawn(async move {
            let _ = recipient.send(BusMessage::Resync).await;
            pending.store(false, Ordering::SeqCst);
        });
    }
}

/// This node's heartbeat: its id, on the cluster's heartbeat channel.
#[derive(Clone)]
struct Heartbeat {
    channel: String,
    node_id: String,
}

async fn dispatch(
    subscriber: SubscriberClient,
    heartbeat: Heartbeat,
    relays: Arc<HashMap<String, RelayInbox>>,
    health: Arc<PubsubHealth>,
) {
    let mut messages = subscriber.message_rx();
    loop {
        let message = match messages.recv().await {
            Ok(message) => message,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "pub/sub listener lagged; resyncing every room");
                resync_all(&relays);
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let Some(payload) = message
            .value
            .as_bytes()
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
        else {
            continue;
        };
        if *message.channel == *heartbeat.channel {
            if payload == heartbeat.node_id {
                health.heard();
            }
            continue;
        }
        let Some(relay) = relays.get(&*message.channel) else {
            continue;
        };
        let event = BusMessage::Event(ByteString::from(payload));
        if relay.recipient.try_send(event).is_err() {
            // The relay is behind; it will rebuild its view once it has room.
            relay.request_resync();
        }
    }
}

fn resync_all(relays: &HashMap<String, RelayInbox>) {
    for relay in relays.values() {
        relay.request_resync();
    }
}

async fn resync_on_reconnect(subscription: Subscription, relays: Arc<HashMap<String, RelayInbox>>) {
    let mut reconnects = subscription.subscriber.reconnect_rx();
    while reconnects.recv().await.is_ok() {
        metrics::counter!("redis_reconnects_total", "client" => "subscriber").increment(1);
        tracing::info!("pub/sub reconnected; resubscribing and resyncing every room");
        subscription.clone().ensure().await;
        resync_all(&relays);
    }
}

async fn publish_heartbeats(
    publisher: Client,
    heartbeat: Heartbeat,
    interval: Duration,
    subscription: Subscription,
    health: Arc<PubsubHealth>,
) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        // A connection that looks alive but delivers nothing: subscribe again (harmless if subscribed).
        if health.silence_ms().is_some() && !health.is_fresh() {
            subscription.clone().ensure().await;
        }
        let published: Result<i64, Error> = publisher
            .publish(heartbeat.channel.as_str(), heartbeat.node_id.as_str())
            .await;
        if let Err(error) = published {
            tracing::debug!(%error, "failed to publish the pub/sub heartbeat");
        }
    }
}
