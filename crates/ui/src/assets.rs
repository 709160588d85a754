//! The front end built by `build.rs`, embedded in the binary.
//!
//! Hashed files under `/assets/` are cached for a year; `index.html` never is.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/dist/"]
struct Dist;

const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

/// `index.html` of the app.
pub fn index() -> Response {
    match Dist::get("index.html") {
        Some(f) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                (header::CONTENT_SECURITY_POLICY, CSP),
            ],
            f.data.into_owned(),
        )
            .into_response(),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the UI was not built into this binary",
        )
            .into_response(),
    }
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    serve(
        &format!("assets/{file}"),
        "public, max-age=31536000, immutable",
    )
}

/// `GET /favicon.svg`.
pub async fn favicon() -> Response {
    serve("favicon.svg", "public, max-age=86400")
}

fn serve(path: &str, cache: &'static str) -> Response {
    match Dist::get(path) {
        Some(f) => (
            [
                (header::CONTENT_TYPE, f.metadata.mimetype().to_string()),
                (header::CACHE_CONTROL, cache.to_string()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            f.data.into_owned(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
