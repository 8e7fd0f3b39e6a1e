use crate::helpers::{binary, spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

/// Runs the real `game-cluster audit` binary against the app's database and returns its exit code.
fn audit_binary_exit_code(app: &TestApp) -> i32 {
    let output = binary(&app.settings)
        .arg("audit")
        .output()
        .expect("the audit binary runs");
    output.status.code().expect("the audit exits with a code")
}

/// The audit passes on a healthy ledger (binary and admin endpoint) and fails, naming the breach, once a
/// balance no longer equals the sum of its transfers.
#[actix_web::test]
async fn audit_passes_then_detects_a_corrupted_balance() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let player = app.signup("trent").await;
    assert_eq!(
        app.deposit(&admin, player.id, 9_000_000, "a-1").await.status(),
        StatusCode::OK
    );
    assert_eq!(audit_binary_exit_code(&app), 0);
    let report: Value = app.get("/api/v1/admin/audit", Some(&admin)).await.json().await.unwrap();
    assert_eq!(report["ok"], true);

    sqlx::query("UPDATE accounts SET balance = balance + 1 WHERE id = $1")
        .bind(player.account)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(audit_binary_exit_code(&app), 1);
    let report: Value = app.get("/api/v1/admin/audit", Some(&admin)).await.json().await.unwrap();
    assert_eq!(report["ok"], false);
    let checks: Vec<&str> = report["breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["check"].as_str().unwrap())
        .collect();
    assert!(checks.contains(&"balance_equals_transfers"), "{checks:?}");
    assert!(checks.contains(&"currency_nets_to_zero"), "{checks:?}");
}

/// The database itself refuses a negative player balance, whatever the code does.
#[actix_web::test]
async fn the_database_refuses_negative_player_balances() {
    let app = spawn_app().await;
    let player = app.signup("victor").await;
    let result = sqlx::query("UPDATE accounts SET balance = -1 WHERE id = $1")
        .bind(player.account)
        .execute(&app.pool)
        .await;
    let error = result.unwrap_err();
    let constraint = error
        .as_database_error()
        .and_then(|e| e.constraint().map(str::to_owned));
    assert_eq!(constraint.as_deref(), Some("owned_balance_not_negative"));
}
