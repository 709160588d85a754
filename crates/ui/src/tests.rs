//! The UI routes end to end in-process: login with a token or a user's password, cookie,
//! guarded dashboards API, page redirects, logout.

use crate::routes;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use pharos_config::{AuthConfig, Config};
use pharos_front::{Authenticator, Sessions};
use std::sync::Arc;
use tower::ServiceExt;

const READ: &str = "read-token-0123456789";
const INGEST: &str = "ingest-token-0123456789";

fn app(dir: &std::path::Path) -> Router {
    let mut config = Config::default();
    config.ui.dashboards = dir.to_path_buf();
    let hash = crate::users::hash_password("hunter2").unwrap();
    config.ui.users = toml::from_str::<Config>(&format!(
        "[[ui.users]]\nname = \"ops\"\npassword_hash = \"{hash}\"\n"
    ))
    .unwrap()
    .ui
    .users;
    let auth = AuthConfig {
        read_tokens: vec![READ.into()],
        ingest_tokens: vec![INGEST.into()],
        ..AuthConfig::default()
    };
    let auth = Arc::new(Authenticator::new(
        &auth,
        Sessions::new(10, std::time::Duration::from_secs(60)),
    ));
    routes(auth, &config)
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into(),
    )
}

fn login(form: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn login_session_and_logout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("d.json"),
        r#"{"uid":"d1","title":"One","panels":[]}"#,
    )
    .unwrap();
    let app = app(dir.path());

    let (status, headers, _) = send(&app, get("/d/d1?from=now-1h", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/login?next=/d/d1%3Ffrom%3Dnow-1h"
    );
    let (status, _, _) = send(&app, get("/api/ui/dashboards", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _, body) = send(&app, login("token=wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Invalid token."));
    let (status, _, _) = send(&app, login(&format!("token={INGEST}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = send(&app, login("user=ops&token=nope")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Invalid user name or password."));

    for form in [
        format!("token={READ}&next=%2Fd%2Fd1"),
        "user=ops&token=hunter2&next=%2Fd%2Fd1".to_string(),
    ] {
        let (status, headers, _) = send(&app, login(&form)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{form}");
        assert_eq!(headers[header::LOCATION], "/d/d1");
        let set = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        let cookie = set.split(';').next().unwrap().to_owned();

        let (status, _, body) = send(&app, get("/api/ui/dashboards", Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(r#""uid":"d1""#), "{body}");
        let (status, _, body) = send(&app, get("/api/ui/dashboards/d1", Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(r#""title":"One""#));
        let (status, _, _) = send(&app, get("/api/ui/dashboards/nope", Some(&cookie))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, headers, body) = send(&app, get("/d/d1", Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'self'"));
        assert!(body.contains("pharos-scrape-interval-ms"));

        let logout = Request::post("/logout")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap();
        let (status, headers, _) = send(&app, logout).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
        let (status, _, _) = send(&app, get("/api/ui/dashboards", Some(&cookie))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn assets_are_served_and_unknown_ones_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let (status, headers, _) = send(&app, get("/favicon.svg", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
    let (status, _, _) = send(&app, get("/assets/nope.js", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
