//! `GET /api/v1/admin/rtp`: every catalog game's measured return to player over the last hour, day and
//! 30 days, next to its declared RTP and the band its number of rounds allows, flagged when outside it.
//! Read from the RTP rollups on the replica (a report, not a money decision).

use crate::api::error::ApiError;
use crate::auth::extract::AdminUser;
use crate::catalog::rtp;
use crate::configuration::Settings;
use crate::db::Database;
use actix_web::{web, HttpResponse};

/// `GET /api/v1/admin/rtp`
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
