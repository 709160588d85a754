//! Trace benchmark for Pharos.
//!
//! Starts `pharos serve` (given binary) on a free loopback port with a fresh data
//! directory, sends N spans shaped like the real-client test (7-span traces across two
//! services, ~10 attributes per span) spread over the last 7 days as OTLP protobuf
//! requests of ~1,000 spans, then reports:
//! - ingest spans per CPU-second of the server process (utime+stime from /proc);
//! - disk bytes per span of `data/traces` vs. the same requests' protobuf compressed
//!   with zstd (level 3);
//! - trace-by-id latency (p50/p99 over random stored ids) and Jaeger search latency for
//!   service + one tag over the last hour (p50/p99).
//!
//! Usage: tracebench <pharos binary> [spans] [work dir]

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use pharos_tracestore::sample::{ids, trace_requests};
use prost::Message;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const TOKEN: &str = "tracebench-token-0123456789abcdef";
const SPANS_PER_TRACE: u64 = 7;
const TRACES_PER_REQUEST: u64 = 143; // ~1,000 spans
const WEEK_NS: u64 = 7 * 86_400 * 1_000_000_000;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                stack.push(e.path());
            } else {
                total += md.blocks() * 512;
            }
        }
    }
    total
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(bin: &str, data: &std::path::Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = data.join("bench.toml");
        std::fs::write(
            &cfg,
            format!("[server]\nlisten = \"127.0.0.1:{port}\"\ndata = \"{}\"\n[auth]\nadmin_tokens = [\"{TOKEN}\"]\n", data.join("data").display()),
        )
        .unwrap();
        let log = std::fs::File::create(data.join("server.log")).unwrap();
        let child = Command::new(bin)
            .args(["serve", "--config"])
            .arg(&cfg)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start pharos");
        let s = Server { child, port };
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if client
                .get(s.url("/readyz"))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return s;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "pharos did not become ready; see {}",
            data.join("server.log").display()
        );
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) {
        unsafe_kill(self.child.id(), 15);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// One request body with traces `first..first+n`.
fn request(first: u64, n: u64, total_traces: u64, t0: u64) -> Vec<u8> {
    let step = WEEK_NS / total_traces.max(1);
    let mut rs = Vec::new();
    for seed in first..first + n {
        let (_, f, c) = trace_requests(seed, t0 + seed * step);
        rs.extend(f);
        rs.extend(c);
    }
    ExportTraceServiceRequest { resource_spans: rs }.encode_to_vec()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = args
        .get(1)
        .expect("usage: tracebench <pharos binary> [spans] [work dir]")
        .clone();
    let spans: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let work = std::path::PathBuf::from(
        args.get(3)
            .cloned()
            .unwrap_or_else(|| "/tmp/pharos-tracebench".into()),
    );
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let total_traces = spans / SPANS_PER_TRACE;
    // Traces start over the last 7 days, the newest a few minutes ago.
    let t0 = now_ns() - WEEK_NS - 300 * 1_000_000_000;

    let server = Server::start(&bin, &work);
    let pid = server.pid();
    let cpu0 = cpu_seconds(pid);
    let wall0 = Instant::now();
    let sent_traces = Arc::new(AtomicU64::new(0));
    let zstd_bytes = Arc::new(AtomicU64::new(0));
    let proto_bytes = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(8);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    // Generator: builds request bodies (client CPU is not counted).
    let gen = {
        let (zb, pb) = (zstd_bytes.clone(), proto_bytes.clone());
        std::thread::spawn(move || {
            let mut first = 1;
            while first <= total_traces {
                let n = TRACES_PER_REQUEST.min(total_traces - first + 1);
                let body = request(first, n, total_traces, t0);
                pb.fetch_add(body.len() as u64, Ordering::Relaxed);
                zb.fetch_add(
                    zstd::bulk::compress(&body, 3).unwrap().len() as u64,
                    Ordering::Relaxed,
                );
                tx.send((n, body)).unwrap();
                first += n;
            }
        })
    };
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            let url = server.url("/v1/traces");
            let sent = sent_traces.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()
                    .unwrap();
                loop {
                    let Ok((n, body)) = rx.lock().unwrap().recv() else {
                        return;
                    };
                    for attempt in 0..50 {
                        let r = client
                            .post(&url)
                            .header("content-type", "application/x-protobuf")
                            .header("authorization", format!("Bearer {TOKEN}"))
                            .body(body.clone())
                            .send();
                        match r {
                            Ok(r) if r.status().is_success() => break,
                            Ok(r) if r.status().as_u16() == 429 || r.status().as_u16() == 503 => {
                                std::thread::sleep(Duration::from_millis(50 * (attempt + 1)))
                            }
                            Ok(r) => panic!(
                                "ingest failed: {} {}",
                                r.status(),
                                r.text().unwrap_or_default()
                            ),
                            Err(e) => panic!("ingest failed: {e}"),
                        }
                    }
                    sent.fetch_add(n, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut last = Instant::now();
    while !gen.is_finished() || sent_traces.load(Ordering::Relaxed) < total_traces {
        std::thread::sleep(Duration::from_millis(200));
        if last.elapsed() > Duration::from_secs(15) {
            last = Instant::now();
            let done = sent_traces.load(Ordering::Relaxed) * SPANS_PER_TRACE;
            eprintln!(
                "  {done} spans, {:.0} s, server cpu {:.1} s, rss {:.0} MiB",
                wall0.elapsed().as_secs_f64(),
                cpu_seconds(pid) - cpu0,
                rss_mib(pid)
            );
        }
        if senders.iter().all(|s| s.is_finished()) {
            break;
        }
    }
    gen.join().unwrap();
    for s in senders {
        s.join().unwrap();
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu0;
    let stored_spans = total_traces * SPANS_PER_TRACE;
    let rss_ingest = rss_mib(pid);
    server.stop();
    let disk = dir_bytes(&work.join("data").join("traces"));

    // Queries on a freshly restarted server (caches cold, then warm).
    let server = Server::start(&bin, &work);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let auth = format!("Bearer {TOKEN}");
    let mut by_id = Vec::new();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..1000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let seed = 1 + rng % total_traces;
        let hexid: String = ids(seed).0.iter().map(|b| format!("{b:02x}")).collect();
        let t = Instant::now();
        let r = client
            .get(server.url(&format!("/api/traces/{hexid}")))
            .header("authorization", &auth)
            .send()
            .unwrap();
        assert!(
            r.status().is_success(),
            "trace {seed} missing: {}",
            r.status()
        );
        let body = r.bytes().unwrap();
        by_id.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(body.len() > 100);
    }
    let end_us = now_ns() / 1000;
    let start_us = end_us - 3_600_000_000;
    let mut search = Vec::new();
    let mut found = 0;
    for i in 0..200 {
        let route = ["/api/cart", "/api/checkout", "/api/products/{id}"][i % 3];
        let tags = format!(
            "%7B%22http.route%22%3A%22{}%22%7D",
            route
                .replace('/', "%2F")
                .replace('{', "%7B")
                .replace('}', "%7D")
        );
        let url = server.url(&format!("/api/traces?service=frontend&tags={tags}&start={start_us}&end={end_us}&limit=20&lookback=1h"));
        let t = Instant::now();
        let r = client
            .get(url)
            .header("authorization", &auth)
            .send()
            .unwrap();
        assert!(r.status().is_success());
        let v: serde_json::Value = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
        search.push(t.elapsed().as_secs_f64() * 1000.0);
        found += v["data"].as_array().map(|a| a.len()).unwrap_or(0);
    }
    let rss_query = rss_mib(server.pid());
    server.stop();

    let zstd_total = zstd_bytes.load(Ordering::Relaxed) as f64;
    let proto_total = proto_bytes.load(Ordering::Relaxed) as f64;
    let n = stored_spans as f64;
    let mut out = std::io::stdout();
    writeln!(out, "spans stored:                 {stored_spans}").unwrap();
    writeln!(
        out,
        "ingest wall:                  {wall:.1} s ({:.0} spans/s)",
        n / wall
    )
    .unwrap();
    writeln!(out, "server CPU during ingest:     {cpu:.1} s").unwrap();
    writeln!(out, "ingest spans per CPU-second:  {:.0}", n / cpu).unwrap();
    writeln!(
        out,
        "server RSS after ingest:      {rss_ingest:.0} MiB; after queries: {rss_query:.0} MiB"
    )
    .unwrap();
    writeln!(out, "OTLP protobuf bytes/span:     {:.1}", proto_total / n).unwrap();
    writeln!(out, "OTLP protobuf+zstd bytes/span:{:.1}", zstd_total / n).unwrap();
    writeln!(
        out,
        "disk bytes/span (traces dir): {:.1} ({:.2}x protobuf+zstd)",
        disk as f64 / n,
        disk as f64 / zstd_total
    )
    .unwrap();
    writeln!(
        out,
        "trace by id ms:               p50 {:.2} p99 {:.2} (1000 random ids)",
        percentile(&mut by_id.clone(), 0.5),
        percentile(&mut by_id, 0.99)
    )
    .unwrap();
    writeln!(
        out,
        "service+tag search, last hour: p50 {:.2} p99 {:.2} ms (200 queries, {:.1} traces/answer)",
        percentile(&mut search.clone(), 0.5),
        percentile(&mut search, 0.99),
        found as f64 / 200.0
    )
    .unwrap();
}
