//! Page loads of the single-page app: `index.html` for a live session, else the login page.

use crate::assets;
use crate::session::session_scope;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pharos_front::Authenticator;
use std::sync::Arc;

/// What page loads need: the sessions, and the app page with the server's settings.
#[derive(Clone)]
pub struct PageState {
    pub auth: Arc<Authenticator>,
    pub index: Arc<Option<String>>,
}

pub async fn app_page(
    State(PageState { auth, index }): State<PageState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    if session_scope(&auth, &headers).is_none() {
        let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let to = format!("/login?next={}", encode(next));
        return (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, to),
                (header::CACHE_CONTROL, "no-store".into()),
            ],
        )
            .into_response();
    }
    assets::index(index.as_deref())
}

/// Percent-encodes a query-parameter value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_next() {
        assert_eq!(
            super::encode("/d/x?from=now-1h&a=b c"),
            "/d/x%3Ffrom%3Dnow-1h%26a%3Db%20c"
        );
    }
}
