//! Tempo's HTTP API as Grafana's Tempo data source calls it: echo, trace by id (v1 and
//! v2; protobuf by `Accept`, else JSON), search (TraceQL subset or logfmt `tags`), tag
//! names and values (v1 and v2), build info.

pub mod traceql;

use crate::common::{blocking, json, Shared};
use crate::params::{now_ns, Params};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use pharos_tracestore::{
    hex, parse_trace_id, service_name, to_text, SearchHit, SpanPredicate, TagScope, Trace,
    TraceQuery,
};
use prost::Message;
use serde_json::{json as j, Value};
use std::sync::Arc;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 1_000;
const DEFAULT_SPSS: usize = 3;

/// `tempopb.TraceByIDResponse { Trace trace = 1; … }`; `tempopb.Trace` is wire-identical
/// to OTLP `TracesData` (field 1: repeated ResourceSpans).
#[derive(Clone, PartialEq, Message)]
struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    trace: Option<TracesData>,
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, format!("{msg}\n")).into_response()
}

pub async fn echo() -> &'static str {
    "echo"
}

pub async fn buildinfo() -> Response {
    json(
        StatusCode::OK,
        &j!({"version": "2.6.0", "revision": "pharos", "branch": "main", "buildDate": "", "buildUser": "", "goVersion": ""}),
    )
}

fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/protobuf") || a.contains("application/x-protobuf"))
}

fn protobuf(body: Vec<u8>) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/protobuf"),
    );
    resp
}

/// Standard proto3 JSON, as Tempo writes it: base64 ids and enum names.
fn proto3_json(trace: &Trace) -> Value {
    let mut v = serde_json::to_value(trace.to_resource_spans()).unwrap_or(Value::Null);
    rewrite_proto3(&mut v);
    v
}

fn rewrite_proto3(v: &mut Value) {
    const KINDS: [&str; 6] = [
        "SPAN_KIND_UNSPECIFIED",
        "SPAN_KIND_INTERNAL",
        "SPAN_KIND_SERVER",
        "SPAN_KIND_CLIENT",
        "SPAN_KIND_PRODUCER",
        "SPAN_KIND_CONSUMER",
    ];
    const CODES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match (k.as_str(), &*val) {
                    ("traceId" | "spanId" | "parentSpanId", Value::String(h)) => {
                        let bytes: Vec<u8> = (0..h.len() / 2)
                            .filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
                            .collect();
                        *val = Value::String(pharos_tracestore::base64_encode(&bytes));
                    }
                    ("kind", Value::Number(n)) => {
                        if let Some(name) = n.as_u64().and_then(|i| KINDS.get(i as usize)) {
                            *val = Value::String((*name).into());
                        }
                    }
                    ("code", Value::Number(n)) => {
                        if let Some(name) = n.as_u64().and_then(|i| CODES.get(i as usize)) {
                            *val = Value::String((*name).into());
                        }
                    }
                    _ => rewrite_proto3(val),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_proto3),
        _ => {}
    }
}

async fn load(api: &Shared, id: &str, q: Option<&str>) -> Result<Option<Trace>, Response> {
    let Some(trace_id) = parse_trace_id(id) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!("invalid trace id {id:?}"),
        ));
    };
    let p = Params::from_query(q);
    let (start, end) = match (p.seconds_ns("start"), p.seconds_ns("end")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(m), _) | (_, Err(m)) => return Err(error(StatusCode::BAD_REQUEST, &m)),
    };
    let window =
        (start.is_some() || end.is_some()).then(|| (start.unwrap_or(0), end.unwrap_or(u64::MAX)));
    blocking(api, move |s| s.trace(&trace_id, window))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

pub async fn trace_v1(
    State(api): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match load(&api, &id, q.as_deref()).await {
        Err(resp) => resp,
        Ok(None) => error(StatusCode::NOT_FOUND, "trace not found"),
        Ok(Some(t)) if wants_protobuf(&headers) => protobuf(
            TracesData {
                resource_spans: t.to_resource_spans(),
            }
            .encode_to_vec(),
        ),
        Ok(Some(t)) => json(StatusCode::OK, &j!({"resourceSpans": proto3_json(&t)})),
    }
}

pub async fn trace_v2(
    State(api): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    match load(&api, &id, q.as_deref()).await {
        Err(resp) => resp,
        Ok(None) => error(StatusCode::NOT_FOUND, "trace not found"),
        Ok(Some(t)) if wants_protobuf(&headers) => protobuf(
            TraceByIdResponse {
                trace: Some(TracesData {
                    resource_spans: t.to_resource_spans(),
                }),
            }
            .encode_to_vec(),
        ),
        Ok(Some(t)) => json(
            StatusCode::OK,
            &j!({"trace": {"resourceSpans": proto3_json(&t)}, "status": "COMPLETE"}),
        ),
    }
}

/// Tempo's legacy `tags=` search: logfmt pairs, each a case-insensitive substring match
/// on a span or resource attribute (or `name`, `status.code`, `error`).
fn parse_logfmt(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| format!("malformed tags {s:?}: expected key=value"))?;
        let key = rest[..eq].trim().to_owned();
        rest = &rest[eq + 1..];
        let value = if let Some(r) = rest.strip_prefix('"') {
            let end = r
                .find('"')
                .ok_or_else(|| format!("malformed tags {s:?}: unterminated quote"))?;
            let v = r[..end].to_owned();
            rest = &r[end + 1..];
            v
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let v = rest[..end].to_owned();
            rest = &rest[end..];
            v
        };
        if key.is_empty() {
            return Err(format!("malformed tags {s:?}: empty key"));
        }
        out.push((key, value));
        rest = rest.trim_start();
    }
    Ok(out)
}

fn logfmt_predicate(tags: Vec<(String, String)>) -> Arc<SpanPredicate> {
    let tags: Vec<(String, String)> = tags
        .into_iter()
        .map(|(k, v)| (k, v.to_lowercase()))
        .collect();
    Arc::new(move |g, s| {
        tags.iter().all(|(k, want)| {
            let has = |text: &str| text.to_lowercase().contains(want.as_str());
            let in_attrs = |attrs: &[KeyValue]| {
                attrs
                    .iter()
                    .any(|kv| kv.key == *k && kv.value.as_ref().is_some_and(|v| has(&to_text(v))))
            };
            match k.as_str() {
                "name" => has(&s.name),
                "service.name" => has(service_name(&g.resource)),
                "status.code" => has(&s.status.as_ref().map(|x| x.code).unwrap_or(0).to_string()),
                "error" => want == "true" && s.status.as_ref().is_some_and(|x| x.code == 2),
                _ => in_attrs(&s.attributes) || in_attrs(&g.resource.attributes),
            }
        })
    })
}

fn otlp_attr(key: &str, v: &AnyValue) -> Value {
    let mut value = serde_json::to_value(v).unwrap_or(Value::Null);
    if value.is_null() {
        value = j!({});
    }
    j!({"key": key, "value": value})
}

fn hit_json(hit: &SearchHit, spss: usize, keys: &[String]) -> Value {
    let t = &hit.trace;
    let (root_service, root_name) = t.root_names();
    let start = t.start_ns();
    let all: Vec<_> = t.spans().collect();
    let spans: Vec<Value> = hit
        .matched
        .iter()
        .take(spss)
        .filter_map(|&i| all.get(i))
        .map(|(g, s)| {
            let mut attrs = vec![otlp_attr("service.name", &AnyValue {
                value: Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(service_name(&g.resource).to_owned())),
            })];
            for k in keys.iter().filter(|k| k.as_str() != "service.name") {
                if let Some(v) = s.attributes.iter().chain(g.resource.attributes.iter()).find(|kv| kv.key == *k).and_then(|kv| kv.value.as_ref()) {
                    attrs.push(otlp_attr(k, v));
                }
            }
            j!({
                "spanID": hex(&s.span_id),
                "name": s.name,
                "startTimeUnixNano": s.start_time_unix_nano.to_string(),
                "durationNanos": s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano).to_string(),
                "attributes": attrs,
            })
        })
        .collect();
    let set = j!({"spans": spans, "matched": hit.matched.len()});
    j!({
        "traceID": hex(&t.trace_id),
        "rootServiceName": root_service,
        "rootTraceName": root_name,
        "startTimeUnixNano": start.to_string(),
        "durationMs": t.end_ns().saturating_sub(start) / 1_000_000,
        "spanSet": set,
        "spanSets": [set],
    })
}

pub async fn search(State(api): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_query(q.as_deref());
    let parsed = (|| -> Result<(TraceQuery, Vec<String>, usize), String> {
        let now = now_ns();
        let end = p.seconds_ns("end")?.unwrap_or(now);
        let start = p
            .seconds_ns("start")?
            .unwrap_or(end.saturating_sub(api.retention_ns));
        let limit = p
            .u64("limit")?
            .map(|l| l as usize)
            .filter(|&l| l > 0)
            .unwrap_or(DEFAULT_LIMIT)
            .min(MAX_LIMIT);
        let spss = p
            .u64("spss")?
            .map(|l| l as usize)
            .filter(|&l| l > 0)
            .unwrap_or(DEFAULT_SPSS);
        let mut query = TraceQuery {
            start_ns: start,
            end_ns: end,
            limit,
            ..TraceQuery::default()
        };
        query.min_duration_ns = p.duration_ns("minDuration")?;
        query.max_duration_ns = p.duration_ns("maxDuration")?;
        let mut keys = Vec::new();
        if let Some(ql) = p.get("q") {
            let expr = traceql::parse(ql)?;
            let h = expr.hints(&|k| api.store.is_indexed(k));
            query.service = h.service;
            query.operation = h.operation;
            query.tags = h.tags;
            query.min_duration_ns = query.min_duration_ns.max(h.min_duration_ns);
            query.max_duration_ns = match (query.max_duration_ns, h.max_duration_ns) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            expr.attribute_keys(&mut keys);
            query.span_filter = Some(Arc::new(move |g, s| expr.matches(g, s)));
        } else if let Some(tags) = p.get("tags") {
            let tags = parse_logfmt(tags)?;
            keys = tags.iter().map(|(k, _)| k.clone()).collect();
            query.span_filter = Some(logfmt_predicate(tags));
        }
        Ok((query, keys, spss))
    })();
    let (query, keys, spss) = match parsed {
        Ok(x) => x,
        Err(m) => return error(StatusCode::BAD_REQUEST, &m),
    };
    match blocking(&api, move |s| s.search(&query)).await {
        Ok(hits) => {
            let traces: Vec<Value> = hits.iter().map(|h| hit_json(h, spss, &keys)).collect();
            let n = traces.len();
            json(
                StatusCode::OK,
                &j!({"traces": traces, "metrics": {"inspectedTraces": n, "inspectedBytes": "0", "completedJobs": 1, "totalJobs": 1}}),
            )
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

const INTRINSICS: [&str; 8] = [
    "duration",
    "event:name",
    "kind",
    "name",
    "rootName",
    "rootServiceName",
    "status",
    "statusMessage",
];

fn scope_param(p: &Params) -> Result<Option<Option<TagScope>>, String> {
    match p.get("scope") {
        None | Some("all") => Ok(Some(None)),
        Some("resource") => Ok(Some(Some(TagScope::Resource))),
        Some("span") => Ok(Some(Some(TagScope::Span))),
        Some("intrinsic") => Ok(None),
        Some("event" | "link" | "instrumentation") => Ok(Some(Some(TagScope::Span))).map(|_| None),
        Some(other) => Err(format!("unknown scope {other:?}")),
    }
}

pub async fn tags_v1(State(api): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_query(q.as_deref());
    let names: Vec<String> = match scope_param(&p) {
        Err(m) => return error(StatusCode::BAD_REQUEST, &m),
        Ok(None) => Vec::new(),
        Ok(Some(scope)) => {
            let mut n: Vec<String> = api
                .store
                .tag_names(scope)
                .into_iter()
                .map(|(_, n)| n)
                .collect();
            n.sort();
            n.dedup();
            n
        }
    };
    json(
        StatusCode::OK,
        &j!({"tagNames": names, "metrics": {"inspectedBytes": "0"}}),
    )
}

pub async fn tags_v2(State(api): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_query(q.as_deref());
    let want = p.get("scope").unwrap_or("all");
    let mut scopes = Vec::new();
    for (name, scope) in [("resource", TagScope::Resource), ("span", TagScope::Span)] {
        if want == "all" || want == name {
            let tags: Vec<String> = api
                .store
                .tag_names(Some(scope))
                .into_iter()
                .map(|(_, n)| n)
                .collect();
            scopes.push(j!({"name": name, "tags": tags}));
        }
    }
    if want == "all" || want == "intrinsic" {
        scopes.push(j!({"name": "intrinsic", "tags": INTRINSICS}));
    }
    json(
        StatusCode::OK,
        &j!({"scopes": scopes, "metrics": {"inspectedBytes": "0"}}),
    )
}

/// Values of a tag given as `name` (v1) or `scope.name` / intrinsic (v2).
fn values_for(api: &Shared, tag: &str) -> Vec<(String, &'static str)> {
    let kinds = [
        "unspecified",
        "internal",
        "server",
        "client",
        "producer",
        "consumer",
    ];
    match tag {
        "status" | "span:status" => {
            return ["error", "ok", "unset"]
                .iter()
                .map(|s| (s.to_string(), "keyword"))
                .collect()
        }
        "kind" | "span:kind" => return kinds.iter().map(|s| (s.to_string(), "keyword")).collect(),
        "name" | "span:name" => {
            let mut names: Vec<String> = api
                .store
                .services()
                .iter()
                .flat_map(|s| api.store.operations(s, None))
                .map(|(n, _)| n)
                .collect();
            names.sort();
            names.dedup();
            return names.into_iter().map(|n| (n, "string")).collect();
        }
        "service.name" | "resource.service.name" | ".service.name" => {
            return api
                .store
                .services()
                .into_iter()
                .map(|s| (s, "string"))
                .collect();
        }
        _ => {}
    }
    let (scope, name) = if let Some(n) = tag.strip_prefix("resource.") {
        (Some(TagScope::Resource), n)
    } else if let Some(n) = tag.strip_prefix("span.") {
        (Some(TagScope::Span), n)
    } else {
        (None, tag.strip_prefix('.').unwrap_or(tag))
    };
    api.store
        .tag_values(scope, name)
        .into_iter()
        .map(|v| {
            let t = if v.parse::<i64>().is_ok() {
                "int"
            } else if v == "true" || v == "false" {
                "bool"
            } else {
                "string"
            };
            (v, t)
        })
        .collect()
}

pub async fn tag_values_v1(State(api): State<Shared>, Path(tag): Path<String>) -> Response {
    let values: Vec<String> = values_for(&api, &tag).into_iter().map(|(v, _)| v).collect();
    json(
        StatusCode::OK,
        &j!({"tagValues": values, "metrics": {"inspectedBytes": "0"}}),
    )
}

pub async fn tag_values_v2(State(api): State<Shared>, Path(tag): Path<String>) -> Response {
    let values: Vec<Value> = values_for(&api, &tag)
        .into_iter()
        .map(|(v, t)| j!({"type": t, "value": v}))
        .collect();
    json(
        StatusCode::OK,
        &j!({"tagValues": values, "metrics": {"inspectedBytes": "0"}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_tags() {
        assert_eq!(
            parse_logfmt(r#"service.name=cart http.url="a b" x="#).unwrap(),
            vec![
                ("service.name".into(), "cart".into()),
                ("http.url".into(), "a b".into()),
                ("x".into(), "".into())
            ]
        );
        assert!(parse_logfmt("novalue").is_err());
        assert!(parse_logfmt("a=\"open").is_err());
    }
}
