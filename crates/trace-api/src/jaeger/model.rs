//! Traces in Jaeger's JSON model (`internal/uimodel`), converted from OTLP the way the
//! OpenTelemetry Collector's Jaeger translator does: resource → process, scope and
//! status → tags, events → logs, parent and links → references.

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use pharos_tracestore::{
    base64_encode, hex, kind_name, service_name, to_json, DecodedGroup, Trace, STATUS_ERROR,
};
use serde_json::{json, Value};

/// Largest integer a JSON number carries exactly; beyond it Jaeger writes a string.
const MAX_SAFE_INT: i64 = (1 << 53) - 1;

/// Jaeger's trace id text: 16 hex digits when the high half is zero, else 32.
pub fn trace_id_text(id: &[u8; 16]) -> String {
    if id[..8] == [0; 8] {
        hex(&id[8..])
    } else {
        hex(id)
    }
}

fn tag(key: &str, v: &AnyValue) -> Value {
    match &v.value {
        Some(Any::BoolValue(b)) => json!({"key": key, "type": "bool", "value": b}),
        Some(Any::IntValue(i)) if i.abs() <= MAX_SAFE_INT => {
            json!({"key": key, "type": "int64", "value": i})
        }
        Some(Any::IntValue(i)) => json!({"key": key, "type": "int64", "value": i.to_string()}),
        Some(Any::DoubleValue(d)) => json!({"key": key, "type": "float64", "value": d}),
        Some(Any::BytesValue(b)) => {
            json!({"key": key, "type": "binary", "value": base64_encode(b)})
        }
        Some(Any::StringValue(s)) => json!({"key": key, "type": "string", "value": s}),
        Some(Any::ArrayValue(_)) | Some(Any::KvlistValue(_)) => {
            json!({"key": key, "type": "string", "value": to_json(v).to_string()})
        }
        Some(Any::StringValueStrindex(i)) => json!({"key": key, "type": "int64", "value": i}),
        None => json!({"key": key, "type": "string", "value": ""}),
    }
}

fn str_tag(key: &str, v: &str) -> Value {
    json!({"key": key, "type": "string", "value": v})
}

fn tags(attrs: &[KeyValue]) -> Vec<Value> {
    attrs
        .iter()
        .map(|kv| tag(&kv.key, kv.value.as_ref().unwrap_or(&AnyValue::default())))
        .collect()
}

fn span_tags(g: &DecodedGroup, s: &Span) -> Vec<Value> {
    let mut out = Vec::with_capacity(s.attributes.len() + 6);
    if !g.scope.name.is_empty() {
        out.push(str_tag("otel.scope.name", &g.scope.name));
    }
    if !g.scope.version.is_empty() {
        out.push(str_tag("otel.scope.version", &g.scope.version));
    }
    out.extend(tags(&s.attributes));
    if let Some(k) = kind_name(s.kind) {
        out.push(str_tag("span.kind", k));
    }
    if let Some(st) = &s.status {
        match st.code {
            1 => out.push(str_tag("otel.status_code", "OK")),
            STATUS_ERROR => {
                out.push(str_tag("otel.status_code", "ERROR"));
                out.push(json!({"key": "error", "type": "bool", "value": true}));
            }
            _ => {}
        }
        if !st.message.is_empty() {
            out.push(str_tag("otel.status_description", &st.message));
        }
    }
    if !s.trace_state.is_empty() {
        out.push(str_tag("w3c.tracestate", &s.trace_state));
    }
    out
}

fn references(trace_id: &[u8; 16], s: &Span) -> Vec<Value> {
    let mut refs = Vec::new();
    let tid = trace_id_text(trace_id);
    let mut parent_type = "CHILD_OF";
    for l in &s.links {
        let child_of = l.attributes.iter().any(|kv| {
            kv.key == "opentracing.ref_type" && matches!(kv.value.as_ref().and_then(|v| v.value.as_ref()), Some(Any::StringValue(t)) if t == "child_of")
        });
        let kind = if child_of { "CHILD_OF" } else { "FOLLOWS_FROM" };
        if l.span_id == s.parent_span_id && l.trace_id.as_slice() == trace_id {
            parent_type = kind;
            continue;
        }
        let link_trace: [u8; 16] = l.trace_id.as_slice().try_into().unwrap_or([0; 16]);
        refs.push(json!({"refType": kind, "traceID": trace_id_text(&link_trace), "spanID": hex(&l.span_id)}));
    }
    if !s.parent_span_id.is_empty() {
        refs.insert(
            0,
            json!({"refType": parent_type, "traceID": tid, "spanID": hex(&s.parent_span_id)}),
        );
    }
    refs
}

fn logs(s: &Span) -> Vec<Value> {
    s.events
        .iter()
        .map(|e| {
            let mut fields = Vec::with_capacity(e.attributes.len() + 1);
            if !e.name.is_empty() && !e.attributes.iter().any(|kv| kv.key == "event") {
                fields.push(str_tag("event", &e.name));
            }
            fields.extend(tags(&e.attributes));
            json!({"timestamp": e.time_unix_nano / 1000, "fields": fields})
        })
        .collect()
}

/// One trace in Jaeger's JSON model, processes deduplicated as `p1`, `p2`, ….
pub fn trace_json(trace: &Trace) -> Value {
    let mut processes: Vec<(Value, String)> = Vec::new();
    let mut spans = Vec::with_capacity(trace.span_count());
    let tid = trace_id_text(&trace.trace_id);
    let mut ordered: Vec<(&DecodedGroup, &Span)> = trace.spans().collect();
    ordered.sort_by_key(|(_, s)| s.start_time_unix_nano);
    for (g, s) in ordered {
        let service = service_name(&g.resource);
        let process_tags: Vec<Value> = tags(
            &g.resource
                .attributes
                .iter()
                .filter(|kv| kv.key != "service.name")
                .cloned()
                .collect::<Vec<_>>(),
        );
        let process = json!({"serviceName": service, "tags": process_tags});
        let pid = match processes.iter().find(|(p, _)| *p == process) {
            Some((_, id)) => id.clone(),
            None => {
                let id = format!("p{}", processes.len() + 1);
                processes.push((process, id.clone()));
                id
            }
        };
        spans.push(json!({
            "traceID": tid,
            "spanID": hex(&s.span_id),
            "flags": s.flags & 0xff,
            "operationName": s.name,
            "references": references(&trace.trace_id, s),
            "startTime": s.start_time_unix_nano / 1000,
            "duration": s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano) / 1000,
            "tags": span_tags(g, s),
            "logs": logs(s),
            "processID": pid,
            "warnings": null,
        }));
    }
    let processes: serde_json::Map<String, Value> =
        processes.into_iter().map(|(p, id)| (id, p)).collect();
    json!({"traceID": tid, "spans": spans, "processes": processes, "warnings": null})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_trace_ids_when_high_half_is_zero() {
        let mut id = [0u8; 16];
        id[15] = 1;
        assert_eq!(trace_id_text(&id), "0000000000000001");
        id[0] = 1;
        assert_eq!(trace_id_text(&id).len(), 32);
    }
}
