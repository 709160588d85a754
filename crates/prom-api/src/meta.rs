//! Metadata endpoints: series, label names, label values, metric metadata, exemplars.

use crate::escape::unescape_label_name;
use crate::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use crate::response::{
    json_str, success, success_raw, write_labels, write_timestamp, write_value, ApiError,
};
use crate::ApiState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use pharos_model::{Labels, Matcher, SeriesSource};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const TRUNCATED: &str = "results truncated due to limit";

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(
    src: &Arc<dyn SeriesSource>,
    f: impl FnOnce(&dyn SeriesSource) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let src = src.clone();
    tokio::task::spawn_blocking(move || f(&*src))
        .await
        .map_err(|e| ApiError::internal(format!("store task failed: {e}")))?
}

fn range(p: &Params) -> Result<(i64, i64), ApiError> {
    Ok((
        p.time_or("start", MIN_TIME_MS)?,
        p.time_or("end", MAX_TIME_MS)?,
    ))
}

pub async fn series(State(st): State<ApiState>, p: Params) -> Response {
    async {
        if p.all("match[]").is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let sets = p.matchers()?;
        let (start, end) = range(&p)?;
        let limit = p.limit()?;
        let found = blocking(&st.source, move |src| {
            let mut all: BTreeSet<Labels> = BTreeSet::new();
            for set in &sets {
                all.extend(src.series(set, start, end)?);
            }
            Ok(all)
        })
        .await?;
        let mut warnings = Vec::new();
        let mut out = String::from("[");
        for (i, l) in found.iter().enumerate() {
            if limit.is_some_and(|n| i >= n) {
                warnings.push(TRUNCATED.to_string());
                break;
            }
            if i > 0 {
                out.push(',');
            }
            write_labels(&mut out, l);
        }
        out.push(']');
        Ok(success_raw(&out, &warnings, &[]))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

pub async fn label_names(State(st): State<ApiState>, p: Params) -> Response {
    async {
        let sets = p.matchers()?;
        let (start, end) = range(&p)?;
        let limit = p.limit()?;
        let names = blocking(&st.source, move |src| {
            let mut all: BTreeSet<String> = BTreeSet::new();
            if sets.is_empty() {
                all.extend(src.label_names(&[], start, end)?);
            }
            for set in &sets {
                all.extend(src.label_names(set, start, end)?);
            }
            Ok(all.into_iter().collect::<Vec<_>>())
        })
        .await?;
        Ok::<_, ApiError>(limited(names, limit))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

pub async fn label_values(
    State(st): State<ApiState>,
    Path(name): Path<String>,
    p: Params,
) -> Response {
    async {
        let name = unescape_label_name(&name);
        if name.is_empty() {
            return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
        }
        let sets = p.matchers()?;
        let (start, end) = range(&p)?;
        let limit = p.limit()?;
        // Answered from memory (the common dashboard variable without `match[]`): in place,
        // saving the hand-off to a blocking thread and back.
        let values = if sets.is_empty() && st.source.label_values_in_memory(&name, &[]) {
            values_of(&*st.source, &name, &sets, start, end)?
        } else {
            blocking(&st.source, move |src| {
                values_of(src, &name, &sets, start, end)
            })
            .await?
        };
        Ok(limited(values, limit))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// Sorted, distinct values of label `name` over the series of any of `sets` (all series
/// when there are none).
fn values_of(
    src: &dyn SeriesSource,
    name: &str,
    sets: &[Vec<Matcher>],
    start: i64,
    end: i64,
) -> Result<Vec<String>, ApiError> {
    if sets.len() <= 1 {
        let matchers = sets.first().map_or(&[][..], Vec::as_slice);
        let mut v = src.label_values(name, matchers, start, end)?;
        // Sources answer sorted and distinct; checking is cheaper than a set.
        if !v.is_sorted() {
            v.sort_unstable();
        }
        v.dedup();
        return Ok(v);
    }
    let mut all: BTreeSet<String> = BTreeSet::new();
    for set in sets {
        all.extend(src.label_values(name, set, start, end)?);
    }
    Ok(all.into_iter().collect())
}

fn limited(mut v: Vec<String>, limit: Option<usize>) -> Response {
    let mut warnings = Vec::new();
    if let Some(n) = limit {
        if v.len() > n {
            v.truncate(n);
            warnings.push(TRUNCATED.to_string());
        }
    }
    success(&v, &warnings)
}

pub async fn metadata(State(st): State<ApiState>, p: Params) -> Response {
    async {
        let limit = p.limit()?;
        let per_metric = p.count("limit_per_metric")?;
        let metric = p.non_empty("metric").map(str::to_string);
        let found = blocking(&st.source, move |src| {
            Ok(src.metadata(metric.as_deref(), limit)?)
        })
        .await?;
        let mut out: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
        for m in found {
            let entry = out.entry(m.metric.clone()).or_default();
            if per_metric.is_some_and(|n| entry.len() >= n) {
                continue;
            }
            let item = serde_json::json!({"type": m.kind, "help": m.help, "unit": m.unit});
            if !entry.contains(&item) {
                entry.push(item);
            }
        }
        if let Some(n) = limit {
            while out.len() > n {
                out.pop_last();
            }
        }
        Ok::<_, ApiError>(success(&out, &[]))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

pub async fn exemplars(State(st): State<ApiState>, p: Params) -> Response {
    async {
        let (start, end) = range(&p)?;
        if end < start {
            return Err(ApiError::bad_data(
                "end timestamp must not be before start time",
            ));
        }
        let expr = pharos_promql::parse(p.get("query").unwrap_or(""))?;
        let mut sets: Vec<Vec<Matcher>> = Vec::new();
        for vs in pharos_promql::selectors(&expr) {
            sets.extend(pharos_promql::selector_matchers(vs)?);
        }
        let found = blocking(&st.source, move |src| {
            let mut by_series: BTreeMap<Labels, Vec<pharos_model::Exemplar>> = BTreeMap::new();
            for set in &sets {
                for es in src.exemplars(set, start, end)? {
                    let list = by_series.entry(es.series).or_default();
                    for e in es.exemplars {
                        if !list.contains(&e) {
                            list.push(e);
                        }
                    }
                }
            }
            Ok(by_series)
        })
        .await?;
        let mut out = String::from("[");
        for (i, (series, list)) in found.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"seriesLabels\":");
            write_labels(&mut out, series);
            out.push_str(",\"exemplars\":[");
            for (j, e) in list.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str("{\"labels\":");
                write_labels(&mut out, &e.labels);
                out.push_str(",\"value\":");
                write_value(&mut out, e.value);
                out.push_str(",\"timestamp\":");
                write_timestamp(&mut out, e.t);
                out.push('}');
            }
            out.push_str("]}");
        }
        out.push(']');
        Ok(success_raw(&out, &[], &[]))
    }
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// `/api/v1/format_query`: the query pretty-printed.
pub async fn format_query(p: Params) -> Response {
    match pharos_promql::parse(p.get("query").unwrap_or("")) {
        Ok(expr) => success_raw(&json_str(&expr.prettify()), &[], &[]),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `/api/v1/parse_query`: the query's syntax tree as JSON.
pub async fn parse_query(p: Params) -> Response {
    match pharos_promql::parse(p.get("query").unwrap_or("")) {
        Ok(expr) => success(&expr, &[]),
        Err(e) => ApiError::from(e).into_response(),
    }
}
