//! The shop as players see it: the active items, buying them with the balance, and the inventory.

use super::idempotency_key;
use super::json::BoundedJson;
use crate::auth::extract::AuthenticatedPlayer;
use crate::configuration::Settings;
use crate::db::Database;
use crate::economy::items;
use crate::economy::purchases::{self, PurchaseError, PurchaseRequest, Refusal};
use crate::error::ApiError;
use crate::wallet::Wallet;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/items", web::get().to(list_items))
        .route("/purchase", web::post().to(purchase))
        .route("/inventory", web::get().to(inventory));
}

/// `GET /api/v1/items`: the items on sale.
#[utoipa::path(
    get,
    path = "/api/v1/items",
    operation_id = "shop_list_items",
    tag = "shop",
    summary = "The shop's items",
    responses(
        (status = 200, description = "`{\"items\": [...]}`", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn list_items(
    _player: AuthenticatedPlayer,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let items = items::list(&database.reader, true, settings.shop.items_max).await?;
    let items: Vec<_> = items
        .iter()
        .map(|item| {
            json!({
                "code": item.code, "name": item.name, "price_micros": item.price_micros,
                "currency": item.currency, "per_player_limit": item.per_player_limit,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PurchaseBody {
    item: String,
    /// Any JSON value, so that a quantity of the wrong type is an `invalid_quantity` like a bad number.
    quantity: serde_json::Value,
}

/// `POST /api/v1/purchase {item, quantity}` with `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/purchase",
    operation_id = "shop_purchase",
    tag = "shop",
    summary = "Buys an item",
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,64}$", description = "1 to 64 printable ASCII characters; a retry with the same key returns the first result")),
    request_body(content = PurchaseBody, content_type = "application/json"),
    responses(
        (status = 201, description = "the receipt", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `missing_idempotency_key`, `invalid_idempotency_key`; `invalid_quantity`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 404, description = "`item_not_found`", body = crate::error::Envelope),
        (status = 409, description = "`out_of_stock`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 422, description = "`insufficient_funds`, a responsible-gaming limit, `idempotency_conflict`", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn purchase(
    request: HttpRequest,
    player: AuthenticatedPlayer,
    body: BoundedJson<PurchaseBody>,
    database: web::Data<Database>,
    wallet: web::Data<Wallet>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&request, &format!("purchase:{}", player.player_id))?;
    let body = body.0;
    let quantity = purchases::parse_quantity(&body.quantity, settings.shop.purchase_quantity_max)
        .map_err(|message| ApiError::bad_request("invalid_quantity", message))?;
    // No item can have a code outside the schema's pattern; this also keeps long strings out of queries.
    if !items::is_item_code(&body.item) {
        return Err(PurchaseError::UnknownItem.into());
    }
    let request = PurchaseRequest {
        player_id: player.player_id,
        account: player.account,
        item_code: body.item,
        quantity,
        key,
    };
    let receipt = purchases::purchase(&database.writer, &wallet, &request).await?;
    Ok(HttpResponse::Created().json(receipt))
}

/// `GET /api/v1/inventory`
#[utoipa::path(
    get,
    path = "/api/v1/inventory",
    operation_id = "shop_inventory",
    tag = "shop",
    summary = "The player's items",
    responses(
        (status = 200, description = "`{\"items\": [...]}`", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn inventory(
    player: AuthenticatedPlayer,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    // The primary, not the replica: the inventory is usually read right after a purchase.
    let lines = purchases::inventory(&database.writer, player.player_id, settings.shop.items_max).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": lines })))
}

impl From<PurchaseError> for ApiError {
    fn from(error: PurchaseError) -> ApiError {
        let message = error.to_string();
        let status_code = |status, code| ApiError::new(status, code, message.clone());
        match error {
            PurchaseError::Refused(Refusal::ItemInactive) => status_code(StatusCode::CONFLICT, "item_inactive"),
            PurchaseError::Refused(Refusal::ItemLimitReached) => {
                status_code(StatusCode::CONFLICT, "item_limit_reached")
            }
            PurchaseError::Refused(refusal) => status_code(StatusCode::UNPROCESSABLE_ENTITY, refusal.as_str()),
            PurchaseError::IdempotencyConflict => status_code(StatusCode::CONFLICT, "idempotency_conflict"),
            PurchaseError::UnknownItem => status_code(StatusCode::NOT_FOUND, "unknown_item"),
            PurchaseError::UnknownPlayer => ApiError::unauthorized(message),
            PurchaseError::PlayerBlocked => status_code(StatusCode::FORBIDDEN, "player_blocked"),
            PurchaseError::SelfExcluded(_) => status_code(StatusCode::FORBIDDEN, "self_excluded"),
            PurchaseError::Ledger(error) => error.into(),
            PurchaseError::Database(error) => ApiError::internal(error),
        }
    }
}
