//! Rounds outside providers left open, for operators: the list, and the action that closes one (refund
//! or settle) through the provider wallet's own rules.

use super::actions::{self, Action};
use crate::api::error::ApiError;
use crate::api::json::BoundedJson;
use crate::auth::extract::AdminUser;
use crate::cluster::NodeInfo;
use crate::db::Database;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenQuery {
    limit: Option<i64>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    provider_id: String,
    round_id: String,
    player_id: Uuid,
    action: CloseAction,
}

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
