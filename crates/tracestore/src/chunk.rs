//! The compact encoding of a span chunk: the spans of one trace that arrived in one
//! group commit, with their resources and scopes as dictionary references.
//!
//! Layout (compressed later, with the other chunks of its block): groups of (resource, resource schema, scope, scope
//! schema, spans); each span with ids as raw bytes, times as zigzag deltas (start from
//! the chunk's base time, end from the start), strings as dictionary references and
//! attribute values with a one-byte type tag. Everything OTLP carries is kept.

use crate::dict::Dict;
use crate::error::StoreError;
use crate::varint::{corrupt, put_bytes, put_i64, put_u64, Reader};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use std::sync::Arc;

/// Deepest nesting of arrays and key-value lists accepted when decoding.
const MAX_DEPTH: usize = 32;

const V_NONE: u8 = 0;
const V_STR: u8 = 1;
const V_FALSE: u8 = 2;
const V_TRUE: u8 = 3;
const V_INT: u8 = 4;
const V_DOUBLE: u8 = 5;
const V_BYTES: u8 = 6;
const V_ARRAY: u8 = 7;
const V_KVLIST: u8 = 8;
const V_EMPTY: u8 = 9;
const V_STRINDEX: u8 = 10;

/// Spans of one trace that share a resource and a scope, as handed to the encoder.
pub struct SpanGroup<'a> {
    pub resource: &'a Resource,
    pub resource_schema: &'a str,
    pub scope: &'a InstrumentationScope,
    pub scope_schema: &'a str,
    pub spans: Vec<&'a Span>,
}

/// Spans of one trace that share a resource and a scope, as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedGroup {
    pub resource: Arc<Resource>,
    pub resource_schema: String,
    pub scope: Arc<InstrumentationScope>,
    pub scope_schema: String,
    pub spans: Vec<Span>,
}

/// Encodes `groups` of one trace (uncompressed; blocks compress many chunks together);
/// `base_ns` is the chunk's earliest span start.
pub fn encode(
    dict: &mut Dict,
    trace_id: &[u8],
    base_ns: u64,
    groups: &[SpanGroup<'_>],
    out: &mut Vec<u8>,
) {
    let p = out;
    put_u64(p, groups.len() as u64);
    for g in groups {
        dict.put_resource(p, g.resource);
        dict.put_common(p, g.resource_schema);
        dict.put_scope(p, g.scope);
        dict.put_common(p, g.scope_schema);
        put_u64(p, g.spans.len() as u64);
        for s in &g.spans {
            encode_span(dict, p, trace_id, base_ns, s);
        }
    }
}

fn encode_span(dict: &mut Dict, p: &mut Vec<u8>, trace_id: &[u8], base_ns: u64, s: &Span) {
    put_bytes(p, &s.span_id);
    put_bytes(p, &s.parent_span_id);
    put_bytes(p, s.trace_state.as_bytes());
    put_u64(p, u64::from(s.flags));
    dict.put_common(p, &s.name);
    put_i64(p, i64::from(s.kind));
    put_i64(p, s.start_time_unix_nano.wrapping_sub(base_ns) as i64);
    put_i64(
        p,
        s.end_time_unix_nano.wrapping_sub(s.start_time_unix_nano) as i64,
    );
    encode_attrs(dict, p, &s.attributes);
    put_u64(p, u64::from(s.dropped_attributes_count));
    put_u64(p, s.events.len() as u64);
    for e in &s.events {
        put_i64(
            p,
            e.time_unix_nano.wrapping_sub(s.start_time_unix_nano) as i64,
        );
        dict.put_common(p, &e.name);
        encode_attrs(dict, p, &e.attributes);
        put_u64(p, u64::from(e.dropped_attributes_count));
    }
    put_u64(p, u64::from(s.dropped_events_count));
    put_u64(p, s.links.len() as u64);
    for l in &s.links {
        if l.trace_id == trace_id {
            p.push(0);
        } else {
            p.push(1);
            put_bytes(p, &l.trace_id);
        }
        put_bytes(p, &l.span_id);
        put_bytes(p, l.trace_state.as_bytes());
        encode_attrs(dict, p, &l.attributes);
        put_u64(p, u64::from(l.dropped_attributes_count));
        put_u64(p, u64::from(l.flags));
    }
    put_u64(p, u64::from(s.dropped_links_count));
    match &s.status {
        None => p.push(0),
        Some(st) => {
            p.push(1);
            put_i64(p, i64::from(st.code));
            put_bytes(p, st.message.as_bytes());
        }
    }
}

fn encode_attrs(dict: &mut Dict, p: &mut Vec<u8>, attrs: &[KeyValue]) {
    put_u64(p, attrs.len() as u64);
    for kv in attrs {
        dict.put_common(p, &kv.key);
        encode_value(dict, p, &kv.key, kv.value.as_ref(), true);
    }
}

fn encode_value(dict: &mut Dict, p: &mut Vec<u8>, key: &str, v: Option<&AnyValue>, top: bool) {
    let Some(v) = v else {
        p.push(V_NONE);
        return;
    };
    match &v.value {
        None => p.push(V_EMPTY),
        Some(Value::StringValue(s)) => {
            p.push(V_STR);
            if top {
                dict.put_value(p, key, s);
            } else {
                put_bytes_inline_ref(p, s.as_bytes());
            }
        }
        Some(Value::BoolValue(b)) => p.push(if *b { V_TRUE } else { V_FALSE }),
        Some(Value::StringValueStrindex(i)) => {
            p.push(V_STRINDEX);
            put_i64(p, i64::from(*i));
        }
        Some(Value::IntValue(i)) => {
            p.push(V_INT);
            put_i64(p, *i);
        }
        Some(Value::DoubleValue(d)) => {
            p.push(V_DOUBLE);
            p.extend_from_slice(&d.to_le_bytes());
        }
        Some(Value::BytesValue(b)) => {
            p.push(V_BYTES);
            put_bytes(p, b);
        }
        Some(Value::ArrayValue(a)) => {
            p.push(V_ARRAY);
            put_u64(p, a.values.len() as u64);
            for x in &a.values {
                encode_value(dict, p, key, Some(x), false);
            }
        }
        Some(Value::KvlistValue(l)) => {
            p.push(V_KVLIST);
            put_u64(p, l.values.len() as u64);
            for kv in &l.values {
                dict.put_common(p, &kv.key);
                encode_value(dict, p, &kv.key, kv.value.as_ref(), false);
            }
        }
    }
}

/// A string reference that is always inline (nested values are not interned).
fn put_bytes_inline_ref(p: &mut Vec<u8>, b: &[u8]) {
    put_u64(p, ((b.len() as u64) << 1) | 1);
    p.extend_from_slice(b);
}

/// Decodes a chunk written by [`encode`].
pub fn decode(
    dict: &Dict,
    trace_id: &[u8],
    base_ns: u64,
    payload: &[u8],
) -> Result<Vec<DecodedGroup>, StoreError> {
    let mut r = Reader::new(payload);
    let n_groups = r.count()?;
    let mut groups = Vec::with_capacity(n_groups);
    for _ in 0..n_groups {
        let resource = dict.get_resource(&mut r)?;
        let resource_schema = dict.get_str(&mut r)?;
        let scope = dict.get_scope(&mut r)?;
        let scope_schema = dict.get_str(&mut r)?;
        let n = r.count()?;
        let mut spans = Vec::with_capacity(n);
        for _ in 0..n {
            spans.push(decode_span(dict, &mut r, trace_id, base_ns)?);
        }
        groups.push(DecodedGroup {
            resource,
            resource_schema,
            scope,
            scope_schema,
            spans,
        });
    }
    if !r.is_empty() {
        return Err(corrupt("trailing bytes in chunk"));
    }
    Ok(groups)
}

fn utf8(b: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(b.to_vec()).map_err(|_| corrupt("string is not UTF-8"))
}

fn small_i32(v: i64) -> Result<i32, StoreError> {
    i32::try_from(v).map_err(|_| corrupt("enum out of range"))
}

fn decode_span(
    dict: &Dict,
    r: &mut Reader<'_>,
    trace_id: &[u8],
    base_ns: u64,
) -> Result<Span, StoreError> {
    let span_id = r.bytes()?.to_vec();
    let parent_span_id = r.bytes()?.to_vec();
    let trace_state = utf8(r.bytes()?)?;
    let flags = r.u32()?;
    let name = dict.get_str(r)?;
    let kind = small_i32(r.i64()?)?;
    let start = base_ns.wrapping_add(r.i64()? as u64);
    let end = start.wrapping_add(r.i64()? as u64);
    let attributes = decode_attrs(dict, r, 0)?;
    let dropped_attributes_count = r.u32()?;
    let n_events = r.count()?;
    let mut events = Vec::with_capacity(n_events);
    for _ in 0..n_events {
        let time_unix_nano = start.wrapping_add(r.i64()? as u64);
        let name = dict.get_str(r)?;
        let attributes = decode_attrs(dict, r, 0)?;
        let dropped_attributes_count = r.u32()?;
        events.push(Event {
            time_unix_nano,
            name,
            attributes,
            dropped_attributes_count,
        });
    }
    let dropped_events_count = r.u32()?;
    let n_links = r.count()?;
    let mut links = Vec::with_capacity(n_links);
    for _ in 0..n_links {
        let link_trace = match r.u8()? {
            0 => trace_id.to_vec(),
            1 => r.bytes()?.to_vec(),
            _ => return Err(corrupt("link trace marker")),
        };
        let span_id = r.bytes()?.to_vec();
        let trace_state = utf8(r.bytes()?)?;
        let attributes = decode_attrs(dict, r, 0)?;
        let dropped_attributes_count = r.u32()?;
        let flags = r.u32()?;
        links.push(Link {
            trace_id: link_trace,
            span_id,
            trace_state,
            attributes,
            dropped_attributes_count,
            flags,
        });
    }
    let dropped_links_count = r.u32()?;
    let status = match r.u8()? {
        0 => None,
        1 => {
            let code = small_i32(r.i64()?)?;
            let message = utf8(r.bytes()?)?;
            Some(Status { message, code })
        }
        _ => return Err(corrupt("status marker")),
    };
    Ok(Span {
        trace_id: trace_id.to_vec(),
        span_id,
        trace_state,
        parent_span_id,
        flags,
        name,
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes,
        dropped_attributes_count,
        events,
        dropped_events_count,
        links,
        dropped_links_count,
        status,
    })
}

fn decode_attrs(
    dict: &Dict,
    r: &mut Reader<'_>,
    depth: usize,
) -> Result<Vec<KeyValue>, StoreError> {
    let n = r.count()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let key = dict.get_str(r)?;
        let value = decode_value(dict, r, depth)?;
        out.push(KeyValue {
            key,
            value,
            key_strindex: 0,
        });
    }
    Ok(out)
}

fn decode_value(
    dict: &Dict,
    r: &mut Reader<'_>,
    depth: usize,
) -> Result<Option<AnyValue>, StoreError> {
    if depth > MAX_DEPTH {
        return Err(corrupt("attribute nesting too deep"));
    }
    let v = match r.u8()? {
        V_NONE => return Ok(None),
        V_EMPTY => None,
        V_STR => Some(Value::StringValue(dict.get_str(r)?)),
        V_FALSE => Some(Value::BoolValue(false)),
        V_TRUE => Some(Value::BoolValue(true)),
        V_INT => Some(Value::IntValue(r.i64()?)),
        V_STRINDEX => Some(Value::StringValueStrindex(small_i32(r.i64()?)?)),
        V_DOUBLE => Some(Value::DoubleValue(r.f64()?)),
        V_BYTES => Some(Value::BytesValue(r.bytes()?.to_vec())),
        V_ARRAY => {
            let n = r.count()?;
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                values.push(decode_value(dict, r, depth + 1)?.unwrap_or_default());
            }
            Some(Value::ArrayValue(ArrayValue { values }))
        }
        V_KVLIST => Some(Value::KvlistValue(KeyValueList {
            values: decode_attrs(dict, r, depth + 1)?,
        })),
        _ => return Err(corrupt("attribute value tag")),
    };
    Ok(Some(AnyValue { value: v }))
}
