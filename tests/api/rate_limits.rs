//! Rate limits, seen as a client sees them: through nginx in front of two nodes that share one Redis, so
//! requests alternate between the nodes and every limit must hold for the cluster, not per node. Also the
//! lockout after failed logins, `X-Forwarded-For` spoofing, the WebSocket message limit, CORS, the
//! security headers and nginx's own refusals in the envelope.

use crate::helpers::{create_database, spawn_app_with, test_settings, TestApp};
use futures_util::{SinkExt, StreamExt};
use game_cluster::configuration::Settings;
use reqwest::{Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// nginx from the project's template in front of two nodes of one cluster.
struct Edge {
    nodes: [TestApp; 2],
    nginx: Nginx,
    client: reqwest::Client,
}

/// One nginx rendered from the project's template, stopped and removed on drop.
struct Nginx {
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    /// nginx on a free port in front of `upstreams` (`host:port` of each node).
    fn start(upstreams: &[&str]) -> Nginx {
        let dir = std::env::temp_dir().join(format!("gc-edge-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("the nginx directory");
        let upstream = dir.join("upstream.conf");
        let servers: String = upstreams
            .iter()
            .map(|address| format!("server {address} max_fails=1 fail_timeout=2s;\n"))
            .collect();
        std::fs::write(&upstream, servers).expect("the upstream file");
        let shown = dir.display();
        let port: u16 = with_lib(&format!(
            "port=$(free_port); NGINX_WORKER_PROCESSES=1 nginx_render '{shown}' 127.0.0.1:$port '{}' && nginx_start '{shown}' $port && echo $port",
            upstream.display()
        ))
        .parse()
        .expect("nginx's port");
        Nginx { dir, port }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!("source scripts/lib.sh; nginx_stop '{}' 5", self.dir.display()))
            .current_dir(repo_root())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a snippet of bash with the scripts' helpers loaded.
fn with_lib(snippet: &str) -> String {
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail; source scripts/lib.sh; {snippet}"))
        .current_dir(repo_root())
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{snippet} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

impl Edge {
    /// Two nodes with `configure`'s changes to the test settings, behind a fresh nginx.
    async fn start(configure: impl FnOnce(&mut Settings)) -> Edge {
        let mut settings = test_settings();
        create_database(&mut settings).await;
        configure(&mut settings);
        settings.application.node_id = "node-a".into();
        let first = spawn_app_with(settings.clone()).await;
        settings.application.node_id = "node-b".into();
        let second = spawn_app_with(settings).await;
        let addresses = [&first, &second].map(|node| node.address.trim_start_matches("http://").to_owned());
        let nginx = Nginx::start(&[&addresses[0], &addresses[1]]);
        Edge {
            nodes: [first, second],
            nginx,
            client: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.nginx.port)
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request
                .bearer_auth(token)
                .header("Idempotency-Key", Uuid::new_v4().to_string());
        }
        request.send().await.expect("the request is sent")
    }

    async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the request is sent")
    }

    async fn signup(&self, username: &str) -> Response {
        self.post(
            "/api/v1/auth/signup",
            None,
            &json!({ "username": username, "password": "s3cret-password" }),
        )
        .await
    }

    async fn login(&self, username: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            None,
            &json!({ "username": username, "password": password }),
        )
        .await
    }
}

/// A 429 in the envelope with a whole number of seconds in `Retry-After`.
async fn assert_rate_limited(response: Response) {
    let retry_after = response
        .headers()
        .get("Retry-After")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "body: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON body: {text}"));
    assert_eq!(body["error"]["code"], "rate_limited", "body: {text}");
    assert!(
        retry_after.is_some_and(|seconds| seconds >= 1),
        "Retry-After: {retry_after:?}"
    );
}

/// Sends `count` requests that must pass, then one that must be refused.
async fn assert_boundary<F, Fut>(count: u32, send: F)
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    for attempt in 0..count {
        let response = send(attempt).await;
        assert_ne!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "request {attempt} of {count} was refused: {}",
            response.text().await.unwrap_or_default()
        );
    }
    assert_rate_limited(send(count).await).await;
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", &Uuid::new_v4().simple().to_string()[..8])
}

/// Every HTTP limit lets exactly its count through nginx and two nodes, then answers 429; an
/// `X-Forwarded-For` the client makes up does not give it a fresh address.
#[actix_web::test]
async fn each_http_limit_holds_at_its_boundary_across_two_nodes() {
    let edge = Edge::start(|settings| {
        let limits = &mut settings.rate_limits;
        limits.signup_per_ip_per_min = 3;
        limits.login_per_ip_per_min = 4;
        limits.unauthenticated_per_ip_per_min = 5;
        limits.admin_per_ip_per_min = 3;
        limits.player_writes_per_player_per_min = 3;
        limits.ws_connects_per_ip_per_min = 2;
    })
    .await;
    let names: Vec<String> = (0..4).map(|_| unique("edge")).collect();
    assert_boundary(3, |attempt| edge.signup(&names[attempt as usize])).await;
    let body: Value = edge.login(&names[0], "s3cret-password").await.json().await.unwrap();
    let token = body["token"].as_str().expect("a token").to_owned();
    // The login above was the first of four.
    assert_boundary(3, |_| edge.login(&names[1], "s3cret-password")).await;
    let spoofed = edge
        .client
        .post(edge.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", "203.0.113.9")
        .json(&json!({ "username": names[1], "password": "s3cret-password" }))
        .send()
        .await
        .unwrap();
    assert_rate_limited(spoofed).await;

    assert_boundary(5, |_| edge.get("/api/v1/game/rounds")).await;
    let wrong_admin = json!({ "username": "admin", "password": "not-the-password" });
    assert_boundary(3, |_| edge.post("/api/v1/admin/login", None, &wrong_admin)).await;
    // A player's writes count for the player, whichever node takes them (and reads are not counted).
    let top_up = json!({ "amount": 1_000_000 });
    assert_boundary(3, |_| edge.post("/api/v1/wallet/top-up", Some(&token), &top_up)).await;
    let balance = edge
        .client
        .get(edge.url("/api/v1/wallet/balance"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(balance.status(), StatusCode::OK);
    let ws_url = format!("ws://127.0.0.1:{}/ws", edge.nginx.port);
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let (socket, _) = tokio_tungstenite::connect_async(&ws_url)
            .await
            .expect("the socket opens");
        sockets.push(socket);
    }
    match tokio_tungstenite::connect_async(&ws_url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
        }
        other => panic!("the third socket should be refused, got {:?}", other.map(|_| ())),
    }
    assert!(edge.nodes[0].audit_ok().await);
}

/// Failed logins lock the account (whatever the password next), the lock grows with every further
/// failure and expires; a successful login after it forgets the failures.
#[actix_web::test]
async fn failed_logins_lock_the_account_for_a_growing_time_that_expires() {
    let edge = Edge::start(|settings| {
        let limits = &mut settings.rate_limits;
        limits.login_failures_before_lockout = 2;
        limits.login_lockout_initial_s = 1;
        limits.login_lockout_max_s = 2;
        limits.login_failures_window_s = 60;
    })
    .await;
    let name = unique("locked");
    assert_eq!(edge.signup(&name).await.status(), StatusCode::CREATED);
    assert_eq!(
        edge.login(&name, "wrong-password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        edge.login(&name, "wrong-password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Locked for 1 s: even the right password is refused, on either node.
    assert_rate_limited(edge.login(&name, "s3cret-password").await).await;
    assert_rate_limited(edge.login(&name.to_uppercase(), "s3cret-password").await).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(edge.login(&name, "s3cret-password").await.status(), StatusCode::OK);
    // The success forgot the failures: one more failure does not lock.
    assert_eq!(
        edge.login(&name, "wrong-password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(edge.login(&name, "s3cret-password").await.status(), StatusCode::OK);
    // Two failures lock for 1 s; a third, once it expired, locks for 2 s.
    for _ in 0..2 {
        assert_eq!(
            edge.login(&name, "wrong-password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        edge.login(&name, "wrong-password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_rate_limited(edge.login(&name, "s3cret-password").await).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(edge.login(&name, "s3cret-password").await.status(), StatusCode::OK);

    // The operator's credential locks the same way.
    let admin = &edge.nodes[0].settings.admin;
    let wrong = json!({ "username": admin.username, "password": "not-the-password" });
    for _ in 0..2 {
        let refused = edge.post("/api/v1/admin/login", None, &wrong).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let right = json!({ "username": admin.username, "password": admin.password.expose_secret() });
    assert_rate_limited(edge.post("/api/v1/admin/login", None, &right).await).await;
}

/// A socket over its message limit gets `rate_limited` errors, and is closed with 4029 if it goes on.
#[actix_web::test]
async fn a_message_flood_on_one_socket_is_refused_then_closed() {
    let edge = Edge::start(|settings| {
        settings.rate_limits.ws_messages_per_socket_per_s = 5;
        settings.rate_limits.ws_rate_limited_messages_max = 3;
    })
    .await;
    let url = format!("ws://127.0.0.1:{}/ws", edge.nginx.port);
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.expect("the socket opens");
    // The burst, the refused ones and the one that closes: a client writing on after the close would
    // make the server's kernel reset the connection and lose the answers before the client read them.
    for index in 0..5 + 3 + 1 {
        let ping = json!({ "type": "ping", "request_id": index.to_string() }).to_string();
        if socket.send(Message::Text(ping)).await.is_err() {
            break;
        }
    }
    let (mut pongs, mut refused, mut close_code) = (0, 0, None);
    while let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
        match message {
            Message::Text(text) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                match frame["type"].as_str() {
                    Some("pong") => pongs += 1,
                    Some("error") if frame["code"] == "rate_limited" => refused += 1,
                    _ => {}
                }
            }
            Message::Close(frame) => {
                close_code = frame.map(|frame| u16::from(frame.code));
                break;
            }
            _ => {}
        }
    }
    assert_eq!(pongs, 5, "the burst is answered");
    assert_eq!(refused, 3, "then messages are refused");
    assert_eq!(close_code, Some(4029), "then the socket is closed");
}

/// CORS is answered for an allowed origin only, and every answer carries the security headers.
#[actix_web::test]
async fn cors_preflight_is_answered_for_an_allowed_origin_and_refused_for_another() {
    let edge = Edge::start(|settings| {
        settings.http_headers.cors_allowed_origins = "https://casino.example, https://other.example".into();
        settings.http_headers.frame_ancestors = "https://casino.example".into();
    })
    .await;
    let preflight = |origin: &'static str| {
        edge.client
            .request(reqwest::Method::OPTIONS, edge.url("/api/v1/auth/login"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let allowed = preflight("https://casino.example").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        allowed.headers()["Access-Control-Allow-Origin"],
        "https://casino.example"
    );
    assert!(allowed.headers()["Access-Control-Allow-Methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("Access-Control-Allow-Origin").is_none());
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let plain = edge
        .client
        .get(edge.url("/api/v1/game/rounds"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("Access-Control-Allow-Origin").is_none());
    assert_eq!(plain.headers()["X-Content-Type-Options"], "nosniff");
    assert_eq!(plain.headers()["Referrer-Policy"], "strict-origin-when-cross-origin");
    assert_eq!(
        plain.headers()["Content-Security-Policy"],
        "frame-ancestors https://casino.example"
    );
    let page = edge.get("/").await;
    let csp = page.headers()["Content-Security-Policy"].to_str().unwrap().to_owned();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(csp.ends_with("frame-ancestors https://casino.example"), "{csp}");
}

/// nginx's own refusals are in the envelope: a 3 MB body is refused before any node sees it, and with no
/// node to reach nginx answers 502 in the envelope too.
#[actix_web::test]
async fn nginx_own_refusals_carry_the_envelope() {
    let edge = Edge::start(|_| {}).await;
    let body = vec![b'x'; 3 * 1024 * 1024];
    let response = edge
        .client
        .post(edge.url("/api/v1/auth/login"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("nginx answers");
    assert_nginx_envelope(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    let trace = reqwest::Method::from_bytes(b"TRACE").unwrap();
    let response = edge
        .client
        .request(trace, edge.url("/api/v1/me"))
        .send()
        .await
        .expect("nginx answers");
    assert_nginx_envelope(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let response = edge
        .client
        .get(edge.url("/api/v1/games%00"))
        .send()
        .await
        .expect("nginx answers");
    assert_nginx_envelope(response, StatusCode::BAD_REQUEST, "bad_request").await;

    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let dead = unused.local_addr().unwrap().to_string();
    drop(unused);
    let nowhere = Nginx::start(&[&dead]);
    let url = format!("http://127.0.0.1:{}/api/v1/game/rounds", nowhere.port);
    let response = edge.client.get(url).send().await.expect("nginx answers");
    assert_nginx_envelope(response, StatusCode::BAD_GATEWAY, "bad_gateway").await;
}

async fn assert_nginx_envelope(response: Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["Content-Type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body["error"]["code"], code);
}

/// With Redis unreachable the node does not fail open: it counts alone, with the same limits.
#[actix_web::test]
async fn limits_hold_on_each_node_while_redis_is_unreachable() {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    settings.redis.port = unused.local_addr().unwrap().port();
    drop(unused);
    settings.redis.connect_timeout_ms = 200;
    settings.rate_limits.signup_per_ip_per_min = 2;
    let node = &spawn_app_with(settings).await;
    let signup = |name: String| {
        let body = json!({ "username": name, "password": "s3cret-password" });
        async move { node.post_json("/api/v1/auth/signup", None, None, &body).await }
    };
    assert_boundary(2, |_| signup(unique("alone"))).await;
}
