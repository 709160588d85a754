//! Endpoint tests through the routers with a real TSDB in a temp directory.

use super::*;
use crate::proto::{Label, MetricMetadata, Sample, TimeSeries, WriteRequest};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use prost::Message;
use tower::ServiceExt;

fn config() -> Config {
    let mut c = Config::default();
    c.memory.budget = bytesize::ByteSize::mib(64);
    c.limits.max_decompressed_bytes = bytesize::ByteSize::mib(1);
    c
}

struct Env {
    _dir: tempfile::TempDir,
    tsdb: Arc<Tsdb>,
    ingest: Router,
    read: Router,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let tsdb = Tsdb::open(dir.path(), &config()).unwrap();
    Env {
        ingest: ingest_router(tsdb.clone(), &config()),
        read: read_router(tsdb.clone(), &config()),
        tsdb,
        _dir: dir,
    }
}

fn label(n: &[u8], v: &[u8]) -> Label {
    Label {
        name: Bytes::copy_from_slice(n),
        value: Bytes::copy_from_slice(v),
    }
}

fn series(name: &str, job: &[u8], t: i64, v: f64) -> TimeSeries {
    TimeSeries {
        labels: vec![label(b"__name__", name.as_bytes()), label(b"job", job)],
        samples: vec![Sample {
            value: v,
            timestamp: t,
        }],
        exemplars: vec![],
        histograms: vec![],
    }
}

fn snappy(req: &WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

async fn post(
    router: &Router,
    path: &str,
    ct: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let mut b = Request::post(path).header("content-encoding", "snappy");
    if let Some(ct) = ct {
        b = b.header("content-type", ct);
    }
    let resp = router
        .clone()
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    (status, text)
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'&' | b'=' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn export(env: &Env, query: &str) -> String {
    let query = encode(query);
    let resp = env
        .read
        .clone()
        .oneshot(
            Request::get(format!("/api/v1/export?{query}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

const PB: Option<&str> = Some("application/x-protobuf");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_stores_and_exports() {
    let env = env();
    let now = pharos_tsdb::now_ms();
    let req = WriteRequest {
        timeseries: vec![
            series("up", b"api", now, 1.0),
            series("up", b"web", now, 0.0),
        ],
        metadata: vec![MetricMetadata {
            r#type: 2,
            metric_family_name: "up".into(),
            help: "h".into(),
            unit: String::new(),
        }],
    };
    let (status, body) = post(&env.ingest, "/api/v1/write", PB, snappy(&req)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let out = export(&env, "match[]=up&start=0").await;
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains(&format!("\"timestamps\":[{now}]")), "{out}");
    assert!(
        out.contains("{\"__name__\":\"up\",\"job\":\"api\"}"),
        "{out}"
    );
    let meta = pharos_model::SeriesSource::metadata(&*env.tsdb, Some("up"), None).unwrap();
    assert_eq!(meta[0].kind, "gauge");
    // Bad match[] and missing match[] are 400.
    let resp = env
        .read
        .clone()
        .oneshot(Request::get("/api/v1/export").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_right_status_and_keeps_good_series() {
    let env = env();
    let now = pharos_tsdb::now_ms();
    let good = snappy(&WriteRequest {
        timeseries: vec![series("ok", b"a", now, 1.0)],
        metadata: vec![],
    });
    // Truncated snappy.
    let (s, msg) = post(
        &env.ingest,
        "/api/v1/write",
        PB,
        good[..good.len() / 2].to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{msg}");
    // A snappy bomb: a tiny body whose header claims 1 GiB.
    let mut bomb = Vec::new();
    let mut n = 1u64 << 30;
    while n >= 0x80 {
        bomb.push((n as u8) | 0x80);
        n >>= 7;
    }
    bomb.push(n as u8);
    bomb.extend_from_slice(&[0; 16]);
    let (s, msg) = post(&env.ingest, "/api/v1/write", PB, bomb).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{msg}");
    // Wrong content type, remote-write 2.0, empty body, not protobuf.
    let (s, _) = post(
        &env.ingest,
        "/api/v1/write",
        Some("application/json"),
        good.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, msg) = post(
        &env.ingest,
        "/api/v1/write",
        Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
        good.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(msg.contains("1.0"), "{msg}");
    let (s, _) = post(&env.ingest, "/api/v1/write", PB, Vec::new()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let junk = snap::raw::Encoder::new().compress_vec(&[0xff; 64]).unwrap();
    let (s, msg) = post(&env.ingest, "/api/v1/write", PB, junk).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(msg.contains("protobuf"), "{msg}");
    // Invalid UTF-8 in one series and 10k labels in another: 400, the good series stored.
    let mut huge = series("huge", b"a", now, 1.0);
    for i in 0..10_000 {
        huge.labels.push(label(format!("l{i:05}").as_bytes(), b"v"));
    }
    let req = WriteRequest {
        timeseries: vec![
            series("bad", b"\xff\xfe", now, 1.0),
            huge,
            series("good", b"a", now, 2.0),
        ],
        metadata: vec![],
    };
    let (s, msg) = post(&env.ingest, "/api/v1/write", PB, snappy(&req)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        msg.contains("invalid_utf8") && msg.contains("too_many_labels"),
        "{msg}"
    );
    let out = export(&env, "match[]={__name__=~\".+\"}&start=0").await;
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("\"good\""), "{out}");
    // Too old and too far in the future: 400.
    let req = WriteRequest {
        timeseries: vec![
            series("old", b"a", now - 40 * 86_400_000, 1.0),
            series("future", b"a", now + 3_600_000, 1.0),
        ],
        metadata: vec![],
    };
    let (s, msg) = post(&env.ingest, "/api/v1/write", PB, snappy(&req)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        msg.contains("too_old") && msg.contains("too_far_in_future"),
        "{msg}"
    );
    // Still healthy: a good request after all that works.
    let (s, _) = post(&env.ingest, "/api/v1/write", PB, good).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_import_with_extra_labels_and_gzip() {
    let env = env();
    let now = pharos_tsdb::now_ms();
    let body = format!(
        "# TYPE jobs_done counter\njobs_done{{queue=\"a\"}} 5 {now}\njobs_done{{queue=\"b\"}} 7\n"
    );
    let resp = env
        .ingest
        .clone()
        .oneshot(
            Request::post(
                "/api/v1/import/prometheus?extra_label=instance=cron1&extra_label=env=prod",
            )
            .body(Body::from(body.clone()))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let out = export(
        &env,
        "match[]=jobs_done{env=\"prod\",instance=\"cron1\"}&start=0",
    )
    .await;
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.contains(&format!("\"values\":[5.0],\"timestamps\":[{now}]")),
        "{out}"
    );
    // gzip body, one bad line: 400 naming the line, the good line stored.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"other 1\nnot valid{\n").unwrap();
    let resp = env
        .ingest
        .clone()
        .oneshot(
            Request::post("/api/v1/import/prometheus")
                .header("content-encoding", "gzip")
                .body(Body::from(gz.finish().unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let msg = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(msg.contains("line 2"), "{msg}");
    assert_eq!(export(&env, "match[]=other").await.lines().count(), 1);
    // A gzip bomb over the decompressed limit: 413.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &vec![b'#'; 2 << 20]).unwrap();
    let resp = env
        .ingest
        .clone()
        .oneshot(
            Request::post("/api/v1/import/prometheus")
                .header("content-encoding", "gzip")
                .body(Body::from(gz.finish().unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
