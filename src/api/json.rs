//! A JSON body extractor with explicit limits: body size, nesting depth, content type. Its failures use
//! the error envelope, so a client always learns what was wrong with its request.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

/// Limits for JSON bodies, registered as app data by the application.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimits {
    pub body_bytes_max: usize,
    pub depth_max: u32,
}

/// A deserialized JSON body that respected `JsonLimits`.
pub struct BoundedJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for BoundedJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limits = request
            .app_data::<web::Data<JsonLimits>>()
            .map(|data| *data.get_ref())
            .unwrap_or(JsonLimits {
                body_bytes_max: 16 * 1024,
                depth_max: 16,
            });
        let content_type_ok = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim_start().to_ascii_lowercase().starts_with("application/json"));
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "the body must be JSON with Content-Type: application/json",
                ));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|_| ApiError::bad_request("invalid_body", "the request body could not be read"))?;
                if body.len() + chunk.len() > limits.body_bytes_max {
                    return Err(too_large(limits.body_bytes_max));
                }
                body.extend_from_slice(&chunk);
            }
            parse_bounded(&body, limits.depth_max).map(BoundedJson)
        })
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body must not exceed {limit} bytes"),
    )
}

/// Checks the nesting depth before deserializing, so deep documents cost nothing to refuse.
pub fn parse_bounded<T: DeserializeOwned>(body: &[u8], depth_max: u32) -> Result<T, ApiError> {
    if json_depth(body) > depth_max {
        return Err(ApiError::bad_request(
            "json_too_deep",
            format!("JSON nesting must not exceed {depth_max} levels"),
        ));
    }
    if has_nul_character(body) {
        return Err(ApiError::bad_request("invalid_request", NUL_IN_STRING));
    }
    serde_json::from_slice(body).map_err(|error| {
        let code = match error.classify() {
            serde_json::error::Category::Data => "invalid_request",
            _ => "invalid_json",
        };
        ApiError::bad_request(code, format!("the request body is not valid: {error}"))
    })
}

/// Why a body with `\u0000` in a string is refused: no text column can store it, so it could only fail later.
pub const NUL_IN_STRING: &str = "strings must not contain the NUL character (\\u0000)";

/// Whether a JSON text's strings hold a NUL character: a `\u0000` escape that is not itself escaped (a raw
/// NUL byte is not valid JSON and fails parsing anyway).
pub fn has_nul_character(body: &[u8]) -> bool {
    const ESCAPE: &[u8] = b"u0000";
    let mut backslashes = 0usize;
    for (index, &byte) in body.iter().enumerate() {
        if byte == b'\\' {
            backslashes += 1;
            continue;
        }
        let escaping = backslashes % 2 == 1;
        backslashes = 0;
        if escaping && body[index..].starts_with(ESCAPE) {
            return true;
        }
    }
    false
}

/// Reads an already parsed JSON value into a request type, with the same error codes as a body.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(value)
        .map_err(|error| ApiError::bad_request("invalid_request", format!("the request body is not valid: {error}")))
}

/// The deepest nesting of arrays and objects in a JSON text, ignoring brackets inside strings.
pub fn json_depth(body: &[u8]) -> u32 {
    let (mut depth, mut deepest) = (0u32, 0u32);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in body {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A body that may be empty (`None`); otherwise it must be bounded JSON of type `T`, with the usual errors.
pub async fn optional_body<T: DeserializeOwned + 'static>(
    request: &actix_web::HttpRequest,
    body: actix_web::web::Bytes,
) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let mut payload = actix_web::dev::Payload::from(body);
    let BoundedJson(parsed) = BoundedJson::<T>::from_request(request, &mut payload).await?;
    Ok(Some(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_brackets_inside_strings() {
        assert_eq!(json_depth(br#"{"a":"[[[{{{"}"#), 1);
        assert_eq!(json_depth(br#"{"a":"\"[["}"#), 1);
        assert_eq!(json_depth(br#"[[[]]]"#), 3);
        assert_eq!(json_depth(b"42"), 0);
    }

    #[test]
    fn deep_documents_are_refused_before_parsing() {
        let deep = "[".repeat(40) + &"]".repeat(40);
        let error = parse_bounded::<serde_json::Value>(deep.as_bytes(), 16).unwrap_err();
        assert_eq!(error.code, "json_too_deep");
    }

    #[test]
    fn syntax_and_data_errors_have_distinct_codes() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            name: String,
        }
        assert_eq!(parse_bounded::<Body>(b"{", 16).unwrap_err().code, "invalid_json");
        assert_eq!(
            parse_bounded::<Body>(br#"{"name":"a\u0000b"}"#, 16).unwrap_err().code,
            "invalid_request"
        );
        assert!(parse_bounded::<Body>(br#"{"name":"a\\u0000b"}"#, 16).is_ok());
        assert_eq!(
            parse_bounded::<Body>(br#"{"name":1}"#, 16).unwrap_err().code,
            "invalid_request"
        );
        assert_eq!(
            parse_bounded::<Body>(br#"{"name":"a","x":1}"#, 16).unwrap_err().code,
            "invalid_request"
        );
    }
}
