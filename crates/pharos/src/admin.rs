//! The admin API (`admin` scope): what the operator CLI asks a running server.
//!
//! In: `GET /api/v1/admin/status`.
//! Out: JSON with the version, uptime, listen address, data directory, retention settings
//! and memory in use against the budget; stores add their stats as they are wired.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use pharos_config::Config;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Clone)]
struct AdminState {
    config: Arc<Config>,
    started: Instant,
    started_unix: u64,
}

pub fn router(config: Arc<Config>) -> Router {
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Router::new()
        .route("/api/v1/admin/status", get(status))
        .with_state(AdminState {
            config,
            started: Instant::now(),
            started_unix,
        })
}

async fn status(State(s): State<AdminState>) -> Json<Value> {
    let c = &s.config;
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "started_unix": s.started_unix,
        "uptime_seconds": s.started.elapsed().as_secs(),
        "listen": c.server.listen,
        "data_dir": c.server.data.display().to_string(),
        "retention": {
            "metrics_seconds": c.retention.metrics.as_secs(),
            "traces_seconds": c.retention.traces.as_secs(),
        },
        "memory": {
            "budget_bytes": c.memory.budget.as_u64(),
            "rss_bytes": resident_bytes(),
        },
    }))
}

/// Resident set size of this process, from /proc.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}
