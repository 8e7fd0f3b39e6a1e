//! The RTP gauges every node refreshes from the rollups, so that an alert can fire on a game outside its
//! band: `rtp_measured_bps{game,window}` and `rtp_out_of_band{game,window}` (1 or 0). `game` is
//! `provider:code`; only games played in the last 30 days have series, and a game that drops out of
//! them has its series cleared (NaN, 0) rather than left at a stale value.

use super::{report, GameRtp, RtpReport, Thresholds};
use chrono::Utc;
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::time::Duration;

/// Refreshes the gauges every `interval` forever, on the current arbiter.
pub fn start(pool: PgPool, thresholds: Thresholds, interval: Duration) {
    actix::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shown = BTreeSet::new();
        loop {
            ticks.tick().await;
            match report(&pool, thresholds, Utc::now()).await {
                Ok(report) => shown = publish(&report, &shown),
                Err(error) => tracing::warn!(error = %error, "could not read the RTP rollups for the gauges"),
            }
        }
    });
}

/// Sets the gauges of every game played in the last 30 days; clears those of the games `shown` last time
/// that no longer are. Answers the games shown now.
pub fn publish(report: &RtpReport, shown: &BTreeSet<String>) -> BTreeSet<String> {
    let mut now_shown = BTreeSet::new();
    for game in report.games.iter().filter(|game| played(game)) {
        let label = format!("{}:{}", game.provider, game.code);
        for (window, figures) in game.windows() {
            let measured = figures.measured_rtp_bps.map_or(f64::NAN, |bps| bps as f64);
            set(&label, window.name(), measured, figures.flagged);
        }
        now_shown.insert(label);
    }
    for gone in shown.difference(&now_shown) {
        for window in super::Window::ALL {
            set(gone, window.name(), f64::NAN, false);
        }
    }
    now_shown
}

fn played(game: &GameRtp) -> bool {
    game.days_30.rounds != 0 || game.days_30.staked_micros != 0 || game.days_30.won_micros != 0
}

fn set(game: &str, window: &'static str, measured_bps: f64, flagged: bool) {
    metrics::gauge!("rtp_measured_bps", "game" => game.to_owned(), "window" => window).set(measured_bps);
    let out_of_band = if flagged { 1.0 } else { 0.0 };
    metrics::gauge!("rtp_out_of_band", "game" => game.to_owned(), "window" => window).set(out_of_band);
}
