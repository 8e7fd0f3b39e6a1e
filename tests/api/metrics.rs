//! `GET /metrics` in the Prometheus text format: the key series exist and move with play.

use crate::helpers::spawn_app;
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
