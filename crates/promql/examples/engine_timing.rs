//! Times the engine alone (in-memory source, no HTTP, no storage decoding) on queries shaped
//! like the benchmark's dashboard queries. Run with
//! `cargo run --release -p pharos-promql --example engine_timing`.

use pharos_model::{Labels, MemSource};
use pharos_promql::{Engine, EngineOptions, Value};
use std::time::Instant;

/// CPU time of this process so far (user + system), in milliseconds, from /proc.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    // After the command name: state is field 3, utime field 14, stime field 15 (clock ticks).
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) * 10.0
}

/// Timed runs per query.
const RUNS: usize = 30;

fn main() {
    let hosts = 25;
    let hours = 3;
    let step = 15_000i64;
    let n = hours * 3600 * 1000 / step;
    let src = MemSource::new();
    let modes = [
        "idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice",
    ];
    let mut series = 0;
    for h in 0..hosts {
        let inst = format!("host-{h:03}:9100");
        for cpu in 0..4 {
            for (m, mode) in modes.iter().enumerate() {
                let l = Labels::from_pairs([
                    ("__name__", "node_cpu_seconds_total"),
                    ("instance", inst.as_str()),
                    ("job", "node"),
                    ("cpu", &cpu.to_string()),
                    ("mode", mode),
                ]);
                for k in 0..n {
                    src.add(&l, k * step, (k * (m as i64 + 1)) as f64 * 0.37);
                }
                series += 1;
            }
        }
        for (hi, handler) in ["/", "/api", "/login", "/static"].iter().enumerate() {
            for le in [
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
                "+Inf",
            ] {
                let l = Labels::from_pairs([
                    ("__name__", "http_request_duration_seconds_bucket"),
                    ("instance", inst.as_str()),
                    ("job", "app"),
                    ("handler", handler),
                    ("le", le),
                ]);
                let f: f64 = le.parse().unwrap_or(20.0);
                for k in 0..n {
                    src.add(&l, k * step, (k as f64) * (hi as f64 + 1.0) * f.min(12.0));
                }
                series += 1;
            }
        }
    }
    let end = n * step;
    let start = 600_000;
    println!("{series} series, {} samples each", n);
    let engine = Engine::with_options(EngineOptions::default());
    let queries = [
        ("range", "sum by (mode) (rate(node_cpu_seconds_total[5m]))"),
        ("range", "sum by (instance) (rate(node_cpu_seconds_total{mode!=\"idle\"}[5m]))"),
        ("range", "histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))"),
        ("instant", "topk(5, sum by (instance) (rate(node_cpu_seconds_total[5m])))"),
    ];
    for (kind, q) in queries {
        let mut times = Vec::new();
        let mut size = 0;
        let cpu0 = cpu_ms();
        for _ in 0..RUNS {
            let t0 = Instant::now();
            let r = if kind == "range" {
                engine.range(&src, q, start, end, 60_000)
            } else {
                engine.instant(&src, q, end)
            }
            .unwrap();
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            size = match r.value {
                Value::Matrix(m) => m.len(),
                Value::Vector(v) => v.len(),
                _ => 1,
            };
        }
        let cpu = (cpu_ms() - cpu0) / RUNS as f64;
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{kind:7} {:8.2} ms median wall, {cpu:6.1} ms CPU per run ({size} series)  {q}",
            times[times.len() / 2]
        );
    }
}
