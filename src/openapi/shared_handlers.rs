//! The operations of routes whose handler serves several paths (one closure per game or per provider
//! protocol), described here one path at a time. These functions are never called: the routes run the
//! shared handlers in `api::instant` and `api::rgs`, and the document only needs a place to hang each
//! path's description.
#![allow(dead_code)]

const INSTANT_BODY: &str = "`amount` (integer micro-units) plus the game's options as `GET /api/v1/games/registry` \
lists them";
const INSTANT_OK: &str = "`{\"bet\", \"balance\", \"replayed\"}`: the settled bet (an open game for Mines)";

macro_rules! instant_bet {
    ($name:ident, $path:literal, $summary:literal, $example:expr) => {
        #[utoipa::path(
            post,
            path = $path,
            tag = "instant",
            summary = $summary,
            params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,64}$", description = "the bet's client id: a retry with the same key returns the first result")),
            request_body(content = serde_json::Value, description = INSTANT_BODY, content_type = "application/json", example = $example),
            responses(
                (status = 200, description = INSTANT_OK, body = serde_json::Value, links(
                    ("bet" = (operation_id = "instant_bet", parameters(("bet_id" = "$response.body#/bet/id")), description = "the bet, read back"))
                )),
                (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`, `missing_idempotency_key`, `invalid_idempotency_key`, `invalid_amount`, `invalid_options`", body = crate::error::Envelope),
                (status = 401, description = "`unauthorized`, `token_expired`: no valid player token", body = crate::error::Envelope),
                (status = 403, description = "`forbidden`, `player_blocked`, `self_excluded`", body = crate::error::Envelope),
                (status = 409, description = "`game_open`: finish the open game first", body = crate::error::Envelope),
                (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
                (status = 415, description = "`unsupported_media_type`", body = crate::error::Envelope),
                (status = 422, description = "`insufficient_funds`, `bet_too_small`, `bet_too_large`, a responsible-gaming limit, `idempotency_conflict`", body = crate::error::Envelope),
                (status = 503, description = "`wallet_overloaded`, `ledger_unavailable`, `shutting_down`: retry with the same key", body = crate::error::Envelope),
                (status = "default", description = "Any other failure, in the envelope", body = crate::error::Envelope)
            ),
            security(("player_jwt" = []))
        )]
        pub fn $name() {}
    };
}

instant_bet!(
    dice_roll,
    "/api/v1/dice/roll",
    "Rolls the dice",
    json!({"amount": 1_000_000, "target": 50.5, "direction": "over"})
);
instant_bet!(
    plinko_drop,
    "/api/v1/plinko/drop",
    "Drops a Plinko ball",
    json!({"amount": 1_000_000, "rows": 16, "risk": "high"})
);
instant_bet!(
    mines_bet,
    "/api/v1/mines/bet",
    "Opens a Mines game",
    json!({"amount": 1_000_000, "mines": 3})
);

const PROVIDER_ANSWER: &str = "the protocol's own answer; a refused call (unknown provider or operation, bad \
signature, stale timestamp, disabled provider, malformed call) carries the protocol's status code in its body";

#[utoipa::path(
    post,
    path = "/rgs/{provider_id}/{operation}",
    tag = "providers",
    summary = "Our generic seamless-wallet protocol: balance, bet, win, refund, ...",
    params(
        ("provider_id" = String, Path, description = "the provider as the admin API created it"),
        ("operation" = String, Path, description = "`balance`, `bet`, `win`, `refund`, `rollback`, `end_round`"),
        ("X-Rgs-Timestamp" = String, Header, description = "Unix time in seconds, within the signature window")
    ),
    request_body(content = serde_json::Value, description = "the operation's call, as docs/PROVIDERS.md defines it", content_type = "application/json"),
    responses(
        (status = 200, description = PROVIDER_ANSWER, body = serde_json::Value),
        (status = "4XX", description = PROVIDER_ANSWER, body = serde_json::Value),
        (status = "5XX", description = "the wallet is unavailable: retry", body = serde_json::Value)
    ),
    security(("rgs_signature" = []))
)]
pub fn rgs_call() {}

#[utoipa::path(
    post,
    path = "/hub88/{provider_id}/{operation}",
    tag = "providers",
    summary = "Hub88's operator wallet API: user/info, user/balance, transaction/bet, transaction/win, transaction/rollback",
    params(
        ("provider_id" = String, Path, description = "the provider as the admin API created it"),
        ("operation" = String, Path, description = "Hub88's path, for example `transaction/bet`")
    ),
    request_body(content = serde_json::Value, description = "Hub88's request", content_type = "application/json"),
    responses(
        (status = 200, description = "Hub88's answer, with Hub88's `status` (`RS_OK` or an error status)", body = serde_json::Value),
        (status = "default", description = PROVIDER_ANSWER, body = serde_json::Value)
    ),
    security(("hub88_signature" = []))
)]
pub fn hub88_call() {}

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    summary = "This document",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = serde_json::Value)),
    security(())
)]
pub fn openapi_document() {}

#[utoipa::path(
    get,
    path = "/api/asyncapi.json",
    tag = "operations",
    summary = "The WebSocket protocol of /ws as an AsyncAPI 3.0 document",
    responses((status = 200, description = "the AsyncAPI document", body = serde_json::Value)),
    security(())
)]
pub fn asyncapi_document() {}
