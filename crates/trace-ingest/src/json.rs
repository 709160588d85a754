//! OTLP/JSON decoding: the protobuf JSON mapping with OTLP's deviations (hex ids, enum
//! integers, 64-bit integers as strings or numbers), as decoded by `opentelemetry-proto`.
//! Bodies written with snake_case keys (which proto3 JSON parsers accept) or enum names
//! are rewritten to the canonical form first.

use crate::decode::DecodeError;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::Value;

/// Largest body rewritten through a JSON tree (it takes several times the body's size).
pub const MAX_REWRITTEN_BYTES: usize = 16 << 20;

pub fn decode(body: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    let invalid = |e: serde_json::Error| DecodeError::Invalid(format!("invalid OTLP JSON: {e}"));
    if !needs_rewrite(body) {
        return serde_json::from_slice(body).map_err(invalid);
    }
    if body.len() > MAX_REWRITTEN_BYTES {
        return Err(DecodeError::TooLarge {
            limit: MAX_REWRITTEN_BYTES,
        });
    }
    let mut tree: Value = serde_json::from_slice(body).map_err(invalid)?;
    rewrite(&mut tree);
    serde_json::from_value(tree).map_err(invalid)
}

fn contains(body: &[u8], needle: &[u8]) -> bool {
    body.windows(needle.len()).any(|w| w == needle)
}

fn needs_rewrite(body: &[u8]) -> bool {
    [
        &b"\"resource_spans\""[..],
        b"\"scope_spans\"",
        b"\"trace_id\"",
        b"\"SPAN_KIND_",
        b"\"STATUS_CODE_",
    ]
    .iter()
    .any(|n| contains(body, n))
}

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn enum_value(key: &str, name: &str) -> Option<i64> {
    let names: &[&str] = match key {
        "kind" => &[
            "SPAN_KIND_UNSPECIFIED",
            "SPAN_KIND_INTERNAL",
            "SPAN_KIND_SERVER",
            "SPAN_KIND_CLIENT",
            "SPAN_KIND_PRODUCER",
            "SPAN_KIND_CONSUMER",
        ],
        "code" => &["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"],
        _ => return None,
    };
    names.iter().position(|n| *n == name).map(|i| i as i64)
}

/// snake_case keys to lowerCamelCase, enum names to their numbers (OTLP has no map
/// fields, so every object key is a field name).
fn rewrite(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut val) in entries {
                let key = if k.contains('_') { camel(&k) } else { k };
                if let Value::String(s) = &val {
                    if let Some(n) = enum_value(&key, s) {
                        val = Value::from(n);
                    }
                }
                rewrite(&mut val);
                map.insert(key, val);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMEL: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
      "scopeSpans":[{"scope":{"name":"lib"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
      "name":"op","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
      "attributes":[{"key":"n","value":{"intValue":"42"}},{"key":"d","value":{"doubleValue":1.5}},{"key":"b","value":{"boolValue":true}},
      {"key":"a","value":{"arrayValue":{"values":[{"stringValue":"x"}]}}},{"key":"m","value":{"kvlistValue":{"values":[{"key":"k","value":{"intValue":7}}]}}},
      {"key":"raw","value":{"bytesValue":"3q2+7w=="}}],"status":{"code":2,"message":"boom"},"unknownField":1}]}]}]}"#;

    #[test]
    fn camel_case_with_every_value_type() {
        let req = decode(CAMEL.as_bytes()).unwrap();
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id[0], 0x5b);
        assert_eq!(span.span_id.len(), 8);
        assert_eq!(span.kind, 2);
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.end_time_unix_nano, 1_544_712_661_000_000_000);
        assert_eq!(span.attributes.len(), 6);
        assert_eq!(span.status.as_ref().unwrap().code, 2);
    }

    #[test]
    fn snake_case_and_enum_names_mean_the_same() {
        let snake = CAMEL
            .replace("resourceSpans", "resource_spans")
            .replace("scopeSpans", "scope_spans")
            .replace("traceId", "trace_id")
            .replace("spanId", "span_id")
            .replace("startTimeUnixNano", "start_time_unix_nano")
            .replace("endTimeUnixNano", "end_time_unix_nano")
            .replace("stringValue", "string_value")
            .replace("intValue", "int_value")
            .replace("\"kind\":2", "\"kind\":\"SPAN_KIND_SERVER\"")
            .replace("\"code\":2", "\"code\":\"STATUS_CODE_ERROR\"");
        assert_eq!(
            decode(snake.as_bytes()).unwrap(),
            decode(CAMEL.as_bytes()).unwrap()
        );
    }

    #[test]
    fn wrong_types_are_invalid() {
        for bad in [
            r#"{"resourceSpans":"x"}"#,
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":12}]}]}]}"#,
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":true}]}]}]}"#,
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#,
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"server"}]}]}]}"#,
            "[1,2",
        ] {
            assert!(
                matches!(decode(bad.as_bytes()), Err(DecodeError::Invalid(_))),
                "{bad}"
            );
        }
        assert!(decode(b"{}").unwrap().resource_spans.is_empty());
    }
}
