//! The cluster as the dashboard shows it (nodes from the registry, Redis as the Sentinels see it,
//! Postgres, every room) and the operator controls: pause and resume betting in a room, broadcast a
//! maintenance message, drain a node. Every control is audited (see `actions`).

use super::actions::{self, Action};
use crate::api::health::replica_status;
use crate::api::json::{optional_body, BoundedJson};
use crate::auth::extract::AdminUser;
use crate::cluster::drain::DrainSwitch;
use crate::cluster::redis::SentinelProbe;
use crate::cluster::{registry, Namespace, NodeInfo};
use crate::configuration::Settings;
use crate::db::Database;
use crate::error::ApiError;
use crate::games::crash::forward::Forwarder;
use crate::games::crash::leadership::CrashLeaders;
use crate::games::crash::leadership::Route;
use crate::games::crash::pause::{self, BettingPause};
use crate::games::crash::room::SetBettingPaused;
use crate::games::crash::GameError;
use crate::session::protocol;
use crate::session::relay::CrashRooms;
use crate::session::relay::GetState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use fred::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The longest pause reason and maintenance message an operator may write.
pub const REASON_LENGTH_MAX: usize = 200;
pub const MAINTENANCE_MESSAGE_LENGTH_MAX: usize = 500;

/// `GET /api/v1/admin/cluster`
#[utoipa::path(
    get,
    path = "/api/v1/admin/cluster",
    operation_id = "admin_cluster_cluster",
    tag = "admin",
    summary = "Nodes, rooms, leaders, Redis and Postgres as the cluster sees them",
    responses(
        (status = 200, description = "the cluster view", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn cluster(_admin: AdminUser, operator: Operator) -> Result<HttpResponse, ApiError> {
    let Operator {
        redis,
        namespace,
        node,
        sentinels,
        database,
        settings,
        rooms,
        leaders,
        ..
    } = &operator;
    let nodes = registry::list(redis, namespace);
    let redis_state = redis_state(redis, sentinels, settings);
    let postgres = postgres_state(database, settings);
    let room_states = room_states(rooms, leaders, database, &node.node_id);
    let (nodes, redis_state, postgres, room_states) = tokio::join!(nodes, redis_state, postgres, room_states);
    let nodes = nodes.map_err(|error| ApiError::internal(anyhow::anyhow!("cannot list the nodes: {error}")))?;
    Ok(HttpResponse::Ok().json(json!({
        "generated_at": chrono::Utc::now(),
        "answered_by": node.node_id,
        "nodes": nodes,
        "redis": redis_state,
        "postgres": postgres,
        "rooms": room_states,
    })))
}

async fn redis_state(redis: &Client, sentinels: &SentinelProbe, settings: &Settings) -> Value {
    let ping = crate::cluster::redis::ping(redis, std::time::Duration::from_millis(1_000)).await;
    let ok = ping.is_ok();
    if !sentinels.configured() {
        let primary = format!("{}:{}", settings.redis.host, settings.redis.port);
        return json!({ "ok": ok, "mode": "standalone", "primary": primary, "failovers": null, "sentinels": 0 });
    }
    match sentinels.view().await {
        Ok(view) => json!({
            "ok": ok, "mode": "sentinel", "service": settings.redis.service_name, "primary": view.primary,
            "failovers": view.failovers, "sentinels": view.sentinels, "asked": view.asked,
        }),
        Err(error) => json!({
            "ok": false, "mode": "sentinel", "service": settings.redis.service_name, "primary": null,
            "failovers": null, "sentinels": null, "error": format!("{error:#}"),
        }),
    }
}

async fn postgres_state(database: &Database, settings: &Settings) -> Value {
    let primary = tokio::time::timeout(
        std::time::Duration::from_millis(1_000),
        sqlx::query("SELECT 1").execute(&database.writer),
    )
    .await;
    let replica = replica_status(database, settings.database.replica_host.is_some()).await;
    json!({
        "primary_ok": matches!(primary, Ok(Ok(_))),
        "replica_configured": replica.configured,
        "replica_ok": replica.ok,
        "replica_lag_ms": replica.lag_ms,
    })
}

/// Each room's public state as this node's relay sees it, with its leader and pause.
async fn room_states(rooms: &CrashRooms, leaders: &CrashLeaders, database: &Database, this_node: &str) -> Vec<Value> {
    let pauses: BTreeMap<String, BettingPause> = pause::all(&database.writer)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "could not read the rooms' pauses");
            Vec::new()
        })
        .into_iter()
        .collect();
    let mut states = Vec::with_capacity(rooms.rooms.len());
    for (name, relay) in &rooms.rooms {
        let state = relay
            .send(GetState { player_id: None })
            .await
            .map(|snapshot| snapshot.state);
        let leader = leaders.rooms.get(name).and_then(|handle| match handle.route() {
            Route::Local(_) => Some(this_node.to_owned()),
            Route::Remote(holder) => Some(holder.node_id),
            Route::Unknown => None,
        });
        let pause = pauses.get(name);
        let state = state.unwrap_or_else(|_| json!({}));
        states.push(json!({
            "room": name,
            "phase": state["phase"],
            "round_id": state["round_id"],
            "multiplier": state["multiplier"],
            "epoch": state["epoch"],
            "leader": leader,
            "betting_paused": pause.is_some() || state["betting_paused"] == true,
            "paused": pause,
        }));
    }
    states
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PauseBody {
    reason: Option<String>,
}

/// `POST /api/v1/admin/rooms/{room}/pause {reason?}`
#[utoipa::path(
    post,
    path = "/api/v1/admin/rooms/{room}/pause",
    operation_id = "admin_cluster_pause",
    tag = "admin",
    summary = "Pauses betting in a room (optional body `{\"reason\"}`)",
    params(("room" = String, Path, description = "the room")),
    responses(
        (status = 200, description = "the room's betting state", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`unknown_room`", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = 503, description = "`room_unavailable`, `leader_unreachable`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn pause(
    request: actix_web::HttpRequest,
    admin: AdminUser,
    room: web::Path<String>,
    body: web::Bytes,
    operator: Operator,
) -> Result<HttpResponse, ApiError> {
    let body = optional_body::<PauseBody>(&request, body).await?;
    let reason = body
        .and_then(|body| body.reason)
        .unwrap_or_else(|| "maintenance".into());
    if reason.is_empty() || reason.chars().count() > REASON_LENGTH_MAX {
        return Err(ApiError::bad_request(
            "invalid_reason",
            format!("reason must be 1 to {REASON_LENGTH_MAX} characters"),
        ));
    }
    let pause = BettingPause {
        by: admin.subject.clone(),
        reason,
        at: chrono::Utc::now(),
    };
    operator.set_betting_pause(&admin, &room, Some(pause)).await
}

/// `POST /api/v1/admin/rooms/{room}/resume`
#[utoipa::path(
    post,
    path = "/api/v1/admin/rooms/{room}/resume",
    operation_id = "admin_cluster_resume",
    tag = "admin",
    summary = "Resumes betting in a room",
    params(("room" = String, Path, description = "the room")),
    responses(
        (status = 200, description = "the room's betting state", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`unknown_room`", body = crate::error::Envelope),
        (status = 503, description = "`room_unavailable`, `leader_unreachable`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn resume(admin: AdminUser, room: web::Path<String>, operator: Operator) -> Result<HttpResponse, ApiError> {
    operator.set_betting_pause(&admin, &room, None).await
}

/// Everything the operator's views and controls use, extracted as one piece.
pub struct Operator {
    redis: web::Data<Client>,
    namespace: web::Data<Namespace>,
    leaders: web::Data<CrashLeaders>,
    rooms: web::Data<CrashRooms>,
    forwarder: web::Data<Forwarder>,
    database: web::Data<Database>,
    node: web::Data<NodeInfo>,
    sentinels: web::Data<SentinelProbe>,
    settings: web::Data<Settings>,
    drain: web::Data<DrainSwitch>,
}

impl actix_web::FromRequest for Operator {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Operator, ApiError>>;

    fn from_request(request: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        fn data<T: 'static>(request: &actix_web::HttpRequest) -> Result<web::Data<T>, ApiError> {
            request
                .app_data::<web::Data<T>>()
                .cloned()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("{} is not registered", std::any::type_name::<T>())))
        }
        std::future::ready((|| {
            Ok(Operator {
                redis: data(request)?,
                namespace: data(request)?,
                leaders: data(request)?,
                rooms: data(request)?,
                forwarder: data(request)?,
                database: data(request)?,
                node: data(request)?,
                sentinels: data(request)?,
                settings: data(request)?,
                drain: data(request)?,
            })
        })())
    }
}

impl Operator {
    /// Records the pause in Postgres (where every leader reads it before a round), then tells the current
    /// leader, which applies it at once and announces it to every node. Without a leader right now, the
    /// next one applies it before its first round.
    async fn set_betting_pause(
        &self,
        admin: &AdminUser,
        room: &str,
        pause: Option<BettingPause>,
    ) -> Result<HttpResponse, ApiError> {
        let handle = self
            .leaders
            .rooms
            .get(room)
            .ok_or_else(|| ApiError::from(GameError::UnknownRoom(room.chars().take(32).collect())))?;
        pause::record(&self.database.writer, room, pause.as_ref())
            .await
            .map_err(|error| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    format!("the pause could not be recorded: {error}"),
                )
            })?;
        let action = if pause.is_some() {
            "pause_betting"
        } else {
            "resume_betting"
        };
        let details = json!({ "reason": pause.as_ref().map(|pause| pause.reason.clone()) });
        let applied = self
            .forwarder
            .set_betting_paused(room, handle, SetBettingPaused { pause: pause.clone() })
            .await;
        let (applied_now, state) = match applied {
            Ok(state) => (true, json!(state)),
            Err(GameError::RoomUnavailable) => (false, Value::Null),
            Err(error) => return Err(error.into()),
        };
        actions::record(
            &self.database.writer,
            Action {
                admin: &admin.subject,
                action,
                target: room,
                details,
                node_id: &self.node.node_id,
            },
        )
        .await?;
        Ok(HttpResponse::Ok().json(json!({
            "room": room,
            "betting_paused": pause.is_some(),
            "paused": pause,
            "applied_by_leader": applied_now,
            "state": state,
        })))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastBody {
    message: String,
}

/// `POST /api/v1/admin/broadcast {message}`: a `maintenance` message on every player's socket, through
/// every room's channel (each socket watches exactly one room, so each gets it once).
#[utoipa::path(
    post,
    path = "/api/v1/admin/broadcast",
    operation_id = "admin_cluster_broadcast",
    tag = "admin",
    summary = "Sends a message to every connected player",
    request_body(content = BroadcastBody, content_type = "application/json"),
    responses(
        (status = 200, description = "`{\"sent\", \"rooms\", \"nodes_reached\"}`", body = serde_json::Value),
        (status = 400, description = "`invalid_json`, `invalid_request`, `json_too_deep`: the body is not this request; `invalid_message`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 413, description = "`payload_too_large`", body = crate::error::Envelope),
        (status = 415, description = "`unsupported_media_type`: the body must be JSON", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn broadcast(
    admin: AdminUser,
    body: BoundedJson<BroadcastBody>,
    operator: Operator,
) -> Result<HttpResponse, ApiError> {
    let Operator {
        redis,
        namespace,
        rooms,
        database,
        node,
        ..
    } = &operator;
    let message = body.0.message.trim().to_owned();
    if message.is_empty() || message.chars().count() > MAINTENANCE_MESSAGE_LENGTH_MAX {
        return Err(ApiError::bad_request(
            "invalid_message",
            format!("message must be 1 to {MAINTENANCE_MESSAGE_LENGTH_MAX} characters"),
        ));
    }
    let frame = protocol::encode(&json!({ "type": "maintenance", "message": message, "at": chrono::Utc::now() }));
    let mut nodes_reached = 0;
    for room in rooms.rooms.keys() {
        let receivers: i64 = redis
            .publish(namespace.room_channel(room), frame.as_bytes().to_vec())
            .await
            .map_err(|error| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "redis_unavailable",
                    format!("the message could not be published: {error}"),
                )
            })?;
        nodes_reached = nodes_reached.max(receivers);
    }
    actions::record(
        &database.writer,
        Action {
            admin: &admin.subject,
            action: "broadcast",
            target: "all_players",
            details: json!({ "message": message }),
            node_id: &node.node_id,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "sent": true, "rooms": rooms.rooms.len(), "nodes_reached": nodes_reached })))
}

/// `POST /api/v1/admin/nodes/{node_id}/drain`: this node drains itself, or asks the named node to.
#[utoipa::path(
    post,
    path = "/api/v1/admin/nodes/{node_id}/drain",
    operation_id = "admin_cluster_drain",
    tag = "admin",
    summary = "Drains a node: out of nginx, sockets closed with 1001",
    params(("node_id" = String, Path, description = "the node")),
    responses(
        (status = 202, description = "`{\"node_id\", \"draining\": true}`", body = serde_json::Value),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = 404, description = "`node_not_found`", body = crate::error::Envelope),
        (status = 409, description = "`last_node`", body = crate::error::Envelope),
        (status = 503, description = "`node_unreachable`", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn drain(admin: AdminUser, node_id: web::Path<String>, operator: Operator) -> Result<HttpResponse, ApiError> {
    let Operator {
        redis,
        namespace,
        node,
        drain: switch,
        forwarder,
        database,
        ..
    } = &operator;
    let target = node_id.into_inner();
    let nodes = registry::list(redis, namespace)
        .await
        .map_err(|error| ApiError::internal(anyhow::anyhow!("cannot list the nodes: {error}")))?;
    let Some(record) = nodes.into_iter().find(|record| record.node_id == target) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "node_not_found",
            "no live node has this id",
        ));
    };
    actions::record(
        &database.writer,
        Action {
            admin: &admin.subject,
            action: "drain_node",
            target: &target,
            details: json!({ "url": record.url }),
            node_id: &node.node_id,
        },
    )
    .await?;
    if target == node.node_id {
        switch.request();
    } else {
        forwarder
            .request_drain(&record.url)
            .await
            .map_err(|error| ApiError::new(StatusCode::BAD_GATEWAY, "node_unreachable", format!("{error:#}")))?;
    }
    Ok(HttpResponse::Accepted().json(json!({ "node_id": target, "draining": true })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LimitQuery {
    limit: Option<i64>,
}

/// `GET /api/v1/admin/actions?limit=`
#[utoipa::path(
    get,
    path = "/api/v1/admin/actions",
    operation_id = "admin_cluster_latest_actions",
    tag = "admin",
    summary = "The operator's latest actions",
    params(LimitQuery),
    responses(
        (status = 200, description = "`{\"actions\": [...]}`", body = serde_json::Value),
        (status = 400, description = "`invalid_query`", body = crate::error::Envelope),
        (status = 401, description = "`unauthorized`, `token_expired`: no valid admin token", body = crate::error::Envelope),
        (status = 403, description = "`forbidden`: not an admin token", body = crate::error::Envelope),
        (status = "default", description = "Any other failure, in the envelope: `invalid_query`, `invalid_path`, `not_found` (no route), `rate_limited`, `internal_error`", body = crate::error::Envelope)
    ),
    security(("admin_jwt" = []))
)]
pub async fn latest_actions(
    _admin: AdminUser,
    query: web::Query<LimitQuery>,
    database: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(20);
    // From the primary: an action just taken must show at once.
    let actions = actions::latest(&database.writer, limit).await?;
    Ok(HttpResponse::Ok().json(json!({ "actions": actions })))
}
