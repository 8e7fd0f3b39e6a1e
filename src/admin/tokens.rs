//! The operator revokes every token of a player (a stolen device, a compromised account): the player's
//! token version is bumped, every node forgets what it cached of it, and the player's open sockets on
//! every node are closed with 4003. The player logs in again to play.

use super::actions::{self, Action};
use crate::auth::extract::AdminUser;
use crate::auth::revocation::{Revoked, TokenRevocations};
use crate::cluster::push::PlayerPush;
use crate::cluster::NodeInfo;
use crate::db::Database;
use crate::error::ApiError;
use crate::session::players::announce_revocation;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;
use uuid::Uuid;

/// `POST /api/v1/admin/players/{player_id}/revoke-tokens`
#[utoipa::path(
    post,
    path = "/api/v1/admin/players/{player_id}/revoke-tokens",
    operation_id = "admin_tokens_revoke_tokens",
    tag = "admin",
    summary = "Revokes every token of a player and closes their sockets on every node (4003)",
    params(("player_id" = uuid::Uuid, Path, description = "the player")),
    responses(
        (status = 200, description = "`{\"player_id\", \"token_version\", \"revoked\": true}`", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`player_not_found`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn revoke_tokens(
    admin: AdminUser,
    path: web::Path<Uuid>,
    revocations: web::Data<TokenRevocations>,
    push: web::Data<PlayerPush>,
    database: web::Data<Database>,
    node: web::Data<NodeInfo>,
) -> Result<HttpResponse, ApiError> {
    let player_id = path.into_inner();
    let version = revocations
        .revoke_all(player_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "player_not_found", "no player has this id"))?;
    announce_revocation(&push, player_id, Revoked::AllBefore { version });
    actions::record(
        &database.writer,
        Action {
            admin: &admin.subject,
            action: "revoke_tokens",
            target: &player_id.to_string(),
            details: json!({ "token_version": version }),
            node_id: &node.node_id,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "player_id": player_id, "token_version": version, "revoked": true })))
}
