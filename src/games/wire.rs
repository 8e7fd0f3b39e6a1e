//! What every game's server message is on the wire: a JSON text with a `type` field, serialized once so
//! that the same bytes go to every socket, and the one shape of an error.

use bytestring::ByteString;
use serde::Serialize;

/// Serializes a server message once; the bytes can be cloned cheaply into every session's queue.
pub fn encode(message: &impl Serialize) -> ByteString {
    let text = serde_json::to_string(message).expect("server messages always serialize");
    ByteString::from(text)
}

/// `{"type":"error","code":..,"message":..,"request_id":..}`
pub fn error(code: &str, message: &str, request_id: Option<&str>) -> ByteString {
    encode(&serde_json::json!({ "type": "error", "code": code, "message": message, "request_id": request_id }))
}
