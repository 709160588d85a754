//! Retention: with a short retention, old day partitions disappear from disk and from reads.

mod common;

use common::{client, Server, INGEST_TOKEN, READ_TOKEN};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn day_dirs(data: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(data.join("metrics/parts"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn export_names(srv: &Server) -> Vec<String> {
    let r = client()
        .get(srv.url("/api/v1/export"))
        .query(&[("match[]", "{__name__=~\"ret_.*\"}"), ("start", "0")])
        .bearer_auth(READ_TOKEN)
        .send()
        .unwrap();
    let mut names: Vec<String> = r
        .text()
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["metric"]["__name__"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn short_retention_drops_old_partitions_from_disk_and_reads() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let old = now - 3 * 86_400_000;
    let data = tempfile::tempdir().unwrap();
    let mut srv = Server::builder()
        .data_dir(data.path())
        .config("[retention]\nmetrics = \"10d\"\n")
        .start();
    let body = format!("ret_old 1 {old}\nret_new 2 {now}\n");
    let r = client()
        .post(srv.url("/api/v1/import/prometheus"))
        .bearer_auth(INGEST_TOKEN)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().unwrap());
    srv.stop();
    assert_eq!(
        day_dirs(data.path()).len(),
        2,
        "{:?}",
        day_dirs(data.path())
    );

    // Restart with a 2-day retention, checked every second.
    let srv = Server::builder()
        .data_dir(data.path())
        .config("[retention]\nmetrics = \"2d\"\ncheck_interval = \"1s\"\n")
        .start();
    assert_eq!(export_names(&srv), ["ret_new"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while day_dirs(data.path()).len() > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        day_dirs(data.path()).len(),
        1,
        "old partition still on disk: {:?}",
        day_dirs(data.path())
    );
    assert_eq!(export_names(&srv), ["ret_new"]);
    // Samples older than the retention are refused with 400.
    let r = client()
        .post(srv.url("/api/v1/import/prometheus"))
        .bearer_auth(INGEST_TOKEN)
        .body(format!("ret_old 1 {old}\n"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().unwrap().contains("too_old"));
}
