//! Prometheus metrics: the `metrics` crate's process-wide recorder, rendered in the Prometheus text format
//! at `GET /metrics`. Code records with the `metrics` macros where things happen; names follow Prometheus
//! conventions (`_total` counters, `_seconds` histograms with the buckets below).

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Latency buckets in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS_S: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Wallet batch sizes, up to the largest `batch_size_max` allowed.
const BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder once per process and returns the handle that renders it. Several nodes in one
/// process (the integration tests) share it.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS_S)
                .and_then(|builder| {
                    builder.set_buckets_for_metric(Matcher::Full("wallet_batch_size".into()), BATCH_SIZE_BUCKETS)
                })
                .expect("the bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics will be empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!("ws_connected_players", "WebSocket sessions open on this node");
    describe_counter!("ws_sessions_opened_total", "WebSocket sessions opened");
    describe_counter!("ws_sessions_closed_total", "WebSocket sessions closed");
    describe_counter!(
        "crash_ticks_published_total",
        "Ticks this node published as a room's leader"
    );
    describe_counter!("crash_ticks_relayed_total", "Ticks this node relayed to its sessions");
    describe_histogram!("wallet_batch_size", "Operations committed per wallet batch");
    describe_histogram!(
        "wallet_batch_commit_seconds",
        Unit::Seconds,
        "Time to commit one wallet batch"
    );
    describe_counter!(
        "ledger_transfers_total",
        "Ledger transfers answered, by kind and result"
    );
    describe_counter!("http_requests_total", "HTTP requests by route and status");
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by route"
    );
    describe_gauge!("db_pool_connections", "Postgres pool connections by pool and state");
    describe_gauge!("db_replica_lag_seconds", "How far the read replica's replay is behind");
    describe_gauge!(
        "wallet_shard_mailbox_depth",
        "Operations admitted to a wallet shard and not yet answered"
    );
    describe_counter!(
        "crash_requests_total",
        "Bets and cashouts of this node's players by room and result"
    );
    describe_histogram!(
        "crash_request_seconds",
        Unit::Seconds,
        "Time from a bet or cashout's arrival to its answer, forwarding included"
    );
    describe_histogram!(
        "crash_stake_seconds",
        Unit::Seconds,
        "A room leader's time to record a bet, debit its stake and mark it open, by stage"
    );
    describe_histogram!(
        "crash_forward_batch_seconds",
        Unit::Seconds,
        "Time from sending a batch of bets to the room's leader to its answers"
    );
    describe_counter!("instant_bets_total", "Dice, Plinko and Mines bets by game and result");
    describe_histogram!("instant_bet_seconds", Unit::Seconds, "Time to place an instant bet");
    describe_histogram!(
        "crash_tick_relay_lag_seconds",
        Unit::Seconds,
        "Time from the leader's tick to this node's relay"
    );
    describe_counter!("crash_resyncs_total", "Room state reloads after a gap or a reconnect");
    describe_counter!("crash_sequence_gaps_total", "Room events that arrived after a gap");
    describe_counter!(
        "crash_leadership_changes_total",
        "This node taking or giving up a room's leadership"
    );
    describe_gauge!("crash_room_leader", "1 while this node leads the room");
    describe_counter!("redis_reconnects_total", "Redis reconnections by client");
    describe_counter!(
        "ws_slow_client_disconnects_total",
        "Sessions closed because the client read too slowly"
    );
    describe_counter!(
        "crash_events_published_total",
        "Room events this node published as leader"
    );
    describe_counter!(
        "relay_frames_broadcast_total",
        "Room events relayed to this node's sessions"
    );
    describe_counter!(
        "relay_frames_delivered_total",
        "Frames queued to sessions by the relays"
    );
    describe_gauge!(
        "rtp_measured_bps",
        "A catalog game's measured RTP in basis points by window (NaN when nothing was staked)"
    );
    describe_gauge!(
        "rtp_out_of_band",
        "1 while a game's measured RTP is outside the band its rounds allow, by window"
    );
    describe_counter!(
        "provider_calls_total",
        "Provider wallet calls decided, by provider, operation and status"
    );
    describe_counter!(
        "provider_calls_refused_total",
        "Provider calls refused before they were decided (signature, provider, body), by reason"
    );
    describe_histogram!(
        "provider_call_seconds",
        Unit::Seconds,
        "Time to decide a provider wallet call, queueing included"
    );
    describe_histogram!(
        "provider_call_queue_seconds",
        Unit::Seconds,
        "Time a provider call waited in its shard before its batch was answered"
    );
    describe_histogram!("provider_batch_size", "Provider calls decided per Postgres transaction");
}
