//! The same data, sent by Prometheus remote-write to `pharos serve` and to a real Prometheus
//! (Debian package, `--web.enable-remote-write-receiver`), then the same PromQL queries over
//! HTTP to both: the answers must agree label for label and value for value.
//!
//! Needs `/usr/bin/prometheus` (Debian package `prometheus`). Without it the test is skipped
//! with a notice, or fails when `CI` is set.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

// ---- remote-write encoding (protobuf by hand, snappy literal blocks) --------------------

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, u64::from(field << 3 | 2));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A remote-write 1.0 `WriteRequest`: one `TimeSeries` per (labels, samples).
fn write_request(series: &[Series]) -> Vec<u8> {
    let mut req = Vec::new();
    for (labels, samples) in series {
        let mut ts = Vec::new();
        for (n, v) in labels {
            let mut l = Vec::new();
            field_bytes(&mut l, 1, n.as_bytes());
            field_bytes(&mut l, 2, v.as_bytes());
            field_bytes(&mut ts, 1, &l);
        }
        for &(t, v) in samples {
            let mut s = Vec::new();
            s.push(9); // field 1, fixed64: value
            s.extend_from_slice(&v.to_bits().to_le_bytes());
            s.push(16); // field 2, varint: timestamp
            varint(&mut s, t as u64);
            field_bytes(&mut ts, 2, &s);
        }
        field_bytes(&mut req, 1, &ts);
    }
    req
}

/// A valid snappy block made of literals only (every decoder accepts it).
fn snappy_literal_block(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 60_000 * 5 + 16);
    varint(&mut out, data.len() as u64);
    for chunk in data.chunks(60_000) {
        let n = chunk.len() - 1;
        out.push(62 << 2); // literal, length-1 in the next 3 bytes
        out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        out.extend_from_slice(chunk);
    }
    out
}

fn send(client: &reqwest::blocking::Client, url: &str, token: Option<&str>, body: &[u8]) {
    let mut rb = client
        .post(url)
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(snappy_literal_block(body));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().expect("remote-write");
    let status = resp.status();
    assert!(
        status.is_success(),
        "remote-write to {url}: {status} {}",
        resp.text().unwrap_or_default()
    );
}

// ---- the data -------------------------------------------------------------------------

type Series = (Vec<(String, String)>, Vec<(i64, f64)>);

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Deterministic pseudo-random numbers in [0, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Two hours of 15 s scrapes of node- and app-like metrics, ending at `end` (ms).
fn dataset(end: i64) -> Vec<Series> {
    let step = 15_000;
    let n = 2 * 3600 * 1000 / step;
    let start = end - n * step;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out: Vec<Series> = Vec::new();
    let les = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
    for (inst, job) in [("h1", "node"), ("h2", "node"), ("h3", "api")] {
        let mut load = Vec::new();
        let mut mem = Vec::new();
        let mut reqs = Vec::new();
        let mut buckets: Vec<Vec<(i64, f64)>> = vec![Vec::new(); les.len()];
        let (mut r, mut counts) = (0.0f64, vec![0.0f64; les.len()]);
        for k in 0..=n {
            // 1% of scrapes late by a few ms, as real scrapers are.
            let t = start
                + k * step
                + if rng.next() < 0.01 {
                    (rng.next() * 40.0) as i64
                } else {
                    0
                };
            load.push((t, (rng.next() * 400.0).round() / 100.0));
            mem.push((
                t,
                8e9 - 1e6 * k as f64 + (rng.next() * 1e8).round() * 4096.0,
            ));
            if inst == "h2" && k == n / 2 {
                r = 0.0; // counter reset (process restart)
            }
            r += (rng.next() * 20.0).round();
            reqs.push((t, r));
            let mut cum = 0.0;
            for (i, c) in counts.iter_mut().enumerate() {
                *c += (rng.next() * 5.0).round();
                cum += *c;
                buckets[i].push((t, cum));
            }
        }
        out.push((
            labels(&[("__name__", "node_load1"), ("instance", inst), ("job", job)]),
            load,
        ));
        out.push((
            labels(&[
                ("__name__", "node_memory_MemAvailable_bytes"),
                ("instance", inst),
                ("job", job),
            ]),
            mem,
        ));
        out.push((
            labels(&[
                ("__name__", "node_memory_MemTotal_bytes"),
                ("instance", inst),
                ("job", job),
            ]),
            vec![(start, 16e9), (end, 16e9)],
        ));
        out.push((
            labels(&[
                ("__name__", "http_requests_total"),
                ("code", "200"),
                ("instance", inst),
                ("job", job),
            ]),
            reqs,
        ));
        for (i, le) in les.iter().enumerate() {
            out.push((
                labels(&[
                    ("__name__", "http_request_duration_seconds_bucket"),
                    ("instance", inst),
                    ("job", job),
                    ("le", le),
                ]),
                buckets[i].clone(),
            ));
        }
        out.push((
            labels(&[
                ("__name__", "node_info"),
                ("instance", inst),
                ("kernel", "6.1"),
                ("os", if inst == "h3" { "debian" } else { "ubuntu" }),
            ]),
            vec![(start, 1.0), (end - 60_000, 1.0)],
        ));
    }
    // A series that ends with a staleness marker 30 minutes before the end.
    let mut gone: Vec<(i64, f64)> = (0..n / 2).map(|k| (start + k * step, k as f64)).collect();
    gone.push((start + (n / 2) * step, f64::from_bits(STALE_NAN)));
    out.push((
        labels(&[("__name__", "batch_job_progress"), ("job", "batch")]),
        gone,
    ));
    out
}

/// Requests of ~10 minutes of data each, in time order, as a remote-write queue sends them.
fn requests(data: &[Series]) -> Vec<Vec<u8>> {
    let (lo, hi) = data
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.0))
        .fold((i64::MAX, i64::MIN), |a, t| (a.0.min(t), a.1.max(t)));
    let window = 600_000;
    let mut out = Vec::new();
    let mut from = lo;
    while from <= hi {
        let to = from + window;
        let part: Vec<Series> = data
            .iter()
            .map(|(l, s)| {
                (
                    l.clone(),
                    s.iter()
                        .copied()
                        .filter(|p| p.0 >= from && p.0 < to)
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, s)| !s.is_empty())
            .collect();
        out.push(write_request(&part));
        from = to;
    }
    out
}

// ---- a real Prometheus ----------------------------------------------------------------

struct Prometheus {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(bin: &Path) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("prometheus.yml");
        std::fs::write(&cfg, "global:\n  scrape_interval: 15s\n").unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], common::free_port()));
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting prometheus");
        let p = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = common::client();
        while Instant::now() < deadline {
            if client
                .get(p.url("/-/ready"))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return p;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("prometheus did not become ready in 60 s");
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn prometheus_binary() -> Option<std::path::PathBuf> {
    let p = Path::new("/usr/bin/prometheus");
    if p.exists() {
        return Some(p.to_path_buf());
    }
    let msg = "the Debian package `prometheus` (/usr/bin/prometheus) is not installed";
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

// ---- comparison -----------------------------------------------------------------------

fn num(v: &Value) -> f64 {
    match v.as_str() {
        Some("NaN") => f64::NAN,
        Some("+Inf") => f64::INFINITY,
        Some("-Inf") => f64::NEG_INFINITY,
        Some(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("bad sample value {s:?}")),
        None => panic!("sample value is not a string: {v}"),
    }
}

/// Equal as Prometheus's own tests compare floats, but tighter (relative 1e-9): summation
/// order may differ in the last bits.
fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * (a.abs() + b.abs())
}

fn point_eq(a: &Value, b: &Value) -> bool {
    a[0] == b[0] && close(num(&a[1]), num(&b[1]))
}

/// Compares two API answers; `ordered` keeps the vector order (for sort functions).
fn compare(query: &str, ours: &Value, theirs: &Value, ordered: bool) -> Result<(), String> {
    let ctx = |m: &str| format!("{query}: {m}\n  pharos:     {ours}\n  prometheus: {theirs}");
    if ours["status"] != theirs["status"] {
        return Err(ctx("status differs"));
    }
    if ours["status"] == "error" {
        return if ours["errorType"] == theirs["errorType"] {
            Ok(())
        } else {
            Err(ctx("errorType differs"))
        };
    }
    let (d1, d2) = (&ours["data"], &theirs["data"]);
    if d1["resultType"] != d2["resultType"] {
        return Err(ctx("resultType differs"));
    }
    match d1["resultType"].as_str() {
        Some("scalar") | Some("string") => {
            if d1["resultType"] == "string" && d1 != d2 {
                return Err(ctx("string differs"));
            }
            if d1["resultType"] == "scalar" && !point_eq(&d1["result"], &d2["result"]) {
                return Err(ctx("scalar differs"));
            }
            Ok(())
        }
        Some(kind @ ("vector" | "matrix")) => {
            let key = |s: &Value| s["metric"].to_string();
            let mut a: Vec<&Value> = d1["result"].as_array().unwrap().iter().collect();
            let mut b: Vec<&Value> = d2["result"].as_array().unwrap().iter().collect();
            if a.len() != b.len() {
                return Err(ctx(&format!("{} series vs {}", a.len(), b.len())));
            }
            if !ordered {
                a.sort_by_key(|s| key(s));
                b.sort_by_key(|s| key(s));
            }
            for (x, y) in a.iter().zip(&b) {
                if x["metric"] != y["metric"] {
                    return Err(ctx(&format!(
                        "labels differ: {} vs {}",
                        x["metric"], y["metric"]
                    )));
                }
                if kind == "vector" {
                    if !point_eq(&x["value"], &y["value"]) {
                        return Err(ctx(&format!("value differs for {}", x["metric"])));
                    }
                } else {
                    let (p, q) = (
                        x["values"].as_array().unwrap(),
                        y["values"].as_array().unwrap(),
                    );
                    if p.len() != q.len() || !p.iter().zip(q).all(|(u, v)| point_eq(u, v)) {
                        return Err(ctx(&format!("points differ for {}", x["metric"])));
                    }
                }
            }
            Ok(())
        }
        _ => Err(ctx("unknown resultType")),
    }
}

const QUERIES: &[&str] = &[
    "node_load1",
    r#"node_load1{job="node"}"#,
    r#"node_load1{instance=~"h[12]"}"#,
    r#"{__name__=~"node_memory_.*", instance="h1"}"#,
    "rate(http_requests_total[5m])",
    "irate(http_requests_total[1m])",
    "increase(http_requests_total[1h])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum without (instance, code) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, rate(http_request_duration_seconds_bucket[10m]))",
    "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
    "node_memory_MemAvailable_bytes / on(instance) group_left(os) node_info",
    "node_load1 * on(instance) group_left(os, kernel) node_info",
    "node_load1 > 2",
    "node_load1 > bool 2",
    "2 < node_load1",
    r#"node_load1 and on(instance) node_info{os="ubuntu"}"#,
    "node_load1 or http_requests_total",
    r#"node_load1 unless on(instance) node_info{os="debian"}"#,
    "sort(node_load1)",
    "sort_desc(node_load1)",
    "topk(2, node_load1)",
    "bottomk(1, node_load1)",
    "quantile(0.75, node_load1)",
    "avg(node_load1)",
    "min(node_load1)",
    "max by (job) (node_load1)",
    "count(node_load1)",
    "group by (job) (node_load1)",
    "stddev(node_load1)",
    "stdvar(node_load1)",
    r#"count_values("load", round(node_load1))"#,
    "avg_over_time(node_load1[10m])",
    "min_over_time(node_load1[10m])",
    "max_over_time(node_load1[10m])",
    "sum_over_time(node_load1[10m])",
    "count_over_time(node_load1[10m])",
    "stddev_over_time(node_load1[10m])",
    "quantile_over_time(0.9, node_load1[30m])",
    "last_over_time(node_load1[10m])",
    "present_over_time(node_load1[10m])",
    "changes(node_load1[10m])",
    "resets(http_requests_total[2h])",
    "delta(node_load1[10m])",
    "idelta(node_load1[5m])",
    "deriv(node_memory_MemAvailable_bytes[30m])",
    "predict_linear(node_memory_MemAvailable_bytes[30m], 3600)",
    "holt_winters(node_load1[10m], 0.5, 0.5)",
    "max_over_time(rate(http_requests_total[5m])[30m:1m])",
    "rate(http_requests_total[5m] offset 30m)",
    "node_load1 @ end()",
    "batch_job_progress",
    "timestamp(node_load1)",
    "absent(nonexistent_metric)",
    r#"absent(nonexistent_metric{job="x"})"#,
    "absent_over_time(node_load1[5m])",
    r#"label_replace(node_load1, "host", "$1", "instance", "h(.*)")"#,
    r#"label_join(node_load1, "id", "-", "job", "instance")"#,
    "scalar(sum(node_load1))",
    "vector(1)",
    "time()",
    "1 + 1",
    "clamp(node_load1, 1, 2)",
    "clamp_min(node_load1, 1)",
    "round(node_load1, 0.5)",
    "abs(-node_load1)",
    "sqrt(node_load1)",
    "ln(node_memory_MemTotal_bytes)",
    "exp(node_load1)",
    "hour(timestamp(node_load1))",
    "day_of_week()",
    "sgn(node_load1 - 2)",
    r#""a string""#,
    "sum(",
    "rate(node_load1)",
];

fn query_both(
    client: &reqwest::blocking::Client,
    ours: &common::Server,
    prom: &Prometheus,
    path_and_query: &str,
) -> (Value, Value) {
    let a = client
        .get(ours.url(path_and_query))
        .bearer_auth(common::READ_TOKEN)
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    let b = client
        .get(prom.url(path_and_query))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    (a, b)
}

fn enc(q: &str) -> String {
    let mut s = String::new();
    for b in q.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[test]
fn answers_match_prometheus() {
    let Some(bin) = prometheus_binary() else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let end = now / 60_000 * 60_000 - 120_000;
    let data = dataset(end);
    let reqs = requests(&data);

    let ours = common::Server::start();
    let prom = Prometheus::start(&bin);
    let client = common::client();
    for body in &reqs {
        send(
            &client,
            &ours.url("/api/v1/write"),
            Some(common::INGEST_TOKEN),
            body,
        );
        send(&client, &prom.url("/api/v1/write"), None, body);
    }

    let mut failures = Vec::new();
    let mut checked = 0;
    let times = [end, end - 1_800_000 + 7_000, end - 3_600_000];
    for q in QUERIES {
        let ordered = q.starts_with("sort");
        for t in times {
            let path = format!("/api/v1/query?query={}&time={}", enc(q), t as f64 / 1000.0);
            let (a, b) = query_both(&client, &ours, &prom, &path);
            checked += 1;
            if let Err(e) = compare(q, &a, &b, ordered) {
                failures.push(format!("instant @{t}: {e}"));
            }
        }
        // Windows that reach back before the first sample are left out on purpose: there
        // Prometheus 2.42 extrapolates counters to zero differently from 2.51+ (which the
        // engine follows, see docs/promql.md).
        let path = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=60",
            enc(q),
            (end - 7_200_000 + 3_600_000 / 3) / 1000,
            end / 1000
        );
        let (a, b) = query_both(&client, &ours, &prom, &path);
        checked += 1;
        if let Err(e) = compare(q, &a, &b, false) {
            failures.push(format!("range: {e}"));
        }
    }
    // Metadata endpoints.
    let mut by_path: BTreeMap<&str, (Value, Value)> = BTreeMap::new();
    let window = format!("start={}&end={}", (end - 7_200_000) / 1000, end / 1000);
    // Pharos keeps its own self-metrics in its store: look only at the written data.
    let ours_only = enc(r#"{job=~"node|api|batch"}"#);
    let label_paths = [
        format!("/api/v1/labels?match[]={ours_only}&{window}"),
        format!("/api/v1/label/instance/values?match[]={ours_only}&{window}"),
        format!("/api/v1/label/__name__/values?match[]={ours_only}&{window}"),
        format!(
            "/api/v1/label/job/values?match[]={}&{window}",
            enc("node_load1")
        ),
        format!(
            "/api/v1/series?match[]={}&{window}",
            enc(r#"{__name__=~"node_.*",instance="h1"}"#)
        ),
    ];
    for p in &label_paths {
        by_path.insert(p, query_both(&client, &ours, &prom, p));
    }
    for (p, (a, b)) in &by_path {
        checked += 1;
        let (mut x, mut y) = (a["data"].clone(), b["data"].clone());
        for v in [&mut x, &mut y] {
            if let Some(arr) = v.as_array_mut() {
                arr.sort_by_key(|e| e.to_string());
            }
        }
        if a["status"] != b["status"] || x != y {
            failures.push(format!("{p}:\n  pharos:     {a}\n  prometheus: {b}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} answers differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{checked} answers identical to Prometheus's");
}

/// What Grafana's Prometheus data source sends, against the real binary (no Prometheus
/// needed): health check by form POST, `timeout=2m`, the exemplar probe in milliseconds,
/// `U__`-escaped label names, `label_values(selector, label)`, buildinfo, rules, tokens.
#[test]
fn grafana_calls_against_the_binary() {
    let srv = common::Server::start();
    let client = common::client();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let series: Vec<Series> = vec![
        (
            labels(&[
                ("__name__", "http_server_requests_total"),
                ("route", "/api"),
                ("job", "web"),
            ]),
            (0..20)
                .map(|k| (now - 300_000 + k * 15_000, k as f64))
                .collect(),
        ),
        (
            labels(&[("__name__", "up"), ("instance", "a"), ("job", "web")]),
            vec![(now - 15_000, 1.0)],
        ),
    ];
    send(
        &client,
        &srv.url("/api/v1/write"),
        Some(common::INGEST_TOKEN),
        &write_request(&series),
    );

    let post = |path: &str, form: &str, token: Option<&str>| {
        let mut rb = client
            .post(srv.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_string());
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().unwrap();
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let get = |path: &str| {
        let r = srv.get_as(path, Some(common::READ_TOKEN));
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };

    // Health check: instant query 1+1 at time=4, POSTed as a form, with timeout=2m.
    let (code, v) = post(
        "/api/v1/query",
        "query=1%2B1&time=4&timeout=2m",
        Some(common::READ_TOKEN),
    );
    assert_eq!(code, 200);
    assert_eq!(
        v,
        serde_json::json!({"status":"success","data":{"resultType":"scalar","result":[4,"2"]}})
    );
    // Without a token: refused by the front.
    let (code, _) = post("/api/v1/query", "query=1%2B1&time=4", None);
    assert_eq!(code, 401);

    // The data written is there, via POST query_range with float-second times and step.
    let form = format!(
        "query={}&start={}&end={}&step=15.5&timeout=2m",
        enc("sum(rate(http_server_requests_total[1m]))"),
        (now - 240_000) as f64 / 1000.0,
        now as f64 / 1000.0
    );
    let (code, v) = post("/api/v1/query_range", &form, Some(common::READ_TOKEN));
    assert_eq!(code, 200, "{v}");
    let values = v["data"]["result"][0]["values"]
        .as_array()
        .expect("one series");
    assert!(values.len() >= 10);
    assert!(
        values
            .iter()
            .all(|p| (num(&p[1]) - 1.0 / 15.0).abs() < 1e-9),
        "{v}"
    );

    // Exemplar probe with millisecond timestamps: success, empty list.
    let (code, v) = get(&format!(
        "/api/v1/query_exemplars?query=test&start={}&end={}",
        now - 3_600_000,
        now
    ));
    assert_eq!(
        (code, &v["status"], &v["data"]),
        (200, &Value::from("success"), &serde_json::json!([]))
    );

    // Grafana escapes non-legacy label names as U__…; remote-write here accepts legacy
    // names only, so an escaped legacy name stands in (decoding is unit-tested with dots).
    let (code, v) = get("/api/v1/label/U__route/values");
    assert_eq!((code, &v["data"]), (200, &serde_json::json!(["/api"])));

    // label_values(up{job="web"}, instance) and metric-name autocomplete.
    let (_, v) = get(&format!(
        "/api/v1/label/instance/values?match[]={}&start={}&end={}",
        enc(r#"up{job="web"}"#),
        now / 1000 - 3600,
        now / 1000 + 60
    ));
    assert_eq!(v["data"], serde_json::json!(["a"]));
    // (The store also holds Pharos's own self-metrics.)
    let (_, v) = get("/api/v1/label/__name__/values?limit=40000");
    let names = v["data"].as_array().unwrap();
    assert!(
        names.contains(&Value::from("http_server_requests_total")),
        "{v}"
    );
    assert!(names.contains(&Value::from("up")), "{v}");
    let (_, v) = get(&format!(
        "/api/v1/series?match[]={}",
        enc(r#"{__name__!="",job="web"}"#)
    ));
    assert_eq!(v["data"].as_array().unwrap().len(), 2, "{v}");

    // Heuristics and init calls.
    let (code, v) = get("/api/v1/status/buildinfo");
    assert_eq!(code, 200);
    assert!(v["data"].get("features").is_none());
    let (code, v) = get("/api/v1/rules");
    assert_eq!((code, &v["data"]["groups"]), (200, &serde_json::json!([])));
    let (code, v) = get("/api/v1/status/tsdb");
    assert_eq!(code, 200);
    assert_eq!(
        v["data"]["headStats"]["numSeries"].as_u64().map(|n| n >= 2),
        Some(true),
        "{v}"
    );

    // Errors keep Prometheus's shape and code.
    let (code, v) = get("/api/v1/query?query=rate(up)");
    assert_eq!((code, v["errorType"].as_str()), (400, Some("bad_data")));
}
