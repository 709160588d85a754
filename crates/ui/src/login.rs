//! The login page, `POST /login` (a `read` or `admin` token, or a configured user's name and
//! password, becomes a session cookie) and `POST /logout`.
//!
//! The page is plain server-rendered HTML so it works before any script has loaded.

use crate::session::{end_cookie, over_tls, session_scope, start_cookie};
use crate::users::Users;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use pharos_config::Scope;
use pharos_front::auth::session_cookie;
use pharos_front::Authenticator;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    /// A token, or the password of `user`.
    token: String,
    #[serde(default)]
    user: String,
    next: Option<String>,
}

/// What the login handlers need.
#[derive(Clone)]
pub struct LoginState {
    pub auth: Arc<Authenticator>,
    pub users: Arc<Users>,
}

/// `GET /login`: the form (or straight on, when the session is already live).
pub async fn page(
    State(st): State<LoginState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if session_scope(&st.auth, &headers).is_some() {
        return redirect(next, None);
    }
    html(StatusCode::OK, &render(next, None, !st.users.is_empty()))
}

/// `POST /login`: checks the token, starts a session, and goes on to `next`.
pub async fn submit(
    State(st): State<LoginState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let with_users = !st.users.is_empty();
    let user = form.user.trim();
    let scope = if user.is_empty() {
        st.auth.scope_of_token(form.token.trim())
    } else {
        st.users.verify(user, &form.token).await
    };
    let scope = match scope {
        None => {
            let msg = if user.is_empty() {
                "Invalid token."
            } else {
                "Invalid user name or password."
            };
            return html(
                StatusCode::UNAUTHORIZED,
                &render(next, Some(msg), with_users),
            );
        }
        Some(Scope::Ingest) => {
            return html(
                StatusCode::FORBIDDEN,
                &render(
                    next,
                    Some("This token may only send data; log in with a read or admin token."),
                    with_users,
                ),
            )
        }
        Some(s) => s,
    };
    let auth = &st.auth;
    let Some(id) = auth.sessions().create(scope) else {
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            &render(
                next,
                Some("Could not start a session; try again."),
                with_users,
            ),
        );
    };
    let cookie = start_cookie(&id, auth.sessions().ttl(), over_tls(&headers));
    redirect(next, Some(cookie))
}

/// `POST /logout`: ends the session and shows the login page.
pub async fn logout(State(st): State<LoginState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers) {
        st.auth.sessions().remove(id);
    }
    redirect("/login", Some(end_cookie(over_tls(&headers))))
}

/// Only same-site absolute paths are followed after login (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response();
    if let Some(c) = cookie {
        if let Ok(v) = c.parse() {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("static header"),
    );
    resp
}

pub(crate) fn html(status: StatusCode, body: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn render(next: &str, error: Option<&str>, with_users: bool) -> String {
    let error = error
        .map(|e| format!(r#"<p class="err" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    let (user_field, secret_label) = if with_users {
        (
            r#"<label for="user">User <span class="hint">(empty to log in with a token)</span></label>
<input id="user" name="user" autocomplete="username">"#,
            "Password, or a read or admin token",
        )
    } else {
        ("", "Access token (read or admin)")
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Log in · Pharos</title><link rel="icon" href="/favicon.svg">
<style>
body{{margin:0;font:14px/1.4 system-ui,sans-serif;background:#111217;color:#ccccdc;display:flex;align-items:center;justify-content:center;min-height:100vh}}
form{{background:#181b1f;border:1px solid #2c3235;border-radius:4px;padding:32px;width:340px}}
h1{{font-size:20px;margin:0 0 4px;color:#fff}} p.sub{{margin:0 0 20px;color:#8e8e8e}}
label{{display:block;margin-bottom:6px}} input{{box-sizing:border-box;width:100%;padding:8px;background:#111217;border:1px solid #2c3235;color:#ccccdc;border-radius:2px}}
button{{margin-top:16px;width:100%;padding:9px;background:#3d71d9;color:#fff;border:0;border-radius:2px;font-weight:600;cursor:pointer}}
.err{{color:#ff7383;margin:12px 0 0}} .hint{{color:#8e8e8e}} #user{{margin-bottom:12px}}
</style></head>
<body><form method="post" action="/login">
<h1>Pharos</h1><p class="sub">Metrics, traces and dashboards</p>
{user_field}
<label for="token">{secret_label}</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{}">
<button type="submit">Log in</button>{error}
</form></body></html>"#,
        escape(next)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_same_site_only() {
        assert_eq!(safe_next(Some("/d/abc?from=now-1h")), "/d/abc?from=now-1h");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn page_escapes() {
        let p = render("/x\"><script>", Some("<b>"), true);
        assert!(!p.contains("<script>"));
        assert!(p.contains("&lt;b&gt;"));
        assert!(p.contains(r#"name="user""#));
        assert!(!render("/", None, false).contains(r#"name="user""#));
    }
}
