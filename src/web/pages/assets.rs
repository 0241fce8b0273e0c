//! The pages' static assets, embedded in the binary: `/static/app.css`, `/static/app.js` (every
//! page) and `/static/village.js` (the village page's own script).
//!
//! Pages link them as `/static/NAME?v=VERSION`, VERSION being the first 12 hex digits of the
//! content's SHA-256, so a new build's assets are fetched anew. A request with the current
//! version may be cached for a year (`immutable`); any other is sent `no-cache`.

use std::sync::LazyLock;

use axum::extract::{Path, RawQuery};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 3] = [
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_str!("../static/app.css") },
    Asset { name: "app.js", content_type: "text/javascript; charset=utf-8", body: include_str!("../static/app.js") },
    Asset {
        name: "village.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../static/village.js"),
    },
];

/// The version of each asset, in [`ASSETS`] order.
static VERSIONS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| Sha256::digest(a.body.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect())
        .collect()
});

fn find(name: &str) -> Option<(&'static Asset, &'static str)> {
    let i = ASSETS.iter().position(|a| a.name == name)?;
    Some((&ASSETS[i], VERSIONS[i].as_str()))
}

/// The URL of asset `name` with its version, e.g. `/static/app.css?v=0123456789ab`.
pub(crate) fn url(name: &str) -> String {
    match find(name) {
        Some((a, v)) => format!("/static/{}?v={v}", a.name),
        None => format!("/static/{name}"),
    }
}

/// `GET /static/{file}`.
pub(crate) async fn serve(Path(file): Path<String>, RawQuery(query): RawQuery) -> Response {
    let Some((asset, version)) = find(&file) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "There is no such file.",
        )
            .into_response();
    };
    let current = super::query_value(query.as_deref(), "v").is_some_and(|v| v == version);
    let etag = format!("\"{version}\"");
    let cache = if current { "public, max-age=31536000, immutable" } else { "no-cache" };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::ETAG, etag.as_str()),
        ],
        asset.body,
    )
        .into_response()
}
