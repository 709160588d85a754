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

/// Runs `pharos <args> --data <data> --token <admin> --json` and parses its JSON.
fn cli_json(data: &Path, args: &[&str]) -> Value {
    let out = Command::new(binary())
        .args(args)
        .arg("--data")
        .arg(data)
        .arg("--token")
        .arg(ADMIN_TOKEN)
        .arg("--json")
        .env_remove("PHAROS_URL")
        .env_remove("PHAROS_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pharos {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
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
