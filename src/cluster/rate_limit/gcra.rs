//! The pure core of every rate limit: the generic cell rate algorithm (GCRA). A limit of `count` per
//! `period` lets a burst of `count` through at once, then one more every `period / count` (a token bucket
//! of `count` tokens refilled at that pace): over any span of time `t`, at most `count + t / interval`
//! pass. The state of one key is a single number,
//! its theoretical arrival time (TAT), which is what the Redis script stores too (see `REDIS_SCRIPT`).

use std::time::Duration;

/// `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    count: u32,
    period_ms: u64,
}

impl Limit {
    /// A limit of `count` per `period_ms`; `None` when either is zero (a limit that admits nothing is
    /// a configuration mistake, refused at start-up).
    pub fn new(count: u32, period_ms: u64) -> Option<Limit> {
        (count > 0 && period_ms > 0).then_some(Limit { count, period_ms })
    }

    pub fn per_minute(count: u32) -> Option<Limit> {
        Limit::new(count, 60_000)
    }

    pub fn per_second(count: u32) -> Option<Limit> {
        Limit::new(count, 1_000)
    }

    /// The spacing of requests at the sustained rate, rounded up so the rate is never exceeded.
    pub fn emission_interval_ms(&self) -> u64 {
        self.period_ms.div_ceil(u64::from(self.count))
    }

    /// How far ahead of now the TAT may run: a burst of `count` fills it exactly.
    pub fn tolerance_ms(&self) -> u64 {
        self.emission_interval_ms() * u64::from(self.count - 1)
    }

    pub fn count(&self) -> u32 {
        self.count
    }
}

/// What one request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Admitted; store `tat_ms` as the key's new state, kept for `ttl_ms`.
    Allowed { tat_ms: u64, ttl_ms: u64 },
    /// Refused; the state is unchanged and a request after `retry_after` would pass.
    Limited { retry_after: Duration },
}

/// Decides one request at `now_ms` for a key whose stored TAT is `stored_tat_ms` (`None`: never seen or
/// expired).
pub fn decide(limit: Limit, stored_tat_ms: Option<u64>, now_ms: u64) -> Decision {
    let tat = stored_tat_ms.unwrap_or(now_ms).max(now_ms);
    let ahead = tat - now_ms;
    if ahead > limit.tolerance_ms() {
        // The request would pass once the TAT is back within the tolerance.
        return Decision::Limited {
            retry_after: Duration::from_millis(ahead - limit.tolerance_ms()),
        };
    }
    let tat_ms = tat + limit.emission_interval_ms();
    Decision::Allowed {
        tat_ms,
        ttl_ms: tat_ms - now_ms,
    }
}

/// The same decision inside Redis, atomically per key, on Redis's own clock (so nodes with skewed clocks
/// share one limit). KEYS[1]: the key; ARGV[1]: emission interval (ms); ARGV[2]: tolerance (ms).
/// Returns 0 when admitted, otherwise the milliseconds after which a request would pass.
pub const REDIS_SCRIPT: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local ahead = tat - now
if ahead > tolerance then return ahead - tolerance end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now)
return 0
";

/// Rounds a wait up to whole seconds for `Retry-After` (at least 1: a client told 0 would retry at once).
pub fn retry_after_s(wait: Duration) -> u64 {
    wait.as_millis().div_ceil(1_000).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn admit(limit: Limit, tat: &mut Option<u64>, now: u64) -> bool {
        match decide(limit, *tat, now) {
            Decision::Allowed { tat_ms, .. } => {
                *tat = Some(tat_ms);
                true
            }
            Decision::Limited { .. } => false,
        }
    }

    #[test]
    fn a_burst_of_exactly_the_count_passes_and_the_next_is_refused() {
        let limit = Limit::per_minute(5).unwrap();
        let mut tat = None;
        for _ in 0..5 {
            assert!(admit(limit, &mut tat, 1_000));
        }
        match decide(limit, tat, 1_000) {
            Decision::Limited { retry_after } => assert_eq!(retry_after, Duration::from_millis(12_000)),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // One emission interval later exactly one more passes.
        assert!(admit(limit, &mut tat, 13_000));
        assert!(!admit(limit, &mut tat, 13_000));
    }

    #[test]
    fn a_zero_limit_is_not_a_limit() {
        assert_eq!(Limit::per_minute(0), None);
        assert_eq!(Limit::new(3, 0), None);
    }

    #[test]
    fn retry_after_rounds_up_to_a_whole_second() {
        assert_eq!(retry_after_s(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_s(Duration::from_millis(1_000)), 1);
        assert_eq!(retry_after_s(Duration::from_millis(1_001)), 2);
        assert_eq!(retry_after_s(Duration::ZERO), 1);
    }

    proptest! {
        /// Whatever the arrival times, any span from one admitted request to a later one holds at most the
        /// burst plus one request per emission interval, and a client that waits the advised time passes.
        #[test]
        fn no_span_admits_more_than_the_burst_plus_the_rate(
            count in 1u32..20,
            period_ms in 100u64..10_000,
            gaps in proptest::collection::vec(0u64..2_000, 1..200),
        ) {
            let limit = Limit::new(count, period_ms).unwrap();
            let mut tat = None;
            let mut now = 0;
            let mut admitted = Vec::new();
            for gap in gaps {
                now += gap;
                match decide(limit, tat, now) {
                    Decision::Allowed { tat_ms, ttl_ms } => {
                        prop_assert!(ttl_ms > 0);
                        tat = Some(tat_ms);
                        admitted.push(now);
                    }
                    Decision::Limited { retry_after } => {
                        let later = now + retry_after.as_millis() as u64;
                        let passes = matches!(decide(limit, tat, later), Decision::Allowed { .. });
                        prop_assert!(passes, "refused again after the advised wait");
                    }
                }
            }
            let interval = limit.emission_interval_ms();
            for (first, start) in admitted.iter().enumerate() {
                for (last, end) in admitted.iter().enumerate().skip(first) {
                    let passed = (last - first + 1) as u64;
                    prop_assert!(passed <= u64::from(count) + (end - start) / interval, "{passed} from {start} to {end}");
                }
            }
        }
    }
}
