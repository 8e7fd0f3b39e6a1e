//! Outside game providers (issue 16): studios that run their games on their own servers and move the
//! player's money by calling our wallet (a "seamless wallet"). Each protocol is an adapter (`generic`,
//! `hub88`) that turns its wire format into a [`model::WalletCall`]; the rules decide every call against
//! the provider journal and the ledger in one Postgres transaction; `launch` opens the game sessions whose
//! tokens the calls carry. Reference: `../shared/reference/seamless-wallet.md`, docs/PROVIDERS.md.

pub mod adapter;
pub mod generic;
pub mod hub88;
pub mod journal;
pub mod launch;
pub mod model;
pub mod operator;
pub mod rules;
pub mod service;
pub mod sim;

use crate::catalog::Protocol;
use adapter::ProviderAdapter;
use std::sync::Arc;

/// The adapter of a protocol; `None` for our own games, which make no provider calls.
pub fn adapter_for(protocol: Protocol) -> Option<Arc<dyn ProviderAdapter>> {
    match protocol {
        Protocol::House => None,
        Protocol::Generic => Some(Arc::new(generic::GenericProtocol)),
        Protocol::Hub88 => Some(Arc::new(hub88::Hub88Protocol)),
    }
}
