//! `POST /api/v1/referrals/claim {"code"}`: a player who signed up without a referral code names one,
//! before their first bet or deposit and within the claim window, once.

use super::json::BoundedJson;
use crate::auth::extract::AuthenticatedPlayer;
use crate::configuration::Settings;
use crate::db::Database;
use crate::economy::referrals::{self, ClaimError, ReferralPolicy};
use crate::error::ApiError;
use crate::wallet::Wallet;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

pub fn configure(config: &mut web::ServiceConfig) {
    config.route("/referrals/claim", web::post().to(claim));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    code: String,
}

impl From<ClaimError> for ApiError {
    fn from(error: ClaimError) -> ApiError {
        let message = error.to_string();
        match error {
            ClaimError::UnknownCode => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_referral_code", message)
            }
            ClaimError::SelfReferral => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "self_referral", message),
            ClaimError::AlreadyClaimed => ApiError::new(StatusCode::CONFLICT, "referral_already_claimed", message),
            ClaimError::TooLate => ApiError::new(StatusCode::CONFLICT, "referral_too_late", message),
            ClaimError::Database(error) => ApiError::internal(error),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/referrals/claim",
    operation_id = "referrals_claim",
    tag = "referrals",
    summary = "Claims a referral code after sign-up",
    request_body(content = ClaimBody, content_type = "application/json"),
    responses(
        (status = 200, description = "`{\"referral\"}`", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 409, description = "`referral_exists`, `referral_too_late`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 422, description = "`unknown_referral_code`, `own_referral_code`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
async fn claim(
    player: AuthenticatedPlayer,
    body: BoundedJson<ClaimBody>,
    database: web::Data<Database>,
    wallet: web::Data<Wallet>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let policy = ReferralPolicy::new(&settings.referral, &settings.bonus);
    let referral = referrals::claim(&database.writer, &wallet, &policy, player.player_id, &body.0.code).await?;
    Ok(HttpResponse::Ok().json(json!({ "referral": referral })))
}
