//! The real binary as operators run it: configuration errors name their field, and SIGTERM stops a
//! serving node cleanly after draining its wallet.

use crate::helpers::{create_database, test_settings};
use secrecy::ExposeSecret;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the binary may take to start or stop before the test fails.
const PROCESS_WAIT_S: u64 = 30;

fn binary(settings: &game_cluster::configuration::Settings) -> Command {
    let database = &settings.database;
    let mut command = Command::new(env!("CARGO_BIN_EXE_game-cluster"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("APP_ENV", "test")
        .env("APP__APPLICATION__PORT", "0")
        .env("APP__DATABASE__HOST", &database.host)
        .env("APP__DATABASE__PORT", database.port.to_string())
        .env("APP__DATABASE__USERNAME", &database.username)
        .env("APP__DATABASE__PASSWORD", database.password.expose_secret())
        .env("APP__DATABASE__DATABASE_NAME", &database.database_name)
        .env("APP__REDIS__HOST", &settings.redis.host)
        .env("APP__REDIS__PORT", settings.redis.port.to_string())
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info");
    command
}

/// A bad configuration value stops start-up with exit code 2 and a message naming the field.
#[test]
fn a_bad_setting_names_its_field() {
    let settings = test_settings();
    let output = binary(&settings)
        .arg("serve")
        .env("APP__WALLET__SHARD_COUNT", "0")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("wallet.shard_count"),
        "stderr names the field: {stderr}"
    );
}

/// Reads stderr lines on a thread so the test can wait for one with a timeout.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(PROCESS_WAIT_S);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    panic!("the node never logged {needle:?}");
}

/// SIGTERM: the node stops accepting, drains the wallet, logs it and exits 0.
#[actix_web::test]
async fn sigterm_drains_and_exits_cleanly() {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    let mut child = binary(&settings)
        .arg("serve")
        .stderr(Stdio::piped())
        .spawn()
        .expect("the node starts");
    let lines = stderr_lines(&mut child);
    let listening = wait_for_line(&lines, "node listening");
    let port: u16 = listening
        .split("port=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("the listening line carries the port: {listening}"));
    let health = reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .expect("health answers");
    assert_eq!(health.status(), reqwest::StatusCode::OK);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_line(&lines, "wallet drained");
    let exit = wait_for_exit(&mut child);
    assert_eq!(exit.code(), Some(0));
}

fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..PROCESS_WAIT_S * 10 {
        if let Some(status) = child.try_wait().expect("the node can be waited for") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the node did not exit within {PROCESS_WAIT_S} s of SIGTERM");
}
