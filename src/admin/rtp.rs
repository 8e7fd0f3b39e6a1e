//! `GET /api/v1/admin/rtp`: every catalog game's measured return to player over the last hour, day and
//! 30 days, next to its declared RTP and the band its number of rounds allows, flagged when outside it.
//! Read from the RTP rollups on the replica (a report, not a money decision).

use crate::auth::extract::AdminUser;
use crate::catalog::rtp;
use crate::configuration::Settings;
use crate::db::Database;
use crate::error::ApiError;
use actix_web::{web, HttpResponse};

/// `GET /api/v1/admin/rtp`
#[utoipa::path(
    get,
    path = "/api/v1/admin/rtp",
    operation_id = "admin_rtp_rtp_report",
    tag = "admin",
    summary = "Measured return to player by game against its band",
    responses(
        (status = 200, description = "the report", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn rtp_report(
    _admin: AdminUser,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let report = rtp::report(&database.reader, rtp::thresholds(&settings.rtp), chrono::Utc::now())
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(report))
}
