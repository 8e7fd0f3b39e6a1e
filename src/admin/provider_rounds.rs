//! Rounds outside providers left open, for operators: the list, and the action that closes one (refund
//! or settle) through the provider wallet's own rules.

use super::actions::{self, Action};
use crate::api::json::BoundedJson;
use crate::auth::extract::AdminUser;
use crate::cluster::NodeInfo;
use crate::db::Database;
use crate::error::ApiError;
use crate::providers::operator::{self, CloseAction, CloseError, OPEN_ROUNDS_LISTED_MAX};
use crate::providers::service::ProviderWallet;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/provider-rounds/open", web::get().to(open_rounds))
        .route("/provider-rounds/close", web::post().to(close_round));
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OpenQuery {
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/provider-rounds/open",
    operation_id = "admin_provider_rounds_open_rounds",
    tag = "admin",
    summary = "Provider rounds left open past the configured idle time",
    params(OpenQuery),
    responses(
        (status = 200, description = "`{\"open_after_s\", \"rounds\"}`", body = serde_json::Value),
        (status = 400, description = "`invalid_query`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn open_rounds(
    _admin: AdminUser,
    query: web::Query<OpenQuery>,
    database: web::Data<Database>,
    wallet: web::Data<ProviderWallet>,
) -> Result<HttpResponse, ApiError> {
    let idle_s = wallet.settings().open_round_after_s;
    let limit = query.limit.unwrap_or(100).clamp(1, OPEN_ROUNDS_LISTED_MAX);
    let rounds = operator::open_rounds(&database.writer, idle_s, limit)
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(json!({ "open_after_s": idle_s, "rounds": rounds })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    provider_id: String,
    round_id: String,
    player_id: Uuid,
    #[schema(value_type = String)]
    action: CloseAction,
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/provider-rounds/close",
    operation_id = "admin_provider_rounds_close_round",
    tag = "admin",
    summary = "Closes an open provider round by refund or loss",
    request_body(content = CloseBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the closed round", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`round_not_found`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn close_round(
    admin: AdminUser,
    body: BoundedJson<CloseBody>,
    database: web::Data<Database>,
    wallet: web::Data<ProviderWallet>,
    node: web::Data<NodeInfo>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let key = (body.provider_id.as_str(), body.round_id.as_str(), body.player_id);
    let closed = operator::close_round(&wallet, &database.writer, key, body.action)
        .await
        .map_err(|error| match error {
            CloseError::UnknownRound | CloseError::UnknownProvider => {
                ApiError::new(StatusCode::NOT_FOUND, "round_not_found", error.to_string())
            }
            CloseError::AlreadyClosed => ApiError::new(StatusCode::CONFLICT, "round_already_closed", error.to_string()),
            CloseError::Refused(_) => ApiError::new(StatusCode::CONFLICT, "close_refused", error.to_string()),
            CloseError::Database(error) => ApiError::internal(error),
        })?;
    let target = format!("{}:{}", body.provider_id, body.round_id);
    actions::record(
        &database.writer,
        Action {
            admin: &admin.subject,
            action: "close_provider_round",
            target: &target,
            details: json!({ "player_id": body.player_id, "action": body.action }),
            node_id: &node.node_id,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(closed))
}
