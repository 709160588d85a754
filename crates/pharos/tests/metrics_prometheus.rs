//! Prometheus itself as the sender: it scrapes its own `/metrics` every second and
//! remote-writes to `pharos serve`; the samples read back through `/api/v1/export` must
//! equal what Prometheus stored, compared through Prometheus's own API.
//!
//! Needs `/usr/bin/prometheus` (Debian package `prometheus`). Without it the test is skipped
//! with a notice, or fails when `CI` is set.

mod common;

use common::{client, free_port, Server, INGEST_TOKEN, READ_TOKEN};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn prometheus_binary() -> Option<&'static str> {
    let p = "/usr/bin/prometheus";
    if std::path::Path::new(p).exists() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!("/usr/bin/prometheus is missing: install the Debian package `prometheus`");
    }
    eprintln!("SKIPPED metrics_prometheus: /usr/bin/prometheus not installed (apt-get install prometheus)");
    None
}

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Samples = BTreeMap<i64, u64>;

/// Series (labels without `__name__` sorted into a string key) → t → value bits.
fn parse_value(v: &serde_json::Value) -> Option<u64> {
    let f = match v {
        serde_json::Value::String(s) => match s.as_str() {
            "NaN" => return None, // staleness markers are not part of a range vector
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            s => s.parse().ok()?,
        },
        v => v.as_f64()?,
    };
    Some(f.to_bits())
}

/// The `values` array of an export line, each element as a string value (exact parsing).
fn raw_values(line: &str) -> Vec<serde_json::Value> {
    let start = line.find("\"values\":[").expect("values") + "\"values\":[".len();
    let end = start + line[start..].find(']').expect("end of values");
    line[start..end]
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| serde_json::Value::String(s.trim_matches('"').to_owned()))
        .collect()
}

fn key(metric: &serde_json::Value) -> String {
    let m: BTreeMap<String, String> = serde_json::from_value(metric.clone()).unwrap();
    m.iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// What Prometheus holds for `{job="prom"}` up to a cut 3 s back: the cut (seconds, as
/// text) and series → samples, without series that are NaN throughout (summary quantiles
/// with no observations). `None` while Prometheus does not answer yet.
fn prometheus_range(port: u16) -> Option<(String, BTreeMap<String, Samples>)> {
    let cut_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_000;
    let cut = format!("{:.3}", cut_ms as f64 / 1000.0);
    let r = client()
        .get(format!("http://127.0.0.1:{port}/api/v1/query"))
        .query(&[("query", "{job=\"prom\"}[1h]"), ("time", cut.as_str())])
        .send()
        .ok()?;
    let v: serde_json::Value = r.json().ok()?;
    let mut want: BTreeMap<String, Samples> = BTreeMap::new();
    for s in v["data"]["result"].as_array()? {
        let samples = s["values"].as_array().unwrap().iter().filter_map(|p| {
            let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
            parse_value(&p[1]).map(|bits| (t, bits))
        });
        want.insert(key(&s["metric"]), samples.collect());
    }
    want.retain(|_, s| !s.is_empty());
    Some((cut, want))
}

#[test]
fn prometheus_remote_write_round_trip() {
    let Some(bin) = prometheus_binary() else {
        return;
    };
    let pharos = Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: prom\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
         remote_write:\n  - url: {}\n    authorization:\n      credentials: {INGEST_TOKEN}\n    \
         queue_config:\n      batch_send_deadline: 500ms\n      max_samples_per_send: 500\n    \
         metadata_config:\n      send_interval: 1s\n",
        pharos.url("/api/v1/write")
    );
    std::fs::write(tmp.path().join("prometheus.yml"), cfg).unwrap();
    let log = std::fs::File::create(tmp.path().join("prometheus.log")).unwrap();
    let _prom = Prometheus(
        Command::new(bin)
            .arg(format!(
                "--config.file={}",
                tmp.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    // Let Prometheus scrape itself until it holds enough to compare. A fixed sleep was
    // not enough on a busy CI machine, where Prometheus can take seconds to start.
    let prom_deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = "no answer".to_owned();
    let (cut, want, total) = loop {
        std::thread::sleep(Duration::from_secs(1));
        if let Some((cut, want)) = prometheus_range(port) {
            let total: usize = want.values().map(|s| s.len()).sum();
            if want.len() > 100 && total > 1000 {
                break (cut, want, total);
            }
            seen = format!("{} series, {total} samples", want.len());
        }
        assert!(
            Instant::now() < prom_deadline,
            "Prometheus stored too little within 90 s ({seen})\nprometheus log:\n{}",
            std::fs::read_to_string(tmp.path().join("prometheus.log")).unwrap_or_default()
        );
    };

    // Remote-write lags a little: poll until Pharos has everything up to the cut.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut diff = String::new();
    while Instant::now() < deadline {
        let r = client()
            .get(pharos.url("/api/v1/export"))
            .query(&[
                ("match[]", "{job=\"prom\"}"),
                ("start", "0"),
                ("end", cut.as_str()),
            ])
            .bearer_auth(READ_TOKEN)
            .send()
            .unwrap();
        let mut got: BTreeMap<String, Samples> = BTreeMap::new();
        for line in r.text().unwrap().lines() {
            let l: serde_json::Value = serde_json::from_str(line).unwrap();
            // serde_json's default float parsing can be 1 ULP off: read the values' text.
            let values = raw_values(line);
            let samples = l["timestamps"]
                .as_array()
                .unwrap()
                .iter()
                .zip(values)
                .filter_map(|(t, v)| parse_value(&v).map(|bits| (t.as_i64().unwrap(), bits)));
            got.insert(key(&l["metric"]), samples.collect());
        }
        got.retain(|_, s| !s.is_empty());
        if got == want {
            return;
        }
        diff = match want.iter().find(|(k, s)| got.get(*k) != Some(s)) {
            Some((k, s)) => format!(
                "first differing series {k}: Prometheus {s:?}, Pharos {:?}",
                got.get(k)
            ),
            None => format!("Pharos has {} extra series", got.len() - want.len()),
        };
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "export never matched Prometheus ({} series, {total} samples): {diff}\nprometheus log:\n{}",
        want.len(),
        std::fs::read_to_string(tmp.path().join("prometheus.log")).unwrap_or_default()
    );
}
