//! Integration tests against real Postgres and Redis (started by `make test`, which exports their
//! addresses as `APP__DATABASE__*` and `APP__REDIS__*`). Every test gets its own database.

mod audit;
mod auth;
mod bad_input;
mod bonuses;
mod catalog;
mod commit_outcome;
mod crash;
mod forwarding;
mod helpers;
mod history;
mod hub88;
mod instant;
mod leaderboard;
mod ledger;
mod metrics;
mod operations;
mod process;
mod providers;
mod push;
mod rate_limits;
mod reality_check;
mod recovery;
mod responsible_gaming;
mod revocation;
mod rtp;
mod shop;
mod slots;
mod stake;
mod transport;
mod wallet;
mod ws;
