//! How span data reads as text: attribute values as strings (the form Jaeger compares
//! tags in and shows arrays and maps in), service names, and the tags Jaeger derives
//! from OTLP fields (`span.kind`, `otel.status_code`, `error`, …).

use crate::chunk::DecodedGroup;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

/// Service name of spans whose resource has none (Jaeger's name for it).
pub const NO_SERVICE_NAME: &str = "OTLPResourceNoServiceName";

pub fn service_name(resource: &Resource) -> &str {
    resource
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(
            |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) if !s.is_empty() => Some(s.as_str()),
                _ => None,
            },
        )
        .unwrap_or(NO_SERVICE_NAME)
}

/// An attribute value as text: strings as they are, numbers and booleans as Go and
/// Jaeger print them, bytes as base64, arrays and maps as JSON.
pub fn to_text(v: &AnyValue) -> String {
    match &v.value {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => format_double(*d),
        Some(Value::BytesValue(b)) => base64_encode(b),
        Some(Value::StringValueStrindex(i)) => i.to_string(),
        Some(_) => to_json(v).to_string(),
    }
}

pub fn format_double(d: f64) -> String {
    if d.is_finite() && d == d.trunc() && d.abs() < 1e15 {
        format!("{}", d as i64)
    } else {
        d.to_string()
    }
}

/// The JSON form of a value (as OpenTelemetry's `AsString` renders arrays and maps).
pub fn to_json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &v.value {
        None => J::Null,
        Some(Value::StringValue(s)) => J::String(s.clone()),
        Some(Value::BoolValue(b)) => J::Bool(*b),
        Some(Value::IntValue(i)) => J::from(*i),
        Some(Value::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map(J::Number)
            .unwrap_or(J::Null),
        Some(Value::BytesValue(b)) => J::String(base64_encode(b)),
        Some(Value::StringValueStrindex(i)) => J::from(*i),
        Some(Value::ArrayValue(a)) => J::Array(a.values.iter().map(to_json).collect()),
        Some(Value::KvlistValue(l)) => J::Object(
            l.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        kv.value.as_ref().map(to_json).unwrap_or(J::Null),
                    )
                })
                .collect(),
        ),
    }
}

pub fn base64_encode(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Jaeger's name of an OTLP span kind (`None` for unspecified).
pub fn kind_name(kind: i32) -> Option<&'static str> {
    match kind {
        1 => Some("internal"),
        2 => Some("server"),
        3 => Some("client"),
        4 => Some("producer"),
        5 => Some("consumer"),
        _ => None,
    }
}

/// The OTLP span kind for a Jaeger kind name.
pub fn kind_from_name(name: &str) -> Option<i32> {
    match name.to_ascii_lowercase().as_str() {
        "unspecified" => Some(0),
        "internal" => Some(1),
        "server" => Some(2),
        "client" => Some(3),
        "producer" => Some(4),
        "consumer" => Some(5),
        _ => None,
    }
}

pub const STATUS_ERROR: i32 = 2;

fn attr_matches(attrs: &[KeyValue], key: &str, value: &str) -> bool {
    attrs
        .iter()
        .any(|kv| kv.key == key && kv.value.as_ref().is_some_and(|v| to_text(v) == value))
}

/// Whether a span carries tag `key` = `value` as Jaeger sees it: in its attributes, its
/// resource's attributes, its events' attributes, or the tags Jaeger derives from OTLP.
pub fn span_has_tag(group: &DecodedGroup, span: &Span, key: &str, value: &str) -> bool {
    if attr_matches(&span.attributes, key, value)
        || attr_matches(&group.resource.attributes, key, value)
    {
        return true;
    }
    if span
        .events
        .iter()
        .any(|e| attr_matches(&e.attributes, key, value) || (key == "event" && e.name == value))
    {
        return true;
    }
    let code = span.status.as_ref().map(|s| s.code).unwrap_or(0);
    match key {
        "error" => value == "true" && code == STATUS_ERROR,
        "span.kind" => kind_name(span.kind) == Some(value),
        "otel.status_code" => {
            (code == 1 && value == "OK") || (code == STATUS_ERROR && value == "ERROR")
        }
        "otel.status_description" => span.status.as_ref().is_some_and(|s| s.message == value),
        "otel.scope.name" => group.scope.name == value,
        "otel.scope.version" => group.scope.version == value,
        "w3c.tracestate" => span.trace_state == value,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::ArrayValue;

    #[test]
    fn texts() {
        let s = |v| to_text(&AnyValue { value: Some(v) });
        assert_eq!(s(Value::IntValue(500)), "500");
        assert_eq!(s(Value::BoolValue(true)), "true");
        assert_eq!(s(Value::DoubleValue(1.5)), "1.5");
        assert_eq!(s(Value::BytesValue(b"hi!".to_vec())), "aGkh");
        assert_eq!(s(Value::BytesValue(b"h".to_vec())), "aA==");
        let arr = ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(Value::StringValue("a".into())),
                },
                AnyValue {
                    value: Some(Value::IntValue(1)),
                },
            ],
        };
        assert_eq!(s(Value::ArrayValue(arr)), r#"["a",1]"#);
    }
}
