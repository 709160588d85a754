//! The operator CLI against a real data directory, with the server running and stopped.

mod common;
use common::{binary, Server, ADMIN_TOKEN, INGEST_TOKEN};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const DAY_MS: i64 = 86_400_000;

/// A server that does not store its own metrics, so the figures are only what the test sent.
fn server() -> Server {
    Server::builder()
        .config("[server]\nself_scrape_interval = \"0s\"\n")
        .start()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Runs `pharos <args> --data <data> --token <admin>`, checks it succeeded, returns stdout.
fn cli_out(data: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(binary())
        .args(args)
        .arg("--data")
        .arg(data)
        .arg("--token")
        .arg(ADMIN_TOKEN)
        .env_remove("PHAROS_URL")
        .env_remove("PHAROS_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pharos {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `pharos <args> --data <data> --token <admin> --json` and parses its JSON.
fn cli_json(data: &Path, args: &[&str]) -> Value {
    let out = cli_out(data, &[args, &["--json"]].concat());
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("pharos {args:?} --json is not JSON ({e})"))
}

/// Bytes of the regular files below `dir` as `du` counts them (apparent sizes, hard links once).
fn du_file_bytes(dir: &Path) -> u64 {
    let total = Command::new("du")
        .arg("-s")
        .arg("-b")
        .arg("--apparent-size")
        .arg(dir)
        .output()
        .unwrap();
    let total: u64 = String::from_utf8_lossy(&total.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let dirs = Command::new("find")
        .arg(dir)
        .args(["-type", "d", "-printf", "%s\n"])
        .output()
        .unwrap();
    let dir_sizes: u64 = String::from_utf8_lossy(&dirs.stdout)
        .lines()
        .map(|l| l.parse::<u64>().unwrap())
        .sum();
    total - dir_sizes
}

/// `series` series × `points` samples at 15 s spacing ending `age_ms` ago.
fn text_body(metric: &str, series: usize, points: usize, age_ms: i64) -> Vec<u8> {
    let end = now_ms() - age_ms;
    let mut s = String::new();
    for i in 0..series {
        for p in 0..points {
            let t = end - (points - p) as i64 * 15_000;
            s.push_str(&format!(
                "{metric}{{instance=\"host-{i}\",job=\"cli\"}} {} {t}\n",
                p * i
            ));
        }
    }
    s.into_bytes()
}

fn otlp_json(spans: usize) -> Vec<u8> {
    let now = now_ms() as u128 * 1_000_000;
    let spans: Vec<Value> = (0..spans)
        .map(|i| {
            serde_json::json!({
                "traceId": format!("{:032x}", 0xabc000 + i / 4),
                "spanId": format!("{:016x}", 0x1000 + i),
                "name": "GET /cli",
                "kind": 2,
                "startTimeUnixNano": (now - 5_000_000_000 + i as u128 * 1000).to_string(),
                "endTimeUnixNano": (now - 4_000_000_000 + i as u128 * 1000).to_string(),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "cli-svc"}}]},
        "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]
    }]}))
    .unwrap()
}

#[test]
fn status_du_and_snapshots_running_and_stopped() {
    let mut srv = server();
    let r = srv.post_as(
        "/api/v1/import/prometheus",
        Some(INGEST_TOKEN),
        "text/plain",
        text_body("cli_metric", 5, 40, 0),
    );
    assert!(r.status().is_success(), "{:?}", r.text());
    let r = srv.post_as(
        "/api/v1/import/prometheus",
        Some(INGEST_TOKEN),
        "text/plain",
        text_body("cli_other", 2, 10, DAY_MS),
    );
    assert!(r.status().is_success());
    let r = srv.post_as(
        "/v1/traces",
        Some(INGEST_TOKEN),
        "application/json",
        otlp_json(12),
    );
    assert!(r.status().is_success(), "{:?}", r.text());

    // Server running: the CLI finds it through the data directory's lock.
    let running = cli_json(&srv.data, &["status"]);
    assert_eq!(running["source"], "server");
    assert_eq!(running["metrics"]["series_total"], 7);
    assert_eq!(running["traces"]["spans"], 12);
    assert!(running["memory"]["rss_bytes"].as_u64().unwrap() > 0);
    assert!(running["uptime_seconds"].is_u64());
    let du = cli_json(&srv.data, &["du"]);
    assert_eq!(
        du["metrics"]["top_metric_names"]["top"][0]["metric"],
        "cli_metric"
    );
    assert_eq!(du["metrics"]["top_metric_names"]["top"][0]["series"], 5);
    assert_eq!(du["traces"]["services"], serde_json::json!(["cli-svc"]));
    let snap = cli_json(&srv.data, &["snapshot", "create"]);
    let name = snap["name"].as_str().unwrap().to_owned();
    let list = cli_json(&srv.data, &["snapshot", "list"]);
    assert_eq!(list[0]["name"], name.as_str());
    let expected_query = srv
        .get("/api/v1/query?query=sum(cli_metric)")
        .text()
        .unwrap();

    // Server stopped: the CLI opens the data directory itself, with the same figures.
    assert!(srv.stop().success());
    let stopped = cli_json(&srv.data, &["status"]);
    assert_eq!(stopped["source"], "data_dir");
    assert_eq!(stopped["metrics"]["series_total"], 7);
    assert_eq!(stopped["traces"]["spans"], 12);
    assert_eq!(
        stopped["disk"]["data_dir_bytes"].as_u64().unwrap(),
        du_file_bytes(&srv.data),
        "status disagrees with du"
    );
    let retention = cli_json(&srv.data, &["retention"]);
    assert_eq!(retention["metrics"]["retention_seconds"], 30 * 86_400);
    assert!(
        retention["metrics"]["next_deletion"]["expires_ms"]
            .as_i64()
            .unwrap()
            > now_ms()
    );

    // The snapshot restored into a new data directory serves the same answers.
    let restored = srv.data.parent().unwrap().join("restored");
    let snap_path = srv.data.join("snapshots").join(&name);
    let v = cli_json(&restored, &["restore", snap_path.to_str().unwrap()]);
    assert!(v["bytes"].as_u64().unwrap() > 0);
    let srv2 = Server::builder().data_dir(&restored).start();
    let got = srv2
        .get("/api/v1/query?query=sum(cli_metric)")
        .text()
        .unwrap();
    let value = |s: &str| {
        serde_json::from_str::<Value>(s).unwrap()["data"]["result"][0]["value"][1].clone()
    };
    assert_eq!(
        value(&got),
        value(&expected_query),
        "restored data answers differently"
    );
    let r = srv2.get("/api/v1/query?query=count(count_over_time(cli_other%5B2d%5D))");
    assert_eq!(
        serde_json::from_str::<Value>(&r.text().unwrap()).unwrap()["data"]["result"][0]["value"][1],
        "2"
    );

    // Restoring onto a running server's data directory is refused.
    let out = Command::new(binary())
        .args(["restore", snap_path.to_str().unwrap(), "--force", "--data"])
        .arg(&restored)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(srv2);

    let deleted = cli_json(&srv.data, &["snapshot", "delete", &name]);
    assert_eq!(deleted["deleted"], name.as_str());
    assert_eq!(
        cli_json(&srv.data, &["snapshot", "list"]),
        serde_json::json!([])
    );
}

#[test]
fn retention_apply_frees_the_bytes_it_reports() {
    let mut srv = server();
    let r = srv.post_as(
        "/api/v1/import/prometheus",
        Some(INGEST_TOKEN),
        "text/plain",
        text_body("old_metric", 20, 200, 6 * DAY_MS),
    );
    assert!(r.status().is_success(), "{:?}", r.text());
    let r = srv.post_as(
        "/api/v1/import/prometheus",
        Some(INGEST_TOKEN),
        "text/plain",
        text_body("new_metric", 2, 10, 0),
    );
    assert!(r.status().is_success());
    assert!(srv.stop().success());
    let before = cli_json(&srv.data, &["du"]);
    assert!(
        before["metrics"]["partitions"].as_array().unwrap().len() >= 2,
        "{before}"
    );

    // With a 2-day retention the 6-day-old partition is expired.
    let short = srv.data.parent().unwrap().join("short.toml");
    std::fs::write(&short, "[retention]\nmetrics = \"2d\"\n").unwrap();
    let data_bytes_before = du_file_bytes(&srv.data);
    let out = Command::new(binary())
        .args(["retention", "apply", "--json", "--config"])
        .arg(&short)
        .arg("--data")
        .arg(&srv.data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dropped = v["metrics"]["partitions_dropped"].as_array().unwrap();
    assert_eq!(dropped.len(), 1, "{v}");
    let freed = v["bytes_freed"].as_u64().unwrap();
    assert!(freed > 0);
    assert_eq!(
        data_bytes_before - du_file_bytes(&srv.data),
        freed,
        "reported bytes differ from du"
    );
    let after = cli_json(&srv.data, &["du"]);
    let parts = after["metrics"]["partitions"].as_array().unwrap();
    assert!(
        parts.iter().all(|p| p["partition"] != dropped[0]),
        "{after}"
    );
    assert_eq!(
        after["metrics"]["top_metric_names"]["top"][0]["metric"],
        "new_metric"
    );
}

/// `series` series × `points` samples 15 s apart, ending now, with values that do not
/// compress (so a metric's bytes on disk follow its sample count, not its series count).
fn noisy_text_body(metric: &str, series: usize, points: usize) -> String {
    let end = now_ms();
    let mut state = 0x2545_f491_4f6c_dd1du64 ^ metric.len() as u64;
    let mut s = String::new();
    for i in 0..series {
        for p in 0..points {
            // xorshift64: a different value with all its digits each time.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = (state >> 11) as f64 / (1u64 << 53) as f64 * 1e6;
            let t = end - (points - p) as i64 * 15_000;
            s.push_str(&format!("{metric}{{instance=\"host-{i}\"}} {v} {t}\n"));
        }
    }
    s
}

/// The metric names of `du --json`'s top list, in order, with their series and samples.
fn top_names(du: &Value) -> Vec<(String, u64, u64)> {
    du["metrics"]["top_metric_names"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["metric"].as_str().unwrap().to_owned(),
                m["series"].as_u64().unwrap(),
                m["samples"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The byte figures of `du --json`'s metric names: each > 0, and together the chunk bytes
/// that `du` and `status` report. Returns that total.
fn check_metric_bytes(du: &Value, status: &Value) -> u64 {
    let top = &du["metrics"]["top_metric_names"];
    let bytes: Vec<u64> = top["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["bytes"].as_u64().unwrap())
        .collect();
    assert!(bytes.iter().all(|b| *b > 0), "{top}");
    assert!(
        bytes.windows(2).all(|w| w[0] >= w[1]),
        "not by bytes: {top}"
    );
    let total = top["chunk_bytes"].as_u64().unwrap();
    assert_eq!(bytes.iter().sum::<u64>(), total, "{top}");
    assert_eq!(top["unnamed_bytes"], 0);
    assert_eq!(du["metrics"]["chunk_bytes"].as_u64().unwrap(), total);
    assert_eq!(
        status["metrics"]["disk_bytes"]["chunks"].as_u64().unwrap(),
        total
    );
    let shares: f64 = top["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["share"].as_f64().unwrap())
        .sum();
    assert!((shares - 1.0).abs() < 1e-9, "shares add up to {shares}");
    total
}

#[test]
fn du_ranks_metric_names_by_bytes_running_and_stopped() {
    let mut srv = server();
    // By series: wide (30) > long (3) > tiny (1). By bytes: long (1,200 samples) > wide
    // (120) > tiny (2).
    let body = noisy_text_body("du_long", 3, 400)
        + &noisy_text_body("du_wide", 30, 4)
        + &noisy_text_body("du_tiny", 1, 2);
    let r = srv.post_as(
        "/api/v1/import/prometheus",
        Some(INGEST_TOKEN),
        "text/plain",
        body.into_bytes(),
    );
    assert!(r.status().is_success(), "{:?}", r.text());
    let expected = vec![
        ("du_long".to_owned(), 3, 1200),
        ("du_wide".to_owned(), 30, 120),
        ("du_tiny".to_owned(), 1, 2),
    ];

    // Running: the server flushes its head before measuring, so the samples just sent count.
    let running = cli_json(&srv.data, &["du", "--top", "10"]);
    assert_eq!(running["source"], "server");
    assert_eq!(top_names(&running), expected, "{running}");
    assert_eq!(running["metrics"]["top_metric_names"]["names"], 3);
    let status = cli_json(&srv.data, &["status"]);
    let total = check_metric_bytes(&running, &status);
    let limited = cli_json(&srv.data, &["du", "--top", "2"]);
    assert_eq!(top_names(&limited), expected[..2]);
    assert_eq!(limited["metrics"]["top_metric_names"]["names"], 3);
    let human = String::from_utf8(cli_out(&srv.data, &["du", "--top", "2"])).unwrap();
    assert!(
        human.starts_with("source: running server at http://127.0.0.1:"),
        "{human}"
    );
    let long = human.find("\ndu_long ").expect("du_long row");
    let wide = human.find("\ndu_wide ").expect("du_wide row");
    assert!(long < wide && !human.contains("du_tiny"), "{human}");

    // Stopped: the CLI opens the data directory and measures the same files.
    assert!(srv.stop().success());
    let stopped = cli_json(&srv.data, &["du"]);
    assert_eq!(stopped["source"], "data_dir");
    assert_eq!(top_names(&stopped), expected, "{stopped}");
    let status = cli_json(&srv.data, &["status"]);
    assert_eq!(check_metric_bytes(&stopped, &status), total);
    let parts = srv.data.join("metrics").join("parts");
    assert_eq!(du_file_bytes(&parts), total, "chunk bytes disagree with du");
    let human = String::from_utf8(cli_out(&srv.data, &["du"])).unwrap();
    assert!(human.starts_with("source: data directory"), "{human}");
    assert!(human.contains("Top metric names"), "{human}");
}

#[test]
fn human_output_and_help() {
    let out = Command::new(binary())
        .args(["status", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = Command::new(binary()).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit codes"));
    let out = Command::new(binary())
        .args(["status", "--data", "/nonexistent/pharos-data"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    let out = Command::new(binary())
        .args(["token", "new", "--scope", "ingest"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim().len(), 64);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ingest_tokens"));
}
