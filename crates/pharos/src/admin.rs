//! The admin API (`admin` scope): what the operator CLI asks a running server.
//!
//! In: `/api/v1/admin/{status,du,retention,retention/apply,snapshot/*}` (`du?top=N`).
//! Out: the JSON of [`crate::ops`], the same the CLI computes itself when the server is
//! stopped. Store work runs on the blocking pool.

use crate::ops::{self, ServerInfo};
use crate::stores::Stores;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pharos_config::Config;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone)]
struct AdminState {
    config: Arc<Config>,
    stores: Arc<Stores>,
    started: Instant,
}

pub fn router(config: Arc<Config>, stores: Arc<Stores>) -> Router {
    Router::new()
        .route("/api/v1/admin/status", get(status))
        .route("/api/v1/admin/du", get(du))
        .route("/api/v1/admin/retention", get(retention))
        .route("/api/v1/admin/retention/apply", post(retention_apply))
        .route("/api/v1/admin/snapshot/create", post(snapshot_create))
        .route("/api/v1/admin/snapshot/list", get(snapshot_list))
        .route(
            "/api/v1/admin/snapshot/delete",
            post(snapshot_delete).delete(snapshot_delete),
        )
        .with_state(AdminState {
            config,
            stores,
            started: Instant::now(),
        })
}

fn error(status: StatusCode, message: String) -> Response {
    (
        status,
        Json(json!({"status": "error", "errorType": "admin", "error": message})),
    )
        .into_response()
}

/// Runs `f` on the blocking pool and answers its JSON, or 500 with the error chain.
async fn blocking(
    s: AdminState,
    f: impl FnOnce(&AdminState) -> anyhow::Result<Value> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(move || f(&s)).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn status(State(s): State<AdminState>) -> Response {
    blocking(s, |s| {
        let info = ServerInfo {
            uptime_seconds: s.started.elapsed().as_secs(),
            rss_bytes: resident_bytes(),
        };
        Ok(ops::status(&s.stores, &s.config, Some(&info)))
    })
    .await
}

#[derive(Deserialize)]
struct DuParams {
    /// How many metric names (and services) to list.
    top: Option<usize>,
}

async fn du(State(s): State<AdminState>, Query(p): Query<DuParams>) -> Response {
    let top = p.top.unwrap_or(ops::DEFAULT_TOP);
    blocking(s, move |s| {
        ops::du(&s.stores, &s.config, top, ops::Source::Server)
    })
    .await
}

async fn retention(State(s): State<AdminState>) -> Response {
    blocking(s, |s| Ok(ops::retention(&s.stores, &s.config))).await
}

async fn retention_apply(State(s): State<AdminState>) -> Response {
    blocking(s, |s| ops::retention_apply(&s.stores, &s.config)).await
}

async fn snapshot_create(State(s): State<AdminState>) -> Response {
    blocking(s, |s| ops::snapshot_create(&s.stores, &s.config)).await
}

async fn snapshot_list(State(s): State<AdminState>) -> Response {
    blocking(s, |s| ops::snapshot_list(&s.config)).await
}

#[derive(Deserialize)]
struct NameParam {
    name: String,
}

async fn snapshot_delete(State(s): State<AdminState>, Query(p): Query<NameParam>) -> Response {
    if !ops::valid_snapshot_name(&p.name) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("invalid snapshot name {:?}", p.name),
        );
    }
    blocking(s, move |s| ops::snapshot_delete(&s.config, &p.name)).await
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
