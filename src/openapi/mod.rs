//! The API's contract, generated from the code: the OpenAPI 3.1 document at `GET /api/openapi.json`
//! assembled from every handler's `#[utoipa::path]` and its request types, the WebSocket protocol's
//! AsyncAPI document at `GET /api/asyncapi.json` (see `asyncapi`), and the readable reference at `/docs`
//! (Swagger UI, vendored from npm into `static/vendor/`).
//!
//! A new route gets a `#[utoipa::path(...)]` on its handler and a line in `ApiDoc`'s `paths(...)`; the
//! test `every_route_is_in_the_document` names any route that lacks one.

pub mod asyncapi;
pub mod shared_handlers;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;

/// Where the documents and the reference page are served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
pub const ASYNCAPI_PATH: &str = "/api/asyncapi.json";
pub const DOCS_PATH: &str = "/docs";

/// Node-to-node routes, left out of the public document on purpose (nginx answers 404 for them).
pub const INTERNAL_PREFIX: &str = "/internal/";

const DESCRIPTION: &str = "The HTTP API of game-cluster: players (sign-up, wallet, crash, instant games, slots, \
fairness, history, leaderboards, lobby, shop, limits, referrals), the operator's admin API, Stake Engine's RGS \
protocol and the seamless-wallet callbacks of outside game providers.\n\n\
Money is integer micro-units (1,000,000 = 1.00). Every money-moving call takes an `Idempotency-Key` header; a \
retry with the same key returns the first result. Every failure of our own API is the envelope \
`{\"error\": {\"code\": \"snake_case\", \"message\": \"...\"}}` with the status its operation lists; Stake \
Engine's routes answer `{\"error\": \"ERR_...\", \"message\"}` and providers' callbacks answer in their own \
protocol, as those protocols define.\n\n\
The WebSocket protocol of `GET /ws` is described by the AsyncAPI document at `/api/asyncapi.json`. The \
node-to-node routes under `/internal/` (bets and cashouts forwarded to a room's leader, drains; \
authenticated with the cluster secret, blocked by nginx) are not part of this contract and are left out.";

#[derive(OpenApi)]
#[openapi(
    info(title = "game-cluster", description = DESCRIPTION, license(name = "Proprietary")),
    paths(
        crate::api::health::health,
        crate::api::health::ready,
        crate::api::health::metrics,
        crate::api::game::socket,
        crate::api::auth::signup,
        crate::api::auth::login,
        crate::api::auth::me,
        crate::api::auth::logout,
        crate::api::wallet::balance,
        crate::api::wallet::transactions,
        crate::api::wallet::top_up,
        crate::api::game::state,
        crate::api::game::bet,
        crate::api::game::cashout,
        crate::api::game::rounds,
        crate::api::game::verify,
        crate::api::leaderboard::leaderboard,
        crate::api::lobby::games,
        crate::api::lobby::launch_game,
        crate::api::instant::games,
        crate::api::instant::mines_click,
        crate::api::instant::mines_cashout,
        crate::api::instant::mines_active,
        crate::api::instant::bet,
        crate::api::instant::history,
        crate::api::slots::init,
        crate::api::slots::spin,
        crate::api::slots::bonus_trigger,
        crate::api::slots::round_end,
        crate::api::slots::games,
        crate::api::slots::game,
        crate::api::slots::definition,
        crate::api::slots::rounds,
        crate::api::slots::round,
        crate::api::fair::seeds,
        crate::api::fair::rotate,
        crate::api::fair::verify_any,
        crate::api::shop::list_items,
        crate::api::shop::purchase,
        crate::api::shop::inventory,
        crate::api::limits::get_limits,
        crate::api::limits::put_limit,
        crate::api::limits::self_exclude,
        crate::api::referrals::claim,
        crate::admin::login,
        crate::admin::deposit,
        crate::admin::run_audit,
        crate::admin::tokens::revoke_tokens,
        crate::admin::stats::last_audit,
        crate::admin::cluster::cluster,
        crate::admin::stats::stats,
        crate::admin::rtp::rtp_report,
        crate::admin::stats::rounds,
        crate::admin::cluster::latest_actions,
        crate::admin::cluster::pause,
        crate::admin::cluster::resume,
        crate::admin::cluster::broadcast,
        crate::admin::cluster::drain,
        crate::admin::provider_rounds::open_rounds,
        crate::admin::provider_rounds::close_round,
        crate::admin::catalog::list_providers,
        crate::admin::catalog::create_provider,
        crate::admin::catalog::change_provider,
        crate::admin::catalog::import_games,
        crate::admin::catalog::list_games,
        crate::admin::catalog::create_game,
        crate::admin::catalog::change_game,
        crate::admin::catalog::set_player_status,
        crate::admin::economy::list_items,
        crate::admin::economy::create_item,
        crate::admin::economy::change_item,
        crate::admin::economy::view_treasury,
        crate::admin::economy::fund_treasury,
        crate::admin::bonuses::grant_bonus,
        crate::api::stake::authenticate,
        crate::api::stake::balance,
        crate::api::stake::play,
        crate::api::stake::end_round,
        crate::api::stake::event,
        crate::api::stake::replay,
        crate::api::assets::player_page,
        crate::api::assets::admin_page,
        crate::api::assets::asset,
        shared_handlers::dice_roll,
        shared_handlers::plinko_drop,
        shared_handlers::mines_bet,
        shared_handlers::rgs_call,
        shared_handlers::hub88_call,
        shared_handlers::openapi_document,
        shared_handlers::asyncapi_document,
        crate::api::assets::docs_page,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign-up, log-in and the current player"),
        (name = "wallet", description = "Balance and transfers"),
        (name = "crash", description = "The crash game over REST (the WebSocket is the main way)"),
        (name = "instant", description = "Dice, Plinko and Mines"),
        (name = "slots", description = "The slot engine"),
        (name = "fairness", description = "Seeds, round lists and verification"),
        (name = "history", description = "The player's bets and rounds"),
        (name = "leaderboards", description = "Top players"),
        (name = "lobby", description = "The catalog of games and launching them"),
        (name = "shop", description = "Items bought with the balance"),
        (name = "limits", description = "Responsible gaming"),
        (name = "referrals", description = "Referral codes"),
        (name = "admin", description = "The operator's API (admin token)"),
        (name = "stake-rgs", description = "Stake Engine's RGS protocol (the session id in the body authenticates)"),
        (name = "providers", description = "Outside providers' wallet callbacks (signed as each protocol defines)"),
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "pages", description = "The browser pages and their assets"),
    )
)]
pub struct ApiDoc;

/// The security schemes the operations name: the two bearer tokens and the providers' signatures.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "player_jwt",
            bearer("A player token from POST /api/v1/auth/signup or /api/v1/auth/login"),
        );
        components.add_security_scheme("admin_jwt", bearer("An admin token from POST /api/v1/admin/login"));
        components.add_security_scheme(
            "rgs_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Rgs-Signature",
                "Hex HMAC-SHA256 with the provider's secret over `X-Rgs-Timestamp` (Unix seconds, within the \
                 signature window), a dot and the raw body",
            ))),
        );
        components.add_security_scheme(
            "hub88_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Hub88-Signature",
                "Base64 RSASSA-PKCS1-v1_5 SHA-256 signature of the raw body with the provider's key",
            ))),
        );
    }
}

/// The document as served, rendered once per process.
pub fn openapi_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document always serializes");
        camel_case_link_fields(&mut document);
        serde_json::to_string_pretty(&document).expect("a JSON value always serializes")
    })
}

/// utoipa 5.5 writes a response link's fields as `operation_id`, `operation_ref` and `request_body`; the
/// specification (and every tool reading links, Schemathesis's stateful phase among them) reads them in
/// camelCase.
fn camel_case_link_fields(document: &mut serde_json::Value) {
    let operations = document["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let responses = operation["responses"]
            .as_object_mut()
            .into_iter()
            .flat_map(|all| all.values_mut());
        for response in responses {
            let Some(links) = response.get_mut("links").and_then(|links| links.as_object_mut()) else {
                continue;
            };
            for link in links.values_mut().filter_map(|link| link.as_object_mut()) {
                for (snake, camel) in [
                    ("operation_id", "operationId"),
                    ("operation_ref", "operationRef"),
                    ("request_body", "requestBody"),
                ] {
                    if let Some(value) = link.remove(snake) {
                        link.insert(camel.into(), value);
                    }
                }
            }
        }
    }
}

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route(OPENAPI_PATH, web::get().to(serve_openapi))
        .route(ASYNCAPI_PATH, web::get().to(serve_asyncapi))
        .route(DOCS_PATH, web::get().to(crate::api::assets::docs_page));
}

async fn serve_openapi() -> HttpResponse {
    json_document(openapi_json())
}

async fn serve_asyncapi() -> HttpResponse {
    json_document(asyncapi::asyncapi_json())
}

fn json_document(text: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(text)
}

#[cfg(test)]
mod coverage;
