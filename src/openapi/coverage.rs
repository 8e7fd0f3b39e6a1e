//! The document covers every route: the app's actual routes, found by walking actix's resource map and
//! asking each resource which methods it answers, are compared with the document's operations.

use super::{openapi_json, INTERNAL_PREFIX};
use crate::api::middleware;
use actix_web::http::{Method, StatusCode};
use actix_web::test as actix_test;
use actix_web::{web, App, HttpRequest, HttpResponse};
use std::collections::BTreeSet;

/// The methods a route of ours may answer.
const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// Where the unmatched request that reads the resource map is sent.
const MAP_PROBE_PATH: &str = "/__resource_map_probe";

/// Every resource pattern the app registers, as full paths (scopes' prefixes joined to their resources).
/// actix has no public walk of its `ResourceMap`, so this reads its `Debug` rendering: each node prints
/// `ResourceMap { pattern: ResourceDef { .. patterns: Single("..") .. }, .. nodes: Some([..]) | None }`.
fn resource_patterns(map_debug: &str) -> Vec<String> {
    const NODE: &str = "ResourceMap {";
    let mut patterns = Vec::new();
    // The nodes whose rendering is still open: the brace depth each opened at, and its full pattern.
    let mut open: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut index = 0usize;
    while index < map_debug.len() {
        let Some(rest) = map_debug.get(index..) else {
            index += 1;
            continue;
        };
        if let Some(node) = rest.strip_prefix(NODE) {
            depth += 1;
            let prefix = open.last().map(|(_, path)| path.as_str()).unwrap_or("");
            let full = format!("{prefix}{}", first_pattern(node));
            if edge_node(node) {
                patterns.push(full.clone());
            }
            open.push((depth, full));
            index += NODE.len();
            continue;
        }
        match rest.as_bytes()[0] {
            b'"' => index += string_literal_length(rest),
            b'{' => {
                depth += 1;
                index += 1;
            }
            b'}' => {
                if open.last().is_some_and(|(opened, _)| *opened == depth) {
                    open.pop();
                }
                depth -= 1;
                index += 1;
            }
            _ => index += 1,
        }
    }
    patterns
}

/// The length of the string literal `text` starts with, quotes included (braces inside it are text).
fn string_literal_length(text: &str) -> usize {
    let mut escaped = false;
    for (index, character) in text.char_indices().skip(1) {
        match (escaped, character) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return index + 1,
            _ => {}
        }
    }
    text.len()
}

/// The node's own pattern: the first `patterns: Single("...")` after it opens.
fn first_pattern(node: &str) -> String {
    let marker = "patterns: Single(\"";
    let start = node.find(marker).expect("a resource has a pattern") + marker.len();
    let end = start + node[start..].find('"').expect("the pattern string ends");
    node[start..end].to_owned()
}

/// A resource (an edge of the tree) has `nodes: None`; a scope's `nodes` hold its children. The node's
/// own `nodes` field is the first one after its pattern at its own nesting level; an edge node's
/// rendering reaches `nodes: None` before any nested `ResourceMap`.
fn edge_node(node: &str) -> bool {
    let none = node.find("nodes: None");
    let nested = node.find("ResourceMap {");
    match (none, nested) {
        (Some(none), Some(nested)) => none < nested,
        (Some(_), None) => true,
        _ => false,
    }
}

/// A concrete path for a pattern: every `{name}` or `{name:regex}` segment becomes a sample value.
fn sample_path(pattern: &str) -> String {
    let mut path = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("a pattern's braces close");
        path.push_str("00000000-0000-0000-0000-000000000001");
        rest = &rest[end + 1..];
    }
    path.push_str(rest);
    path
}

/// `{player_id}` and `{path:.*}` alike become `{}`, so the app's and the document's paths compare.
fn normalized(pattern: &str) -> String {
    let mut path = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("a pattern's braces close");
        path.push_str("{}");
        rest = &rest[end + 1..];
    }
    path.push_str(rest);
    path
}

/// True when the answer says that no route matched (ours, Stake's scope's, or actix's bare 405).
async fn no_route(response: actix_web::dev::ServiceResponse) -> bool {
    let status = response.status();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        return true;
    }
    if status != StatusCode::NOT_FOUND {
        return false;
    }
    let body = actix_test::read_body(response).await;
    let text = String::from_utf8_lossy(&body);
    text.contains("no route for") || text.contains("no such RGS route")
}

async fn resource_map_debug(request: HttpRequest) -> HttpResponse {
    if request.path() == MAP_PROBE_PATH {
        return HttpResponse::Ok().body(format!("{:?}", request.resource_map()));
    }
    middleware::not_found(request).await
}

/// Every (method, normalized path) the app answers, outside `/internal/`.
async fn app_routes() -> BTreeSet<(String, String)> {
    let app = actix_test::init_service(
        App::new()
            .app_data(middleware::query_config())
            .app_data(middleware::path_config())
            .configure(crate::openapi::configure)
            .configure(|config| crate::api::configure(config, true, crate::admin::configure))
            .default_service(web::to(resource_map_debug)),
    )
    .await;
    let map =
        actix_test::call_and_read_body(&app, actix_test::TestRequest::get().uri(MAP_PROBE_PATH).to_request()).await;
    let patterns = resource_patterns(&String::from_utf8_lossy(&map));
    assert!(patterns.len() > 50, "the resource map was not read: {patterns:?}");
    let mut routes = BTreeSet::new();
    for pattern in patterns
        .into_iter()
        .filter(|pattern| !pattern.starts_with(INTERNAL_PREFIX))
    {
        for method in METHODS {
            let request = actix_test::TestRequest::default()
                .method(method.clone())
                .uri(&sample_path(&pattern))
                .to_request();
            let response = actix_test::call_service(&app, request).await;
            if !no_route(response).await {
                routes.insert((method.to_string(), normalized(&pattern)));
            }
        }
    }
    routes
}

fn documented_routes() -> BTreeSet<(String, String)> {
    let document: serde_json::Value = serde_json::from_str(openapi_json()).expect("the document is JSON");
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("the document has paths") {
        for method in item.as_object().expect("a path item is an object").keys() {
            if METHODS.iter().any(|known| known.as_str().eq_ignore_ascii_case(method)) {
                routes.insert((method.to_uppercase(), normalized(path)));
            }
        }
    }
    routes
}

#[actix_web::test]
async fn every_route_is_in_the_document() {
    // Proves that no route exists that the contract lacks, and that the contract names no route that
    // does not exist. Routes are found by asking the real app, so a route added anywhere is seen.
    let app = app_routes().await;
    let documented = documented_routes();
    let missing: Vec<String> = app
        .difference(&documented)
        .map(|(method, path)| {
            format!(
                "{method} {path} has no operation in the OpenAPI document: annotate its handler with \
                 #[utoipa::path({}, path = \"...\", ...)] and list it in ApiDoc's paths(...) in src/openapi/mod.rs",
                method.to_lowercase()
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document:\n{}",
        missing.join("\n")
    );
    let phantom: Vec<_> = documented.difference(&app).collect();
    assert!(
        phantom.is_empty(),
        "the document names routes the app does not answer: {phantom:?}"
    );
}

#[test]
fn the_document_is_openapi_3_1() {
    // Proves the structure a client generator or fuzzer needs: the version, every operation with an
    // operation id, a tag and responses, every error answer in the envelope, every security scheme defined.
    let document: serde_json::Value = serde_json::from_str(openapi_json()).expect("the document is JSON");
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["info"]["title"].is_string() && document["info"]["version"].is_string());
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    for scheme in ["player_jwt", "admin_jwt", "rgs_signature", "hub88_signature"] {
        assert!(schemes.contains_key(scheme), "{scheme} is not defined");
    }
    assert!(document["components"]["schemas"]["ErrorEnvelope"].is_object());
    let mut operation_ids = BTreeSet::new();
    let mut links = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let name = format!("{method} {path}");
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} has no operationId"));
            assert!(
                operation_ids.insert(id.to_owned()),
                "{name}: operationId {id} is not unique"
            );
            assert!(
                operation["tags"].as_array().is_some_and(|tags| !tags.is_empty()),
                "{name} has no tag"
            );
            let responses = operation["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{name} has no responses"));
            assert!(!responses.is_empty(), "{name} has no responses");
            for segment in path.split('/').filter(|segment| segment.starts_with('{')) {
                let parameter = segment.trim_matches(['{', '}']);
                let declared = operation["parameters"]
                    .as_array()
                    .is_some_and(|parameters| parameters.iter().any(|p| p["name"] == parameter && p["in"] == "path"));
                assert!(declared, "{name} does not declare its path parameter {parameter}");
            }
            for (status, response) in responses {
                for (link, target) in response["links"].as_object().into_iter().flatten() {
                    let target = target["operationId"].as_str().unwrap_or_default().to_owned();
                    links.push((format!("{name} {status} link {link}"), target));
                }
            }
            if path.starts_with("/api/v1/") {
                for (status, response) in responses.iter().filter(|(status, _)| !status.starts_with('2')) {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorEnvelope",
                        "{name}: the {status} answer is not the envelope"
                    );
                }
            }
        }
    }
    for (link, target) in links {
        assert!(operation_ids.contains(&target), "{link} names no operation ({target})");
    }
}
