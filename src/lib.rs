//! game-cluster: an actor-based, horizontally scaled, real-time casino game server.

pub mod admin;
pub mod api;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod configuration;
pub mod db;
pub mod economy;
pub mod error;
pub mod fair;
pub mod games;
pub mod loadtest;
pub mod metrics;
pub mod money;
pub mod openapi;
pub mod players;
pub mod providers;
pub mod session;
pub mod startup;
pub mod telemetry;
pub mod wallet;

#[cfg(test)]
mod layering;
