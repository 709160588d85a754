//! Start, readiness, request ids, self-metrics, graceful shutdown, and the embedded default.

mod common;
use common::{client, Server, ADMIN_TOKEN, INGEST_TOKEN};
use reqwest::StatusCode;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn readiness_during_start() {
    let mut srv = Server::builder().no_wait().start();
    // From spawn until ready, /readyz must never answer anything but 503 or 200, and once
    // the process listens /healthz answers 200 whatever the stores are doing.
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = c.get(srv.url("/readyz")).send() {
            seen.push(r.status().as_u16());
            assert!(matches!(r.status().as_u16(), 200 | 503), "{seen:?}");
            assert_eq!(
                c.get(srv.url("/healthz")).send().unwrap().status(),
                StatusCode::OK
            );
            if r.status() == StatusCode::OK {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(seen.last(), Some(&200), "never became ready: {seen:?}");
    srv.wait_ready(Duration::from_secs(5));
}

/// Sends the head of a POST whose body is trickled, so the request stays in flight.
fn start_slow_post(srv: &Server, path: &str, token: &str, body_len: usize) -> TcpStream {
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: text/plain\r\nContent-Length: {body_len}\r\nConnection: close\r\n\r\n",
        srv.addr
    )
    .unwrap();
    s
}

/// Waits (at most 20 s) until `/metrics` shows `n` ingest requests holding a slot.
fn wait_ingest_in_flight(srv: &Server, n: u32) {
    let want = format!("pharos_http_requests_in_flight{{class=\"ingest\"}} {n}\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = srv.get("/metrics").text().unwrap();
        if text.contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {want:?} in:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn graceful_shutdown_drains_a_slow_request() {
    let mut srv = Server::start();
    let body = b"pharos_drain_test{case=\"slow\"} 42\n";
    let mut slow = start_slow_post(&srv, "/api/v1/import/prometheus", INGEST_TOKEN, body.len());
    slow.write_all(&body[..10]).unwrap();
    wait_ingest_in_flight(&srv, 1);
    srv.sigterm();
    // Readiness flips to 503 while the slow request is still in flight ...
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ready_status = 0;
    while Instant::now() < deadline {
        if let Ok(r) = c.get(srv.url("/readyz")).send() {
            ready_status = r.status().as_u16();
            if ready_status == 503 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(ready_status, 503, "readiness did not flip during the drain");
    // ... new work is refused ...
    let r = c
        .get(srv.url("/api/v1/labels"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("retry-after").is_some());
    // ... and the slow request still completes.
    slow.write_all(&body[10..]).unwrap();
    let mut resp = String::new();
    slow.read_to_string(&mut resp).unwrap();
    let status_line = resp.lines().next().unwrap_or_default().to_owned();
    assert!(
        status_line.contains(" 204 ") || status_line.contains(" 200 "),
        "slow request got: {status_line}"
    );
    let status = srv.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "exit status {status}");
}

#[test]
fn request_id_is_echoed_or_minted() {
    let srv = Server::start();
    let r = client()
        .get(srv.url("/healthz"))
        .header("X-Request-Id", "abc-123")
        .send()
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = client().get(srv.url("/healthz")).send().unwrap();
    let minted = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(minted.len(), 16);
    let r = client()
        .get(srv.url("/api/v1/labels"))
        .header("X-Request-Id", "trace-me-42")
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
    let r = client()
        .get(srv.url("/api/v1/query?query=sum("))
        .header("X-Request-Id", "failed-7")
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["x-request-id"], "failed-7");
    let logs = srv.logs();
    let failed = logs
        .lines()
        .find(|l| l.contains("failed-7"))
        .expect("a failed request is logged with its request id");
    assert!(
        failed.contains("request finished") && failed.contains("400"),
        "{failed}"
    );
    // Successful fast requests are logged at DEBUG only (off by default).
    assert!(!logs.contains("trace-me-42"), "{logs}");
}

#[test]
fn self_metrics_count_requests_by_route_pattern() {
    let srv = Server::start();
    for _ in 0..3 {
        srv.get("/api/v1/label/job/values");
    }
    srv.get("/api/v1/label/instance/values");
    let text = srv.get("/metrics").text().unwrap();
    let scrape =
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses");
    let count = |route: &str, code: &str| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == "pharos_http_requests_total")
            .filter(|s| s.labels.get("route") == Some(route) && s.labels.get("code") == Some(code))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    assert_eq!(count("/api/v1/label/:name/values", "200"), 4.0, "{text}");
    assert!(
        !text.contains("route=\"/api/v1/label/job/values\""),
        "raw paths must not be label values"
    );
    assert!(scrape
        .samples
        .iter()
        .any(|s| s.metric == "pharos_http_request_duration_seconds_count"));
    assert!(scrape
        .samples
        .iter()
        .any(|s| s.metric == "process_resident_memory_bytes"));
}

#[test]
fn body_over_the_limit_is_413() {
    let srv = Server::builder()
        .config("[limits]\nmax_body_bytes = \"1KiB\"\n")
        .start();
    let big = vec![b'#'; 4096];
    let r = srv.post_as(
        "/api/v1/import/prometheus",
        Some(INGEST_TOKEN),
        "text/plain",
        big,
    );
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn embedded_default_token_is_created_once_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mut srv = Server::builder().without_tokens().start();
    let token_file = srv.data.join("token");
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(token.len(), 64);
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        srv.logs().contains(&token),
        "the first start prints the token"
    );
    assert_eq!(
        srv.get_as("/api/v1/admin/status", Some(&token)).status(),
        StatusCode::OK
    );
    assert!(srv.stop().success());
    let before = srv.logs().matches(&token).count();
    srv.restart();
    assert_eq!(
        std::fs::read_to_string(&token_file).unwrap().trim(),
        token,
        "token kept"
    );
    assert_eq!(
        srv.logs().matches(&token).count(),
        before,
        "printed only once"
    );
    assert_eq!(
        srv.get_as("/api/v1/admin/status", Some(&token)).status(),
        StatusCode::OK
    );
}

#[test]
fn tokens_never_reach_the_logs() {
    // DEBUG for the front: every request's "request finished" line is written.
    let mut srv = Server::builder()
        .arg("--log-format")
        .arg("json")
        .env("PHAROS_LOG", "info,pharos_front=debug")
        .start();
    let wrong = "wrong-secret-token-0123456789abcdef";
    srv.get_as("/api/v1/labels", Some(wrong));
    srv.get_as("/api/v1/labels", Some(ADMIN_TOKEN));
    srv.post_as(
        "/api/v1/import/prometheus",
        Some(INGEST_TOKEN),
        "text/plain",
        b"x 1\n".to_vec(),
    );
    client()
        .get(srv.url("/api/v1/labels"))
        .header("Authorization", format!("Basic {wrong}"))
        .send()
        .unwrap();
    assert!(srv.stop().success());
    let logs = srv.logs();
    assert!(
        logs.lines()
            .filter(|l| l.contains("request finished"))
            .count()
            >= 4,
        "expected a log line per request:\n{logs}"
    );
    for secret in [wrong, ADMIN_TOKEN, INGEST_TOKEN, common::READ_TOKEN] {
        assert!(!logs.contains(secret), "a token reached the log");
    }
    assert!(
        !logs.to_ascii_lowercase().contains("authorization"),
        "the Authorization header reached the log"
    );
    for line in logs.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(line).expect("JSON log line");
    }
}

#[test]
fn concurrency_limit_answers_429_with_retry_after() {
    let srv = Server::builder()
        .config("[limits]\ningest_concurrency = 1\nqueue_wait = \"100ms\"\n")
        .start();
    let body = b"pharos_limit_test 1\n";
    let mut slow = start_slow_post(&srv, "/api/v1/import/prometheus", INGEST_TOKEN, body.len());
    slow.write_all(&body[..5]).unwrap();
    wait_ingest_in_flight(&srv, 1);
    let r = srv.post_as(
        "/api/v1/import/prometheus",
        Some(INGEST_TOKEN),
        "text/plain",
        b"x 1\n".to_vec(),
    );
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "1");
    // Queries are another class: not affected.
    assert_eq!(srv.get("/api/v1/labels").status(), StatusCode::OK);
    slow.write_all(&body[5..]).unwrap();
    let mut resp = String::new();
    slow.read_to_string(&mut resp).unwrap();
    assert!(
        resp.starts_with("HTTP/1.1 204") || resp.starts_with("HTTP/1.1 200"),
        "{resp}"
    );
    wait_ingest_in_flight(&srv, 0);
    let text = srv.get("/metrics").text().unwrap();
    assert!(
        text.contains(
            "pharos_http_requests_refused_total{class=\"ingest\",reason=\"concurrency\"} 1"
        ),
        "{text}"
    );
}

#[test]
fn a_stalled_request_times_out_with_503() {
    let srv = Server::builder()
        .config("[server]\nrequest_timeout = \"1s\"\n")
        .start();
    let mut slow = start_slow_post(&srv, "/api/v1/import/prometheus", INGEST_TOKEN, 100);
    slow.write_all(b"pharos_").unwrap();
    let started = Instant::now();
    let mut resp = String::new();
    let _ = slow.read_to_string(&mut resp);
    assert!(resp.starts_with("HTTP/1.1 503"), "{resp}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_server_stores_its_own_metrics() {
    let srv = Server::builder()
        .config("[server]\nself_scrape_interval = \"200ms\"\n")
        .start();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body: serde_json::Value = srv
            .get("/api/v1/query?query=process_resident_memory_bytes%7Bjob%3D%22pharos%22%7D")
            .json()
            .unwrap();
        if body["data"]["result"]
            .as_array()
            .is_some_and(|r| r.len() == 1)
        {
            let rss: f64 = body["data"]["result"][0]["value"][1]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(rss > 1e6, "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "no self-scraped series: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // No `instance` label: label values of instance stay those of the data sent.
    let values: serde_json::Value = srv.get("/api/v1/label/instance/values").json().unwrap();
    assert_eq!(values["data"], serde_json::json!([]));
}
