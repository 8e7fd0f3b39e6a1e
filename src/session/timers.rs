//! A session's one timer. Every socket's session needs a heartbeat and a reality check; an actix interval
//! costs a socket about 150 bytes (a boxed closure, a tokio sleep and the context's slot for it), so both
//! run on one, each every so many of its firings.

use std::time::Duration;

/// The session's one timer: it fires every `period`, the shorter of the two intervals, and each job runs
/// every so many firings (the longer interval rounded to whole periods).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimers {
    pub period: Duration,
    pub heartbeat_every: u64,
    pub reality_check_every: u64,
}

impl SessionTimers {
    pub fn new(heartbeat: Duration, reality_check: Duration) -> SessionTimers {
        let period = heartbeat.min(reality_check).max(Duration::from_millis(1));
        let period_ms = period.as_millis();
        let every = |interval: Duration| {
            let firings = (interval.as_millis() + period_ms / 2) / period_ms;
            u64::try_from(firings).unwrap_or(u64::MAX).max(1)
        };
        SessionTimers {
            period,
            heartbeat_every: every(heartbeat),
            reality_check_every: every(reality_check),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SessionTimers;
    use std::time::Duration;

    #[test]
    fn one_timer_serves_both_jobs_at_their_intervals_in_whole_periods() {
        let s = Duration::from_secs;
        let timers = SessionTimers::new(s(5), s(3_600));
        assert_eq!(
            (timers.period, timers.heartbeat_every, timers.reality_check_every),
            (s(5), 1, 720)
        );
        let timers = SessionTimers::new(s(5), s(1));
        assert_eq!(
            (timers.period, timers.heartbeat_every, timers.reality_check_every),
            (s(1), 5, 1)
        );
        let timers = SessionTimers::new(s(7), s(60));
        assert_eq!(
            (timers.period, timers.heartbeat_every, timers.reality_check_every),
            (s(7), 1, 9)
        );
    }
}
