//! `kill -9` during sustained ingest (with flushes running), then restart: every sample that
//! got a 2xx is there.

mod common;

use common::{client, Server, INGEST_TOKEN, READ_TOKEN};
use pharos_metrics_ingest::proto::{Label, Sample, TimeSeries, WriteRequest};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SERIES: usize = 50;
const PER_BATCH: usize = 20;

fn batch(base: i64, b: usize) -> WriteRequest {
    let timeseries = (0..SERIES)
        .map(|s| TimeSeries {
            labels: vec![
                Label::new("__name__", "crash_test"),
                Label::new("series", &s.to_string()),
            ],
            samples: (0..PER_BATCH)
                .map(|j| Sample {
                    timestamp: base + (b * PER_BATCH + j) as i64 * 10,
                    value: (b * 1000 + s * 10 + j) as f64,
                })
                .collect(),
            exemplars: vec![],
            histograms: vec![],
        })
        .collect();
    WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

#[test]
fn every_acknowledged_sample_survives_kill_9() {
    // Flush every second so the crash can land during a flush or a merge too.
    let mut srv = Server::builder()
        .config("[metrics]\nflush_interval = \"1s\"\n")
        .start();
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_600_000;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let url = srv.url("/api/v1/write");
    let writer = {
        let (acked, stop) = (acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let c = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let started = Instant::now();
            for b in 0..2_000 {
                if stop.load(Ordering::SeqCst) || started.elapsed() > Duration::from_secs(60) {
                    break;
                }
                let r = c
                    .post(&url)
                    .bearer_auth(INGEST_TOKEN)
                    .header("Content-Type", "application/x-protobuf")
                    .header("Content-Encoding", "snappy")
                    .body(batch(base, b).to_snappy())
                    .send();
                match r {
                    Ok(r) if r.status().is_success() => acked.lock().unwrap().push(b),
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => break, // the server is gone
                }
            }
        })
    };
    // Let it ingest through a few flushes, then crash it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 150 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    srv.kill9();
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 20,
        "only {} batches acknowledged before the crash",
        acked.len()
    );

    srv.restart();
    let r = client()
        .get(srv.url("/api/v1/export"))
        .query(&[("match[]", "crash_test"), ("start", "0")])
        .bearer_auth(READ_TOKEN)
        .send()
        .unwrap();
    assert!(r.status().is_success());
    let mut stored: BTreeMap<(String, i64), f64> = BTreeMap::new();
    for line in r.text().unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = v["metric"]["series"].as_str().unwrap().to_owned();
        for (t, x) in v["timestamps"]
            .as_array()
            .unwrap()
            .iter()
            .zip(v["values"].as_array().unwrap())
        {
            stored.insert((s.clone(), t.as_i64().unwrap()), x.as_f64().unwrap());
        }
    }
    let mut missing = 0;
    for b in &acked {
        for (s, ts) in batch(base, *b).timeseries.iter().enumerate() {
            for smp in &ts.samples {
                match stored.get(&(s.to_string(), smp.timestamp)) {
                    Some(v) => assert_eq!(*v, smp.value, "series {s} t {}", smp.timestamp),
                    None => missing += 1,
                }
            }
        }
    }
    assert_eq!(
        missing,
        0,
        "{missing} acknowledged samples lost of {}; log:\n{}",
        acked.len() * SERIES * PER_BATCH,
        srv.logs()
    );
    assert!(
        srv.logs().contains("WAL replay"),
        "no replay progress in the log"
    );
}
