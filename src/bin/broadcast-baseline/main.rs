//! `broadcast-baseline`: the smallest server that does the capacity run's job, to measure the machine's
//! own limit next to the cluster's. It upgrades WebSockets (any path and query, no auth), then writes one
//! pre-encoded frame of a real tick's byte length to every socket every `--tick-interval-ms`, with a fresh
//! `ts` and an increasing `seq`, and nothing else: no reads, no JSON per socket, no per-socket queue.
//! A socket that has not taken the whole previous frame by the next tick is dropped, as the cluster cuts
//! off a slow client.
//!
//! Usage: broadcast-baseline --listen 127.0.0.1:9001 [--tick-interval-ms 100] [--frame-bytes 138]
//!        [--threads 1] [--tick-phase aligned|free]
//! It prints `listening on ADDR` on stdout once it accepts connections (so `--listen 127.0.0.1:0` works).

mod broadcast;
mod frame;
mod handshake;

use clap::Parser;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "broadcast-baseline",
    about = "Writes one tick-sized WebSocket frame to every socket per tick"
)]
struct Options {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// How often every socket gets a frame (10 to 1000 ms).
    #[arg(long, default_value_t = 100)]
    tick_interval_ms: u64,
    /// Payload length of every frame, the byte length of a typical tick of the game server.
    #[arg(long, default_value_t = frame::TICK_PAYLOAD_BYTES_DEFAULT)]
    frame_bytes: usize,
    /// Runtime threads; the sockets are spread over this many broadcast shards, one per thread.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// `aligned`: ticks fall on wall-clock multiples of the interval, so several baseline processes tick
    /// at the same instant, as the cluster's nodes all relay the same tick at once (its job: one tick for
    /// every player). `free`: each process ticks from its own start, which spreads their load in time.
    #[arg(long, value_enum, default_value_t = broadcast::TickPhase::Aligned)]
    tick_phase: broadcast::TickPhase,
}

impl Options {
    fn validate(&self) -> Result<(), String> {
        if !(10..=1_000).contains(&self.tick_interval_ms) {
            return Err("--tick-interval-ms must be 10 to 1000".into());
        }
        frame::check_payload_bytes(self.frame_bytes)?;
        if !(1..=64).contains(&self.threads) {
            return Err("--threads must be 1 to 64".into());
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    if let Err(message) = options.validate() {
        eprintln!("broadcast-baseline: {message}");
        return ExitCode::from(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads)
        .enable_all()
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(serve(options)),
        Err(error) => Err(format!("cannot start the runtime: {error}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("broadcast-baseline: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(options: Options) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", options.listen))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    let settings = broadcast::Settings {
        tick_interval: Duration::from_millis(options.tick_interval_ms),
        payload_bytes: options.frame_bytes,
        shards: options.threads,
        tick_phase: options.tick_phase,
    };
    let server = broadcast::Server::start(settings);
    println!("listening on {address}");
    tokio::select! {
        result = server.accept_forever(listener) => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
