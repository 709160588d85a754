//! `/api/v1/status/*` and the small endpoints Grafana and Prometheus's UI probe.

use crate::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use crate::response::{success, ApiError};
use crate::ApiState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use pharos_model::{Labels, MatchOp, Matcher, METRIC_NAME};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

/// The Prometheus API level Pharos answers as (Grafana reads it to pick features).
pub const PROMETHEUS_API_VERSION: &str = "2.55.1";

pub async fn buildinfo() -> Response {
    // No `features` map: Grafana would take the server for Mimir and call its ruler API.
    success(
        &json!({
            "version": PROMETHEUS_API_VERSION,
            "revision": format!("pharos-{}", env!("CARGO_PKG_VERSION")),
            "branch": "pharos",
            "buildUser": "pharos",
            "buildDate": "",
            "goVersion": "none (Pharos is written in Rust)",
        }),
        &[],
    )
}

pub async fn runtimeinfo(State(st): State<ApiState>) -> Response {
    let start: chrono::DateTime<chrono::Utc> = st.started.into();
    success(
        &json!({
            "startTime": start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "CWD": std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default(),
            "reloadConfigSuccess": true,
            "lastConfigTime": start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "corruptionCount": 0,
            "goroutineCount": 0,
            "GOMAXPROCS": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "GOMEMLIMIT": 0,
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": humantime::format_duration(st.config.retention.metrics).to_string(),
        }),
        &[],
    )
}

pub async fn flags(State(st): State<ApiState>) -> Response {
    let q = &st.config.query;
    let d = |v: std::time::Duration| humantime::format_duration(v).to_string();
    success(
        &json!({
            "query.lookback-delta": d(q.lookback_delta),
            "query.timeout": d(q.timeout),
            "query.max-samples": q.max_samples.to_string(),
            "query.max-points-per-series": q.max_points_per_series.to_string(),
            "query.max-series": q.max_series.to_string(),
            "storage.tsdb.retention.time": d(st.config.retention.metrics),
            "web.listen-address": st.config.server.listen.to_string(),
        }),
        &[],
    )
}

pub async fn config() -> Response {
    success(&json!({"yaml": ""}), &[])
}

pub async fn rules() -> Response {
    success(&json!({"groups": []}), &[])
}

pub async fn alerts() -> Response {
    success(&json!({"alerts": []}), &[])
}

pub async fn targets() -> Response {
    success(&json!({"activeTargets": [], "droppedTargets": []}), &[])
}

#[derive(Serialize)]
struct NameValue {
    name: String,
    value: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HeadStatsJson {
    num_series: u64,
    chunk_count: u64,
    min_time: i64,
    max_time: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TsdbStatus {
    head_stats: HeadStatsJson,
    series_count_by_metric_name: Vec<NameValue>,
    label_value_count_by_label_name: Vec<NameValue>,
    memory_in_bytes_by_label_name: Vec<NameValue>,
    series_count_by_label_value_pair: Vec<NameValue>,
}

/// `/api/v1/status/tsdb`: head stats and a cardinality explorer. `limit` (or VictoriaMetrics's
/// `topN`) bounds each list (default 10); `match[]` narrows the series looked at.
pub async fn tsdb(State(st): State<ApiState>, p: Params) -> Response {
    async {
        let limit = p.count("limit")?.or(p.count("topN")?).unwrap_or(10);
        let mut sets = p.matchers()?;
        if sets.is_empty() {
            let all = Matcher::new(MatchOp::RegexMatch, METRIC_NAME, ".+")
                .map_err(|e| ApiError::internal(e.to_string()))?;
            sets.push(vec![all]);
        }
        let (start, end) = (
            p.time_or("start", MIN_TIME_MS)?,
            p.time_or("end", MAX_TIME_MS)?,
        );
        let src = st.source.clone();
        let status = tokio::task::spawn_blocking(move || -> Result<TsdbStatus, ApiError> {
            let mut series: BTreeSet<Labels> = BTreeSet::new();
            for set in &sets {
                series.extend(src.series(set, start, end)?);
            }
            let head = src.head_stats();
            Ok(cardinality(&series, limit, head))
        })
        .await
        .map_err(|e| ApiError::internal(format!("store task failed: {e}")))??;
        Ok::<_, ApiError>(success(&status, &[]))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

fn cardinality(
    series: &BTreeSet<Labels>,
    limit: usize,
    head: Option<pharos_model::HeadStats>,
) -> TsdbStatus {
    let mut by_metric: HashMap<&str, u64> = HashMap::new();
    let mut by_pair: HashMap<(&str, &str), u64> = HashMap::new();
    for s in series {
        if let Some(n) = s.metric_name() {
            *by_metric.entry(n).or_default() += 1;
        }
        for l in s.iter() {
            *by_pair
                .entry((l.name.as_str(), l.value.as_str()))
                .or_default() += 1;
        }
    }
    let mut values_by_name: HashMap<&str, u64> = HashMap::new();
    let mut bytes_by_name: HashMap<&str, u64> = HashMap::new();
    for (name, value) in by_pair.keys() {
        *values_by_name.entry(name).or_default() += 1;
        *bytes_by_name.entry(name).or_default() += value.len() as u64;
    }
    let top = |m: Vec<(String, u64)>| -> Vec<NameValue> {
        let mut v = m;
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(limit);
        v.into_iter()
            .map(|(name, value)| NameValue { name, value })
            .collect()
    };
    let head = head.unwrap_or(pharos_model::HeadStats {
        num_series: series.len() as u64,
        ..Default::default()
    });
    TsdbStatus {
        head_stats: HeadStatsJson {
            num_series: head.num_series,
            chunk_count: head.chunk_count,
            min_time: head.min_time,
            max_time: head.max_time,
        },
        series_count_by_metric_name: top(by_metric
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()),
        label_value_count_by_label_name: top(values_by_name
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()),
        memory_in_bytes_by_label_name: top(bytes_by_name
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()),
        series_count_by_label_value_pair: top(by_pair
            .into_iter()
            .map(|((n, v), c)| (format!("{n}={v}"), c))
            .collect()),
    }
}
