//! `game-cluster admin ...`: the operator controls from a shell. It logs in with the configured admin
//! credential (`[admin]`, or `APP__ADMIN__USERNAME` / `APP__ADMIN__PASSWORD`) and calls the admin API of
//! any node or of nginx, so the action is audited exactly as from the dashboard.

use crate::configuration::Settings;
use anyhow::Context;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::time::Duration;

/// How long one admin call may take (an audit of a large ledger takes a while).
const ADMIN_CALL_TIMEOUT_S: u64 = 120;

#[derive(Debug, clap::Args)]
pub struct AdminOptions {
    /// The cluster's public address (nginx) or any node's.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// The nodes, Redis, Postgres and every room.
    Cluster,
    /// Stop new bets in a room; the round under way finishes and no new one starts.
    Pause {
        room: String,
        #[arg(long, default_value = "maintenance")]
        reason: String,
    },
    /// Open betting again with the next round.
    Resume { room: String },
    /// Send a `maintenance` message to every connected player.
    Broadcast { message: String },
    /// Drain a node: it hands its rooms over, tells its players to reconnect, and exits.
    Drain { node_id: String },
    /// Revoke every token of a player: they are refused everywhere and their sockets closed (4003).
    RevokeTokens { player_id: uuid::Uuid },
    /// Run the ledger audit.
    Audit,
    /// The latest operator actions.
    Actions {
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Runs one admin command and prints the answer as JSON; an error answer is an error.
pub async fn run(settings: &Settings, options: AdminOptions) -> anyhow::Result<()> {
    let base = options.url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(ADMIN_CALL_TIMEOUT_S))
        .build()?;
    let token = log_in(&client, &base, settings).await?;
    let (method, path, body) = match &options.command {
        AdminCommand::Cluster => (reqwest::Method::GET, "cluster".to_owned(), None),
        AdminCommand::Pause { room, reason } => (
            reqwest::Method::POST,
            format!("rooms/{room}/pause"),
            Some(json!({ "reason": reason })),
        ),
        AdminCommand::Resume { room } => (reqwest::Method::POST, format!("rooms/{room}/resume"), None),
        AdminCommand::Broadcast { message } => (
            reqwest::Method::POST,
            "broadcast".to_owned(),
            Some(json!({ "message": message })),
        ),
        AdminCommand::Drain { node_id } => (reqwest::Method::POST, format!("nodes/{node_id}/drain"), None),
        AdminCommand::RevokeTokens { player_id } => (
            reqwest::Method::POST,
            format!("players/{player_id}/revoke-tokens"),
            None,
        ),
        AdminCommand::Audit => (reqwest::Method::GET, "audit".to_owned(), None),
        AdminCommand::Actions { limit } => (reqwest::Method::GET, format!("actions?limit={limit}"), None),
    };
    let mut request = client
        .request(method, format!("{base}/api/v1/admin/{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = read(request.send().await.with_context(|| format!("cannot reach {base}"))?).await?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

async fn log_in(client: &reqwest::Client, base: &str, settings: &Settings) -> anyhow::Result<String> {
    let credential = json!({
        "username": settings.admin.username,
        "password": settings.admin.password.expose_secret(),
    });
    let response = client
        .post(format!("{base}/api/v1/admin/login"))
        .json(&credential)
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    let answer = read(response).await.context("admin log-in failed")?;
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .context("the log-in answer has no token")
}

/// The JSON of a successful answer, or the error envelope's code and message as an error.
async fn read(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text().await?;
    let body: Value = serde_json::from_str(&text).with_context(|| format!("{status}: {text}"))?;
    if !status.is_success() {
        anyhow::bail!(
            "{status} {}: {}",
            body["error"]["code"].as_str().unwrap_or("?"),
            body["error"]["message"].as_str().unwrap_or(&text)
        );
    }
    Ok(body)
}
