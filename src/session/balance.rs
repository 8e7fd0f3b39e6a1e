//! Balance pushes: the wallet reports each player account's new balance after a posted transfer (see
//! `wallet::observer`); this task coalesces the changes of one account within a short window into the
//! latest one and pushes it as `balance_updated` to every socket of the player, on every node (the changes
//! of one window travel together).

use super::protocol;
use crate::cluster::push::{Addressee, PlayerPush};
use crate::wallet::ledger::AccountId;
use crate::wallet::observer::BalanceChange;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// Balance changes the wallet may report before this task reads them; past it they are dropped and
/// counted (`wallet_balance_changes_dropped_total`).
pub const BALANCE_FEED_CAPACITY: usize = 8_192;
/// How long changes gather after the first one, so that a burst (a stake then its win) is one push.
pub const BALANCE_PUSH_WINDOW_MS: u64 = 25;
/// Changes folded into one round of pushes at most; more wait for the next round.
const BALANCE_CHANGES_PER_ROUND_MAX: usize = 4_096;

/// Runs until the wallet's side of the feed is gone.
pub async fn push_balance_changes(mut changes: mpsc::Receiver<BalanceChange>, push: PlayerPush) {
    let mut batch = Vec::with_capacity(BALANCE_CHANGES_PER_ROUND_MAX);
    loop {
        let Some(first) = changes.recv().await else { return };
        batch.push(first);
        tokio::time::sleep(Duration::from_millis(BALANCE_PUSH_WINDOW_MS)).await;
        while batch.len() < BALANCE_CHANGES_PER_ROUND_MAX {
            match changes.try_recv() {
                Ok(change) => batch.push(change),
                Err(_) => break,
            }
        }
        push.frames_to_each(latest_per_account(batch.drain(..)).into_iter().map(|change| {
            let frame = protocol::balance_updated(change.balance.micros(), change.at.timestamp_millis());
            (Addressee::Account(change.account.0), frame.to_string())
        }));
    }
}

/// The last change of each account, in the order the changes came (one shard commits an account's
/// transfers in order, so the last is the newest).
fn latest_per_account(changes: impl Iterator<Item = BalanceChange>) -> Vec<BalanceChange> {
    let mut latest: HashMap<AccountId, BalanceChange> = HashMap::new();
    for change in changes {
        latest.insert(change.account, change);
    }
    latest.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Balance;
    use chrono::{TimeZone, Utc};

    fn change(account: i64, balance: i64, at_ms: i64) -> BalanceChange {
        BalanceChange {
            account: AccountId(account),
            balance: Balance::from_micros(balance),
            at: Utc.timestamp_millis_opt(at_ms).unwrap(),
        }
    }

    #[test]
    fn each_account_keeps_only_its_last_change() {
        let changes = vec![change(1, 10, 1), change(2, 5, 2), change(1, 7, 3), change(1, 12, 4)];
        let mut latest = latest_per_account(changes.into_iter());
        latest.sort_by_key(|change| change.account);
        assert_eq!(latest, vec![change(1, 12, 4), change(2, 5, 2)]);
    }
}
