//! WebSocket close codes this server uses.

/// The client closed and the server echoes it.
pub const NORMAL: u16 = 1000;
/// The server is shutting down or draining: reconnect (through the load balancer).
pub const GOING_AWAY: u16 = 1001;
/// A frame broke the protocol's limits (too large, binary).
pub const POLICY_VIOLATION: u16 = 1008;
/// No valid `auth` message in time.
pub const UNAUTHENTICATED: u16 = 4001;
/// No message or pong within the client timeout.
pub const HEARTBEAT_TIMEOUT: u16 = 4002;
/// The socket's token was revoked (the player logged it out, or the operator revoked the player's
/// tokens): log in again before reconnecting.
pub const TOKEN_REVOKED: u16 = 4003;
/// The client did not read its frames fast enough.
pub const SLOW_CONSUMER: u16 = 4008;
/// The client kept sending messages over its rate limit (`rate_limits.ws_messages_per_socket_per_s`)
/// after `rate_limits.ws_rate_limited_messages_max` of them were refused with `rate_limited`.
pub const RATE_LIMITED: u16 = 4029;
/// The client's close frame carried a code no endpoint may send.
pub const PROTOCOL_ERROR: u16 = 1002;

/// Whether an endpoint may put `code` in a close frame (RFC 6455 7.4): the defined codes other than
/// 1004-1006 and 1015, and the ranges for libraries (3000-3999) and applications (4000-4999).
pub fn may_be_sent(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserved_and_unassigned_codes_may_not_be_sent() {
        for code in [999, 1004, 1005, 1006, 1012, 1015, 2999, 5000] {
            assert!(!super::may_be_sent(code), "{code}");
        }
        for code in [1000, 1001, 1008, 1011, 3000, 4008, 4999] {
            assert!(super::may_be_sent(code), "{code}");
        }
    }
}
