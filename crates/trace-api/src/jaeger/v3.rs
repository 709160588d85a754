//! Jaeger's `/api/v3` (the stable API the newest Jaeger UI uses): OTLP JSON traces in a
//! grpc-gateway envelope (`{"result":…}` or `{"error":{"httpCode","message"}}`).

use crate::common::{blocking, json, Shared};
use crate::params::{now_ns, parse_go_duration, parse_rfc3339_ns, Params};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use pharos_tracestore::{parse_trace_id, Trace, TraceQuery};
use serde_json::{json as j, Value};

const DEFAULT_DEPTH: usize = 20;
const MAX_DEPTH: usize = 1_500;

fn error(status: StatusCode, msg: &str) -> Response {
    json(
        status,
        &j!({"error": {"httpCode": status.as_u16(), "message": msg}}),
    )
}

fn traces_result(traces: &[Trace]) -> Response {
    let spans: Vec<ResourceSpans> = traces.iter().flat_map(Trace::to_resource_spans).collect();
    json(StatusCode::OK, &j!({"result": {"resourceSpans": spans}}))
}

pub async fn services(State(api): State<Shared>) -> Response {
    json(StatusCode::OK, &j!({"services": api.store.services()}))
}

pub async fn operations(State(api): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_query(q.as_deref());
    match super::operations_of(&api, &p, &["spanKind", "span_kind"]) {
        Ok(ops) => json(StatusCode::OK, &j!({"operations": ops})),
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
            &format!("malformed trace id {id:?}"),
        );
    };
    let p = Params::from_query(q.as_deref());
    let start = p
        .get_any(&["start_time", "startTime"])
        .and_then(parse_rfc3339_ns);
    let end = p
        .get_any(&["end_time", "endTime"])
        .and_then(parse_rfc3339_ns);
    let window =
        (start.is_some() || end.is_some()).then(|| (start.unwrap_or(0), end.unwrap_or(u64::MAX)));
    match blocking(&api, move |s| s.trace(&trace_id, window)).await {
        Ok(Some(t)) => traces_result(&[t]),
        Ok(None) => error(StatusCode::NOT_FOUND, "trace not found"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn query(p: &Params) -> Result<TraceQuery, String> {
    let get = |camel: &str, snake: &str| {
        p.get_any(&[&format!("query.{camel}"), &format!("query.{snake}")])
            .map(str::to_owned)
    };
    let time = |camel: &str, snake: &str| -> Result<u64, String> {
        let v = get(camel, snake).ok_or(format!("query.{snake} is required"))?;
        parse_rfc3339_ns(&v).ok_or(format!(
            "cannot parse query.{snake} {v:?}: not an RFC 3339 time"
        ))
    };
    let start = time("startTimeMin", "start_time_min")?;
    let end = time("startTimeMax", "start_time_max")?;
    let dur = |camel: &str, snake: &str| -> Result<Option<u64>, String> {
        get(camel, snake)
            .map(|v| parse_go_duration(&v).ok_or(format!("cannot parse query.{snake} {v:?}")))
            .transpose()
    };
    let mut tags = Vec::new();
    for (k, v) in &p.0 {
        let name = k
            .strip_prefix("query.attributes[")
            .and_then(|r| r.strip_suffix(']'));
        if let Some(name) = name {
            tags.push((name.to_owned(), v.clone()));
        }
    }
    let depth = get("searchDepth", "search_depth")
        .and_then(|d| d.parse::<usize>().ok())
        .filter(|&d| d > 0)
        .unwrap_or(DEFAULT_DEPTH);
    Ok(TraceQuery {
        service: get("serviceName", "service_name"),
        operation: get("operationName", "operation_name"),
        tags,
        start_ns: start,
        end_ns: end,
        min_duration_ns: dur("durationMin", "duration_min")?,
        max_duration_ns: dur("durationMax", "duration_max")?,
        limit: depth.min(MAX_DEPTH),
        span_filter: None,
    })
}

pub async fn search(State(api): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_query(q.as_deref());
    let query = match query(&p) {
        Ok(q) => q,
        Err(m) => return error(StatusCode::BAD_REQUEST, &m),
    };
    match blocking(&api, move |s| s.search(&query)).await {
        Ok(hits) if hits.is_empty() => error(StatusCode::NOT_FOUND, "No traces found"),
        Ok(hits) => traces_result(&hits.into_iter().map(|h| h.trace).collect::<Vec<_>>()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

pub async fn dependencies(State(api): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_query(q.as_deref());
    let end = p
        .get_any(&["end_time", "endTime"])
        .and_then(parse_rfc3339_ns)
        .unwrap_or_else(now_ns);
    let start = p
        .get_any(&["start_time", "startTime"])
        .and_then(parse_rfc3339_ns)
        .unwrap_or(end.saturating_sub(86_400_000_000_000));
    match blocking(&api, move |s| s.dependencies(start, end)).await {
        Ok(deps) => {
            let d: Vec<Value> = deps
                .into_iter()
                .map(|(p, c, n)| j!({"parent": p, "child": c, "callCount": n}))
                .collect();
            json(StatusCode::OK, &j!({"dependencies": d}))
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
