//! A trace as read back: its spans grouped by resource and scope, plus helpers the
//! query APIs share (time bounds, root span, OTLP `ResourceSpans`).

use crate::chunk::DecodedGroup;
use crate::value::service_name;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub trace_id: [u8; 16],
    pub groups: Vec<DecodedGroup>,
}

impl Trace {
    pub fn spans(&self) -> impl Iterator<Item = (&DecodedGroup, &Span)> {
        self.groups
            .iter()
            .flat_map(|g| g.spans.iter().map(move |s| (g, s)))
    }

    pub fn span_count(&self) -> usize {
        self.groups.iter().map(|g| g.spans.len()).sum()
    }

    pub fn start_ns(&self) -> u64 {
        self.spans()
            .map(|(_, s)| s.start_time_unix_nano)
            .min()
            .unwrap_or(0)
    }

    pub fn end_ns(&self) -> u64 {
        self.spans()
            .map(|(_, s)| s.end_time_unix_nano.max(s.start_time_unix_nano))
            .max()
            .unwrap_or(0)
    }

    /// The root span (no parent, or whose parent is not in the trace), earliest first.
    pub fn root(&self) -> Option<(&DecodedGroup, &Span)> {
        let ids: std::collections::HashSet<&[u8]> =
            self.spans().map(|(_, s)| s.span_id.as_slice()).collect();
        self.spans()
            .filter(|(_, s)| {
                s.parent_span_id.is_empty() || !ids.contains(s.parent_span_id.as_slice())
            })
            .min_by_key(|(_, s)| (!s.parent_span_id.is_empty(), s.start_time_unix_nano))
    }

    /// Service and span name of the root span (Tempo's `rootServiceName`, `rootTraceName`).
    pub fn root_names(&self) -> (String, String) {
        match self.root() {
            Some((g, s)) => (service_name(&g.resource).to_owned(), s.name.clone()),
            None => ("<root span not yet received>".into(), String::new()),
        }
    }

    /// The trace as OTLP: one `ResourceSpans` per distinct resource, one `ScopeSpans` per
    /// distinct scope inside it.
    pub fn to_resource_spans(&self) -> Vec<ResourceSpans> {
        let mut out: Vec<ResourceSpans> = Vec::new();
        for g in &self.groups {
            let rs = match out.iter_mut().position(|rs| {
                rs.resource.as_ref() == Some(&*g.resource) && rs.schema_url == g.resource_schema
            }) {
                Some(i) => &mut out[i],
                None => {
                    out.push(ResourceSpans {
                        resource: Some((*g.resource).clone()),
                        scope_spans: Vec::new(),
                        schema_url: g.resource_schema.clone(),
                    });
                    out.last_mut().expect("pushed")
                }
            };
            match rs
                .scope_spans
                .iter_mut()
                .find(|ss| ss.scope.as_ref() == Some(&*g.scope) && ss.schema_url == g.scope_schema)
            {
                Some(ss) => ss.spans.extend(g.spans.iter().cloned()),
                None => rs.scope_spans.push(ScopeSpans {
                    scope: Some((*g.scope).clone()),
                    spans: g.spans.clone(),
                    schema_url: g.scope_schema.clone(),
                }),
            }
        }
        for rs in &mut out {
            for ss in &mut rs.scope_spans {
                ss.spans.sort_by_key(|s| s.start_time_unix_nano);
            }
        }
        out
    }
}

/// Parses a trace id in hex (1–32 digits, left-padded with zeros as Jaeger does).
pub fn parse_trace_id(hex: &str) -> Option<[u8; 16]> {
    if hex.is_empty() || hex.len() > 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let padded = format!("{hex:0>32}");
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_parse_like_jaeger() {
        let id = parse_trace_id("abc").unwrap();
        assert_eq!(hex(&id), "00000000000000000000000000000abc");
        assert_eq!(parse_trace_id(&"f".repeat(32)).unwrap(), [0xff; 16]);
        assert!(parse_trace_id(&"f".repeat(33)).is_none());
        assert!(parse_trace_id("xyz").is_none());
        assert!(parse_trace_id("").is_none());
    }
}
