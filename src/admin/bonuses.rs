//! `POST /api/v1/admin/players/{id}/bonus {"amount_micros", "wagering_multiplier"?}` with an
//! `Idempotency-Key`: an operator grants bonus money from the player's treasury pool.

use super::actions::{self, Action};
use crate::api::idempotency_key;
use crate::api::json::BoundedJson;
use crate::auth::extract::AdminUser;
use crate::cluster::NodeInfo;
use crate::configuration::{Settings, WAGERING_MULTIPLIER_MAX};
use crate::db::Database;
use crate::economy::bonuses::{self, Grant, GrantError, GrantReason};
use crate::error::ApiError;
use crate::money::Amount;
use crate::players;
use crate::wallet::Wallet;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

pub fn configure(config: &mut web::ServiceConfig) {
    config.route("/players/{player_id}/bonus", web::post().to(grant_bonus));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// Micro-units (1,000,000 = 1.00), a positive integer.
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64, example = 1_000_000)]
    amount_micros: serde_json::Number,
    #[schema(value_type = Option<i64>)]
    wagering_multiplier: Option<serde_json::Number>,
}

/// Parses the optional multiplier: an integer from 1 to [`WAGERING_MULTIPLIER_MAX`].
fn parse_multiplier(number: Option<&serde_json::Number>, default: u32) -> Result<u32, ApiError> {
    let Some(number) = number else { return Ok(default) };
    number
        .as_u64()
        .and_then(|value| u32::try_from(value).ok())
        .filter(|value| (1..=WAGERING_MULTIPLIER_MAX).contains(value))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_wagering_multiplier",
                format!("wagering_multiplier must be an integer from 1 to {WAGERING_MULTIPLIER_MAX}"),
            )
        })
}

#[allow(clippy::too_many_arguments)]
#[utoipa::path(
    post,
    path = "/api/v1/admin/players/{player_id}/bonus",
    operation_id = "admin_bonuses_grant_bonus",
    tag = "admin",
    summary = "Grants a player bonus money with a wagering requirement",
    params(("player_id" = uuid::Uuid, Path, description = "the player"), ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,64}$", description = "1 to 64 printable ASCII characters; a retry with the same key returns the first result")),
    request_body(content = GrantBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the bonus", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `missing_idempotency_key`, `invalid_idempotency_key`; `invalid_amount`, `invalid_wagering_multiplier`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`player_not_found`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 422, description = "`insufficient_funds`, a responsible-gaming limit, `idempotency_conflict`", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
async fn grant_bonus(
    request: HttpRequest,
    admin: AdminUser,
    path: web::Path<Uuid>,
    body: BoundedJson<GrantBody>,
    database: web::Data<Database>,
    wallet: web::Data<Wallet>,
    settings: web::Data<Settings>,
    node: web::Data<NodeInfo>,
) -> Result<HttpResponse, ApiError> {
    let player_id = path.into_inner();
    let key = idempotency_key(&request, &format!("bonus_grant:{player_id}"))?;
    let amount = Amount::parse_json(&body.0.amount_micros)
        .map_err(|error| ApiError::bad_request("invalid_amount", error.to_string()))?;
    let wagering_multiplier =
        parse_multiplier(body.0.wagering_multiplier.as_ref(), settings.bonus.wagering_multiplier)?;
    let player = players::find(&database.writer, player_id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "player_not_found", "no player has this id"))?;
    let grant = Grant {
        player_id,
        player_account: player.account,
        amount,
        wagering_multiplier,
        reason: GrantReason::Admin,
        key,
    };
    let receipt = bonuses::grant(&database.writer, &wallet, &grant)
        .await
        .map_err(|error| match error {
            GrantError::Transfer(error) => ApiError::from(error),
            GrantError::Database(error) => ApiError::internal(error),
        })?;
    if !receipt.replayed {
        let details = json!({
            "amount_micros": amount.micros(),
            "wagering_multiplier": wagering_multiplier,
            "transfer_id": receipt.transfer_id,
        });
        let action = Action {
            admin: &admin.subject,
            action: "bonus_grant",
            target: &player_id.to_string(),
            details,
            node_id: &node.node_id,
        };
        actions::record(&database.writer, action).await?;
    }
    Ok(HttpResponse::Ok().json(json!({
        "transfer_id": receipt.transfer_id,
        "amount_micros": amount.micros(),
        "wagering_multiplier": wagering_multiplier,
        "bonus_micros": receipt.bonus_balance_micros,
        "replayed": receipt.replayed,
    })))
}
