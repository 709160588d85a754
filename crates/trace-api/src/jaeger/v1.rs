//! Jaeger's HTTP JSON API (v1), as Grafana's Jaeger data source and the Jaeger UI call it.

use super::model::trace_json;
use crate::common::{blocking, json, Shared};
use crate::params::{now_ns, parse_go_duration, Params};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use pharos_tracestore::{parse_trace_id, TraceQuery};
use serde_json::{json as j, Value};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_500;
const DAY_NS: u64 = 86_400_000_000_000;

fn ok(data: Value, total: usize) -> Response {
    json(
        StatusCode::OK,
        &j!({"data": data, "total": total, "limit": 0, "offset": 0, "errors": null}),
    )
}

pub fn error(status: StatusCode, msg: &str) -> Response {
    json(
        status,
        &j!({"data": null, "total": 0, "limit": 0, "offset": 0, "errors": [{"code": status.as_u16(), "msg": msg}]}),
    )
}

fn store_error(e: impl std::fmt::Display) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

pub async fn services(State(api): State<Shared>) -> Response {
    let s = api.store.services();
    let n = s.len();
    ok(j!(s), n)
}

pub async fn service_operations(
    State(api): State<Shared>,
    Path(service): Path<String>,
) -> Response {
    let mut names: Vec<String> = api
        .store
        .operations(&service, None)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.dedup();
    let n = names.len();
    ok(j!(names), n)
}

pub async fn operations(State(api): State<Shared>, RawQuery(q): RawQuery) -> Response {
    match super::operations_of(&api, &Params::from_query(q.as_deref()), &["spanKind"]) {
        Ok(ops) => {
            let n = ops.len();
            ok(j!(ops), n)
        }
        Err(msg) => error(StatusCode::BAD_REQUEST, &msg),
    }
}

pub async fn trace(
    State(api): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(trace_id) = parse_trace_id(&id) else {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("cannot parse traceID {id:?}"),
        );
    };
    let p = Params::from_query(q.as_deref());
    let window = match (p.u64("start"), p.u64("end")) {
        (Ok(s), Ok(e)) => (s.is_some() || e.is_some()).then(|| {
            (
                s.unwrap_or(0) * 1000,
                e.map(|e| e * 1000).unwrap_or(u64::MAX),
            )
        }),
        (Err(m), _) | (_, Err(m)) => return error(StatusCode::BAD_REQUEST, &m),
    };
    match blocking(&api, move |s| s.trace(&trace_id, window)).await {
        Ok(Some(t)) => ok(j!([trace_json(&t)]), 1),
        Ok(None) => error(StatusCode::NOT_FOUND, "trace not found"),
        Err(e) => store_error(e),
    }
}

/// Tags from `tags={json}` (repeatable, merged) and `tag=k:v`, values as text.
fn parse_tags(p: &Params) -> Result<Vec<(String, String)>, String> {
    let mut tags = Vec::new();
    for raw in p.all("tags").filter(|t| !t.is_empty()) {
        let v: Value =
            serde_json::from_str(raw).map_err(|e| format!("malformed 'tags' parameter: {e}"))?;
        let obj = v
            .as_object()
            .ok_or("malformed 'tags' parameter: not a JSON object")?;
        for (k, v) in obj {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            tags.push((k.clone(), text));
        }
    }
    for raw in p.all("tag").filter(|t| !t.is_empty()) {
        let (k, v) = raw
            .split_once(':')
            .ok_or_else(|| format!("malformed 'tag' parameter {raw:?}: expected key:value"))?;
        tags.push((k.to_owned(), v.to_owned()));
    }
    Ok(tags)
}

fn search_query(p: &Params) -> Result<TraceQuery, String> {
    let service = p
        .get("service")
        .ok_or("parameter 'service' is required")?
        .to_owned();
    let now = now_ns();
    let end = p
        .u64("end")?
        .map(|us| us.saturating_mul(1000))
        .unwrap_or(now);
    let start = p
        .u64("start")?
        .map(|us| us.saturating_mul(1000))
        .unwrap_or(end.saturating_sub(2 * DAY_NS));
    let dur = |key: &str| -> Result<Option<u64>, String> {
        p.get(key)
            .map(|v| {
                parse_go_duration(v).ok_or(format!(
                    "cannot parse {key} {v:?}: not a duration like 100ms"
                ))
            })
            .transpose()
    };
    let (min, max) = (dur("minDuration")?, dur("maxDuration")?);
    if let (Some(a), Some(b)) = (min, max) {
        if b < a {
            return Err("'maxDuration' should be greater than 'minDuration'".into());
        }
    }
    let limit = p
        .u64("limit")?
        .map(|l| l as usize)
        .filter(|&l| l > 0)
        .unwrap_or(DEFAULT_LIMIT)
        .min(MAX_LIMIT);
    Ok(TraceQuery {
        service: Some(service),
        operation: p.get("operation").map(str::to_owned),
        tags: parse_tags(p)?,
        start_ns: start,
        end_ns: end,
        min_duration_ns: min,
        max_duration_ns: max,
        limit,
        span_filter: None,
    })
}

pub async fn search(State(api): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_query(q.as_deref());
    let ids: Vec<String> = p
        .all("traceID")
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if !ids.is_empty() {
        return multi_get(&api, ids).await;
    }
    let query = match search_query(&p) {
        Ok(q) => q,
        Err(m) => return error(StatusCode::BAD_REQUEST, &m),
    };
    match blocking(&api, move |s| s.search(&query)).await {
        Ok(hits) => {
            let data: Vec<Value> = hits.iter().map(|h| trace_json(&h.trace)).collect();
            ok(j!(data), 0)
        }
        Err(e) => store_error(e),
    }
}

async fn multi_get(api: &Shared, ids: Vec<String>) -> Response {
    let mut parsed = Vec::new();
    for id in &ids {
        match parse_trace_id(id) {
            Some(t) => parsed.push((id.clone(), t)),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("cannot parse traceID {id:?}"),
                )
            }
        }
    }
    let found = blocking(api, move |s| {
        parsed
            .into_iter()
            .map(|(text, id)| Ok((text, s.trace(&id, None)?)))
            .collect::<Result<Vec<_>, _>>()
    })
    .await;
    match found {
        Ok(found) => {
            let mut data = Vec::new();
            let mut errors = Vec::new();
            for (text, t) in found {
                match t {
                    Some(t) => data.push(trace_json(&t)),
                    None => {
                        errors.push(j!({"code": 404, "msg": "trace not found", "traceID": text}))
                    }
                }
            }
            let errors = if errors.is_empty() {
                Value::Null
            } else {
                Value::Array(errors)
            };
            json(
                StatusCode::OK,
                &j!({"data": data, "total": 0, "limit": 0, "offset": 0, "errors": errors}),
            )
        }
        Err(e) => store_error(e),
    }
}

pub async fn dependencies(State(api): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_query(q.as_deref());
    let (end_ms, lookback_ms) = match (p.u64("endTs"), p.u64("lookback")) {
        (Ok(e), Ok(l)) => (e.unwrap_or(now_ns() / 1_000_000), l.unwrap_or(86_400_000)),
        (Err(m), _) | (_, Err(m)) => return error(StatusCode::BAD_REQUEST, &m),
    };
    let end = end_ms.saturating_mul(1_000_000);
    let start = end.saturating_sub(lookback_ms.saturating_mul(1_000_000));
    let service = p.get("service").map(str::to_owned);
    match blocking(&api, move |s| s.dependencies(start, end)).await {
        Ok(deps) => {
            let data: Vec<Value> = deps
                .into_iter()
                .filter(|(parent, child, _)| {
                    service.as_deref().is_none_or(|s| s == parent || s == child)
                })
                .map(|(parent, child, n)| j!({"parent": parent, "child": child, "callCount": n}))
                .collect();
            let n = data.len();
            ok(j!(data), n)
        }
        Err(e) => store_error(e),
    }
}

/// `POST /api/archive/{traceID}`: Pharos has no separate archive storage (traces live for
/// `retention.traces`), so this answers 501 as Jaeger does without one.
pub async fn archive() -> Response {
    error(
        StatusCode::NOT_IMPLEMENTED,
        "archive span storage was not configured",
    )
}

/// `GET /api/metrics/*` (the Jaeger UI's Monitor tab): no span metrics store, 501 as in Jaeger.
pub async fn metrics_disabled() -> Response {
    error(
        StatusCode::NOT_IMPLEMENTED,
        "the metrics querying capability is disabled",
    )
}

/// `POST /api/transform`: OTLP JSON in (the Jaeger UI's trace upload), Jaeger JSON out.
pub async fn transform(body: axum::body::Bytes) -> Response {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use pharos_tracestore::{DecodedGroup, Trace};
    use std::sync::Arc;
    let req: ExportTraceServiceRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("cannot parse OTLP JSON: {e}"),
            )
        }
    };
    let mut traces: Vec<Trace> = Vec::new();
    for rs in req.resource_spans {
        let resource = Arc::new(rs.resource.unwrap_or_default());
        for ss in rs.scope_spans {
            let scope = Arc::new(ss.scope.unwrap_or_default());
            for span in ss.spans {
                let Ok(id) = <[u8; 16]>::try_from(span.trace_id.as_slice()) else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "every span needs a 16-byte trace id",
                    );
                };
                let trace = match traces.iter_mut().position(|t| t.trace_id == id) {
                    Some(i) => &mut traces[i],
                    None => {
                        traces.push(Trace {
                            trace_id: id,
                            groups: Vec::new(),
                        });
                        traces.last_mut().expect("pushed")
                    }
                };
                let same = |g: &&mut DecodedGroup| {
                    Arc::ptr_eq(&g.resource, &resource) && Arc::ptr_eq(&g.scope, &scope)
                };
                match trace.groups.iter_mut().find(same) {
                    Some(g) => g.spans.push(span),
                    None => trace.groups.push(DecodedGroup {
                        resource: resource.clone(),
                        resource_schema: rs.schema_url.clone(),
                        scope: scope.clone(),
                        scope_schema: ss.schema_url.clone(),
                        spans: vec![span],
                    }),
                }
            }
        }
    }
    let data: Vec<Value> = traces.iter().map(trace_json).collect();
    let n = data.len();
    ok(j!(data), n)
}
