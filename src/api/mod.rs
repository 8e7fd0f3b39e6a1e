//! The HTTP API: routes, extractors, the error envelope and the handlers of each feature.

pub mod assets;
pub mod auth;
pub mod error;
pub mod fair;
pub mod game;
pub mod headers;
pub mod health;
pub mod instant;
pub mod internal;
pub mod json;
pub mod leaderboard;
pub mod limits;
pub mod lobby;
pub mod middleware;
pub mod rate_limit;
pub mod referrals;
pub mod rgs;
pub mod shop;
pub mod slots;
pub mod stake;
pub mod wallet;

use crate::error::ApiError;
use crate::wallet::ledger::{IdempotencyKey, IDEMPOTENCY_KEY_LENGTH_MAX};
use actix_web::{web, HttpRequest};

/// The longest `Idempotency-Key` a client may send; the server prefixes it with its scope.
pub const CLIENT_IDEMPOTENCY_KEY_LENGTH_MAX: usize = 64;

/// Registers every route of the public API, and under `/api/v1` the admin API's routes as the caller
/// passes them (the admin API builds on this module, so this module does not name it).
pub fn configure(config: &mut web::ServiceConfig, dev_top_up_enabled: bool, admin_routes: fn(&mut web::ServiceConfig)) {
    config
        .route("/health", web::get().to(health::health))
        .route("/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(health::metrics))
        .route("/ws", web::get().to(game::socket))
        .configure(assets::configure)
        .configure(internal::configure)
        // Stake Engine's RGS protocol lives at the root, where its clients put their paths.
        .configure(stake::configure)
        // Outside game providers call the wallet here (their own protocols, their own signatures).
        .configure(rgs::configure)
        .service(
            web::scope("/api/v1")
                .route("/auth/signup", web::post().to(auth::signup))
                .route("/auth/login", web::post().to(auth::login))
                .route("/auth/logout", web::post().to(auth::logout))
                .route("/me", web::get().to(auth::me))
                .route("/wallet/balance", web::get().to(wallet::balance))
                .route("/wallet/transactions", web::get().to(wallet::transactions))
                .route("/game/state", web::get().to(game::state))
                .route("/game/bet", web::post().to(game::bet))
                .route("/game/cashout", web::post().to(game::cashout))
                .route("/game/rounds", web::get().to(game::rounds))
                .route("/game/verify", web::post().to(game::verify))
                .route("/leaderboard", web::get().to(leaderboard::leaderboard))
                .configure(lobby::configure)
                .configure(instant::configure)
                .configure(slots::configure)
                .configure(fair::configure)
                .configure(shop::configure)
                .configure(limits::configure)
                .configure(referrals::configure)
                .configure(|scope| {
                    // The route only exists where free money is allowed: never in production.
                    if dev_top_up_enabled {
                        scope.route("/wallet/top-up", web::post().to(wallet::top_up));
                    }
                })
                .configure(admin_routes),
        );
}

/// Reads the `Idempotency-Key` header that every money-moving REST call requires, scoped by `scope` so
/// that keys of different players or endpoints never collide.
pub fn idempotency_key(request: &HttpRequest, scope: &str) -> Result<IdempotencyKey, ApiError> {
    let client_key = client_idempotency_key(request)?;
    debug_assert!(scope.len() + 1 + CLIENT_IDEMPOTENCY_KEY_LENGTH_MAX <= IDEMPOTENCY_KEY_LENGTH_MAX);
    IdempotencyKey::scoped(scope, &client_key)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("a scoped key is too long")))
}

/// The client's own `Idempotency-Key`, unscoped (for records that are already scoped by their player).
pub fn client_idempotency_key(request: &HttpRequest) -> Result<IdempotencyKey, ApiError> {
    let value = request.headers().get("Idempotency-Key").ok_or_else(|| {
        ApiError::bad_request(
            "missing_idempotency_key",
            "this call requires an Idempotency-Key header",
        )
    })?;
    let invalid = || {
        ApiError::bad_request(
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {CLIENT_IDEMPOTENCY_KEY_LENGTH_MAX} printable ASCII characters"),
        )
    };
    let text = value.to_str().map_err(|_| invalid())?;
    if text.len() > CLIENT_IDEMPOTENCY_KEY_LENGTH_MAX {
        return Err(invalid());
    }
    IdempotencyKey::parse(text).map_err(|_| invalid())
}

/// Parses a JSON amount at the edge, answering `invalid_amount` for anything but a positive integer.
pub fn parse_amount(number: &serde_json::Number) -> Result<crate::money::Amount, ApiError> {
    crate::money::Amount::parse_json(number).map_err(|error| ApiError::bad_request("invalid_amount", error.to_string()))
}
