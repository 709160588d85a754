//! The official OpenTelemetry Python SDK (`opentelemetry-sdk`,
//! `opentelemetry-exporter-otlp-proto-http`, in `tests/.venv`) sends realistic traces to
//! the real binary; every span, attribute, event and link comes back through the Jaeger
//! and the Tempo APIs.

mod common;

use common::{Server, INGEST_TOKEN, READ_TOKEN};
use pharos_tracestore::opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use pharos_tracestore::opentelemetry_proto::tonic::trace::v1::{Span, TracesData};
use pharos_tracestore::prost::{self, Message};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn python() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let py = root.join("tests/.venv/bin/python");
    let ok = py.exists()
        && Command::new(&py)
            .args([
                "-c",
                "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http",
            ])
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    let msg = "the OpenTelemetry Python SDK is missing: run tests/setup.sh (creates tests/.venv from tests/requirements.txt)";
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

fn send(py: &PathBuf, srv: &Server, traces: usize, compression: &str) -> Value {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/traces/send_traces.py");
    let out = Command::new(py)
        .arg(script)
        .arg(srv.url(""))
        .arg(INGEST_TOKEN)
        .arg(traces.to_string())
        .arg(compression)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "sender failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["flushed"],
        true,
        "SDK flush failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    v
}

#[derive(Clone, PartialEq, prost::Message)]
#[prost(prost_path = "pharos_tracestore::prost")]
struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    trace: Option<TracesData>,
}

fn tempo_spans(srv: &Server, id: &str) -> Vec<(String, Span)> {
    let r = common::client()
        .get(srv.url(&format!("/api/v2/traces/{id}")))
        .bearer_auth(READ_TOKEN)
        .header("accept", "application/protobuf")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = TraceByIdResponse::decode(&r.bytes().unwrap()[..])
        .unwrap()
        .trace
        .unwrap();
    let mut out = Vec::new();
    for rs in t.resource_spans {
        let svc = rs
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Any::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap();
        for ss in rs.scope_spans {
            out.extend(ss.spans.into_iter().map(|s| (svc.clone(), s)));
        }
    }
    out
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a Any> {
    s.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

#[test]
fn python_sdk_traces_come_back_intact_through_jaeger_and_tempo() {
    let Some(py) = python() else { return };
    let srv = Server::start();
    let plain = send(&py, &srv, 6, "none");
    let gz = send(&py, &srv, 2, "gzip");
    let traces: Vec<Value> = plain["traces"]
        .as_array()
        .unwrap()
        .iter()
        .chain(gz["traces"].as_array().unwrap())
        .cloned()
        .collect();
    assert_eq!(traces.len(), 8);
    for t in &traces {
        let id = t["trace_id"].as_str().unwrap();
        let failing = t["failing"].as_bool().unwrap();

        // Jaeger: the model Grafana's Jaeger data source reads.
        let r = srv.get_as(&format!("/api/traces/{id}"), Some(READ_TOKEN));
        assert_eq!(r.status(), 200, "trace {id}");
        let j: Value = r.json().unwrap();
        let jt = &j["data"][0];
        let spans = jt["spans"].as_array().unwrap();
        assert_eq!(spans.len(), 6, "trace {id}: {jt}");
        let services: Vec<&str> = jt["processes"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p["serviceName"].as_str().unwrap())
            .collect();
        assert!(services.contains(&"py-frontend") && services.contains(&"py-cart"));
        let by_name = |n: &str| {
            spans
                .iter()
                .find(|s| s["operationName"] == n)
                .unwrap_or_else(|| panic!("no span {n}"))
        };
        let root = by_name("GET /api/cart");
        let tag = |s: &Value, k: &str| {
            s["tags"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["key"] == k)
                .cloned()
        };
        assert_eq!(
            tag(root, "http.response.status_code").unwrap()["value"],
            if failing { 500 } else { 200 }
        );
        assert_eq!(tag(root, "sampled.ratio").unwrap()["type"], "float64");
        assert_eq!(tag(root, "retry").unwrap()["value"], false);
        assert_eq!(tag(root, "tags.list").unwrap()["value"], r#"["a","b"]"#);
        assert_eq!(tag(root, "span.kind").unwrap()["value"], "server");
        assert_eq!(
            tag(root, "otel.scope.name").unwrap()["value"],
            "shop.frontend"
        );
        let db = by_name("SELECT shop.cart_items");
        assert_eq!(
            tag(db, "db.statement").unwrap()["value"],
            "SELECT id, qty FROM cart_items WHERE cart_id = $1"
        );
        let server = by_name("cart.CartService/GetCart");
        assert_eq!(server["logs"][0]["fields"][0]["value"], "cart loaded");
        let client = by_name("cart.GetCart");
        assert_eq!(
            server["references"][0]["spanID"], client["spanID"],
            "cross-service parent"
        );
        let cache = by_name("GET");
        if failing {
            assert_eq!(tag(cache, "error").unwrap()["value"], true);
            let fields = cache["logs"][0]["fields"].as_array().unwrap();
            assert!(
                fields
                    .iter()
                    .any(|f| f["key"] == "exception.type" && f["value"] == "ConnectionResetError"),
                "{fields:?}"
            );
            assert!(fields.iter().any(|f| f["key"] == "exception.stacktrace"));
        }
        let render = by_name("render page");
        if let Some(prev) = t["linked_to"].as_str() {
            let refs = render["references"].as_array().unwrap();
            assert!(
                refs.iter()
                    .any(|r| r["refType"] == "FOLLOWS_FROM" && r["spanID"] == prev),
                "{refs:?}"
            );
        }

        // Tempo: protobuf, as Grafana's Tempo data source reads it; OTLP fields intact.
        let spans = tempo_spans(&srv, id);
        assert_eq!(spans.len(), 6);
        let (svc, root) = spans
            .iter()
            .find(|(_, s)| s.name == "GET /api/cart")
            .unwrap();
        assert_eq!(svc, "py-frontend");
        assert_eq!(hex(&root.span_id), t["root_span_id"].as_str().unwrap());
        assert!(matches!(attr(root, "ids.list"), Some(Any::ArrayValue(a)) if a.values.len() == 3));
        assert!(matches!(attr(root, "sampled.ratio"), Some(Any::DoubleValue(d)) if *d == 0.5));
        assert_eq!(root.kind, 2);
        assert_eq!(
            root.status.as_ref().map(|s| s.code).unwrap_or(0),
            if failing { 2 } else { 0 }
        );
        let (_, render) = spans.iter().find(|(_, s)| s.name == "render page").unwrap();
        if let Some(prev) = t["linked_to"].as_str() {
            assert_eq!(render.links.len(), 1);
            assert_eq!(hex(&render.links[0].span_id), prev);
            assert_eq!(render.links[0].attributes[0].key, "link.reason");
        }
        let (_, cache) = spans.iter().find(|(_, s)| s.name == "GET").unwrap();
        if failing {
            assert_eq!(cache.events[0].name, "exception");
            assert_eq!(
                cache.status.as_ref().unwrap().message,
                "connection reset by peer"
            );
        }
    }
    // Search finds the failing ones through the index (Jaeger and Tempo).
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros()
        + 1_000_000;
    let r: Value = srv
        .get_as(&format!("/api/traces?service=py-frontend&tags=%7B%22error%22%3A%22true%22%7D&start=0&end={end}&limit=50"), Some(READ_TOKEN))
        .json()
        .unwrap();
    let failing = traces.iter().filter(|t| t["failing"] == true).count();
    assert_eq!(r["data"].as_array().unwrap().len(), failing);
    let q = "%7B%20resource.service.name%20%3D%20%22py-cart%22%20%26%26%20span.db.system%20%3D%20%22redis%22%20%26%26%20status%20%3D%20error%20%7D";
    let r: Value = srv
        .get_as(&format!("/api/search?q={q}&limit=50"), Some(READ_TOKEN))
        .json()
        .unwrap();
    assert_eq!(r["traces"].as_array().unwrap().len(), failing);
    let deps: Value = srv
        .get_as("/api/dependencies?lookback=3600000", Some(READ_TOKEN))
        .json()
        .unwrap();
    assert_eq!(deps["data"][0]["parent"], "py-frontend");
    assert_eq!(deps["data"][0]["child"], "py-cart");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
