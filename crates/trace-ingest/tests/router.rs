//! The ingest router on a real store: every content type, encoding and failure answer.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use pharos_config::Config;
use pharos_trace_ingest::ingest_router;
use pharos_tracestore::sample::trace_requests;
use pharos_tracestore::TraceStore;
use prost::Message;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

struct Env {
    _dir: tempfile::TempDir,
    store: std::sync::Arc<TraceStore>,
    app: axum::Router,
}

fn env(config: Config) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = TraceStore::open(dir.path(), &config).unwrap();
    let app = ingest_router(store.clone(), &config);
    Env {
        _dir: dir,
        store,
        app,
    }
}

async fn post(
    app: &axum::Router,
    ctype: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::post("/v1/traces").header("content-type", ctype);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, ct, bytes)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn protobuf_and_gzip_are_stored_and_answered_in_kind() {
    let e = env(Config::default());
    let (id, front, cart) = trace_requests(1, now_ns() - 1_000_000_000);
    let body = ExportTraceServiceRequest {
        resource_spans: front,
    }
    .encode_to_vec();
    let (status, ct, resp) = post(&e.app, "application/x-protobuf", None, body).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::OK, "application/x-protobuf")
    );
    assert_eq!(
        ExportTraceServiceResponse::decode(&resp[..])
            .unwrap()
            .partial_success,
        None
    );
    let body = gzip(
        &ExportTraceServiceRequest {
            resource_spans: cart,
        }
        .encode_to_vec(),
    );
    let (status, _, _) = post(&e.app, "application/x-protobuf", Some("gzip"), body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e.store.trace(&id, None).unwrap().unwrap().span_count(), 7);
    e.store.close().unwrap();
}

#[tokio::test]
async fn json_with_partial_success() {
    let e = env(Config::default());
    let now = now_ns();
    let body = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"json-svc"}}}}]}},
        "scopeSpans":[{{"spans":[
          {{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"ok","kind":2,
            "startTimeUnixNano":"{now}","endTimeUnixNano":"{}"}},
          {{"traceId":"00000000000000000000000000000000","spanId":"b7ad6b7169203332","name":"zero id",
            "startTimeUnixNano":"{now}","endTimeUnixNano":"{now}"}}]}}]}}]}}"#,
        now + 5_000_000
    );
    let (status, ct, resp) = post(&e.app, "application/json", None, body.into_bytes()).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(v["partialSuccess"]["rejectedSpans"], "1");
    assert!(v["partialSuccess"]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("trace id"));
    assert_eq!(e.store.services(), vec!["json-svc"]);
    e.store.close().unwrap();
}

#[tokio::test]
async fn bad_input_gets_the_right_status() {
    let mut config = Config::default();
    config.limits.max_decompressed_bytes = bytesize::ByteSize::mib(1);
    let e = env(config);
    let (status, _, body) = post(
        &e.app,
        "application/x-protobuf",
        None,
        vec![0xff, 0xff, 0xff, 0x0f, 0x12],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let st = pharos_trace_ingest_status(&body);
    assert!(st.contains("invalid OTLP protobuf"), "{st}");
    let (status, _, _) = post(&e.app, "text/plain", None, b"hi".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = post(&e.app, "application/json", Some("br"), b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bomb = gzip(&vec![b' '; 8 << 20]);
    let (status, _, _) = post(&e.app, "application/json", Some("gzip"), bomb).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, _) = post(
        &e.app,
        "application/json",
        None,
        br#"{"resourceSpans":[{"scopeSpans":"no"}]}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, mut front, _) = trace_requests(2, now_ns());
    front[0].scope_spans[0].spans[0].span_id = vec![1, 2, 3];
    let body = ExportTraceServiceRequest {
        resource_spans: front,
    }
    .encode_to_vec();
    let (status, _, _) = post(&e.app, "application/x-protobuf", None, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = post(&e.app, "application/x-protobuf", None, Vec::new()).await;
    assert_eq!(status, StatusCode::OK, "an empty request is a success");
    assert!(e.store.services().is_empty());
    e.store.close().unwrap();
}

#[tokio::test]
async fn closed_store_answers_503_with_retry_after() {
    let e = env(Config::default());
    e.store.close().unwrap();
    let (_, front, _) = trace_requests(3, now_ns());
    let body = ExportTraceServiceRequest {
        resource_spans: front,
    }
    .encode_to_vec();
    let req = Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .body(Body::from(body))
        .unwrap();
    let resp = e.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers().get("retry-after").unwrap(), "1");
}

/// The message of a protobuf `google.rpc.Status` (field 2).
fn pharos_trace_ingest_status(body: &[u8]) -> String {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Status {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    let s = Status::decode(body).unwrap();
    assert_eq!(s.code, 3);
    s.message
}
