//! The auth matrix: every endpoint × no token, wrong token, and each scope, with exact codes.

mod common;
use common::{client, Server, ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN};
use reqwest::StatusCode;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Needs {
    Ingest,
    Read,
    Admin,
}

/// Every authenticated endpoint: method, path, content type, body, needed scope.
fn endpoints() -> Vec<(&'static str, &'static str, &'static str, Vec<u8>, Needs)> {
    let text = b"pharos_auth_test 1\n".to_vec();
    vec![
        (
            "POST",
            "/api/v1/write",
            "application/x-protobuf",
            vec![],
            Needs::Ingest,
        ),
        (
            "POST",
            "/api/v1/import/prometheus",
            "text/plain",
            text,
            Needs::Ingest,
        ),
        (
            "POST",
            "/v1/traces",
            "application/json",
            br#"{"resourceSpans":[]}"#.to_vec(),
            Needs::Ingest,
        ),
        (
            "GET",
            "/api/v1/query?query=1%2B1&time=4",
            "",
            vec![],
            Needs::Read,
        ),
        (
            "GET",
            "/api/v1/query_range?query=up&start=0&end=60&step=15",
            "",
            vec![],
            Needs::Read,
        ),
        ("GET", "/api/v1/series?match[]=up", "", vec![], Needs::Read),
        ("GET", "/api/v1/labels", "", vec![], Needs::Read),
        ("GET", "/api/v1/label/job/values", "", vec![], Needs::Read),
        ("GET", "/api/v1/metadata", "", vec![], Needs::Read),
        ("GET", "/api/v1/status/buildinfo", "", vec![], Needs::Read),
        ("GET", "/api/v1/export?match[]=up", "", vec![], Needs::Read),
        ("GET", "/api/services", "", vec![], Needs::Read),
        ("GET", "/api/search", "", vec![], Needs::Read),
        ("GET", "/api/echo", "", vec![], Needs::Read),
        ("GET", "/metrics", "", vec![], Needs::Read),
        ("GET", "/api/v1/admin/status", "", vec![], Needs::Admin),
    ]
}

fn call(
    srv: &Server,
    method: &str,
    path: &str,
    ct: &str,
    body: &[u8],
    token: Option<&str>,
) -> reqwest::blocking::Response {
    let mut rb = match method {
        "POST" => client()
            .post(srv.url(path))
            .header("Content-Type", ct)
            .body(body.to_vec()),
        _ => client().get(srv.url(path)),
    };
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    rb.send().unwrap()
}

#[test]
fn auth_matrix() {
    let srv = Server::start();
    let mut failures = Vec::new();
    for (method, path, ct, body, needs) in endpoints() {
        let r = call(&srv, method, path, ct, &body, None);
        if r.status() != StatusCode::UNAUTHORIZED {
            failures.push(format!("{method} {path} without token: {}", r.status()));
        } else if r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap())
            != Some("Bearer realm=\"pharos\"")
        {
            failures.push(format!(
                "{method} {path}: 401 without WWW-Authenticate: Bearer"
            ));
        }
        let r = call(
            &srv,
            method,
            path,
            ct,
            &body,
            Some("wrong-token-0123456789abcdef"),
        );
        if r.status() != StatusCode::UNAUTHORIZED {
            failures.push(format!("{method} {path} with wrong token: {}", r.status()));
        }
        for (token, scope) in [
            (INGEST_TOKEN, Needs::Ingest),
            (READ_TOKEN, Needs::Read),
            (ADMIN_TOKEN, Needs::Admin),
        ] {
            let allowed = scope == Needs::Admin || scope == needs;
            let status = call(&srv, method, path, ct, &body, Some(token)).status();
            let ok = if allowed {
                status != StatusCode::UNAUTHORIZED
                    && status != StatusCode::FORBIDDEN
                    && status != StatusCode::NOT_FOUND
            } else {
                status == StatusCode::FORBIDDEN
            };
            if !ok {
                failures.push(format!(
                    "{method} {path} with {scope:?} token: {status} (allowed: {allowed})"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "auth matrix failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn health_needs_no_token_and_malformed_header_is_401() {
    let srv = Server::start();
    assert_eq!(srv.get_as("/healthz", None).status(), StatusCode::OK);
    assert_eq!(srv.get_as("/readyz", None).status(), StatusCode::OK);
    let r = client()
        .get(srv.url("/api/v1/admin/status"))
        .header("Authorization", "Basic Zm9vOmJhcg==")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn anonymous_metrics_when_configured() {
    let srv = Server::builder().config("").start();
    assert_eq!(
        srv.get_as("/metrics", None).status(),
        StatusCode::UNAUTHORIZED
    );
    drop(srv);
    // The [auth] table is generated by the harness; a second [auth] table would be a
    // duplicate, so this server gets its tokens from the flag instead.
    let srv = Server::builder()
        .without_tokens()
        .arg("--token")
        .arg(ADMIN_TOKEN)
        .config("[auth]\nanonymous_metrics = true\n")
        .start();
    assert_eq!(srv.get_as("/metrics", None).status(), StatusCode::OK);
}
