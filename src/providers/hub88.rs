//! Hub88's operator wallet API (`/user/info`, `/user/balance`, `/transaction/{bet,win,rollback}`),
//! RSA-SHA256 signed. A placeholder until the adapter lands: it knows no path, so every call is a 404.

use super::adapter::{AuthFailure, BadCall, ProviderAdapter, Rendered};
use super::model::{Answer, Operation, WalletCall};
use crate::catalog::{GameListing, Protocol, ProviderRecord};
use actix_web::http::header::HeaderMap;
use chrono::{DateTime, Utc};
use std::time::Duration;

pub struct Hub88Protocol;

impl ProviderAdapter for Hub88Protocol {
    fn protocol(&self) -> Protocol {
        Protocol::Hub88
    }

    fn operation(&self, _path: &str) -> Option<Operation> {
        None
    }

    fn authenticate(
        &self,
        _provider: &ProviderRecord,
        _headers: &HeaderMap,
        _body: &[u8],
        _now: DateTime<Utc>,
        _window: Duration,
    ) -> Result<(), AuthFailure> {
        Err(AuthFailure::NoKey)
    }

    fn parse(&self, _operation: Operation, _body: &[u8]) -> Result<WalletCall, BadCall> {
        Err(BadCall::syntax("the Hub88 adapter is not there yet"))
    }

    fn render(&self, operation: Operation, call: Option<&WalletCall>, answer: &Answer) -> Rendered {
        super::generic::GenericProtocol.render(operation, call, answer)
    }

    fn parse_game_list(&self, _list: &serde_json::Value) -> Result<Vec<GameListing>, String> {
        Err("the Hub88 adapter is not there yet".into())
    }
}
