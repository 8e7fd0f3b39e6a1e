//! The WebSocket protocol as an AsyncAPI 3.0 document (placeholder, filled in below).

pub fn asyncapi_json() -> &'static str {
    "{}"
}
