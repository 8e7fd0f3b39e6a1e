//! The node's own limits, used while Redis is unreachable: the same decisions as the shared ones, per
//! node instead of per cluster. Bounded: past `keys_max` keys, expired ones are dropped first, then
//! arbitrary ones (a flood of distinct keys can reset some counts, never grow the node's memory).

use super::gcra::{self, Decision, Limit};
use super::lockout::LockoutPolicy;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One account's failed logins.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    forgotten_at: Instant,
    locked_until: Option<Instant>,
}

#[derive(Debug)]
pub struct LocalLimits {
    started: Instant,
    keys_max: usize,
    /// Key -> theoretical arrival time (ms since `started`).
    cells: Mutex<HashMap<String, u64>>,
    failures: Mutex<HashMap<String, Failures>>,
}

impl LocalLimits {
    pub fn new(keys_max: usize) -> LocalLimits {
        LocalLimits {
            started: Instant::now(),
            keys_max: keys_max.max(1),
            cells: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Counts one request against `key`; the wait before another would pass when refused.
    pub fn check(&self, key: &str, limit: Limit) -> Result<(), Duration> {
        let now = self.now_ms();
        let mut cells = self.cells.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match gcra::decide(limit, cells.get(key).copied(), now) {
            Decision::Allowed { tat_ms, .. } => {
                if !cells.contains_key(key) && cells.len() >= self.keys_max {
                    cells.retain(|_, tat| *tat > now);
                    evict_one_if_full(&mut cells, self.keys_max);
                }
                cells.insert(key.to_owned(), tat_ms);
                Ok(())
            }
            Decision::Limited { retry_after } => Err(retry_after),
        }
    }

    /// How long `account` stays locked, if it is.
    pub fn locked_for(&self, account: &str) -> Option<Duration> {
        let now = Instant::now();
        let failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let until = failures.get(account)?.locked_until?;
        until.checked_duration_since(now).filter(|left| !left.is_zero())
    }

    /// Records a failed login; the lock it starts, if any.
    pub fn record_failure(&self, account: &str, policy: &LockoutPolicy) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let previous = failures
            .get(account)
            .filter(|entry| entry.forgotten_at > now)
            .map_or(0, |entry| entry.count);
        let count = previous.saturating_add(1);
        let lock = policy.lock_after(count);
        if !failures.contains_key(account) && failures.len() >= self.keys_max {
            failures.retain(|_, entry| entry.forgotten_at > now);
            evict_one_if_full(&mut failures, self.keys_max);
        }
        failures.insert(
            account.to_owned(),
            Failures {
                count,
                forgotten_at: now + policy.failures_window,
                locked_until: lock.map(|lock| now + lock),
            },
        );
        lock
    }

    pub fn forget_failures(&self, account: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(account);
    }
}

fn evict_one_if_full<V>(map: &mut HashMap<String, V>, keys_max: usize) {
    if map.len() >= keys_max {
        if let Some(key) = map.keys().next().cloned() {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_limit_refuses_past_the_burst_and_stays_bounded() {
        let limits = LocalLimits::new(2);
        let limit = Limit::per_minute(2).unwrap();
        assert!(limits.check("a", limit).is_ok());
        assert!(limits.check("a", limit).is_ok());
        assert!(limits.check("a", limit).is_err());
        assert!(limits.check("b", limit).is_ok());
        assert!(limits.check("c", limit).is_ok());
        assert!(limits.cells.lock().unwrap().len() <= 2);
    }

    #[test]
    fn failures_lock_the_account_and_a_success_forgets_them() {
        let limits = LocalLimits::new(16);
        let policy = LockoutPolicy {
            failures_before_lockout: 2,
            initial: Duration::from_secs(30),
            max: Duration::from_secs(60),
            failures_window: Duration::from_secs(600),
        };
        assert_eq!(limits.record_failure("alice", &policy), None);
        assert!(limits.locked_for("alice").is_none());
        assert_eq!(limits.record_failure("alice", &policy), Some(Duration::from_secs(30)));
        assert!(limits.locked_for("alice").is_some());
        limits.forget_failures("alice");
        assert!(limits.locked_for("alice").is_none());
    }
}
