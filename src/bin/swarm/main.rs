//! `swarm`: holds tens of thousands of WebSocket players in one process against a loopback cluster and
//! measures what they see: tick delivery latency (receipt time minus the server timestamp in each tick),
//! bet and cashout acknowledgement latency (HDR histograms, µs resolution), sequence gaps, resyncs,
//! disconnects, and the memory per socket of the swarm and of the server processes.
//!
//! The first `--bettors` players hold distinct tokens (lines of `--tokens-file`) and play; the others
//! are spectators sharing the remaining tokens. Sockets are spread over several loopback source
//! addresses, so one (source, destination) pair never runs out of ephemeral ports. Players connect at
//! `--ramp-per-s`; once every attempt has succeeded or failed (and a short settle), the measured window
//! of `--duration-s` starts: latencies, requests and rates cover that window only, connection counts and
//! close codes the whole run. One JSON object goes to stdout at the end, progress lines to stderr.
//!
//! Usage: swarm --tokens-file tokens.txt --players 10000 --bettors 200 [--burst] --duration-s 30
//!        [--url ws://127.0.0.1:8080/ws] [--source-count 4] [--server-pids PID,PID,PID]

mod bettor;
mod net;
mod options;
mod player;
mod tally;

use clap::Parser;
use options::Options;
use player::{RoundWatch, Swarm};
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

/// How long one connection (TCP connect and WebSocket handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between the last connection and the measured window, so the nodes finish their joins.
const SETTLE: Duration = Duration::from_secs(2);
const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);
/// In `--burst` mode the window is extended until the burst round is answered, by at most this.
const BURST_WAIT_MAX: Duration = Duration::from_secs(120);
/// After its round starts, the burst is over once every bet sent is answered and this has passed.
const BURST_SETTLE: Duration = Duration::from_secs(6);
/// A burst with unanswered bets is given up this long after its round started.
const BURST_ANSWER_WAIT_MAX: Duration = Duration::from_secs(30);
/// How long the end waits for sockets to close before it reports anyway.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(15);
/// Descriptors besides the sockets (runtime, stdio, /proc reads).
const DESCRIPTORS_SPARE: u64 = 256;

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    match run(options).await {
        Ok(report) => {
            println!("{report}");
            // A run in which no socket connected measured nothing.
            if report["connected"] == 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(message) => {
            eprintln!("swarm: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(options: Options) -> Result<Value, String> {
    options.validate()?;
    let target = net::resolve_target(&options.url).await?;
    let sources = net::source_addresses(&options.source_addresses, options.source_count, options.players, target)?;
    let tokens = options.tokens()?;
    let wanted = u64::from(options.players) + DESCRIPTORS_SPARE;
    let descriptor_limit = net::raise_descriptor_limit(wanted);
    if let Some(limit) = descriptor_limit.filter(|limit| *limit < wanted) {
        return Err(format!(
            "{} sockets need about {wanted} descriptors, but the limit is {limit} and could not be raised: \
             raise the hard limit (`ulimit -Hn {wanted}` where permitted) or run fewer players",
            options.players
        ));
    }
    let separator = if options.url.contains('?') { '&' } else { '?' };
    let swarm = Arc::new(Swarm {
        target,
        sources,
        url_prefix: format!("{}{separator}room={}&token=", options.url, options.room),
        room: options.room.clone(),
        tokens,
        bettors: options.bettors,
        bet_amount_micros: options.bet_amount_micros,
        bet_probability: if options.burst { 1.0 } else { options.bet_probability },
        burst: options.burst,
        burst_spread: Duration::from_millis(options.burst_spread_ms),
        connect_timeout: CONNECT_TIMEOUT,
        measuring: AtomicBool::new(false),
        attempts_resolved: AtomicU32::new(0),
        rounds: RoundWatch::new(),
    });
    let measured = measure(&swarm, &options).await;
    Ok(report(&options, &swarm, descriptor_limit, &measured))
}

/// What a run measured besides the tallies.
struct Measured {
    ramp_s: f64,
    window_s: f64,
    /// Counters over the measured window.
    window: tally::Counters,
    cpu_s: Option<f64>,
    /// Sockets open in the middle of the window, when memory was read.
    open_mid: u64,
    swarm_rss_kib: (Option<u64>, Option<u64>),
    server_rss_kib: (Option<u64>, Option<u64>),
    burst_completed: bool,
    interrupted: bool,
}

/// Ramps up, settles, measures for `--duration-s` (longer for a burst), then closes every socket.
async fn measure(swarm: &Arc<Swarm>, options: &Options) -> Measured {
    let interrupted = interrupt_watch();
    let swarm_rss_before = net::rss_kib("self");
    let server_rss_before = net::rss_sum_kib(&options.server_pids);
    let started = Instant::now();
    let progress = tokio::spawn(report_progress(started));
    let (stop, stop_watch) = watch::channel(false);

    let tasks = ramp(swarm, options, &stop_watch, &interrupted).await;
    let ramp_s = started.elapsed().as_secs_f64();
    let live = tally::live();
    eprintln!(
        "swarm: ramp done in {ramp_s:.1} s: {} connected, {} failed; measuring for {} s",
        live.connected, live.connect_failed, options.duration_s
    );
    wait_or_interrupt(SETTLE, &interrupted).await;

    let counters_before = tally::counters();
    let cpu_before = net::own_cpu_s();
    swarm.measuring.store(true, Ordering::SeqCst);
    let window_started = Instant::now();
    let burst_armer = options.burst.then(|| tokio::spawn(arm_burst(swarm.clone())));
    let duration = Duration::from_secs(options.duration_s);
    wait_or_interrupt(duration / 2, &interrupted).await;
    let live_mid = tally::live();
    let swarm_rss_during = net::rss_kib("self");
    let server_rss_during = net::rss_sum_kib(&options.server_pids);
    wait_or_interrupt(duration.saturating_sub(window_started.elapsed()), &interrupted).await;
    let burst_completed = if options.burst {
        wait_for_burst(swarm, window_started + duration + BURST_WAIT_MAX, &interrupted).await
    } else {
        false
    };
    swarm.measuring.store(false, Ordering::SeqCst);
    let measured = Measured {
        ramp_s,
        window_s: window_started.elapsed().as_secs_f64(),
        window: tally::counters().since(&counters_before),
        cpu_s: net::own_cpu_s().zip(cpu_before).map(|(after, before)| after - before),
        open_mid: live_mid.connected.saturating_sub(live_mid.closed_early),
        swarm_rss_kib: (swarm_rss_before, swarm_rss_during),
        server_rss_kib: (server_rss_before, server_rss_during),
        burst_completed,
        interrupted: *interrupted.borrow(),
    };
    let _ = stop.send(true);
    shut_down(tasks).await;
    progress.abort();
    if let Some(armer) = burst_armer {
        armer.abort();
    }
    measured
}

/// The JSON object printed at the end.
fn report(options: &Options, swarm: &Swarm, descriptor_limit: Option<u64>, measured: &Measured) -> Value {
    let merged = tally::merged();
    let mut report = Map::new();
    report.insert("players".into(), json!(options.players));
    // Kept for scripts/bench-ws.sh, which reads `clients`.
    report.insert("clients".into(), json!(options.players));
    report.insert("bettors".into(), json!(options.bettors));
    report.insert("spectators".into(), json!(options.players - options.bettors));
    report.insert("room".into(), json!(options.room));
    report.insert("url".into(), json!(options.url));
    let sources: Vec<String> = swarm.sources.iter().map(IpAddr::to_string).collect();
    report.insert("source_addresses".into(), json!(sources));
    report.insert("descriptor_limit".into(), json!(descriptor_limit));
    report.insert("ramp_s".into(), json!(measured.ramp_s));
    report.insert("duration_s".into(), json!(measured.window_s));
    report.insert("interrupted".into(), json!(measured.interrupted));
    merged.report(&measured.window, measured.window_s, &mut report);
    let burst = match (options.burst, swarm.rounds.burst()) {
        (false, _) => Value::Null,
        (true, Some((round_id, _))) => merged.burst.report(round_id, measured.burst_completed),
        (true, None) => json!({"round_id": null, "completed": false}),
    };
    report.insert("burst".into(), burst);
    let per_socket = |(before, during): (Option<u64>, Option<u64>)| match (before, during) {
        // Rounded down to whole bytes.
        (Some(before), Some(during)) if measured.open_mid > 0 => {
            json!(during.saturating_sub(before) * 1024 / measured.open_mid)
        }
        _ => Value::Null,
    };
    // The swarm's own CPU use in the window, to tell whether it could have been the bottleneck.
    report.insert("swarm_cpu_s".into(), json!(measured.cpu_s));
    report.insert("swarm_rss_before_kib".into(), json!(measured.swarm_rss_kib.0));
    report.insert("swarm_rss_during_kib".into(), json!(measured.swarm_rss_kib.1));
    report.insert("swarm_bytes_per_socket".into(), per_socket(measured.swarm_rss_kib));
    report.insert("server_rss_before_kib".into(), json!(measured.server_rss_kib.0));
    report.insert("server_rss_during_kib".into(), json!(measured.server_rss_kib.1));
    report.insert(
        "server_bytes_per_connection".into(),
        per_socket(measured.server_rss_kib),
    );
    Value::Object(report)
}

/// Starts one task per player at `--ramp-per-s`, at most `--connecting-max` connecting at once, then
/// waits until every attempt has succeeded or failed.
async fn ramp(
    swarm: &Arc<Swarm>,
    options: &Options,
    stop: &watch::Receiver<bool>,
    interrupted: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let connecting = Arc::new(Semaphore::new(options.connecting_max as usize));
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(options.players as usize);
    for index in 0..options.players {
        if *interrupted.borrow() {
            break;
        }
        let due = started + Duration::from_secs_f64(f64::from(index) / f64::from(options.ramp_per_s));
        if due > tokio::time::Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        let Ok(permit) = connecting.clone().acquire_owned().await else {
            break;
        };
        tasks.push(tokio::spawn(player::run(swarm.clone(), index, permit, stop.clone())));
    }
    let spawned = tasks.len() as u32;
    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT + Duration::from_secs(5);
    while swarm.attempts_resolved.load(Ordering::SeqCst) < spawned
        && tokio::time::Instant::now() < deadline
        && !*interrupted.borrow()
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tasks
}

/// Arms the burst while no betting window is open (so no bettor is deciding on a round at that moment):
/// the next round to start is the burst round.
async fn arm_burst(swarm: Arc<Swarm>) {
    while swarm.rounds.betting() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    swarm.rounds.arm_burst();
    eprintln!("swarm: burst armed: every bettor bets in the next betting window");
}

/// Extends the window until the burst round's bets are answered; returns whether they all were.
async fn wait_for_burst(swarm: &Swarm, deadline: Instant, interrupted: &watch::Receiver<bool>) -> bool {
    while Instant::now() < deadline && !*interrupted.borrow() {
        let live = tally::live();
        if live.connected <= live.closed_early {
            return false;
        }
        if let Some((_, started)) = swarm.rounds.burst() {
            let answered = live.burst_sent > 0 && live.burst_answered >= live.burst_sent;
            if answered && started.elapsed() >= BURST_SETTLE {
                return true;
            }
            if started.elapsed() >= BURST_ANSWER_WAIT_MAX {
                return false;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Waits for every socket task to close, for at most `SHUTDOWN_WAIT`; stragglers are aborted.
async fn shut_down(tasks: Vec<JoinHandle<()>>) {
    let deadline = tokio::time::Instant::now() + SHUTDOWN_WAIT;
    for task in tasks {
        let abort = task.abort_handle();
        if tokio::time::timeout_at(deadline, task).await.is_err() {
            abort.abort();
        }
    }
}

/// Becomes true on Ctrl-C, which ends the run early (with a report).
fn interrupt_watch() -> watch::Receiver<bool> {
    let (interrupt, interrupted) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("swarm: interrupted; reporting what was measured");
            let _ = interrupt.send(true);
        }
        // Keeps the sender alive, so waiting for an interrupt never ends early.
        std::future::pending::<()>().await;
    });
    interrupted
}

async fn wait_or_interrupt(duration: Duration, interrupted: &watch::Receiver<bool>) {
    let mut interrupted = interrupted.clone();
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = interrupted.wait_for(|interrupted| *interrupted) => {}
    }
}

/// Prints one line every `PROGRESS_INTERVAL`: open sockets, rates since the previous line, answers.
async fn report_progress(started: Instant) {
    let mut previous = tally::counters();
    let mut previous_at = Instant::now();
    loop {
        tokio::time::sleep(PROGRESS_INTERVAL).await;
        let (counters, live, now) = (tally::counters(), tally::live(), Instant::now());
        let delta = counters.since(&previous);
        let seconds = now.duration_since(previous_at).as_secs_f64().max(0.001);
        eprintln!(
            "swarm: {:>4.0} s: open {} (failed {}, closed early {}), ticks/s {:.0}, msgs/s {:.0}, bets acked {}, cashouts acked {}",
            started.elapsed().as_secs_f64(),
            live.connected.saturating_sub(live.closed_early),
            live.connect_failed,
            live.closed_early,
            delta.ticks as f64 / seconds,
            delta.messages as f64 / seconds,
            live.bets_acked,
            live.cashouts_acked,
        );
        (previous, previous_at) = (counters, now);
    }
}
