//! `POST /api/v1/referrals/claim {"code"}`: a player who signed up without a referral code names one,
//! before their first bet or deposit and within the claim window, once.

use super::error::ApiError;
use super::json::BoundedJson;
use crate::auth::extract::AuthenticatedPlayer;
use crate::configuration::Settings;
use crate::db::Database;
use crate::economy::referrals::{self, ClaimError, ReferralPolicy};
use crate::wallet::Wallet;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

pub fn configure(config: &mut web::ServiceConfig) {
    config.route("/referrals/claim", web::post().to(claim));
}

#[derive(Deserialize)]
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
