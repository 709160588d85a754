//! The session cookie: reading it, and the `Set-Cookie` values that start and end it.

use axum::http::{header, HeaderMap};
use axum::Extension;
use axum::Json;
use pharos_front::auth::{session_cookie, SESSION_COOKIE};
use pharos_front::{Authenticator, Identity};
use std::time::Duration;

/// The scope of the request's live session, if it has one.
pub fn session_scope(auth: &Authenticator, headers: &HeaderMap) -> Option<pharos_config::Scope> {
    session_cookie(headers).and_then(|id| auth.sessions().lookup(id))
}

/// True when the browser reached us over TLS (through a proxy that says so).
pub fn over_tls(headers: &HeaderMap) -> bool {
    let proto = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(',')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("https")
            })
            .unwrap_or(false)
    };
    proto("x-forwarded-proto")
        || headers
            .get(header::FORWARDED)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.to_ascii_lowercase().contains("proto=https"))
            .unwrap_or(false)
}

/// `Set-Cookie` value that starts a session.
pub fn start_cookie(id: &str, ttl: Duration, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
        ttl.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` value that removes the session cookie.
pub fn end_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `GET /api/ui/session`: the scope of the caller (the front has checked it already).
pub async fn whoami(Extension(id): Extension<Identity>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "scope": id.scope.as_str() }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookie_attributes() {
        let c = start_cookie("abc", Duration::from_secs(60), false);
        assert_eq!(
            c,
            "pharos_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Strict"
        );
        assert!(start_cookie("abc", Duration::from_secs(60), true).ends_with("; Secure"));
        assert!(end_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn tls_detection() {
        let mut h = HeaderMap::new();
        assert!(!over_tls(&h));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(over_tls(&h));
        let mut h = HeaderMap::new();
        h.insert(
            header::FORWARDED,
            HeaderValue::from_static("for=1.2.3.4;proto=https"),
        );
        assert!(over_tls(&h));
    }
}
