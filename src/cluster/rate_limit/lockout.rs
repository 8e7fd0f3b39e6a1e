//! The growing lockout after failed logins: the first `failures_before_lockout - 1` failures cost
//! nothing; the next locks the account for `initial`, and every further failure doubles it, up to `max`.
//! Failures are remembered for `failures_window` after the last one; a successful login forgets them.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub failures_before_lockout: u32,
    pub initial: Duration,
    pub max: Duration,
    pub failures_window: Duration,
}

/// Doublings past which the lock is at its maximum anyway (2^30 times a millisecond is 12 days).
const DOUBLINGS_MAX: u32 = 30;

impl LockoutPolicy {
    /// How long the account is locked after its `failures`-th failure in a row; `None` below the threshold.
    pub fn lock_after(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.failures_before_lockout)?;
        let factor = 1u32 << over.min(DOUBLINGS_MAX);
        Some(self.initial.saturating_mul(factor).min(self.max))
    }
}

/// The same rule inside Redis. KEYS[1]: the failure count, KEYS[2]: the lock; ARGV: failures before
/// lockout, initial (ms), max (ms), failures window (ms). Returns the lock's length in ms (0: not locked).
pub const RECORD_FAILURE_SCRIPT: &str = r"
local failures = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local over = failures - tonumber(ARGV[1])
if over < 0 then return 0 end
local lock = math.min(tonumber(ARGV[2]) * 2 ^ math.min(over, 30), tonumber(ARGV[3]))
redis.call('SET', KEYS[2], '1', 'PX', math.floor(lock))
return math.floor(lock)
";

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LockoutPolicy {
        LockoutPolicy {
            failures_before_lockout: 3,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(5),
            failures_window: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_lock_starts_at_the_threshold_and_doubles_up_to_the_maximum() {
        let policy = policy();
        assert_eq!(policy.lock_after(1), None);
        assert_eq!(policy.lock_after(2), None);
        assert_eq!(policy.lock_after(3), Some(Duration::from_secs(1)));
        assert_eq!(policy.lock_after(4), Some(Duration::from_secs(2)));
        assert_eq!(policy.lock_after(5), Some(Duration::from_secs(4)));
        assert_eq!(policy.lock_after(6), Some(Duration::from_secs(5)));
        assert_eq!(policy.lock_after(u32::MAX), Some(Duration::from_secs(5)));
    }
}
