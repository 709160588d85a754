//! The front end built by `build.rs`, embedded in the binary.
//!
//! Hashed files under `/assets/` are cached for a year; `index.html` never is.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use std::time::Duration;

#[derive(RustEmbed)]
#[folder = "web/dist/"]
struct Dist;

const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

/// `index.html` with the server's UI settings as `<meta>` tags (no extra request needed).
pub fn index_html(scrape_interval: Duration) -> Option<String> {
    let f = Dist::get("index.html")?;
    let html = String::from_utf8_lossy(&f.data).into_owned();
    let meta = format!(
        r#"<meta name="pharos-scrape-interval-ms" content="{}" />"#,
        scrape_interval.as_millis()
    );
    Some(html.replacen("</head>", &format!("{meta}\n  </head>"), 1))
}

/// The app page.
pub fn index(html: Option<&str>) -> Response {
    match html {
        Some(h) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                (header::CONTENT_SECURITY_POLICY, CSP),
            ],
            h.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_carries_settings_and_assets_exist() {
        let html = index_html(Duration::from_secs(60)).expect("index.html embedded");
        assert!(html.contains(r#"<meta name="pharos-scrape-interval-ms" content="60000" />"#));
        let script = html
            .split("src=\"/assets/")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("index.html loads a script from /assets/");
        assert!(Dist::get(&format!("assets/{script}")).is_some());
    }
}
