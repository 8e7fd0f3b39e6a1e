//! The player's wallet: balance, transaction history and (in development) self-service top-ups.

use super::error::ApiError;
use super::json::BoundedJson;
use super::{idempotency_key, parse_amount};
use crate::auth::extract::AuthenticatedPlayer;
use crate::configuration::Settings;
use crate::db::Database;
use crate::economy::bonuses;
use crate::economy::referrals::{self, ReferralPolicy};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    limit: Option<u32>,
    before: Option<Uuid>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpBody {
    amount: serde_json::Number,
}

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
