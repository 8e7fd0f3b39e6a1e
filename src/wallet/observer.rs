//! The wallet's report of balance changes, for pushing them to players. After a batch commits, each
//! transfer it posted (not a replay of an earlier one) reports the new balance of its player account on
//! a bounded channel set at start-up. Reporting never waits: when the channel is full the change is
//! dropped and counted (`wallet_balance_changes_dropped_total`), since a late or lost push only delays
//! what the player sees, while a stalled shard would delay everyone's money.

use super::ledger::AccountId;
use crate::money::Balance;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc::{self, error::TrySendError};

/// A player account's balance after a posted transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceChange {
    pub account: AccountId,
    pub balance: Balance,
    /// When the transfer was recorded.
    pub at: DateTime<Utc>,
}

/// The sending end the wallet shards report on; cloned into each of them.
#[derive(Debug, Clone)]
pub struct BalanceFeed {
    sender: mpsc::Sender<BalanceChange>,
}

impl BalanceFeed {
    /// A feed holding at most `capacity` unread changes, and its receiving end.
    pub fn channel(capacity: usize) -> (BalanceFeed, mpsc::Receiver<BalanceChange>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (BalanceFeed { sender }, receiver)
    }

    /// Reports a change without waiting; drops it (counted) when the channel is full.
    pub(crate) fn report(&self, change: BalanceChange) {
        match self.sender.try_send(change) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => metrics::counter!("wallet_balance_changes_dropped_total").increment(1),
        }
    }
}
