//! Metrics ingest through the real `pharos serve`: remote-write, text import, export, and the
//! bad-input list of issue 3 — each answered with the right 4xx, the server unharmed and
//! nothing else lost.

mod common;

use common::{client, Server, INGEST_TOKEN, READ_TOKEN};
use pharos_metrics_ingest::proto::{Label, Sample, TimeSeries, WriteRequest};
use reqwest::StatusCode;
use std::time::{SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn series(name: &str, labels: &[(&str, &str)], t: i64, v: f64) -> TimeSeries {
    let mut l = vec![Label::new("__name__", name)];
    l.extend(labels.iter().map(|(n, v)| Label::new(n, v)));
    TimeSeries {
        labels: l,
        samples: vec![Sample {
            value: v,
            timestamp: t,
        }],
        exemplars: vec![],
        histograms: vec![],
    }
}

fn write(srv: &Server, content_type: &str, body: Vec<u8>) -> (StatusCode, String) {
    let r = client()
        .post(srv.url("/api/v1/write"))
        .bearer_auth(INGEST_TOKEN)
        .header("Content-Type", content_type)
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .unwrap();
    let s = r.status();
    (s, r.text().unwrap())
}

fn export(srv: &Server, selector: &str) -> Vec<serde_json::Value> {
    let r = client()
        .get(srv.url("/api/v1/export"))
        .query(&[("match[]", selector), ("start", "0")])
        .bearer_auth(READ_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const PB: &str = "application/x-protobuf";

#[test]
fn bad_input_gets_4xx_and_loses_nothing() {
    let mut srv = Server::start();
    let now = now_ms();
    let good = WriteRequest {
        timeseries: vec![series("kept", &[("job", "a")], now, 1.0)],
        metadata: vec![],
    }
    .to_snappy();
    assert_eq!(write(&srv, PB, good.clone()).0, StatusCode::NO_CONTENT);

    // Truncated snappy.
    let (s, msg) = write(&srv, PB, good[..good.len() - 4].to_vec());
    assert_eq!(s, StatusCode::BAD_REQUEST, "{msg}");
    // Snappy bomb: a 20-byte body claiming 4 GiB decompressed.
    let mut bomb = vec![0x80, 0x80, 0x80, 0x80, 0x10];
    bomb.extend_from_slice(&[0u8; 15]);
    let (s, msg) = write(&srv, PB, bomb);
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{msg}");
    // Wrong content type; remote-write 2.0.
    assert_eq!(
        write(&srv, "text/plain", good.clone()).0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        write(
            &srv,
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            good.clone()
        )
        .0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    // Empty body.
    assert_eq!(write(&srv, PB, Vec::new()).0, StatusCode::BAD_REQUEST);
    // Invalid UTF-8 label value and 10k labels, next to a good series.
    let mut bad_utf8 = series("bad_utf8", &[], now, 1.0);
    bad_utf8.labels.push(Label {
        name: "job".into(),
        value: vec![0xc3, 0x28].into(),
    });
    let mut huge = series("huge", &[], now, 1.0);
    for i in 0..10_000 {
        huge.labels.push(Label::new(&format!("l{i:05}"), "v"));
    }
    let req = WriteRequest {
        timeseries: vec![bad_utf8, huge, series("also_kept", &[], now, 2.0)],
        metadata: vec![],
    };
    let (s, msg) = write(&srv, PB, req.to_snappy());
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        msg.contains("invalid_utf8") && msg.contains("too_many_labels"),
        "{msg}"
    );

    // Rejections are counted by reason in /metrics.
    let metrics = srv.get("/metrics").text().unwrap();
    for reason in ["invalid_utf8", "too_many_labels"] {
        assert!(
            metrics.contains(&format!("reason=\"{reason}\"")),
            "no {reason} counter in:\n{metrics}"
        );
    }
    // The server is unharmed and kept exactly the good data, also across a restart.
    for _ in 0..2 {
        let names: Vec<String> = export(&srv, "{__name__=~\"kept|also_kept|bad_utf8|huge\"}")
            .iter()
            .map(|l| l["metric"]["__name__"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(
            names.contains(&"kept".to_owned()) && names.contains(&"also_kept".to_owned()),
            "{names:?}"
        );
        srv.stop();
        srv.restart();
    }
}

#[test]
fn text_import_and_export_round_trip() {
    let srv = Server::start();
    let now = now_ms();
    let body = format!(
        "# HELP backup_last_success_seconds Last good backup.\n# TYPE backup_last_success_seconds gauge\n\
         backup_last_success_seconds{{db=\"main\"}} 1.7e9 {now}\nbackup_duration_seconds 12.5\n"
    );
    let r = client()
        .post(srv.url("/api/v1/import/prometheus?extra_label=host=cron1"))
        .bearer_auth(INGEST_TOKEN)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", r.text().unwrap());
    let lines = export(&srv, "{host=\"cron1\"}");
    assert_eq!(lines.len(), 2);
    let backup = lines
        .iter()
        .find(|l| l["metric"]["__name__"] == "backup_last_success_seconds")
        .unwrap();
    assert_eq!(backup["metric"]["db"], "main");
    assert_eq!(backup["values"][0].as_f64(), Some(1.7e9));
    assert_eq!(backup["timestamps"][0].as_i64(), Some(now));
    // The read token cannot write; the ingest token cannot export.
    let r = client()
        .post(srv.url("/api/v1/import/prometheus"))
        .bearer_auth(READ_TOKEN)
        .body("x 1\n")
        .send()
        .unwrap();
    assert!(matches!(r.status().as_u16(), 401 | 403), "{}", r.status());
    let r = client()
        .get(srv.url("/api/v1/export?match[]=x"))
        .bearer_auth(INGEST_TOKEN)
        .send()
        .unwrap();
    assert!(matches!(r.status().as_u16(), 401 | 403), "{}", r.status());
}
