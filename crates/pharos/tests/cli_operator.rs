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

/// `spans` spans of `service` (four per trace), with trace and span ids from `ids_from` on.
fn otlp_json(service: &str, spans: usize, ids_from: usize) -> Vec<u8> {
    let now = now_ms() as u128 * 1_000_000;
    let spans: Vec<Value> = (0..spans)
        .map(|i| {
            serde_json::json!({
                "traceId": format!("{:032x}", 0xabc000 + ids_from + i / 4),
                "spanId": format!("{:016x}", 0x1000 + ids_from + i),
                "name": "GET /cli",
                "kind": 2,
                "startTimeUnixNano": (now - 5_000_000_000 + i as u128 * 1000).to_string(),
                "endTimeUnixNano": (now - 4_000_000_000 + i as u128 * 1000).to_string(),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
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
        otlp_json("cli-svc", 12, 0),
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
    let services = &du["traces"]["top_services"];
    assert_eq!(services["services"], 1);
    assert_eq!(services["top"][0]["service"], "cli-svc");
    assert_eq!(services["top"][0]["spans"], 12);
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
    // The old samples (50 minutes of them) end at noon UTC six days ago, so that they sit in
    // one daily partition whatever the time of day the test runs at.
    let now = now_ms();
    let old_age = now - (now / DAY_MS * DAY_MS - 6 * DAY_MS + DAY_MS / 2);
    let r = srv.post_as(
        "/api/v1/import/prometheus",
        Some(INGEST_TOKEN),
        "text/plain",
        text_body("old_metric", 20, 200, old_age),
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

/// The `keys` of each row of a `du --json` top list (`top_metric_names`, `top_services`).
fn top_rows(list: &Value, keys: &[&str]) -> Value {
    list["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| keys.iter().map(|k| row[*k].clone()).collect::<Value>())
        .collect()
}

/// The services of `du --json`'s top list, in order, with their spans.
fn top_services(du: &Value) -> Value {
    top_rows(&du["traces"]["top_services"], &["service", "spans"])
}

/// The byte figures of `du --json`'s services: each > 0, biggest first, and together the
/// trace partitions' bytes (less under a byte per service and partition of rounding).
fn check_service_bytes(du: &Value) {
    let top = &du["traces"]["top_services"];
    let rows = top["top"].as_array().unwrap();
    let bytes: Vec<u64> = rows.iter().map(|s| s["bytes"].as_u64().unwrap()).collect();
    assert!(bytes.iter().all(|b| *b > 0), "{top}");
    assert!(
        bytes.windows(2).all(|w| w[0] >= w[1]),
        "not by bytes: {top}"
    );
    assert_eq!(bytes.iter().sum::<u64>(), top["bytes"].as_u64().unwrap());
    let parts = du["traces"]["partitions"].as_array().unwrap();
    let part_bytes: u64 = parts
        .iter()
        .map(|p| p["disk_bytes"].as_u64().unwrap())
        .sum();
    let rounding = (rows.len() * parts.len()) as u64;
    let sum = top["bytes"].as_u64().unwrap();
    assert!(
        sum <= part_bytes && sum + rounding >= part_bytes,
        "services {sum} B, partitions {part_bytes} B: {du}"
    );
    for s in rows {
        let per_span = s["bytes"].as_f64().unwrap() / s["spans"].as_f64().unwrap();
        assert!((s["bytes_per_span"].as_f64().unwrap() - per_span).abs() < 1e-9);
    }
}

/// The metric names of `du --json`'s top list, in order, with their series and samples.
fn top_names(du: &Value) -> Value {
    top_rows(
        &du["metrics"]["top_metric_names"],
        &["metric", "series", "samples"],
    )
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
fn du_ranks_metric_names_and_services_by_bytes_running_and_stopped() {
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
    for (service, spans, ids_from) in [("svc-quiet", 6, 0), ("svc-busy", 30, 0x100)] {
        let r = srv.post_as(
            "/v1/traces",
            Some(INGEST_TOKEN),
            "application/json",
            otlp_json(service, spans, ids_from),
        );
        assert!(r.status().is_success(), "{:?}", r.text());
    }
    let services = serde_json::json!([["svc-busy", 30], ["svc-quiet", 6]]);
    let expected = serde_json::json!([
        ["du_long", 3, 1200],
        ["du_wide", 30, 120],
        ["du_tiny", 1, 2]
    ]);

    // Running: the server flushes its head before measuring, so the samples just sent count.
    let running = cli_json(&srv.data, &["du", "--top", "10"]);
    assert_eq!(running["source"], "server");
    assert_eq!(top_names(&running), expected, "{running}");
    assert_eq!(running["metrics"]["top_metric_names"]["names"], 3);
    assert_eq!(top_services(&running), services, "{running}");
    assert_eq!(running["traces"]["top_services"]["services"], 2);
    assert_eq!(running["traces"]["top_services"]["spans"], 36);
    check_service_bytes(&running);
    let status = cli_json(&srv.data, &["status"]);
    let total = check_metric_bytes(&running, &status);
    let limited = cli_json(&srv.data, &["du", "--top", "2"]);
    assert_eq!(
        top_names(&limited),
        serde_json::json!([expected[0], expected[1]])
    );
    assert_eq!(top_services(&limited), services);
    assert_eq!(limited["metrics"]["top_metric_names"]["names"], 3);
    let human = String::from_utf8(cli_out(&srv.data, &["du", "--top", "1"])).unwrap();
    assert!(
        human.starts_with("source: running server at http://127.0.0.1:"),
        "{human}"
    );
    let long = human.find("\ndu_long ").expect("du_long row");
    let busy = human.find("\nsvc-busy ").expect("svc-busy row");
    assert!(long < busy, "{human}");
    assert!(
        !human.contains("du_wide") && !human.contains("svc-quiet"),
        "{human}"
    );

    // Stopped: the CLI opens the data directory and measures the same files.
    assert!(srv.stop().success());
    let stopped = cli_json(&srv.data, &["du"]);
    assert_eq!(stopped["source"], "data_dir");
    assert_eq!(top_names(&stopped), expected, "{stopped}");
    assert_eq!(top_services(&stopped), services, "{stopped}");
    check_service_bytes(&stopped);
    let status = cli_json(&srv.data, &["status"]);
    assert_eq!(check_metric_bytes(&stopped, &status), total);
    let parts = srv.data.join("metrics").join("parts");
    assert_eq!(du_file_bytes(&parts), total, "chunk bytes disagree with du");
    let human = String::from_utf8(cli_out(&srv.data, &["du"])).unwrap();
    assert!(human.starts_with("source: data directory"), "{human}");
    assert!(human.contains("Top metric names"), "{human}");
    assert!(human.contains("Top services"), "{human}");
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
