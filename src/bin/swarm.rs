//! `swarm`: holds many WebSocket players in one process and measures tick delivery latency (receipt time
//! minus the server timestamp in each tick) as an HDR histogram. It targets loopback only and stops by
//! itself after `--duration-s`.
//!
//! Usage: swarm --url ws://127.0.0.1:8080/ws --token JWT --clients 5000 --duration-s 20 [--server-pid PID]

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Sockets opened per second while ramping up, so the accept queue is never flooded.
const RAMP_PER_S_DEFAULT: u64 = 2_000;
/// The most clients one run may hold.
const CLIENTS_MAX: u64 = 60_000;

struct Options {
    url: String,
    token: String,
    clients: u64,
    duration: Duration,
    ramp_per_s: u64,
    server_pid: Option<u32>,
}

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        url: String::new(),
        token: String::new(),
        clients: 1_000,
        duration: Duration::from_secs(20),
        ramp_per_s: RAMP_PER_S_DEFAULT,
        server_pid: None,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => options.url = value,
            "--token" => options.token = value,
            "--clients" => options.clients = value.parse().map_err(|_| "--clients takes a number")?,
            "--duration-s" => {
                options.duration = Duration::from_secs(value.parse().map_err(|_| "--duration-s takes a number")?)
            }
            "--ramp-per-s" => options.ramp_per_s = value.parse().map_err(|_| "--ramp-per-s takes a number")?,
            "--server-pid" => options.server_pid = Some(value.parse().map_err(|_| "--server-pid takes a pid")?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let host = options.url.split("://").nth(1).unwrap_or_default();
    if !(host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")) {
        return Err("--url must point at a loopback address".into());
    }
    if options.token.is_empty() || !(1..=CLIENTS_MAX).contains(&options.clients) || options.ramp_per_s == 0 {
        return Err(format!("--token is required and --clients must be 1 to {CLIENTS_MAX}"));
    }
    Ok(options)
}

/// What one client saw. Latencies stay raw (4 bytes each) until the end: a histogram per client would
/// cost the load generator about 100 KB per socket.
struct ClientReport {
    latencies_us: Vec<u32>,
    ticks: u64,
    connected: bool,
    closed_early: bool,
}

fn now_ms() -> f64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    since_epoch.as_secs_f64() * 1000.0
}

/// Pulls `"ts":<integer>` out of a tick without a full JSON parse.
fn tick_timestamp(text: &str) -> Option<f64> {
    if !text.contains(r#""type":"tick""#) {
        return None;
    }
    let start = text.find(r#""ts":"#)? + 5;
    let digits: String = text[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

async fn run_client(url: String, until: Instant) -> ClientReport {
    let mut report = ClientReport {
        latencies_us: Vec::new(),
        ticks: 0,
        connected: false,
        closed_early: false,
    };
    let Ok(Ok((mut socket, _))) =
        tokio::time::timeout(Duration::from_secs(30), tokio_tungstenite::connect_async(&url)).await
    else {
        return report;
    };
    report.connected = true;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => break,
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Some(ts) = tick_timestamp(&text) {
                    // The server stamps whole milliseconds, so a latency carries up to 1 ms of truncation.
                    let latency_us = ((now_ms() - ts) * 1000.0).clamp(1.0, 600_000.0) as u32;
                    report.latencies_us.push(latency_us);
                    report.ticks += 1;
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) => {
                report.closed_early = true;
                break;
            }
        }
    }
    let _ = socket.close(None).await;
    report
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("swarm: {message}");
            std::process::exit(2);
        }
    };
    let rss_before = options.server_pid.and_then(rss_kib);
    let ramp = Duration::from_secs_f64(options.clients as f64 / options.ramp_per_s as f64);
    let started = Instant::now();
    let until = started + ramp + options.duration;
    let url = format!("{}?token={}&room=aviator", options.url, options.token);
    let mut tasks = Vec::with_capacity(options.clients as usize);
    let pause = Duration::from_secs_f64(1.0 / options.ramp_per_s as f64);
    for _ in 0..options.clients {
        tasks.push(tokio::spawn(run_client(url.clone(), until)));
        tokio::time::sleep(pause).await;
    }
    // Memory is read once every client had time to connect and settle, in the middle of the run.
    tokio::time::sleep(options.duration / 2).await;
    let rss_during = options.server_pid.and_then(rss_kib);
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 600_000, 3).expect("valid bounds");
    let (mut ticks, mut connected, mut closed_early) = (0u64, 0u64, 0u64);
    for task in tasks {
        let Ok(report) = task.await else { continue };
        for latency_us in report.latencies_us {
            latencies.record(u64::from(latency_us)).expect("within the bounds");
        }
        ticks += report.ticks;
        connected += u64::from(report.connected);
        closed_early += u64::from(report.closed_early);
    }
    let per_connection = match (rss_before, rss_during) {
        (Some(before), Some(during)) if connected > 0 => {
            Some(during.saturating_sub(before) as f64 * 1024.0 / connected as f64)
        }
        _ => None,
    };
    let summary = serde_json::json!({
        "clients": options.clients,
        "connected": connected,
        "closed_early": closed_early,
        "ticks_received": ticks,
        "tick_latency_p50_ms": latencies.value_at_quantile(0.50) as f64 / 1000.0,
        "tick_latency_p99_ms": latencies.value_at_quantile(0.99) as f64 / 1000.0,
        "tick_latency_max_ms": latencies.max() as f64 / 1000.0,
        "server_rss_before_kib": rss_before,
        "server_rss_during_kib": rss_during,
        "server_bytes_per_connection": per_connection,
    });
    println!("{summary}");
}
