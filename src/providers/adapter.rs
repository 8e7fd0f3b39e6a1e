//! What a provider protocol must supply: how its calls are authenticated and parsed, how our answers are
//! rendered, how its launch URLs are built and how its game list reads. One implementation per protocol
//! (`generic`, `hub88`); the wallet rules never see a wire format.

use super::model::{Answer, Operation, Status, WalletCall};
use crate::catalog::{GameListing, Protocol, ProviderRecord};
use actix_web::http::header::HeaderMap;
use chrono::{DateTime, Utc};
use std::time::Duration;
use uuid::Uuid;

/// An answer in a protocol's wire format.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub http_status: u16,
    pub body: serde_json::Value,
}

/// Why a call is not believed to come from its provider. Nothing is done for such a call; it is logged
/// and counted (`provider_calls_refused_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("the signature header is missing")]
    MissingSignature,
    #[error("the signature does not match the body")]
    BadSignature,
    #[error("the timestamp header is missing or not a number of seconds")]
    MissingTimestamp,
    #[error("the timestamp is outside the accepted window")]
    StaleTimestamp,
    #[error("the provider has no key configured for its protocol")]
    NoKey,
}

impl AuthFailure {
    /// The metric label.
    pub fn reason(self) -> &'static str {
        match self {
            AuthFailure::MissingSignature => "missing_signature",
            AuthFailure::BadSignature => "bad_signature",
            AuthFailure::MissingTimestamp => "missing_timestamp",
            AuthFailure::StaleTimestamp => "stale_timestamp",
            AuthFailure::NoKey => "no_key",
        }
    }
}

/// A body that is not a valid call: answered with `status` (`WrongSyntax` or `WrongTypes`), nothing done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BadCall {
    pub status: Status,
    pub message: String,
}

impl BadCall {
    pub fn syntax(message: impl Into<String>) -> BadCall {
        BadCall {
            status: Status::WrongSyntax,
            message: message.into(),
        }
    }

    pub fn types(message: impl Into<String>) -> BadCall {
        BadCall {
            status: Status::WrongTypes,
            message: message.into(),
        }
    }
}

/// What a launch URL is built from.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    pub session_id: Uuid,
    pub token: &'a str,
    pub game_code: &'a str,
    pub player_id: Uuid,
    pub currency: &'a str,
}

pub trait ProviderAdapter: Send + Sync {
    fn protocol(&self) -> Protocol;

    /// The operation a request path names (the part after `/rgs/{provider}/` or `/hub88/{provider}/`),
    /// or `None` when the protocol has no such path.
    fn operation(&self, path: &str) -> Option<Operation>;

    /// Checks that the raw body was signed by the provider (and, where the protocol carries one, that
    /// its timestamp is within `window` of `now`). Runs before the body is parsed.
    fn authenticate(
        &self,
        provider: &ProviderRecord,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<(), AuthFailure>;

    /// Parses an authenticated body for `operation`. A body of the wrong shape is answered with
    /// `Status::WrongSyntax`, a field of the wrong type or value with `Status::WrongTypes`.
    fn parse(&self, operation: Operation, body: &[u8]) -> Result<WalletCall, BadCall>;

    /// Renders an answer (`call` is `None` when the body could not be parsed).
    fn render(&self, operation: Operation, call: Option<&WalletCall>, answer: &Answer) -> Rendered;

    /// The URL a launched session of one of this provider's games opens.
    fn launch_url(&self, provider: &ProviderRecord, launch: &Launch<'_>) -> String {
        fill_launch_template(&provider.launch_url, launch)
    }

    /// Reads a game list in this protocol's format (an operator imports it into the catalog).
    fn parse_game_list(&self, list: &serde_json::Value) -> Result<Vec<GameListing>, String>;
}

/// Substitutes `{token}`, `{game_code}`, `{player}`, `{currency}` and `{session}` in a launch URL
/// template, percent-encoding each value.
pub fn fill_launch_template(template: &str, launch: &Launch<'_>) -> String {
    template
        .replace("{token}", &percent_encode(launch.token))
        .replace("{game_code}", &percent_encode(launch.game_code))
        .replace("{player}", &launch.player_id.to_string())
        .replace("{currency}", &percent_encode(launch.currency))
        .replace("{session}", &launch.session_id.to_string())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_launch_template_gets_every_value_encoded() {
        let launch = Launch {
            session_id: Uuid::nil(),
            token: "a b&c",
            game_code: "sweet_bonanza",
            player_id: Uuid::nil(),
            currency: "USD",
        };
        let url = fill_launch_template("https://studio.test/play?t={token}&g={game_code}&c={currency}", &launch);
        assert_eq!(url, "https://studio.test/play?t=a%20b%26c&g=sweet_bonanza&c=USD");
    }
}
