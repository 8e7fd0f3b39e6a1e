//! The WebSocket opening handshake (RFC 6455 section 4.2), by hand: read the request head, answer 101
//! with the accept key. Any path and query is accepted; the swarm's token and room are ignored.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// The longest request head read; the swarm's (with a JWT in the URL) is well under 2 KiB.
const REQUEST_HEAD_BYTES_MAX: usize = 8 * 1024;
/// How long a client may take to send its request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Upgrades `stream`; a request that is not a WebSocket upgrade is answered 400.
pub async fn upgrade(stream: &mut TcpStream) -> Result<(), String> {
    let head = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_head(stream))
        .await
        .map_err(|_| "handshake timed out".to_owned())??;
    let Some(key) = websocket_key(&head) else {
        let _ = stream.write_all(BAD_REQUEST).await;
        return Err("not a WebSocket upgrade".into());
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    stream
        .write_all(response.as_bytes())
        .await
        .map_err(|error| format!("write: {error}"))
}

/// Reads until the blank line that ends the head. The client sends nothing else before the answer.
async fn read_head(stream: &mut TcpStream) -> Result<String, String> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        let read = stream
            .read(&mut chunk)
            .await
            .map_err(|error| format!("read: {error}"))?;
        if read == 0 {
            return Err("closed during the handshake".into());
        }
        head.extend_from_slice(&chunk[..read]);
        if head.len() > REQUEST_HEAD_BYTES_MAX {
            return Err("request head too long".into());
        }
    }
    String::from_utf8(head).map_err(|_| "request head is not UTF-8".into())
}

/// The `Sec-WebSocket-Key` of a `GET` that asks for a WebSocket upgrade.
fn websocket_key(head: &str) -> Option<&str> {
    let mut lines = head.split("\r\n");
    if !lines.next()?.starts_with("GET ") {
        return None;
    }
    let mut key = None;
    let mut upgrade = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("sec-websocket-key") {
            key = Some(value);
        } else if name.eq_ignore_ascii_case("upgrade") {
            upgrade = value.eq_ignore_ascii_case("websocket");
        }
    }
    key.filter(|key| upgrade && !key.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_comes_only_from_a_websocket_get() {
        let request = "GET /ws?room=aviator&token=x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
                       Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        assert_eq!(websocket_key(request), Some("dGhlIHNhbXBsZSBub25jZQ=="));
        assert_eq!(websocket_key(&request.replace("GET", "POST")), None);
        assert_eq!(
            websocket_key(&request.replace("Upgrade: websocket", "Upgrade: h2c")),
            None
        );
        assert_eq!(websocket_key("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"), None);
    }
}
