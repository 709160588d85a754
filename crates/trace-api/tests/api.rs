//! The Jaeger and Tempo routes on a real store filled with sample traces.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use pharos_config::Config;
use pharos_trace_api::read_router;
use pharos_tracestore::sample::trace_requests;
use pharos_tracestore::{hex, TraceStore};
use prost::Message;
use serde_json::Value;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

const MS: u64 = 1_000_000;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<TraceStore>,
    app: axum::Router,
    ids: Vec<[u8; 16]>,
    base: u64,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::default();
    let store = TraceStore::open(dir.path(), &config).unwrap();
    let base = now_ns() - 600_000 * MS;
    let mut ids = Vec::new();
    for seed in 1..=12u64 {
        let (id, f, c) = trace_requests(seed, base + seed * 1000 * MS);
        store.write(f).await.unwrap();
        store.write(c).await.unwrap();
        ids.push(id);
    }
    let app = read_router(store.clone(), &config);
    Env {
        _dir: dir,
        store,
        app,
        ids,
        base,
    }
}

async fn get(app: &axum::Router, uri: &str, accept: Option<&str>) -> (StatusCode, Vec<u8>) {
    let mut req = Request::get(uri);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

async fn get_json(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let (s, b) = get(app, uri, None).await;
    (
        s,
        serde_json::from_slice(&b)
            .unwrap_or_else(|e| panic!("{uri}: {e}: {}", String::from_utf8_lossy(&b))),
    )
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn jaeger_services_operations_and_trace_model() {
    let e = env().await;
    let (s, v) = get_json(&e.app, "/api/services").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"], serde_json::json!(["cart", "frontend"]));
    assert_eq!(v["total"], 2);
    assert_eq!(v["errors"], Value::Null);
    let (_, v) = get_json(&e.app, "/api/services/cart/operations").await;
    assert_eq!(v["data"].as_array().unwrap().len(), 4);
    let (_, v) = get_json(&e.app, "/api/operations?service=frontend&spanKind=server").await;
    let ops = v["data"].as_array().unwrap();
    assert!(ops.iter().all(|o| o["spanKind"] == "server"));
    assert_eq!(ops.len(), 3, "three routes");

    let failing = e.ids[9]; // seed 10 fails
    let (s, v) = get_json(&e.app, &format!("/api/traces/{}", hex(&failing))).await;
    assert_eq!(s, StatusCode::OK);
    let t = &v["data"][0];
    assert_eq!(t["traceID"], hex(&failing));
    let spans = t["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 7);
    assert_eq!(t["processes"].as_object().unwrap().len(), 2);
    let root = spans
        .iter()
        .find(|s| s["operationName"].as_str().unwrap().starts_with("GET "))
        .unwrap();
    assert_eq!(root["references"], serde_json::json!([]));
    let tags = root["tags"].as_array().unwrap();
    let tag = |k: &str| {
        tags.iter()
            .find(|t| t["key"] == k)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(tag("http.response.status_code")["value"], 500);
    assert_eq!(tag("http.response.status_code")["type"], "int64");
    assert_eq!(tag("sampled.ratio")["type"], "float64");
    assert_eq!(tag("span.kind")["value"], "server");
    assert_eq!(tag("error")["value"], true);
    assert_eq!(tag("otel.status_code")["value"], "ERROR");
    assert_eq!(
        tag("otel.scope.name")["value"],
        "opentelemetry.instrumentation.flask"
    );
    assert_eq!(tag("w3c.tracestate")["value"], "vendor=abc");
    let render = spans
        .iter()
        .find(|s| s["operationName"] == "render page")
        .unwrap();
    let rtags = render["tags"].as_array().unwrap();
    let rtag = |k: &str| rtags.iter().find(|t| t["key"] == k).cloned().unwrap();
    assert_eq!(rtag("tags")["value"], r#"["a",2]"#);
    assert_eq!(rtag("checksum")["type"], "binary");
    assert_eq!(rtag("checksum")["value"], "3q2+7w==");
    let refs = render["references"].as_array().unwrap();
    assert_eq!(refs[0]["refType"], "CHILD_OF");
    assert_eq!(refs[1]["refType"], "FOLLOWS_FROM");
    let cache = spans.iter().find(|s| s["operationName"] == "GET").unwrap();
    let log = &cache["logs"][0];
    assert_eq!(
        log["fields"][0],
        serde_json::json!({"key": "event", "type": "string", "value": "exception"})
    );
    assert!(log["timestamp"].as_u64().unwrap() > 0);
    let (s, v) = get_json(&e.app, "/api/traces/0123456789abcdef").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["errors"][0]["code"], 404);
    let (s, _) = get_json(&e.app, "/api/traces/not-hex").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    e.store.close().unwrap();
}

#[tokio::test]
async fn jaeger_search_and_dependencies() {
    let e = env().await;
    let start = e.base / 1000;
    let end = now_ns() / 1000;
    let uri = |extra: &str| {
        format!(
            "/api/traces?service=frontend&start={start}&end={end}&lookback=custom&limit=20{extra}"
        )
    };
    let (s, v) = get_json(&e.app, &uri("")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"].as_array().unwrap().len(), 12);
    let tags = enc(r#"{"error":"true"}"#);
    let (_, v) = get_json(&e.app, &uri(&format!("&tags={tags}"))).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let (_, v) = get_json(
        &e.app,
        &uri("&tag=http.route:/api/cart&minDuration=100ms&maxDuration=1s"),
    )
    .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 4, "seeds 3, 6, 9, 12");
    let (_, v) = get_json(&e.app, &uri(&format!("&operation={}", enc("render page")))).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 12);
    let (s, v) = get_json(&e.app, "/api/traces?start=1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["msg"], "parameter 'service' is required");
    let (s, _) = get_json(&e.app, &uri("&minDuration=2s&maxDuration=1s")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = get_json(&e.app, &uri("&tags=notjson")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, v) = get_json(
        &e.app,
        &format!("/api/traces?traceID={}&traceID=abc", hex(&e.ids[0])),
    )
    .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(v["errors"][0]["code"], 404);
    let (_, v) = get_json(
        &e.app,
        &format!(
            "/api/dependencies?endTs={}&lookback=86400000",
            now_ns() / 1_000_000
        ),
    )
    .await;
    assert_eq!(
        v["data"],
        serde_json::json!([{"parent": "frontend", "child": "cart", "callCount": 12}])
    );
    e.store.close().unwrap();
}

#[tokio::test]
async fn jaeger_v3_otlp_json() {
    let e = env().await;
    let (_, v) = get_json(&e.app, "/api/v3/services").await;
    assert_eq!(v["services"], serde_json::json!(["cart", "frontend"]));
    let (_, v) = get_json(&e.app, "/api/v3/operations?service=cart&spanKind=client").await;
    assert_eq!(v["operations"].as_array().unwrap().len(), 3);
    let (s, v) = get_json(&e.app, &format!("/api/v3/traces/{}", hex(&e.ids[0]))).await;
    assert_eq!(s, StatusCode::OK);
    let rs = v["result"]["resourceSpans"].as_array().unwrap();
    assert_eq!(rs.len(), 2);
    let span = &rs[0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"], hex(&e.ids[0]));
    let (s, v) = get_json(&e.app, "/api/v3/traces/0000000000000001").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["httpCode"], 404);
    let min = enc("2000-01-01T00:00:00Z");
    let max = enc(&chrono_now());
    let (s, v) = get_json(&e.app, &format!("/api/v3/traces?query.service_name=cart&query.start_time_min={min}&query.start_time_max={max}&query.attributes[db.system]=redis")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = get_json(&e.app, "/api/v3/traces?query.service_name=cart").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    e.store.close().unwrap();
}

fn chrono_now() -> String {
    let secs = now_ns() / 1_000_000_000 + 60;
    // Days since epoch to a civil date (proleptic Gregorian).
    let days = (secs / 86_400) as i64;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[tokio::test]
async fn tempo_trace_by_id_search_and_tags() {
    let e = env().await;
    let (s, b) = get(&e.app, "/api/echo", None).await;
    assert_eq!((s, b.as_slice()), (StatusCode::OK, &b"echo"[..]));
    let id = hex(&e.ids[0]);
    let (s, b) = get(
        &e.app,
        &format!("/api/v2/traces/{id}"),
        Some("application/protobuf"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    #[derive(Clone, PartialEq, prost::Message)]
    struct ByIdResponse {
        #[prost(message, optional, tag = "1")]
        trace: Option<TracesData>,
    }
    let resp = ByIdResponse::decode(&b[..]).unwrap();
    let spans: usize = resp
        .trace
        .unwrap()
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    assert_eq!(spans, 7);
    let (s, b) = get(
        &e.app,
        &format!("/api/traces/{id}"),
        Some("application/protobuf"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(TracesData::decode(&b[..]).unwrap().resource_spans.len(), 2);
    let (_, v) = get_json(&e.app, &format!("/api/v2/traces/{id}")).await;
    let span = &v["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["kind"], "SPAN_KIND_SERVER");
    assert_eq!(
        span["traceId"].as_str().unwrap().len(),
        24,
        "base64 of 16 bytes"
    );
    let (s, _) = get(
        &e.app,
        "/api/v2/traces/00000000000000000000000000000001",
        Some("application/protobuf"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let start = e.base / 1_000_000_000;
    let end = now_ns() / 1_000_000_000 + 1;
    let q =
        enc(r#"{ resource.service.name = "cart" && span.db.system = "redis" && status = error }"#);
    let (s, v) = get_json(
        &e.app,
        &format!("/api/search?q={q}&start={start}&end={end}&limit=20&spss=3"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let traces = v["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0]["traceID"], hex(&e.ids[9]));
    assert_eq!(traces[0]["rootServiceName"], "frontend");
    assert!(traces[0]["startTimeUnixNano"].is_string());
    assert!(traces[0]["durationMs"].as_u64().unwrap() >= 120);
    assert_eq!(traces[0]["spanSets"][0]["matched"], 1);
    let q = enc(r#"{ name = "render page" && duration >= 15ms && .cached = true }"#);
    let (_, v) = get_json(
        &e.app,
        &format!("/api/search?q={q}&start={start}&end={end}"),
    )
    .await;
    assert_eq!(v["traces"].as_array().unwrap().len(), 6);
    let (_, v) = get_json(
        &e.app,
        &format!(
            "/api/search?tags={}&minDuration=100ms&start={start}&end={end}",
            enc("service.name=front http.route=checkout")
        ),
    )
    .await;
    assert_eq!(v["traces"].as_array().unwrap().len(), 4);
    let (s, _) = get(&e.app, &format!("/api/search?q={}", enc("{ .a = }")), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (_, v) = get_json(&e.app, "/api/search/tags").await;
    assert!(v["tagNames"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "db.statement"));
    let (_, v) = get_json(&e.app, "/api/v2/search/tags").await;
    assert_eq!(v["scopes"].as_array().unwrap().len(), 3);
    let (_, v) = get_json(&e.app, "/api/search/tag/db.system/values").await;
    assert_eq!(v["tagValues"], serde_json::json!(["postgresql", "redis"]));
    let (_, v) = get_json(&e.app, "/api/v2/search/tag/resource.service.name/values").await;
    assert_eq!(
        v["tagValues"][0],
        serde_json::json!({"type": "string", "value": "cart"})
    );
    let (_, v) = get_json(
        &e.app,
        "/api/v2/search/tag/span.http.response.status_code/values",
    )
    .await;
    assert!(v["tagValues"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"type": "int", "value": "500"})));
    e.store.close().unwrap();
}
