//! The swarm's command line, checked before anything connects.

use clap::Parser;
use std::net::IpAddr;
use std::path::PathBuf;

/// The most sockets one run may hold.
const PLAYERS_MAX: u32 = 60_000;

#[derive(Debug, Parser)]
#[command(
    name = "swarm",
    about = "Holds many WebSocket players against a loopback cluster and measures them"
)]
pub struct Options {
    /// The WebSocket endpoint (nginx of the local cluster, or one node); loopback only.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub url: String,
    /// The crash room to join and bet in.
    #[arg(long, default_value = "aviator")]
    pub room: String,
    /// Sockets to hold (1 to 60,000).
    #[arg(long, alias = "clients", default_value_t = 1_000)]
    pub players: u32,
    /// Sockets opened per second while ramping up.
    #[arg(long, default_value_t = 2_000)]
    pub ramp_per_s: u32,
    /// Connection attempts in flight at once (the ramp waits when the server is slower).
    #[arg(long, default_value_t = 1_000)]
    pub connecting_max: u32,
    /// Length of the measured window, after the ramp.
    #[arg(long, default_value_t = 20)]
    pub duration_s: u64,
    /// Local addresses to bind sockets to, round-robin (loopback, the target's family).
    #[arg(long, value_delimiter = ',')]
    pub source_addresses: Vec<IpAddr>,
    /// Bind to 127.0.0.1 .. 127.0.0.K (default: one address per 20,000 players).
    #[arg(long)]
    pub source_count: Option<u8>,
    /// One player JWT per line: bettors take lines 1..=B, spectators share the rest round-robin.
    #[arg(long, conflicts_with = "token")]
    pub tokens_file: Option<PathBuf>,
    /// One token for every socket (spectators only).
    #[arg(long)]
    pub token: Option<String>,
    /// Players that bet (the first ones, each with its own token).
    #[arg(long, default_value_t = 0)]
    pub bettors: u32,
    /// Chance that a bettor bets in a round.
    #[arg(long, default_value_t = 0.8)]
    pub bet_probability: f64,
    /// The stake of every bet, in micro-units (1 unit = 1,000,000).
    #[arg(long, default_value_t = 1_000_000)]
    pub bet_amount_micros: i64,
    /// Every bettor bets (probability 1) in the same betting window, the first to open once all players
    /// are connected, and in no other; the report's `burst` object describes that window.
    #[arg(long)]
    pub burst: bool,
    /// In `--burst` mode, each bettor sends its bet at a random moment within this many milliseconds of
    /// the round's start, as players click over a betting window (0: every bet on `round_start`).
    #[arg(long, default_value_t = 0)]
    pub burst_spread_ms: u64,
    /// Server processes whose memory per connection to report (their RSS summed).
    #[arg(long, alias = "server-pid", value_delimiter = ',')]
    pub server_pids: Vec<u32>,
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        let room_ok = (1..=64).contains(&self.room.len())
            && self
                .room
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
        let checks = [
            (room_ok, "--room must be 1 to 64 letters, digits, '_' or '-'".to_owned()),
            (
                (1..=PLAYERS_MAX).contains(&self.players),
                format!("--players must be 1 to {PLAYERS_MAX}"),
            ),
            (
                (1..=50_000).contains(&self.ramp_per_s),
                "--ramp-per-s must be 1 to 50000".into(),
            ),
            (
                (1..=10_000).contains(&self.connecting_max),
                "--connecting-max must be 1 to 10000".into(),
            ),
            (
                (1..=3_600).contains(&self.duration_s),
                "--duration-s must be 1 to 3600".into(),
            ),
            (
                self.bettors <= self.players,
                "--bettors must not exceed --players".into(),
            ),
            (
                (0.0..=1.0).contains(&self.bet_probability),
                "--bet-probability must be 0 to 1".into(),
            ),
            (
                self.bet_amount_micros > 0,
                "--bet-amount-micros must be positive".into(),
            ),
            (!self.burst || self.bettors > 0, "--burst needs --bettors".into()),
            (
                self.burst_spread_ms <= 60_000,
                "--burst-spread-ms must be at most 60000".into(),
            ),
        ];
        match checks.into_iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err(message),
            None => Ok(()),
        }
    }

    /// The tokens, checked against the players that need them.
    pub fn tokens(&self) -> Result<Vec<String>, String> {
        let tokens: Vec<String> = match (&self.tokens_file, &self.token) {
            (Some(path), _) => std::fs::read_to_string(path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect(),
            (None, Some(token)) => vec![token.clone()],
            (None, None) => return Err("--tokens-file (or --token) is required".into()),
        };
        let bettors = self.bettors as usize;
        if tokens.len() < bettors {
            return Err(format!(
                "{} bettors need as many tokens; found {}",
                bettors,
                tokens.len()
            ));
        }
        if self.players > self.bettors && tokens.len() == bettors {
            return Err("spectators need at least one token beyond the bettors' lines".into());
        }
        Ok(tokens)
    }
}
