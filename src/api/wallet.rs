//! The player's wallet: balance, transaction history and (in development) self-service top-ups.

use super::json::BoundedJson;
use super::{idempotency_key, parse_amount};
use crate::auth::extract::AuthenticatedPlayer;
use crate::configuration::Settings;
use crate::db::Database;
use crate::economy::bonuses;
use crate::economy::referrals::{self, ReferralPolicy};
use crate::error::ApiError;
use crate::money::Balance;
use crate::wallet::history::{self, HISTORY_PAGE_SIZE_MAX};
use crate::wallet::ledger::TransferKind;
use crate::wallet::Wallet;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// Policy for development top-ups, from `[wallet]`.
#[derive(Debug, Clone, Copy)]
pub struct TopUpPolicy {
    pub max_micros: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/wallet/balance",
    operation_id = "wallet_balance",
    tag = "wallet",
    summary = "Cash and bonus balance",
    responses(
        (status = 200, description = "the balance in micro-units", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
pub async fn balance(
    player: AuthenticatedPlayer,
    database: web::Data<Database>,
    wallet: web::Data<Wallet>,
) -> Result<HttpResponse, ApiError> {
    // The primary, not the replica: a balance is usually read right before a bet.
    let money = bonuses::money_view(&database.writer, player.account)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account of this token no longer exists"))?;
    // `balance` stays the cash balance (as before bonus money existed); stakes may also use bonus money.
    Ok(HttpResponse::Ok().json(json!({
        "balance": Balance::from_micros(money.cash_micros),
        "currency": wallet.currency(),
        "cash_micros": money.cash_micros,
        "bonus_micros": money.bonus_micros,
        "wagering": money.wagering,
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    limit: Option<u32>,
    before: Option<Uuid>,
}

#[utoipa::path(
    get,
    path = "/api/v1/wallet/transactions",
    operation_id = "wallet_transactions",
    tag = "wallet",
    summary = "The player's transfers, newest first",
    params(HistoryQuery),
    responses(
        (status = 200, description = "one page", body = serde_json::Value),
        (status = 400, description = "`invalid_query`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
pub async fn transactions(
    player: AuthenticatedPlayer,
    query: web::Query<HistoryQuery>,
    database: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=HISTORY_PAGE_SIZE_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {HISTORY_PAGE_SIZE_MAX}"),
        ));
    }
    let page = history::transactions(&database.reader, player.account, query.before, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpBody {
    /// Micro-units (1,000,000 = 1.00), a positive integer.
    #[schema(value_type = i64, minimum = 1, maximum = 1_000_000_000_000_000_i64, example = 1_000_000)]
    amount: serde_json::Number,
}

#[utoipa::path(
    post,
    path = "/api/v1/wallet/top-up",
    operation_id = "wallet_top_up",
    tag = "wallet",
    summary = "Self-service top-up (development and test clusters only)",
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,64}$", description = "1 to 64 printable ASCII characters; a retry with the same key returns the first result")),
    request_body(content = TopUpBody, content_type = "application/json"),
    responses(
        (status = 200, description = "the transfer", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `missing_idempotency_key`, `invalid_idempotency_key`; `invalid_amount`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not a player token", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 422, description = "`top_up_limit_exceeded`, `idempotency_conflict`", body = crate::error::Envelope),
        (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("player_jwt" = []))
)]
pub async fn top_up(
    request: HttpRequest,
    player: AuthenticatedPlayer,
    body: BoundedJson<TopUpBody>,
    wallet: web::Data<Wallet>,
    policy: web::Data<TopUpPolicy>,
    database: web::Data<Database>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&request, &format!("top_up:{}", player.player_id))?;
    let amount = parse_amount(&body.0.amount)?;
    if amount.micros() > policy.max_micros {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "top_up_limit_exceeded",
            format!("a top-up may add at most {} micro-units", policy.max_micros),
        ));
    }
    let receipt = wallet
        .credit_from_treasury(
            player.account,
            amount,
            TransferKind::TopUp,
            key,
            "self-service top-up".into(),
        )
        .await?;
    let referral_policy = ReferralPolicy::new(&settings.referral, &settings.bonus);
    referrals::on_deposit(&database.writer, &wallet, &referral_policy, player.player_id).await;
    Ok(HttpResponse::Ok().json(json!({
        "transfer_id": receipt.transfer_id,
        "amount": amount,
        "balance": receipt.credit_balance_after,
        "replayed": receipt.replayed,
    })))
}
