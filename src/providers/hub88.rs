//! Hub88's operator wallet API, so that a studio already integrated with it calls our wallet unchanged:
//! `POST /hub88/{provider_id}/{user/info|user/balance|transaction/bet|transaction/win|transaction/rollback}`.
//!
//! What Hub88 publishes (docs.hub88.io/developer-docs/operator-api-reference/wallet-api, its `RS_*` page
//! .../supplier-api-reference/supplier-api-overview/seamless-wallet-response-statuses-supplier-api, the
//! signing section of .../supplier-api-reference/supplier-api-overview):
//! - Signing: `X-Hub88-Signature` = base64 of RSASSA-PKCS1-v1_5 with SHA-256 over the raw body, made with
//!   the caller's private key; we verify with the PEM public key in the provider's row. There is no
//!   timestamp: a replayed call is an exact retry of its transaction and moves nothing.
//! - Every answer is HTTP 200 with `status` = an `RS_*` code and echoes `user` and `request_uuid`.
//! - `/user/info` {user, request_uuid} -> {user, status, request_uuid, and what the operator knows:
//!   country, jurisdiction, sub_partner_id, birth_date, registration_date, tags, sex, affiliate_id}.
//! - `/user/balance` {user, request_uuid, token, game_code} -> {user, status, request_uuid, currency, balance}.
//! - `/transaction/bet` {user, transaction_uuid, supplier_transaction_id, token, supplier_user,
//!   round_closed: bool, round, reward_uuid, request_uuid, is_free: bool, is_aggregated: bool, game_code,
//!   currency, bet, amount: integer, meta} -> {user, status, request_uuid, currency, balance}.
//! - `/transaction/win`: the bet's fields plus `reference_transaction_uuid` (the bet it pays) -> same answer.
//! - `/transaction/rollback` {user, transaction_uuid, supplier_transaction_id, token, round_closed, round,
//!   request_uuid, reference_transaction_uuid (the bet it takes back), game_code, meta} -> same answer.
//! - `amount` and `balance` are integers of 1/100,000 of a unit (our micro-units are 1/1,000,000: we read
//!   `amount * 10` and answer `balance / 10`, rounded down). `transaction_uuid` is the idempotency key
//!   (kept at least 4 months); `RS_ERROR_NOT_ENOUGH_MONEY` carries the real balance.
//!
//! We read what the rules need and ignore the rest (`supplier_*`, `reward_uuid`, `is_aggregated`, `bet`,
//! `meta`). Not supported: free bets (`is_free` on a bet, which Hub88 means to be paid by a reward rather
//! than the player) are refused with `RS_ERROR_WRONG_TYPES`; `is_free` wins (free rounds, promotions) are.
//! The game list format is read in [`game_list`].

mod game_list;

use super::adapter::{AuthFailure, BadCall, ProviderAdapter, Rendered};
use super::model::{Answer, Operation, Status, WalletCall, PROVIDER_ID_LENGTH_MAX};
use crate::catalog::{GameListing, Protocol, ProviderRecord};
use crate::money::AMOUNT_MAX_MICROS;
use actix_web::http::header::HeaderMap;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::{DateTime, Utc};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Map, Value};
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "x-hub88-signature";
/// Micro-units in one Hub88 amount unit (Hub88 counts 100,000 per unit, we count 1,000,000).
pub const MICROS_PER_HUB88_AMOUNT: i64 = 10;
/// The largest Hub88 `amount` we take: our own limit on one movement, in Hub88's units.
pub const HUB88_AMOUNT_MAX: i64 = AMOUNT_MAX_MICROS / MICROS_PER_HUB88_AMOUNT;
/// The longest `X-Hub88-Signature` we decode (a 4096-bit key's signature is 684 base64 characters).
const SIGNATURE_LENGTH_MAX: usize = 2048;

pub struct Hub88Protocol;

/// Signs request bodies the way a Hub88 caller does (our tests and the provider simulator use it).
pub struct Hub88Signer(SigningKey<Sha256>);

impl Hub88Signer {
    /// From a PEM private key, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Hub88Signer, String> {
        let pem = pem.trim();
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|error| format!("not an RSA private key in PEM: {error}"))?;
        Ok(Hub88Signer(SigningKey::new(key)))
    }

    /// The `X-Hub88-Signature` value for `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        BASE64.encode(self.0.sign(body).to_bytes())
    }
}

/// A provider's PEM public key, SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC
/// KEY`); `None` when it is neither.
pub fn verifying_key(pem: &str) -> Option<VerifyingKey<Sha256>> {
    let pem = pem.trim();
    let key = RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .ok()?;
    Some(VerifyingKey::new(key))
}

/// Checks a base64 `X-Hub88-Signature` against the raw body.
pub fn verify(key: &VerifyingKey<Sha256>, signature_base64: &str, body: &[u8]) -> Result<(), AuthFailure> {
    if signature_base64.len() > SIGNATURE_LENGTH_MAX {
        return Err(AuthFailure::BadSignature);
    }
    let bytes = BASE64
        .decode(signature_base64.trim())
        .map_err(|_| AuthFailure::BadSignature)?;
    let signature = Signature::try_from(bytes.as_slice()).map_err(|_| AuthFailure::BadSignature)?;
    key.verify(body, &signature).map_err(|_| AuthFailure::BadSignature)
}

/// A Hub88 `amount` in micro-units: a whole number, at least 1 for a bet (`positive`) and 0 for a win,
/// at most [`HUB88_AMOUNT_MAX`].
pub fn micros_from_hub88(amount: i64, positive: bool) -> Option<i64> {
    let least = i64::from(positive);
    (least..=HUB88_AMOUNT_MAX)
        .contains(&amount)
        .then(|| amount * MICROS_PER_HUB88_AMOUNT)
}

/// A balance in Hub88's units, rounded down (a player is never shown money they cannot bet).
pub fn hub88_from_micros(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_HUB88_AMOUNT)
}

/// The `RS_*` code of each status (model.rs documents the equivalences).
pub fn rs_code(status: Status) -> &'static str {
    match status {
        Status::Ok => "RS_OK",
        Status::Unknown | Status::RoundClosed | Status::BetAlreadySettled | Status::Unavailable => "RS_ERROR_UNKNOWN",
        Status::InvalidPartner => "RS_ERROR_INVALID_PARTNER",
        Status::InvalidToken | Status::UnknownPlayer => "RS_ERROR_INVALID_TOKEN",
        Status::InvalidGame => "RS_ERROR_INVALID_GAME",
        Status::WrongCurrency => "RS_ERROR_WRONG_CURRENCY",
        Status::NotEnoughMoney => "RS_ERROR_NOT_ENOUGH_MONEY",
        Status::UserDisabled | Status::PlayerLimitReached => "RS_ERROR_USER_DISABLED",
        Status::InvalidSignature => "RS_ERROR_INVALID_SIGNATURE",
        Status::TokenExpired => "RS_ERROR_TOKEN_EXPIRED",
        Status::WrongSyntax => "RS_ERROR_WRONG_SYNTAX",
        Status::WrongTypes => "RS_ERROR_WRONG_TYPES",
        Status::DuplicateTransaction => "RS_ERROR_DUPLICATE_TRANSACTION",
        Status::TransactionDoesNotExist => "RS_ERROR_TRANSACTION_DOES_NOT_EXIST",
        Status::TransactionRolledBack => "RS_ERROR_TRANSACTION_ROLLED_BACK",
        Status::BetLimitExceeded => "RS_ERROR_BET_LIMIT_EXCEEDED",
    }
}

impl ProviderAdapter for Hub88Protocol {
    fn protocol(&self) -> Protocol {
        Protocol::Hub88
    }

    fn operation(&self, path: &str) -> Option<Operation> {
        match path.trim_matches('/') {
            "user/info" => Some(Operation::UserInfo),
            "user/balance" => Some(Operation::Balance),
            "transaction/bet" => Some(Operation::Bet),
            "transaction/win" => Some(Operation::Win),
            "transaction/rollback" => Some(Operation::Rollback),
            _ => None,
        }
    }

    /// Hub88 signs without a timestamp, so `now` and `window` play no part.
    fn authenticate(
        &self,
        provider: &ProviderRecord,
        headers: &HeaderMap,
        body: &[u8],
        _now: DateTime<Utc>,
        _window: Duration,
    ) -> Result<(), AuthFailure> {
        let key = provider
            .public_key
            .as_deref()
            .and_then(verifying_key)
            .ok_or(AuthFailure::NoKey)?;
        let signature = headers
            .get(SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|value| !value.trim().is_empty())
            .ok_or(AuthFailure::MissingSignature)?;
        verify(&key, signature, body)
    }

    fn parse(&self, operation: Operation, body: &[u8]) -> Result<WalletCall, BadCall> {
        let value: Value =
            serde_json::from_slice(body).map_err(|error| BadCall::syntax(format!("not JSON: {error}")))?;
        let Value::Object(fields) = value else {
            return Err(BadCall::syntax("the body must be a JSON object"));
        };
        let fields = Fields(&fields);
        use Operation::{Bet, Rollback, Win};
        let needs = |operations: &[Operation]| operations.contains(&operation);
        let free = needs(&[Bet, Win]) && fields.flag("is_free")?;
        if free && operation == Bet {
            return Err(BadCall::types(
                "free bets (is_free on a bet) are not supported; free rounds and promotions are paid as is_free wins",
            ));
        }
        Ok(WalletCall {
            operation,
            player: fields.required("user")?,
            token: fields.text("token", needs(&[Bet]))?,
            game_code: fields.text("game_code", needs(&[Bet]))?,
            round_id: fields.text("round", needs(&[Bet]))?,
            transaction_id: fields.text("transaction_uuid", needs(&[Bet, Win, Rollback]))?,
            reference_id: fields.text("reference_transaction_uuid", needs(&[Win, Rollback]))?,
            amount_micros: match operation {
                Bet | Win => Some(fields.amount("amount", operation == Bet)?),
                _ => None,
            },
            currency: match operation {
                Bet | Win => Some(fields.currency("currency")?),
                _ => None,
            },
            free,
            round_closed: fields.flag("round_closed")?,
            request_id: fields.text("request_uuid", true)?,
        })
    }

    /// Always HTTP 200: Hub88 reads the outcome from `status`.
    fn render(&self, operation: Operation, call: Option<&WalletCall>, answer: &Answer) -> Rendered {
        let mut body = Map::new();
        if !answer.player.is_empty() {
            body.insert("user".into(), json!(answer.player));
        }
        body.insert("status".into(), json!(rs_code(answer.status)));
        if let Some(request_uuid) = call.and_then(|call| call.request_id.as_ref()) {
            body.insert("request_uuid".into(), json!(request_uuid));
        }
        if operation == Operation::UserInfo {
            if let Some(info) = &answer.info {
                let registered = info.registered_at.date_naive().format("%Y-%m-%d").to_string();
                body.insert("registration_date".into(), json!(registered));
            }
        } else {
            if let Some(currency) = &answer.currency {
                body.insert("currency".into(), json!(currency));
            }
            if let Some(balance) = answer.balance_micros {
                body.insert("balance".into(), json!(hub88_from_micros(balance)));
            }
        }
        Rendered {
            http_status: 200,
            body: Value::Object(body),
        }
    }

    fn parse_game_list(&self, list: &Value) -> Result<Vec<GameListing>, String> {
        game_list::parse(list)
    }
}

/// Typed access to a call's fields, refusing what Hub88 may not send.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    /// A string of 1 to 128 characters without control characters (the journal's limit on ids).
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

    fn required(&self, name: &str) -> Result<String, BadCall> {
        self.text(name, true)?
            .ok_or_else(|| BadCall::syntax(format!("{name} is required")))
    }

    /// A required Hub88 amount (integer, 1/100,000 of a unit), returned in micro-units.
    fn amount(&self, name: &str, positive: bool) -> Result<i64, BadCall> {
        let number = match self.0.get(name) {
            None | Some(Value::Null) => return Err(BadCall::syntax(format!("{name} is required"))),
            Some(Value::Number(number)) => number,
            Some(_) => return Err(BadCall::types(format!("{name} must be an integer"))),
        };
        let least = i64::from(positive);
        number
            .as_i64()
            .and_then(|amount| micros_from_hub88(amount, positive))
            .ok_or_else(|| {
                BadCall::types(format!(
                    "{name} must be a whole number of 1/100,000 units from {least} to {HUB88_AMOUNT_MAX}"
                ))
            })
    }

    /// A required currency code: 3 to 8 capital letters (whether it is the player's is the rules' call).
    fn currency(&self, name: &str) -> Result<String, BadCall> {
        let currency = self.required(name)?;
        if !(3..=8).contains(&currency.len()) || !currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
            return Err(BadCall::types(format!(
                "{name} must be a currency code of 3 to 8 capital letters"
            )));
        }
        Ok(currency)
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
mod tests;
