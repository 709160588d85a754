//! Operator operations over open stores, answered as JSON.
//!
//! The admin API (server running) and the CLI (server stopped, data dir opened directly)
//! both call these, so the two modes print the same figures.

use crate::datadir;
use crate::stores::Stores;
use anyhow::Context;
use pharos_config::Config;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Who answers an operator command: a running server (admin API), or the CLI itself with
/// the data directory opened (server stopped). JSON answers say it as `"source"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Server,
    DataDir,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Server => "server",
            Source::DataDir => "data_dir",
        }
    }
}

/// Facts only a running server knows.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    pub uptime_seconds: u64,
    pub rss_bytes: Option<u64>,
}

/// Apparent size of every file below `dir` (hard links once), like `du -sb --apparent-size`.
pub fn dir_bytes(dir: &Path) -> u64 {
    fn walk(dir: &Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        let mut total = 0;
        for e in entries.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                total += walk(&e.path(), seen);
            } else if md.is_file() && seen.insert((md.dev(), md.ino())) {
                total += md.len();
            }
        }
        total
    }
    walk(dir, &mut std::collections::HashSet::new())
}

/// Free bytes on the file system holding `dir` (for unprivileged users).
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// Bytes per item (sample, span), when there are any.
fn bytes_per(bytes: u64, items: u64) -> Option<f64> {
    (items > 0).then(|| bytes as f64 / items as f64)
}

pub fn status(stores: &Stores, config: &Config, server: Option<&ServerInfo>) -> Value {
    let m = stores.tsdb.stats();
    let t = stores.traces.stats();
    let data = &config.server.data;
    let metrics_disk = m.disk_bytes_index + m.disk_bytes_partitions + m.disk_bytes_wal;
    let oldest_ms = [m.oldest_t, t.oldest_unix.map(|s| s as i64 * 1000)]
        .into_iter()
        .flatten()
        .min();
    let newest_ms = [m.newest_t, t.newest_unix.map(|s| s as i64 * 1000)]
        .into_iter()
        .flatten()
        .max();
    let stored = metrics_disk + t.disk_bytes;
    // Ingest rate estimated from what is stored over the time it covers.
    let span_days = match (oldest_ms, newest_ms) {
        (Some(a), Some(b)) if b - a >= 3_600_000 => Some((b - a) as f64 / 86_400_000.0),
        _ => None,
    };
    let bytes_per_day = span_days.map(|d| stored as f64 / d);
    let free = free_bytes(data);
    let days_until_full = match (free, bytes_per_day) {
        (Some(f), Some(r)) if r > 0.0 => Some(f as f64 / r),
        _ => None,
    };
    json!({
        "source": if server.is_some() { Source::Server } else { Source::DataDir }.as_str(),
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": server.map(|s| s.uptime_seconds),
        "listen": config.server.listen,
        "data_dir": data.display().to_string(),
        "retention": {
            "metrics_seconds": config.retention.metrics.as_secs(),
            "traces_seconds": config.retention.traces.as_secs(),
        },
        "metrics": {
            "oldest_ms": m.oldest_t,
            "newest_ms": m.newest_t,
            "active_series": m.active_series,
            "series_total": m.series_total,
            "samples_on_disk": m.samples_on_disk,
            "bytes_per_sample": bytes_per(m.disk_bytes_partitions, m.samples_on_disk),
            "disk_bytes": {
                "index": m.disk_bytes_index,
                "chunks": m.disk_bytes_partitions,
                "wal": m.disk_bytes_wal,
            },
        },
        "traces": {
            "oldest_unix": t.oldest_unix,
            "newest_unix": t.newest_unix,
            "spans": t.spans,
            "services": t.services,
            "bytes_per_span": bytes_per(t.disk_bytes, t.spans),
            "disk_bytes": t.disk_bytes,
        },
        "disk": {
            "data_dir_bytes": dir_bytes(data),
            "free_bytes": free,
            "bytes_per_day": bytes_per_day,
            "days_until_full": days_until_full,
        },
        "memory": {
            "budget_bytes": config.memory.budget.as_u64(),
            "rss_bytes": server.and_then(|s| s.rss_bytes),
        },
    })
}

/// How many metric names and services `du` lists unless told otherwise.
pub const DEFAULT_TOP: usize = 10;

/// The `top` metric names with the most bytes in the segment files, with the totals they are
/// a share of. Every metric name is measured ([`pharos_tsdb::Tsdb::metric_usage`]).
fn top_metric_names(stores: &Stores, top: usize) -> anyhow::Result<Value> {
    let usage = stores
        .tsdb
        .metric_usage(top)
        .context("measuring metric names")?;
    let share = |bytes: u64| (usage.bytes > 0).then(|| bytes as f64 / usage.bytes as f64);
    let rows: Vec<Value> = usage
        .top
        .iter()
        .map(|m| {
            json!({"metric": m.name, "series": m.series, "samples": m.samples,
                   "bytes": m.bytes, "share": share(m.bytes)})
        })
        .collect();
    Ok(json!({
        "names": usage.names,
        "chunk_bytes": usage.bytes,
        "chunk_samples": usage.samples,
        "unnamed_bytes": usage.unnamed_bytes,
        "top": rows,
    }))
}

/// The `top` services with the most bytes on disk, with their spans, and the totals over
/// every service ([`pharos_tracestore::TraceStore::service_usage`]).
fn top_services(stores: &Stores, top: usize) -> Value {
    let usage = stores.traces.service_usage();
    let rows: Vec<Value> = usage
        .iter()
        .take(top)
        .map(|s| {
            json!({"service": s.service, "spans": s.spans, "bytes": s.bytes,
                   "bytes_per_span": bytes_per(s.bytes, s.spans)})
        })
        .collect();
    json!({
        "services": usage.len(),
        "spans": usage.iter().map(|s| s.spans).sum::<u64>(),
        "bytes": usage.iter().map(|s| s.bytes).sum::<u64>(),
        "top": rows,
    })
}

/// Disk use per partition, the `top` metric names and the `top` services by bytes. The head is flushed first,
/// so every acknowledged sample is in the segment files that are measured.
pub fn du(stores: &Stores, config: &Config, top: usize, source: Source) -> anyhow::Result<Value> {
    stores.tsdb.flush().context("flushing the metrics head")?;
    let top_metric_names = top_metric_names(stores, top)?;
    let m = stores.tsdb.stats();
    let t = stores.traces.stats();
    let metrics_parts: Vec<Value> = m
        .partitions
        .iter()
        .map(|p| {
            json!({"partition": p.day, "from_ms": p.min_t, "to_ms": p.max_t, "samples": p.samples,
                   "series": p.series, "disk_bytes": p.disk_bytes, "expires_ms": p.expires_at})
        })
        .collect();
    let trace_parts: Vec<Value> = t
        .partitions
        .iter()
        .map(|p| {
            json!({"partition": p.name, "from_ms": p.start_unix as i64 * 1000, "to_ms": p.end_unix as i64 * 1000,
                   "spans": p.spans, "disk_bytes": p.disk_bytes, "expires_ms": p.expires_unix as i64 * 1000})
        })
        .collect();
    let top_services = top_services(stores, top);
    Ok(json!({
        "source": source.as_str(),
        "data_dir": config.server.data.display().to_string(),
        "metrics": {
            "partitions": metrics_parts,
            "chunk_bytes": m.disk_bytes_partitions,
            "index_bytes": m.disk_bytes_index,
            "wal_bytes": m.disk_bytes_wal,
            "top_metric_names": top_metric_names,
        },
        "traces": {
            "partitions": trace_parts,
            "disk_bytes": t.disk_bytes,
            "top_services": top_services,
        },
    }))
}

pub fn retention(stores: &Stores, config: &Config) -> Value {
    let m = stores.tsdb.stats();
    let t = stores.traces.stats();
    let next_metrics = m.partitions.iter().min_by_key(|p| p.expires_at).map(
        |p| json!({"partition": p.day, "expires_ms": p.expires_at, "disk_bytes": p.disk_bytes}),
    );
    let next_traces = t.partitions.iter().min_by_key(|p| p.expires_unix).map(|p| {
        json!({"partition": p.name, "expires_ms": p.expires_unix as i64 * 1000, "disk_bytes": p.disk_bytes})
    });
    let now = now_ms();
    json!({
        "now_ms": now,
        "metrics": {
            "retention_seconds": config.retention.metrics.as_secs(),
            "deletes_before_ms": now - config.retention.metrics.as_millis() as i64,
            "next_deletion": next_metrics,
        },
        "traces": {
            "retention_seconds": config.retention.traces.as_secs(),
            "deletes_before_ms": now - config.retention.traces.as_millis() as i64,
            "next_deletion": next_traces,
        },
        "check_interval_seconds": config.retention.check_interval.as_secs(),
    })
}

/// Drops expired partitions now; reports what went and the bytes freed on disk.
pub fn retention_apply(stores: &Stores, config: &Config) -> anyhow::Result<Value> {
    let metrics_dir = datadir::metrics_dir(&config.server.data);
    let before = dir_bytes(&metrics_dir);
    let days = stores.tsdb.apply_retention().context("metrics retention")?;
    let metrics_freed = before.saturating_sub(dir_bytes(&metrics_dir));
    let traces = stores.traces.apply_retention().context("trace retention")?;
    Ok(json!({
        "metrics": {"partitions_dropped": days, "bytes_freed": metrics_freed},
        "traces": {"partitions_dropped": traces.partitions_dropped, "bytes_freed": traces.bytes_freed},
        "bytes_freed": metrics_freed + traces.bytes_freed,
    }))
}

fn snapshot_name() -> String {
    let secs = now_ms() / 1000;
    let (y, mo, d, h, mi, s) = civil_from_unix(secs);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// UTC calendar fields of a unix time (Howard Hinnant's days-from-civil, inverted).
pub fn civil_from_unix(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// A consistent copy of every store under `<data>/snapshots/<UTC time>`.
pub fn snapshot_create(stores: &Stores, config: &Config) -> anyhow::Result<Value> {
    let root = datadir::snapshots_dir(&config.server.data);
    std::fs::create_dir_all(&root)?;
    let mut name = snapshot_name();
    let mut n = 1;
    while root.join(&name).exists() {
        n += 1;
        name = format!("{}-{n}", snapshot_name());
    }
    let dir = root.join(&name);
    let tmp = root.join(format!(".{name}.partial"));
    let result = (|| -> anyhow::Result<()> {
        std::fs::create_dir_all(&tmp)?;
        stores
            .tsdb
            .snapshot(&tmp.join("metrics"))
            .context("metrics snapshot")?;
        stores
            .traces
            .snapshot(&tmp.join("traces"))
            .context("trace snapshot")?;
        let manifest =
            json!({"name": name, "created_ms": now_ms(), "version": env!("CARGO_PKG_VERSION")});
        std::fs::write(
            tmp.join("manifest.json"),
            serde_json::to_vec_pretty(&manifest)?,
        )?;
        std::fs::rename(&tmp, &dir)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(json!({"name": name, "path": dir.display().to_string(), "bytes": dir_bytes(&dir)}))
}

pub fn snapshot_list(config: &Config) -> anyhow::Result<Value> {
    let root = datadir::snapshots_dir(&config.server.data);
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.flatten() {
            let path = e.path();
            let Ok(text) = std::fs::read_to_string(path.join("manifest.json")) else {
                continue;
            };
            let manifest: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            out.push(json!({
                "name": e.file_name().to_string_lossy(),
                "created_ms": manifest["created_ms"],
                "path": path.display().to_string(),
                "bytes": dir_bytes(&path),
            }));
        }
    }
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Ok(Value::Array(out))
}

/// A snapshot name is one path component of our own making: no separators, no dots first.
pub fn valid_snapshot_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub fn snapshot_delete(config: &Config, name: &str) -> anyhow::Result<Value> {
    anyhow::ensure!(valid_snapshot_name(name), "invalid snapshot name {name:?}");
    let dir = datadir::snapshots_dir(&config.server.data).join(name);
    anyhow::ensure!(
        dir.join("manifest.json").exists(),
        "no snapshot named {name:?}"
    );
    let bytes = dir_bytes(&dir);
    std::fs::remove_dir_all(&dir)?;
    Ok(json!({"deleted": name, "bytes_freed": bytes}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_unix(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_from_unix(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(civil_from_unix(951_782_400), (2000, 2, 29, 0, 0, 0));
    }

    #[test]
    fn snapshot_names() {
        assert!(valid_snapshot_name("20261121T100000Z"));
        assert!(!valid_snapshot_name("../x"));
        assert!(!valid_snapshot_name(".hidden"));
        assert!(!valid_snapshot_name(""));
    }
}
