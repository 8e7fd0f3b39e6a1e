//! `GET /metrics` in the Prometheus text format: the key series exist and move with play.

use crate::helpers::spawn_app;
use crate::ws::{install_chain, WsClient};
use reqwest::StatusCode;
use serde_json::json;

/// The value of the first sample whose line starts with `series` (name and labels as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn scrape(app: &crate::helpers::TestApp) -> String {
    let response = app.get("/metrics", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

#[actix_web::test]
async fn metrics_show_requests_wallet_batches_and_pools_and_they_move() {
    let app = spawn_app().await;
    let player = app.signup("measured").await;
    let top_up = app
        .post_json(
            "/api/v1/wallet/top-up",
            Some(&player.token),
            Some("fund"),
            &json!({"amount": 50_000_000}),
        )
        .await;
    assert_eq!(top_up.status(), StatusCode::OK);
    let roll = json!({"amount": 1_000_000, "target": 50, "direction": "over"});
    let dice_series = r#"http_requests_total{route="/api/v1/dice/roll",status="200"}"#;
    let before = scrape(&app).await;
    for round in 0..3 {
        let response = app
            .post_json(
                "/api/v1/dice/roll",
                Some(&player.token),
                Some(&format!("m{round}")),
                &roll,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let after = scrape(&app).await;
    let moved = sample(&after, dice_series).unwrap_or(0.0) - sample(&before, dice_series).unwrap_or(0.0);
    assert!(moved >= 3.0, "three dice rolls counted: {moved}\n{after}");
    for series in [
        "http_request_duration_seconds_bucket",
        "wallet_batch_size_bucket",
        "wallet_batch_commit_seconds_bucket",
        r#"ledger_transfers_total{kind="bet",result="posted"}"#,
        r#"db_pool_connections{pool="writer",state="idle"}"#,
    ] {
        assert!(
            after.lines().any(|line| line.starts_with(series)),
            "{series} is exported:\n{after}"
        );
    }
    let bets_before = sample(&before, r#"ledger_transfers_total{kind="bet",result="posted"}"#).unwrap_or(0.0);
    let bets_after = sample(&after, r#"ledger_transfers_total{kind="bet",result="posted"}"#).unwrap_or(0.0);
    assert!(
        bets_after >= bets_before + 3.0,
        "stakes counted: {bets_before} -> {bets_after}"
    );
}

/// The sum of every sample of `name` whose labels contain each of `labels` (e.g. `room="aviator"`).
fn total(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} ")))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[actix_web::test]
async fn metrics_follow_a_crash_round_with_players_bets_ticks_and_leadership() {
    let app = spawn_app().await;
    install_chain(&app, "aviator", 150..400).await;
    let player = app.signup("metered").await;
    let funded = app
        .post_json(
            "/api/v1/wallet/top-up",
            Some(&player.token),
            Some("fund"),
            &json!({"amount": 10_000_000}),
        )
        .await;
    assert_eq!(funded.status(), StatusCode::OK);
    let before = scrape(&app).await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    socket.wait_for("round_start", |_| true).await;
    socket
        .send(json!({"type": "place_bet", "room": "aviator", "amount": 1_000_000, "client_bet_id": "metered-1"}))
        .await;
    socket.wait_for("bet_placed", |_| true).await;
    socket.wait_for("tick", |_| true).await;
    socket.wait_for("crash", |_| true).await;
    let after = scrape(&app).await;
    let aviator = r#"room="aviator""#;
    for (name, labels) in [
        ("crash_ticks_published_total", vec![aviator]),
        ("crash_ticks_relayed_total", vec![aviator]),
        ("crash_tick_relay_lag_seconds_count", vec![aviator]),
        ("crash_requests_total", vec![aviator, r#"kind="bet""#, r#"result="ok""#]),
        ("crash_request_seconds_count", vec![aviator, r#"kind="bet""#]),
        ("ws_sessions_opened_total", vec![]),
        ("relay_frames_delivered_total", vec![aviator]),
        ("ledger_transfers_total", vec![r#"kind="bet""#]),
    ] {
        let moved = total(&after, name, &labels) - total(&before, name, &labels);
        assert!(moved >= 1.0, "{name} {labels:?} moved by {moved}:\n{after}");
    }
    assert!(total(&after, "ws_connected_players", &[]) >= 1.0, "{after}");
    // Other tests' nodes share this process's recorder and may give the room up meanwhile: the gauge
    // exists, but its value is theirs as much as this node's.
    assert!(after.contains(r#"crash_room_leader{room="aviator"}"#), "{after}");
    assert!(
        total(
            &after,
            "crash_leadership_changes_total",
            &[aviator, r#"change="acquired""#]
        ) >= 1.0
    );
    for series in [
        "wallet_shard_mailbox_depth{",
        "db_replica_lag_seconds ",
        "# TYPE crash_request_seconds histogram",
    ] {
        assert!(after.contains(series), "{series} is exported:\n{after}");
    }
    socket
        .send_raw(tokio_tungstenite::tungstenite::Message::Close(None))
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let text = scrape(&app).await;
        if total(&text, "ws_sessions_closed_total", &[r#"reason="client_closed""#])
            > total(&before, "ws_sessions_closed_total", &[r#"reason="client_closed""#])
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed session is counted with its reason"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
