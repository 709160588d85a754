//! Times PromQL queries against a real metrics store, in process: no HTTP, no client, so
//! that engine and storage changes can be compared without the noise of a server round
//! trip. Run on a copy of a data directory (the store is opened for writing):
//!
//! ```sh
//! cargo run --release -p pharos --example query_timing -- DATA_DIR REPS QUERY_FILE
//! ```
//!
//! Each line of `QUERY_FILE` is `range START END STEP QUERY` or `instant TIME QUERY`
//! (seconds). Prints, per query, the median and minimum wall time and the CPU time of the
//! process per run.

use pharos_config::Config;
use pharos_promql::{Engine, Value};
use pharos_tsdb::Tsdb;
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
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) * 10.0
}

/// Series (or 1 for a scalar or string) in a result.
fn series_count(v: &Value) -> usize {
    match v {
        Value::Vector(s) => s.len(),
        Value::Matrix(s) => s.len(),
        _ => 1,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, reps, file] = &args[..] else {
        eprintln!("usage: query_timing DATA_DIR REPS QUERY_FILE");
        std::process::exit(2);
    };
    let reps: usize = reps.parse().expect("REPS is a number");
    let mut config = Config::default();
    config.server.data = dir.into();
    let tsdb = Tsdb::open(&std::path::Path::new(dir).join("metrics"), &config).expect("open");
    let engine = Engine::new(&config.query);
    let text = std::fs::read_to_string(file).expect("query file");
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(5, ' ');
        let kind = parts.next().unwrap_or_default();
        let num = |p: Option<&str>| p.and_then(|x| x.parse::<i64>().ok()).unwrap_or(0) * 1000;
        let run: Box<dyn Fn() -> usize> = match kind {
            "range" => {
                let (start, end, step) = (num(parts.next()), num(parts.next()), num(parts.next()));
                let q = parts.next().unwrap_or_default().to_string();
                let (e, t) = (engine.clone(), tsdb.clone());
                Box::new(move || {
                    let r = e.range(&*t, &q, start, end, step).expect("query");
                    series_count(&r.value)
                })
            }
            "instant" => {
                let t0 = num(parts.next());
                let rest: Vec<&str> = parts.collect();
                let q = rest.join(" ");
                let (e, t) = (engine.clone(), tsdb.clone());
                Box::new(move || {
                    let r = e.instant(&*t, &q, t0).expect("query");
                    series_count(&r.value)
                })
            }
            _ => continue,
        };
        for _ in 0..3 {
            run();
        }
        let mut walls = Vec::with_capacity(reps);
        let c0 = cpu_ms();
        let mut size = 0;
        for _ in 0..reps {
            let t = Instant::now();
            size = run();
            walls.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let cpu = (cpu_ms() - c0) / reps as f64;
        walls.sort_by(f64::total_cmp);
        println!(
            "{:>8.3} ms median {:>8.3} min {:>8.3} cpu/run  ({size} series)  {}",
            walls[reps / 2],
            walls[0],
            cpu,
            line.chars().take(90).collect::<String>()
        );
    }
    tsdb.close().expect("close");
}
