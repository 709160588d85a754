//! Bearer-token (and UI session) authentication by scope.
//!
//! Tokens are kept only as SHA-256 digests and compared in constant time, so neither a
//! token's value nor its length leaks through timing. Tokens never reach a log line.

use crate::sessions::Sessions;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pharos_config::{AuthConfig, Scope};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Name of the UI session cookie.
pub const SESSION_COOKIE: &str = "pharos_session";

/// Who made a request: the scope their token or session grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub scope: Scope,
}

/// Checks tokens and sessions against the configured scopes.
pub struct Authenticator {
    digests: Vec<([u8; 32], Scope)>,
    sessions: Sessions,
    anonymous_metrics: bool,
}

impl Authenticator {
    pub fn new(auth: &AuthConfig, sessions: Sessions) -> Self {
        let digests = auth.tokens().map(|(t, s)| (digest(t), s)).collect();
        Authenticator {
            digests,
            sessions,
            anonymous_metrics: auth.anonymous_metrics,
        }
    }

    /// The scope of a token, if it is one of ours. Every configured digest is compared,
    /// in constant time, whatever the result.
    pub fn scope_of_token(&self, token: &str) -> Option<Scope> {
        let d = digest(token);
        let mut found: Option<Scope> = None;
        for (known, scope) in &self.digests {
            if bool::from(known.ct_eq(&d)) {
                // Several entries may match (the same token listed twice): keep the widest.
                found = Some(found.map_or(*scope, |f| f.max(*scope)));
            }
        }
        found
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    pub fn anonymous_metrics(&self) -> bool {
        self.anonymous_metrics
    }

    /// The identity behind a request's `Authorization: Bearer` header or session cookie.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Identity, AuthError> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .ok_or(AuthError::Malformed)?;
            return self
                .scope_of_token(token)
                .map(|scope| Identity { scope })
                .ok_or(AuthError::BadToken);
        }
        if let Some(id) = session_cookie(headers) {
            return self
                .sessions
                .lookup(id)
                .map(|scope| Identity { scope })
                .ok_or(AuthError::BadToken);
        }
        Err(AuthError::Missing)
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The value of the session cookie, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    Missing,
    Malformed,
    BadToken,
    WrongScope,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (status, msg) = match self {
            AuthError::Missing => (StatusCode::UNAUTHORIZED, "missing bearer token"),
            AuthError::Malformed => (
                StatusCode::UNAUTHORIZED,
                "Authorization header must be `Bearer <token>`",
            ),
            AuthError::BadToken => (StatusCode::UNAUTHORIZED, "invalid token"),
            AuthError::WrongScope => (
                StatusCode::FORBIDDEN,
                "token scope does not allow this endpoint",
            ),
        };
        let error_type = if status == StatusCode::FORBIDDEN {
            "forbidden"
        } else {
            "unauthorized"
        };
        let body = serde_json::json!({"status": "error", "errorType": error_type, "error": msg});
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"pharos\""),
            );
        }
        resp
    }
}

/// State of the scope-checking middleware.
#[derive(Clone)]
pub struct RequireScope {
    pub auth: Arc<Authenticator>,
    pub scope: Scope,
}

/// Middleware: pass the request on only if its identity allows `scope`.
pub async fn require_scope(
    State(req_scope): State<RequireScope>,
    mut req: Request,
    next: Next,
) -> Response {
    match req_scope.auth.identify(req.headers()) {
        Ok(id) if id.scope.allows(req_scope.scope) => {
            req.extensions_mut().insert(id);
            next.run(req).await
        }
        Ok(_) => AuthError::WrongScope.into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Authenticator {
        let cfg = AuthConfig {
            ingest_tokens: vec!["ingest-token-0123456789".into()],
            read_tokens: vec![
                "read-token-0123456789".into(),
                "read-token-rotated-01".into(),
            ],
            admin_tokens: vec!["admin-token-0123456789".into()],
            anonymous_metrics: false,
        };
        Authenticator::new(&cfg, Sessions::new(10, std::time::Duration::from_secs(60)))
    }

    #[test]
    fn token_scopes() {
        let a = auth();
        assert_eq!(
            a.scope_of_token("ingest-token-0123456789"),
            Some(Scope::Ingest)
        );
        assert_eq!(a.scope_of_token("read-token-rotated-01"), Some(Scope::Read));
        assert_eq!(
            a.scope_of_token("admin-token-0123456789"),
            Some(Scope::Admin)
        );
        assert_eq!(a.scope_of_token("admin-token-012345678"), None);
        assert_eq!(a.scope_of_token(""), None);
    }

    #[test]
    fn header_forms() {
        let a = auth();
        let mut h = HeaderMap::new();
        assert_eq!(a.identify(&h), Err(AuthError::Missing));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(a.identify(&h), Err(AuthError::Malformed));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer read-token-0123456789"),
        );
        assert_eq!(a.identify(&h).unwrap().scope, Scope::Read);
        let mut h = HeaderMap::new();
        let sid = a.sessions().create(Scope::Read).unwrap();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("x=1; {SESSION_COOKIE}={sid}")).unwrap(),
        );
        assert_eq!(a.identify(&h).unwrap().scope, Scope::Read);
    }
}
