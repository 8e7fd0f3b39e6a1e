//! The economy's admin API: the item catalog (list, add, change) and the treasury (view, fund). Every
//! change is recorded in the operators' audit trail (see `actions`).

use super::actions::{self, Action};
use crate::api::json::BoundedJson;
use crate::api::{client_idempotency_key, parse_amount};
use crate::auth::extract::AdminUser;
use crate::cluster::NodeInfo;
use crate::configuration::Settings;
use crate::db::Database;
use crate::economy::items::{self, Created, InvalidItem, ItemChange, NewItem};
use crate::economy::treasury;
use crate::error::ApiError;
use crate::wallet::Wallet;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/items", web::get().to(list_items))
        .route("/items", web::post().to(create_item))
        .route("/items/{code}", web::patch().to(change_item))
        .route("/treasury", web::get().to(view_treasury))
        .route("/treasury/fund", web::post().to(fund_treasury));
}

impl From<InvalidItem> for ApiError {
    fn from(error: InvalidItem) -> ApiError {
        ApiError::bad_request(error.code, error.message)
    }
}

/// Writes an operator's change to the audit trail.
async fn record(
    database: &Database,
    node: &NodeInfo,
    admin: &AdminUser,
    action: &'static str,
    target: &str,
    details: Value,
) -> Result<(), ApiError> {
    let action = Action {
        admin: &admin.subject,
        action,
        target,
        details,
        node_id: &node.node_id,
    };
    actions::record(&database.writer, action).await
}

fn unknown_item() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_item", "no item has this code")
}

/// `GET /api/v1/admin/items`: every item, active or not, by code.
#[utoipa::path(
    get,
    path = "/api/v1/admin/items",
    operation_id = "admin_economy_list_items",
    tag = "admin",
    summary = "Every shop item, inactive ones too",
    responses(
        (status = 200, description = "`{\"items\": [...]}`", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn list_items(
    _admin: AdminUser,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let items = items::list(&database.writer, false, settings.shop.items_max).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// `POST /api/v1/admin/items {code, name, price_micros, currency?, active?, per_player_limit?}`
#[utoipa::path(
    post,
    path = "/api/v1/admin/items",
    operation_id = "admin_economy_create_item",
    tag = "admin",
    summary = "Adds a shop item",
    request_body(content = serde_json::Value, description = "{\"code\", \"name\", \"price_micros\", \"stock\", ...}", content_type = "application/json"),
    responses(
        (status = 201, description = "the item", body = serde_json::Value, links(
            ("change" = (operation_id = "admin_economy_change_item", parameters(("code" = "$response.body#/code"))))
        )),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_item`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 409, description = "`item_exists`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn create_item(
    admin: AdminUser,
    body: BoundedJson<NewItem>,
    database: web::Data<Database>,
    node: web::Data<NodeInfo>,
    wallet: web::Data<Wallet>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let item = body.0.validate(wallet.currency())?;
    let items_max = settings.shop.items_max;
    let item = match items::create(&database.writer, &item, items_max).await? {
        Created::Item(item) => item,
        Created::CodeTaken => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "item_exists",
                "an item has this code already",
            ))
        }
        Created::CatalogFull => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "too_many_items",
                format!("the catalog holds at most {items_max} items (shop.items_max)"),
            ))
        }
    };
    let details = json!({
        "name": item.name, "price_micros": item.price_micros, "active": item.active,
        "per_player_limit": item.per_player_limit,
    });
    record(&database, &node, &admin, "create_item", &item.code, details).await?;
    Ok(HttpResponse::Created().json(item))
}

/// `PATCH /api/v1/admin/items/{code} {name?, price_micros?, active?, per_player_limit?}`
#[utoipa::path(
    patch,
    path = "/api/v1/admin/items/{code}",
    operation_id = "admin_economy_change_item",
    tag = "admin",
    summary = "Changes a shop item",
    params(("code" = String, Path, description = "the item code")),
    request_body(content = serde_json::Value, description = "any of {\"name\", \"price_micros\", \"stock\", \"active\", ...}", content_type = "application/json"),
    responses(
        (status = 200, description = "the item", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_item`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`item_not_found`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn change_item(
    admin: AdminUser,
    path: web::Path<String>,
    body: BoundedJson<ItemChange>,
    database: web::Data<Database>,
    node: web::Data<NodeInfo>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    if !items::is_item_code(&code) {
        return Err(unknown_item());
    }
    let change = body.0.validate()?;
    let item = items::update(&database.writer, &code, &change)
        .await?
        .ok_or_else(unknown_item)?;
    record(&database, &node, &admin, "update_item", &item.code, json!(change)).await?;
    Ok(HttpResponse::Ok().json(item))
}

/// `GET /api/v1/admin/treasury`: the root treasury and every pool.
#[utoipa::path(
    get,
    path = "/api/v1/admin/treasury",
    operation_id = "admin_economy_view_treasury",
    tag = "admin",
    summary = "The treasury's balance and flows",
    responses(
        (status = 200, description = "the treasury", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn view_treasury(
    _admin: AdminUser,
    database: web::Data<Database>,
    wallet: web::Data<Wallet>,
) -> Result<HttpResponse, ApiError> {
    let view = treasury::view(&database.writer, &wallet).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct FundBody {
    /// Micro-units (1,000,000 = 1.00), a positive integer.
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64, example = 1_000_000)]
    amount_micros: serde_json::Number,
}

/// `POST /api/v1/admin/treasury/fund {amount_micros}` with `Idempotency-Key`: spread evenly over the
/// pools, the remainder to pool 0.
#[utoipa::path(
    post,
    path = "/api/v1/admin/treasury/fund",
    operation_id = "admin_economy_fund_treasury",
    tag = "admin",
    summary = "Funds the treasury",
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,64}$", description = "1 to 64 printable ASCII characters; a retry with the same key returns the first result")),
    request_body(content = FundBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the transfer", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `missing_idempotency_key`, `invalid_idempotency_key`; `invalid_amount`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 422, description = "`insufficient_funds`, a responsible-gaming limit, `idempotency_conflict`", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn fund_treasury(
    request: HttpRequest,
    admin: AdminUser,
    body: BoundedJson<FundBody>,
    database: web::Data<Database>,
    node: web::Data<NodeInfo>,
    wallet: web::Data<Wallet>,
) -> Result<HttpResponse, ApiError> {
    let client_key = client_idempotency_key(&request)?;
    let amount = parse_amount(&body.0.amount_micros)?;
    let shares = treasury::fund(&wallet, amount, &client_key).await?;
    let replayed = shares.iter().all(|share| share.replayed);
    if !replayed {
        let details = json!({ "amount_micros": amount.micros(), "idempotency_key": client_key.as_str() });
        let target = format!("treasury:{}", wallet.currency().as_str());
        record(&database, &node, &admin, "fund_treasury", &target, details).await?;
    }
    let view = treasury::view(&database.writer, &wallet).await?;
    Ok(HttpResponse::Ok().json(json!({
        "amount_micros": amount.micros(),
        "transfers": shares,
        "replayed": replayed,
        "treasury": view,
    })))
}
