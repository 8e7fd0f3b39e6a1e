//! Our generic seamless-wallet protocol: JSON over `POST /rgs/{provider_id}/{operation}` with operations
//! `balance`, `bet`, `win`, `rollback` and `end_round`, amounts in integer micro-units. Every call is
//! signed: `X-Rgs-Timestamp` carries the Unix time in seconds and `X-Rgs-Signature` the hex
//! HMAC-SHA256, keyed with the provider's secret, of `"{timestamp}.{raw body}"`; a call whose timestamp
//! is outside the configured window is refused, so a captured request cannot be replayed later (inside
//! the window, a replay is an exact retry and moves nothing). docs/PROVIDERS.md has examples.

use super::adapter::{AuthFailure, BadCall, ProviderAdapter, Rendered};
use super::model::{Answer, Operation, Status, WalletCall, PROVIDER_ID_LENGTH_MAX};
use crate::catalog::{GameListing, Protocol, ProviderRecord};
use crate::money::AMOUNT_MAX_MICROS;
use actix_web::http::header::HeaderMap;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "x-rgs-signature";
pub const TIMESTAMP_HEADER: &str = "x-rgs-timestamp";

pub struct GenericProtocol;

/// The hex HMAC-SHA256 a provider puts in `X-Rgs-Signature` (also used by our provider simulator).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

impl ProviderAdapter for GenericProtocol {
    fn protocol(&self) -> Protocol {
        Protocol::Generic
    }

    fn operation(&self, path: &str) -> Option<Operation> {
        match path {
            "balance" => Some(Operation::Balance),
            "bet" => Some(Operation::Bet),
            "win" => Some(Operation::Win),
            "rollback" => Some(Operation::Rollback),
            "end_round" => Some(Operation::EndRound),
            _ => None,
        }
    }

    fn authenticate(
        &self,
        provider: &ProviderRecord,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<(), AuthFailure> {
        let secret = provider.secret.as_ref().ok_or(AuthFailure::NoKey)?;
        let signature = header(headers, SIGNATURE_HEADER).ok_or(AuthFailure::MissingSignature)?;
        let timestamp: i64 = header(headers, TIMESTAMP_HEADER)
            .and_then(|text| text.parse().ok())
            .ok_or(AuthFailure::MissingTimestamp)?;
        let signature = hex::decode(signature).map_err(|_| AuthFailure::BadSignature)?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).expect("HMAC takes a key of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // Constant-time comparison: the time taken says nothing about how much of a forgery matched.
        mac.verify_slice(&signature).map_err(|_| AuthFailure::BadSignature)?;
        let skew = now.timestamp().abs_diff(timestamp);
        if skew > window.as_secs() {
            return Err(AuthFailure::StaleTimestamp);
        }
        Ok(())
    }

    fn parse(&self, operation: Operation, body: &[u8]) -> Result<WalletCall, BadCall> {
        let value: Value =
            serde_json::from_slice(body).map_err(|error| BadCall::syntax(format!("not JSON: {error}")))?;
        let Value::Object(fields) = value else {
            return Err(BadCall::syntax("the body must be a JSON object"));
        };
        let fields = Fields(&fields);
        let needs = |operations: &[Operation]| operations.contains(&operation);
        use Operation::{Bet, EndRound, Rollback, Win};
        let call = WalletCall {
            operation,
            player: fields.text("player_id", true)?.expect("required"),
            token: fields.text("token", needs(&[Bet]))?,
            game_code: fields.text("game_code", needs(&[Bet]))?,
            round_id: fields.text("round_id", needs(&[Bet, Win, EndRound]))?,
            transaction_id: fields.text("transaction_id", needs(&[Bet, Win, Rollback]))?,
            reference_id: fields.text("bet_transaction_id", needs(&[Rollback]))?,
            amount_micros: fields.amount("amount", needs(&[Bet, Win]), operation == Bet)?,
            currency: fields.currency("currency", needs(&[Bet, Win]))?,
            free: fields.flag("free_round")?,
            round_closed: fields.flag("round_closed")?,
            request_id: fields.text("request_id", false)?,
        };
        if call.free && operation != Win {
            return Err(BadCall::types("free_round is only for wins"));
        }
        Ok(call)
    }

    fn render(&self, _operation: Operation, call: Option<&WalletCall>, answer: &Answer) -> Rendered {
        let mut body = Map::new();
        body.insert("status".into(), json!(answer.status.code()));
        body.insert("player_id".into(), json!(answer.player));
        if let Some(currency) = &answer.currency {
            body.insert("currency".into(), json!(currency));
        }
        if let Some(balance) = answer.balance_micros {
            body.insert("balance".into(), json!(balance));
        }
        if let Some(transaction_id) = &answer.transaction_id {
            body.insert("transaction_id".into(), json!(transaction_id));
        }
        if let Some(request_id) = call.and_then(|call| call.request_id.as_ref()) {
            body.insert("request_id".into(), json!(request_id));
        }
        if answer.replayed {
            body.insert("replayed".into(), json!(true));
        }
        if answer.status != Status::Ok {
            body.insert(
                "error".into(),
                json!({"code": answer.status.code(), "message": answer.message}),
            );
        }
        Rendered {
            http_status: http_status(answer.status),
            body: Value::Object(body),
        }
    }

    fn parse_game_list(&self, list: &Value) -> Result<Vec<GameListing>, String> {
        let games = list
            .get("games")
            .cloned()
            .ok_or("the game list must be {\"games\": [...]}")?;
        serde_json::from_value(games).map_err(|error| format!("a game in the list is not valid: {error}"))
    }
}

/// The HTTP status of each answer: success is 200; a refusal has the status its cause deserves.
pub fn http_status(status: Status) -> u16 {
    match status {
        Status::Ok => 200,
        Status::WrongSyntax | Status::WrongTypes => 400,
        Status::InvalidSignature | Status::InvalidToken | Status::TokenExpired => 401,
        Status::InvalidPartner | Status::UserDisabled => 403,
        Status::PlayerLimitReached => 422,
        Status::UnknownPlayer | Status::InvalidGame | Status::TransactionDoesNotExist => 404,
        Status::DuplicateTransaction
        | Status::TransactionRolledBack
        | Status::BetAlreadySettled
        | Status::RoundClosed => 409,
        Status::NotEnoughMoney | Status::WrongCurrency | Status::BetLimitExceeded | Status::Unknown => 422,
        Status::Unavailable => 503,
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

/// Typed access to a call's fields, refusing what a provider may not send.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    /// A string of 1 to 128 characters without control characters.
    fn text(&self, name: &str, required: bool) -> Result<Option<String>, BadCall> {
        match self.0.get(name) {
            None | Some(Value::Null) if required => Err(BadCall::syntax(format!("{name} is required"))),
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => {
                let length = text.chars().count();
                if length == 0 || length > PROVIDER_ID_LENGTH_MAX || text.chars().any(char::is_control) {
                    return Err(BadCall::types(format!(
                        "{name} must be 1 to {PROVIDER_ID_LENGTH_MAX} characters without control characters"
                    )));
                }
                Ok(Some(text.clone()))
            }
            Some(_) => Err(BadCall::types(format!("{name} must be a string"))),
        }
    }

    /// A whole number of micro-units, at least 1 when `positive`, else at least 0.
    fn amount(&self, name: &str, required: bool, positive: bool) -> Result<Option<i64>, BadCall> {
        let number = match self.0.get(name) {
            None | Some(Value::Null) if required => return Err(BadCall::syntax(format!("{name} is required"))),
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(number)) => number,
            Some(_) => return Err(BadCall::types(format!("{name} must be a number of micro-units"))),
        };
        let Some(micros) = number.as_i64() else {
            return Err(BadCall::types(format!(
                "{name} must be a whole number of micro-units (1 unit = 1,000,000), at most {AMOUNT_MAX_MICROS}"
            )));
        };
        let least = i64::from(positive);
        if micros < least || micros > AMOUNT_MAX_MICROS {
            return Err(BadCall::types(format!(
                "{name} must be {least} to {AMOUNT_MAX_MICROS} micro-units"
            )));
        }
        Ok(Some(micros))
    }

    /// A currency code: 3 to 8 capital letters (as the ledger's accounts name theirs).
    fn currency(&self, name: &str, required: bool) -> Result<Option<String>, BadCall> {
        let code = self.text(name, required)?;
        if let Some(code) = &code {
            if !(3..=8).contains(&code.len()) || !code.bytes().all(|byte| byte.is_ascii_uppercase()) {
                return Err(BadCall::types(format!(
                    "{name} must be a currency code of 3 to 8 capital letters"
                )));
            }
        }
        Ok(code)
    }

    fn flag(&self, name: &str) -> Result<bool, BadCall> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(BadCall::types(format!("{name} must be true or false"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn provider() -> ProviderRecord {
        ProviderRecord {
            id: "studio".into(),
            name: "Studio".into(),
            protocol: Protocol::Generic,
            secret: Some(SecretString::from("a-provider-secret-of-enough-length")),
            public_key: None,
            launch_url: String::new(),
            currencies: vec!["USD".into()],
            active: true,
        }
    }

    fn signed(body: &[u8], timestamp: i64, secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let signature = sign(secret.as_bytes(), timestamp, body);
        headers.insert(SIGNATURE_HEADER.parse().unwrap(), signature.parse().unwrap());
        headers.insert(
            TIMESTAMP_HEADER.parse().unwrap(),
            timestamp.to_string().parse().unwrap(),
        );
        headers
    }

    #[test]
    fn a_signed_call_passes_and_a_tampered_stale_or_foreign_one_does_not() {
        let protocol = GenericProtocol;
        let now = Utc::now();
        let window = Duration::from_secs(300);
        let body = br#"{"player_id":"p","amount":100}"#;
        let secret = "a-provider-secret-of-enough-length";
        let good = signed(body, now.timestamp(), secret);
        assert_eq!(protocol.authenticate(&provider(), &good, body, now, window), Ok(()));
        let tampered = br#"{"player_id":"p","amount":900}"#;
        assert_eq!(
            protocol.authenticate(&provider(), &good, tampered, now, window),
            Err(AuthFailure::BadSignature)
        );
        let stale = signed(body, now.timestamp() - 301, secret);
        assert_eq!(
            protocol.authenticate(&provider(), &stale, body, now, window),
            Err(AuthFailure::StaleTimestamp)
        );
        let foreign = signed(body, now.timestamp(), "another-secret-entirely-000000");
        assert_eq!(
            protocol.authenticate(&provider(), &foreign, body, now, window),
            Err(AuthFailure::BadSignature)
        );
        assert_eq!(
            protocol.authenticate(&provider(), &HeaderMap::new(), body, now, window),
            Err(AuthFailure::MissingSignature)
        );
    }

    #[test]
    fn amounts_must_be_whole_non_negative_micro_units_and_bets_positive() {
        let protocol = GenericProtocol;
        let bet = |amount: &str| {
            let body = format!(
                r#"{{"player_id":"p","token":"t","game_code":"g","round_id":"r","transaction_id":"x","amount":{amount},"currency":"USD"}}"#
            );
            protocol.parse(Operation::Bet, body.as_bytes())
        };
        assert_eq!(bet("100").unwrap().amount_micros, Some(100));
        for bad in ["0", "-1", "1.5", "1e30", "\"100\"", "1000000000000001"] {
            assert_eq!(bet(bad).unwrap_err().status, Status::WrongTypes, "{bad}");
        }
        let win = br#"{"player_id":"p","round_id":"r","transaction_id":"x","amount":0,"currency":"USD"}"#;
        assert_eq!(protocol.parse(Operation::Win, win).unwrap().amount_micros, Some(0));
    }

    #[test]
    fn required_fields_and_lengths_are_checked() {
        let protocol = GenericProtocol;
        let missing = br#"{"player_id":"p","amount":1,"currency":"USD"}"#;
        assert_eq!(
            protocol.parse(Operation::Bet, missing).unwrap_err().status,
            Status::WrongSyntax
        );
        let long = format!(r#"{{"player_id":"{}"}}"#, "x".repeat(129));
        assert_eq!(
            protocol.parse(Operation::Balance, long.as_bytes()).unwrap_err().status,
            Status::WrongTypes
        );
        let unicode = r#"{"player_id":"игрок-🎰"}"#;
        assert_eq!(
            protocol.parse(Operation::Balance, unicode.as_bytes()).unwrap().player,
            "игрок-🎰"
        );
        assert_eq!(
            protocol.parse(Operation::Balance, b"[1]").unwrap_err().status,
            Status::WrongSyntax
        );
        assert_eq!(
            protocol.parse(Operation::Balance, b"{").unwrap_err().status,
            Status::WrongSyntax
        );
    }
}
