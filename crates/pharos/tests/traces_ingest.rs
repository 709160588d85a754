//! Traces through the real binary: OTLP protobuf and JSON in, Jaeger and Tempo out;
//! acknowledged spans survive `kill -9`; retention frees disk and results; bad input
//! gets the right status and the server stays up.

mod common;

use common::{Server, ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN};
use pharos_tracestore::opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use pharos_tracestore::opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use pharos_tracestore::prost::Message;
use pharos_tracestore::sample::trace_requests;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const HOUR: u64 = 3_600_000_000_000;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn pb(rs: Vec<ResourceSpans>) -> Vec<u8> {
    ExportTraceServiceRequest { resource_spans: rs }.encode_to_vec()
}

fn send(srv: &Server, rs: Vec<ResourceSpans>) {
    let r = srv.post_as(
        "/v1/traces",
        Some(INGEST_TOKEN),
        "application/x-protobuf",
        pb(rs),
    );
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());
}

fn jaeger_trace(srv: &Server, id: &[u8]) -> Option<Value> {
    let r = srv.get_as(&format!("/api/traces/{}", hex(id)), Some(READ_TOKEN));
    if r.status() == 404 {
        return None;
    }
    assert_eq!(r.status(), 200);
    Some(r.json::<Value>().unwrap()["data"][0].clone())
}

#[test]
fn protobuf_and_json_come_back_through_jaeger_and_tempo() {
    let srv = Server::start();
    let (id, front, cart) = trace_requests(10, now_ns() - 60_000_000_000);
    send(&srv, front);
    send(&srv, cart);
    let t = jaeger_trace(&srv, &id).expect("stored");
    assert_eq!(t["spans"].as_array().unwrap().len(), 7);
    // Tempo, as Grafana asks: protobuf by Accept.
    let r = common::client()
        .get(srv.url(&format!("/api/v2/traces/{}", hex(&id))))
        .bearer_auth(READ_TOKEN)
        .header("accept", "application/protobuf")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().unwrap().len() > 500);

    // A raw OTLP/JSON request, answered in JSON.
    let now = now_ns();
    let body = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"raw-json"}}}}]}},
        "scopeSpans":[{{"scope":{{"name":"curl"}},"spans":[{{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
        "name":"raw op","kind":2,"startTimeUnixNano":"{now}","endTimeUnixNano":"{}",
        "attributes":[{{"key":"n","value":{{"intValue":"42"}}}},{{"key":"ok","value":{{"boolValue":true}}}}],
        "events":[{{"timeUnixNano":"{now}","name":"hello","attributes":[{{"key":"x","value":{{"doubleValue":1.5}}}}]}}],
        "status":{{"code":2,"message":"bad"}}}}]}}]}}]}}"#,
        now + 2_000_000
    );
    let r = srv.post_as(
        "/v1/traces",
        Some(INGEST_TOKEN),
        "application/json",
        body.into_bytes(),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.json::<Value>().unwrap(), serde_json::json!({}));
    let t = jaeger_trace(
        &srv,
        &[
            0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f,
            0xc6, 0x0c,
        ],
    )
    .unwrap();
    let span = &t["spans"][0];
    assert_eq!(span["operationName"], "raw op");
    assert_eq!(span["duration"], 2000);
    let tags = span["tags"].as_array().unwrap();
    assert!(tags.contains(&serde_json::json!({"key": "n", "type": "int64", "value": 42})));
    assert!(tags.contains(&serde_json::json!({"key": "error", "type": "bool", "value": true})));
    assert_eq!(
        span["logs"][0]["fields"][1],
        serde_json::json!({"key": "x", "type": "float64", "value": 1.5})
    );
    let services = srv
        .get_as("/api/services", Some(READ_TOKEN))
        .json::<Value>()
        .unwrap();
    assert_eq!(
        services["data"],
        serde_json::json!(["cart", "frontend", "raw-json"])
    );
    // Scopes: a read token cannot ingest, an ingest token cannot read.
    assert_eq!(
        srv.post_as(
            "/v1/traces",
            Some(READ_TOKEN),
            "application/x-protobuf",
            vec![]
        )
        .status(),
        403
    );
    assert_eq!(
        srv.get_as("/api/services", Some(INGEST_TOKEN)).status(),
        403
    );
    assert_eq!(
        srv.post_as("/v1/traces", None, "application/x-protobuf", vec![])
            .status(),
        401
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out.stdout
}

#[test]
fn bad_input_gets_the_right_status_and_no_panic() {
    let srv = Server::builder()
        .config("[limits]\nmax_decompressed_bytes = \"4MiB\"\n")
        .start();
    let post = |ctype: &str, enc: Option<&str>, body: Vec<u8>| {
        let mut rb = common::client()
            .post(srv.url("/v1/traces"))
            .bearer_auth(INGEST_TOKEN)
            .header("content-type", ctype)
            .body(body);
        if let Some(e) = enc {
            rb = rb.header("content-encoding", e);
        }
        rb.send().unwrap()
    };
    assert_eq!(
        post(
            "application/x-protobuf",
            None,
            b"\x0a\xff\xff\xff\xff\x0f garbage".to_vec()
        )
        .status(),
        400
    );
    let (_, mut front, _) = trace_requests(1, now_ns());
    front[0].scope_spans[0].spans[0].trace_id = vec![1; 15];
    assert_eq!(
        post("application/x-protobuf", None, pb(front)).status(),
        400
    );
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 1 << 20);
    let r = post("application/x-protobuf", Some("gzip"), bomb);
    assert_eq!(r.status(), 413);
    assert_eq!(
        post(
            "application/json",
            None,
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":[1]}]}]}]}"#
                .to_vec()
        )
        .status(),
        400
    );
    assert_eq!(
        post("application/json", None, b"{\"resourceSpans\":".to_vec()).status(),
        400
    );
    assert_eq!(post("text/plain", None, b"hello".to_vec()).status(), 415);
    assert_eq!(
        post("application/x-protobuf", Some("zstd"), b"x".to_vec()).status(),
        415
    );
    // Still healthy, still ingesting.
    let (id, front, _) = trace_requests(2, now_ns());
    send(&srv, front);
    assert!(jaeger_trace(&srv, &id).is_some());
    let metrics = srv.get_as("/metrics", Some(ADMIN_TOKEN)).text().unwrap();
    assert!(
        metrics.contains("pharos_trace_ingest_requests_total"),
        "self-metrics exported"
    );
}

#[test]
fn kill9_during_ingest_keeps_every_acknowledged_span() {
    let mut srv = Server::start();
    let acked: Arc<Mutex<Vec<[u8; 16]>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let url = srv.url("/v1/traces");
    let base = now_ns() - HOUR;
    let senders: Vec<_> = (0..3u64)
        .map(|w| {
            let (acked, stop, url) = (acked.clone(), stop.clone(), url.clone());
            std::thread::spawn(move || {
                let client = common::client();
                for i in 0..2_000u64 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let seed = 1 + w * 100_000 + i;
                    let (id, mut front, cart) = trace_requests(seed, base + seed * 1_000);
                    front.extend(cart);
                    let r = client
                        .post(&url)
                        .bearer_auth(INGEST_TOKEN)
                        .header("content-type", "application/x-protobuf")
                        .body(pb(front))
                        .send();
                    match r {
                        Ok(r) if r.status() == 200 => acked.lock().unwrap().push(id),
                        _ => return,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 150 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    srv.kill9();
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 150,
        "only {} acknowledged before the deadline",
        acked.len()
    );
    srv.restart();
    for id in &acked {
        let t =
            jaeger_trace(&srv, id).unwrap_or_else(|| panic!("acknowledged trace {} lost", hex(id)));
        assert_eq!(
            t["spans"].as_array().unwrap().len(),
            7,
            "trace {} incomplete",
            hex(id)
        );
    }
}

#[test]
fn retention_removes_expired_partitions_from_disk_and_results() {
    let mut srv = Server::start();
    let (old, f, c) = trace_requests(77, now_ns() - 3 * 24 * HOUR);
    send(&srv, f);
    send(&srv, c);
    for seed in 1000..1300u64 {
        let (_, mut f, c) = trace_requests(seed, now_ns() - 3 * 24 * HOUR + seed * 1_000_000);
        f.extend(c);
        send(&srv, f);
    }
    let (recent, f, c) = trace_requests(78, now_ns() - HOUR);
    send(&srv, f);
    send(&srv, c);
    assert!(jaeger_trace(&srv, &old).is_some());
    let traces_dir = srv.data.join("traces");
    let partitions = |dir: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("p-"))
            .collect();
        v.sort();
        v
    };
    let before = partitions(&traces_dir);
    assert_eq!(before.len(), 2, "{before:?}");
    let size = |p: &std::path::Path| common_dir_size(p);
    let old_dir = traces_dir.join(&before[0]);
    let old_bytes = size(&old_dir);
    assert!(old_bytes > 0);
    assert_eq!(srv.stop().code(), Some(0));
    let mut config = std::fs::read_to_string(&srv.config_path).unwrap();
    config.push_str("\n[retention]\ntraces = \"2d\"\n");
    std::fs::write(&srv.config_path, config).unwrap();
    srv.restart();
    assert!(!old_dir.exists(), "expired partition deleted from disk");
    assert_eq!(partitions(&traces_dir).len(), 1);
    assert!(
        jaeger_trace(&srv, &old).is_none(),
        "expired trace not returned"
    );
    assert!(jaeger_trace(&srv, &recent).is_some());
    let end = now_ns() / 1000;
    let search = srv
        .get_as(
            &format!("/api/traces?service=frontend&start=0&end={end}&limit=1000"),
            Some(READ_TOKEN),
        )
        .json::<Value>()
        .unwrap();
    assert_eq!(search["data"].as_array().unwrap().len(), 1);
}

fn common_dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let md = e.metadata().unwrap();
        total += if md.is_dir() {
            common_dir_size(&e.path())
        } else {
            md.len()
        };
    }
    total
}
