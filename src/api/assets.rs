//! The browser pages served by every node: the player page (the lobby and every house game's view) at `/`,
//! the API reference at `/docs` (Swagger UI over the generated OpenAPI document)
//! and the admin dashboard at `/admin`, with their scripts, styles and the charting library under
//! `/assets/`. Release builds embed the files in the binary, so a node needs nothing beside it; debug
//! builds read them from `static/` on every request, so an edit shows on reload without a rebuild.
//!
//! Every page is sent with a content security policy that allows only this origin: the pages never load
//! anything from another host.

use crate::error::ApiError;
use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// One file under `static/`: its path there and its media type.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    #[cfg_attr(debug_assertions, allow(dead_code))]
    embedded: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $content_type:literal) => {
        Asset {
            path: $path,
            content_type: $content_type,
            embedded: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/", $path)),
        }
    };
}

/// Every file the pages use. A new file is added here, so nothing else under `static/` is ever served.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("admin.html", "text/html; charset=utf-8"),
    asset!("common.js", "text/javascript; charset=utf-8"),
    asset!("curve.js", "text/javascript; charset=utf-8"),
    asset!("play.js", "text/javascript; charset=utf-8"),
    asset!("slots.js", "text/javascript; charset=utf-8"),
    asset!("lobby.js", "text/javascript; charset=utf-8"),
    asset!("originals.js", "text/javascript; charset=utf-8"),
    asset!("dice.js", "text/javascript; charset=utf-8"),
    asset!("plinko.js", "text/javascript; charset=utf-8"),
    asset!("mines.js", "text/javascript; charset=utf-8"),
    asset!("verify.js", "text/javascript; charset=utf-8"),
    asset!("account.js", "text/javascript; charset=utf-8"),
    asset!("admin-economy.js", "text/javascript; charset=utf-8"),
    asset!("admin.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("slots.css", "text/css; charset=utf-8"),
    asset!("lobby.css", "text/css; charset=utf-8"),
    asset!("account.css", "text/css; charset=utf-8"),
    asset!("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    asset!("vendor/uPlot.min.css", "text/css; charset=utf-8"),
    asset!("docs.html", "text/html; charset=utf-8"),
    asset!("docs.js", "text/javascript; charset=utf-8"),
    asset!("docs.css", "text/css; charset=utf-8"),
    asset!("vendor/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    asset!("vendor/swagger-ui.css", "text/css; charset=utf-8"),
];

/// Only this origin, for scripts, styles, images and the API and WebSocket calls alike. Who may frame the
/// pages (`frame-ancestors`) is the operator's choice, added to every answer by `headers`.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'";

/// The reference page's policy: still only this origin, but Swagger UI sets inline styles on its elements.
const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

fn content_security_policy(path: &str) -> &'static str {
    if path == "docs.html" {
        DOCS_CONTENT_SECURITY_POLICY
    } else {
        CONTENT_SECURITY_POLICY
    }
}

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/", web::get().to(player_page))
        .route("/admin", web::get().to(admin_page))
        .route("/assets/{path:.*}", web::get().to(asset));
}

/// `GET /docs`: the API reference, Swagger UI reading `/api/openapi.json`.
#[utoipa::path(
    get,
    path = "/docs",
    operation_id = "assets_docs_page",
    tag = "pages",
    summary = "The readable reference of the API (Swagger UI)",
    responses(
        (status = 200, description = "HTML", body = String, content_type = "text/html")
    ),
    security(())
)]
pub async fn docs_page() -> HttpResponse {
    serve("docs.html")
}

#[utoipa::path(
    get,
    path = "/",
    operation_id = "assets_player_page",
    tag = "pages",
    summary = "The player page",
    responses(
        (status = 200, description = "HTML", body = String, content_type = "text/html")
    ),
    security(())
)]
async fn player_page() -> HttpResponse {
    serve("index.html")
}

#[utoipa::path(
    get,
    path = "/admin",
    operation_id = "assets_admin_page",
    tag = "pages",
    summary = "The admin dashboard",
    responses(
        (status = 200, description = "HTML", body = String, content_type = "text/html")
    ),
    security(())
)]
async fn admin_page() -> HttpResponse {
    serve("admin.html")
}

#[utoipa::path(
    get,
    path = "/assets/{path}",
    operation_id = "assets_asset",
    tag = "pages",
    summary = "The pages' scripts, styles and vendored libraries",
    params(("path" = String, Path, description = "a file under static/, for example `vendor/uPlot.min.css`")),
    responses(
        (status = 200, description = "the file", body = String, content_type = "*/*"),
        (status = 404, description = "`not_found`: no such asset", body = crate::error::Envelope)
    ),
    security(())
)]
async fn asset(path: web::Path<String>) -> HttpResponse {
    serve(&path)
}

fn serve(path: &str) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|asset| asset.path == path) else {
        return ApiError::not_found(format!("no asset {path:?}")).to_response();
    };
    let body = match contents(asset) {
        Ok(body) => body,
        Err(error) => return ApiError::internal(error).to_response(),
    };
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, content_security_policy(path)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

#[cfg(not(debug_assertions))]
fn contents(asset: &Asset) -> anyhow::Result<Vec<u8>> {
    Ok(asset.embedded.to_vec())
}

#[cfg(debug_assertions)]
fn contents(asset: &Asset) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("static")
        .join(asset.path);
    std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    fn text_of(path: &str) -> &'static str {
        let asset = ASSETS
            .iter()
            .find(|asset| asset.path == path)
            .expect("the page is an asset");
        std::str::from_utf8(asset.embedded).expect("pages and scripts are UTF-8")
    }

    fn is_served(path: &str) -> bool {
        ASSETS.iter().any(|asset| asset.path == path)
    }

    /// Every file a page links (`/assets/...`) and every module a script imports (`from './x.js'`) is in
    /// ASSETS: a file left out of the list would be refused with a 404 and the page would break.
    #[test]
    fn every_file_the_pages_use_is_served() {
        for page in ["index.html", "admin.html", "docs.html"] {
            for reference in text_of(page).split("/assets/").skip(1) {
                let path = reference.split('"').next().unwrap_or_default();
                assert!(
                    is_served(path),
                    "{page} links /assets/{path}, which ASSETS does not list"
                );
            }
        }
        for script in ASSETS.iter().filter(|asset| asset.path.ends_with(".js")) {
            for import in text_of(script.path).split("from './").skip(1) {
                let path = import.split('\'').next().unwrap_or_default();
                assert!(
                    is_served(path),
                    "{} imports ./{path}, which ASSETS does not list",
                    script.path
                );
            }
        }
    }
}
