//! Gives the heap's free pages back to the system every so often. glibc's malloc keeps what a node freed
//! (handshake buffers, a burst's requests, a ramp's thousands of short-lived futures) in its arenas, and
//! it only returns the top of the main heap by itself; `malloc_trim` also releases free pages in the
//! middle of every arena. Measured on a node holding 1,333 WebSockets after a ramp: 1.5-5.2 MiB each
//! (docs/BENCHMARKS.md, issue 18).
//!
//! One thread per process, started by the first node built in it: the heap is the process's, not a
//! node's (the API tests build many nodes in one process).

use std::sync::Once;
use std::time::{Duration, Instant};

static STARTED: Once = Once::new();

/// Starts the trimming thread unless `interval` is zero or a thread already runs in this process.
pub fn start(interval: Duration) {
    if interval.is_zero() || !trim_is_supported() {
        return;
    }
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("memory-trim".into())
            .spawn(move || trim_forever(interval));
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start the memory trimming thread");
        }
    });
}

fn trim_forever(interval: Duration) {
    let duration = metrics::histogram!("process_memory_trim_seconds");
    let released = metrics::counter!("process_memory_trims_released_total");
    let in_use = metrics::gauge!("process_heap_in_use_bytes");
    let kept_free = metrics::gauge!("process_heap_free_bytes");
    loop {
        std::thread::sleep(interval);
        let started = Instant::now();
        if trim() {
            released.increment(1);
        }
        duration.record(started.elapsed().as_secs_f64());
        // After the trim: what is allocated, and what malloc still holds free (pages it could not give
        // back because live chunks share them), which together make the heap's part of the node's memory.
        if let Some(heap) = heap_usage() {
            in_use.set(heap.in_use_bytes as f64);
            kept_free.set(heap.free_bytes as f64);
        }
    }
}

/// The malloc heap of the whole process, every arena summed.
#[derive(Debug, Clone, Copy)]
struct HeapUsage {
    in_use_bytes: usize,
    free_bytes: usize,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_usage() -> Option<HeapUsage> {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct; it locks each arena in turn.
    let info = unsafe { libc::mallinfo2() };
    Some(HeapUsage {
        in_use_bytes: info.uordblks + info.hblkhd,
        free_bytes: info.fordblks,
    })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_usage() -> Option<HeapUsage> {
    None
}

fn trim_is_supported() -> bool {
    cfg!(all(target_os = "linux", target_env = "gnu"))
}

/// Returns whether any memory went back to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() -> bool {
    // SAFETY: malloc_trim takes no pointers; it locks each arena in turn and is safe to call from any
    // thread at any time.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trim_after_freeing_a_large_heap_runs_and_returns() {
        let blocks: Vec<Vec<u8>> = (0..2_000).map(|i| vec![i as u8; 4_096]).collect();
        drop(blocks);
        let started = Instant::now();
        trim();
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn the_heap_usage_counts_a_live_allocation() {
        let Some(before) = heap_usage() else { return };
        let block = std::hint::black_box(vec![1u8; 64 << 20]);
        let during = heap_usage().expect("supported once");
        assert!(during.in_use_bytes >= before.in_use_bytes + block.len() / 2);
        drop(block);
    }
}
