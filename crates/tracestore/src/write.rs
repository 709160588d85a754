//! One group commit: validates spans, groups them by partition and trace, encodes span
//! chunks, index entries, catalog entries and dependency counts, applies them to the
//! partitions' trees and flushes (fsync) every partition it touched.

use crate::block::BlockBuilder;
use crate::catalog::{self, TagScope};
use crate::chunk::{self, SpanGroup};
use crate::deps::Edges;
use crate::error::StoreError;
use crate::keys::{self, TERM_ATTRIBUTE, TERM_OPERATION, TERM_SERVICE};
use crate::partition::{varint_bytes, Partition, SPAN_COUNT_KEY};
use crate::store::TraceStore;
use crate::value::{service_name, to_text, STATUS_ERROR};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Why a span was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Trace id not 16 bytes, or all zero.
    InvalidTraceId,
    /// Span id not 8 bytes or all zero, or a parent span id that is neither empty nor 8 bytes.
    InvalidSpanId,
    /// Started before the retention window.
    TooOld,
    /// Started further in the future than `traces.future_margin`.
    TooFarInFuture,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidTraceId => "invalid_trace_id",
            RejectReason::InvalidSpanId => "invalid_span_id",
            RejectReason::TooOld => "too_old",
            RejectReason::TooFarInFuture => "too_far_in_future",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            RejectReason::InvalidTraceId => "trace id must be 16 bytes and not all zero",
            RejectReason::InvalidSpanId => {
                "span id must be 8 bytes and not all zero; parent span id empty or 8 bytes"
            }
            RejectReason::TooOld => "span starts before the retention window",
            RejectReason::TooFarInFuture => "span starts too far in the future",
        }
    }
}

/// What happened to the spans of one write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WriteOutcome {
    pub accepted: u64,
    pub rejected: BTreeMap<RejectReason, u64>,
}

impl WriteOutcome {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// A one-line explanation of the rejections, for `partial_success.error_message`.
    pub fn rejection_message(&self) -> String {
        self.rejected
            .iter()
            .map(|(r, n)| format!("{n} spans rejected: {}", r.describe()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

struct Accepted<'a> {
    resource: &'a Resource,
    resource_schema: &'a str,
    scope: &'a InstrumentationScope,
    scope_schema: &'a str,
    span: &'a Span,
    service: &'a str,
}

fn validate(span: &Span, min_ns: u64, max_ns: u64) -> Result<[u8; 16], RejectReason> {
    let trace: [u8; 16] = span
        .trace_id
        .as_slice()
        .try_into()
        .map_err(|_| RejectReason::InvalidTraceId)?;
    if trace == [0; 16] {
        return Err(RejectReason::InvalidTraceId);
    }
    if span.span_id.len() != 8 || span.span_id.iter().all(|&b| b == 0) {
        return Err(RejectReason::InvalidSpanId);
    }
    if !span.parent_span_id.is_empty() && span.parent_span_id.len() != 8 {
        return Err(RejectReason::InvalidSpanId);
    }
    if span.start_time_unix_nano < min_ns {
        return Err(RejectReason::TooOld);
    }
    if span.start_time_unix_nano > max_ns {
        return Err(RejectReason::TooFarInFuture);
    }
    Ok(trace)
}

static EMPTY_RESOURCE: Resource = Resource {
    attributes: Vec::new(),
    dropped_attributes_count: 0,
    entity_refs: Vec::new(),
};
static EMPTY_SCOPE: InstrumentationScope = InstrumentationScope {
    name: String::new(),
    version: String::new(),
    attributes: Vec::new(),
    dropped_attributes_count: 0,
};

/// Writes every request of one group commit; returns one outcome per request.
pub fn commit(
    store: &TraceStore,
    requests: &[Vec<ResourceSpans>],
    now_ns: u64,
) -> Result<Vec<WriteOutcome>, StoreError> {
    let min_ns = now_ns.saturating_sub(store.settings.retention_ns);
    let max_ns = now_ns.saturating_add(store.settings.future_margin_ns);
    let mut outcomes = vec![WriteOutcome::default(); requests.len()];
    // partition start → trace id → spans, in arrival order.
    let mut by_partition: BTreeMap<u64, HashMap<[u8; 16], Vec<Accepted<'_>>>> = BTreeMap::new();
    for (req, outcome) in requests.iter().zip(outcomes.iter_mut()) {
        for rs in req {
            let resource = rs.resource.as_ref().unwrap_or(&EMPTY_RESOURCE);
            let service = service_name(resource);
            for ss in &rs.scope_spans {
                let scope = ss.scope.as_ref().unwrap_or(&EMPTY_SCOPE);
                for span in &ss.spans {
                    match validate(span, min_ns, max_ns) {
                        Ok(trace) => {
                            outcome.accepted += 1;
                            let part = store.partition_start_for(span.start_time_unix_nano);
                            by_partition
                                .entry(part)
                                .or_default()
                                .entry(trace)
                                .or_default()
                                .push(Accepted {
                                    resource,
                                    resource_schema: &rs.schema_url,
                                    scope,
                                    scope_schema: &ss.schema_url,
                                    span,
                                    service,
                                });
                        }
                        Err(reason) => *outcome.rejected.entry(reason).or_default() += 1,
                    }
                }
            }
        }
    }
    let mut touched = Vec::new();
    let mut edges = Edges::new();
    for (part_start, traces) in by_partition {
        let partition = store.partition_for_write(part_start)?;
        write_partition(store, &partition, traces, &mut edges)?;
        touched.push(partition);
    }
    for p in apply_edges(store, edges)? {
        if !touched.iter().any(|t| Arc::ptr_eq(t, &p)) {
            touched.push(p);
        }
    }
    for p in &touched {
        p.db.flush()?;
    }
    Ok(outcomes)
}

fn write_partition(
    store: &TraceStore,
    partition: &Arc<Partition>,
    traces: HashMap<[u8; 16], Vec<Accepted<'_>>>,
    edges: &mut Edges,
) -> Result<(), StoreError> {
    let mut trace_keys: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut index_keys: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut blocks_batch = sled::Batch::default();
    let mut new_catalog: Vec<Vec<u8>> = Vec::new();
    let mut span_count = 0u64;
    let mut usage = HashMap::new();
    let indexed = &store.settings.indexed_attributes;
    // Traces by start, so each block covers a short time range.
    let mut ordered: Vec<([u8; 16], u64, Vec<Accepted<'_>>)> = traces
        .into_iter()
        .map(|(id, spans)| {
            let start = spans
                .iter()
                .map(|a| a.span.start_time_unix_nano)
                .min()
                .unwrap_or(0);
            (id, start, spans)
        })
        .collect();
    ordered.sort_by_key(|(_, start, _)| *start);
    {
        let mut dict = partition.dict.write().expect("dict lock");
        let mut tracker = store.deps_tracker.lock().expect("deps lock");
        let mut zstd = store.zstd.lock().expect("zstd lock");
        let mut cat = partition.catalog_state.lock().expect("catalog lock");
        let mut chunk = Vec::with_capacity(4096);
        let mut key_buf = Vec::with_capacity(256);
        let mut value_buf = String::new();
        let mut terms: HashMap<Vec<u8>, (u64, u64)> = HashMap::new();
        // term → postings of the current block: (position, start, longest duration µs).
        let mut postings: HashMap<Vec<u8>, Vec<(usize, u64, u64)>> = HashMap::new();
        let mut block: Option<BlockBuilder> = None;
        let mut flush_block =
            |block: BlockBuilder,
             postings: &mut HashMap<Vec<u8>, Vec<(usize, u64, u64)>>,
             zstd: &mut Option<zstd::bulk::Compressor<'static>>| {
                let seq = partition.next_block.fetch_add(1, Ordering::Relaxed);
                let block_start = block.start_ns;
                let block_place = partition.vlog.append(&block.finish(zstd))?;
                // Postings go to the value log too, then the block's postings directory
                // (so its index keys can be rebuilt); the index keeps where they are.
                let (prefixes, records): (Vec<Vec<u8>>, Vec<Vec<u8>>) = postings
                    .drain()
                    .map(|(prefix, list)| {
                        let v = keys::encode_postings(prefix[0], block_start, &list);
                        (prefix, v)
                    })
                    .unzip();
                let places = partition.vlog.append_many(&records)?;
                let directory: Vec<(&[u8], (u64, u32))> = prefixes
                    .iter()
                    .map(|p| p.as_slice())
                    .zip(places.iter().copied())
                    .collect();
                let dir_place = partition
                    .vlog
                    .append(&keys::encode_postings_dir(&directory))?;
                blocks_batch.insert(
                    &seq.to_be_bytes(),
                    crate::partition::block_pointer(block_start, block_place, dir_place),
                );
                for (prefix, (offset, len)) in directory {
                    index_keys.push((
                        keys::index_key(prefix, block_start, seq),
                        crate::partition::vlog_pointer(offset, len),
                    ));
                }
                Ok::<u64, StoreError>(seq)
            };
        let mut pending_keys: Vec<([u8; 16], usize)> = Vec::new();
        for (trace_id, base, spans) in &ordered {
            if block.as_ref().is_some_and(|b| !b.has_room(*base)) {
                let seq = flush_block(block.take().expect("checked"), &mut postings, &mut zstd)?;
                let seq32 = crate::partition::block_seq32(seq)?;
                for (id, position) in pending_keys.drain(..) {
                    trace_keys.push((keys::trace_key(&id, seq32), varint_bytes(position as u64)));
                }
            }
            let b = block.get_or_insert_with(|| BlockBuilder::new(*base));
            span_count += spans.len() as u64;
            let groups = group_spans(spans);
            chunk.clear();
            chunk::encode(&mut dict, trace_id, *base, &groups, &mut chunk);
            let position = b.push(trace_id, *base, &chunk);
            crate::usage::count_trace(
                &mut usage,
                spans.iter().map(|a| a.service),
                spans.len(),
                chunk.len(),
            );
            pending_keys.push((*trace_id, position));
            terms.clear();
            for a in spans {
                let s = a.span;
                let start = s.start_time_unix_nano;
                let dur_us = s.end_time_unix_nano.saturating_sub(start) / 1000;
                let mut add = |prefix: &[u8]| match terms.get_mut(prefix) {
                    Some(e) => {
                        e.0 = e.0.min(start);
                        e.1 = e.1.max(dur_us);
                    }
                    None => {
                        terms.insert(prefix.to_vec(), (start, dur_us));
                    }
                };
                keys::term_prefix_into(&mut key_buf, TERM_SERVICE, &[a.service]);
                add(&key_buf);
                keys::term_prefix_into(&mut key_buf, TERM_OPERATION, &[a.service, &s.name]);
                add(&key_buf);
                for kv in s.attributes.iter().chain(a.resource.attributes.iter()) {
                    if indexed.contains(kv.key.as_str()) {
                        if let Some(v) = &kv.value {
                            value_buf.clear();
                            value_buf.push_str(&to_text(v));
                            keys::term_prefix_into(
                                &mut key_buf,
                                TERM_ATTRIBUTE,
                                &[a.service, &kv.key, &value_buf],
                            );
                            add(&key_buf);
                        }
                    }
                }
                if s.status.as_ref().is_some_and(|st| st.code == STATUS_ERROR)
                    && indexed.contains("error")
                {
                    keys::term_prefix_into(
                        &mut key_buf,
                        TERM_ATTRIBUTE,
                        &[a.service, "error", "true"],
                    );
                    add(&key_buf);
                }
                catalog_entries(
                    &mut cat,
                    &mut new_catalog,
                    a,
                    store.settings.max_catalog_tags,
                    &mut key_buf,
                );
                tracker.observe(
                    trace_id,
                    &s.span_id,
                    &s.parent_span_id,
                    a.service,
                    start,
                    edges,
                );
            }
            for (prefix, (start, dur_us)) in terms.drain() {
                postings
                    .entry(prefix)
                    .or_default()
                    .push((position, start, dur_us));
            }
        }
        if let Some(b) = block.take() {
            let seq = flush_block(b, &mut postings, &mut zstd)?;
            let seq32 = crate::partition::block_seq32(seq)?;
            for (id, position) in pending_keys.drain(..) {
                trace_keys.push((keys::trace_key(&id, seq32), varint_bytes(position as u64)));
            }
        }
        let mut dict_batch = sled::Batch::default();
        for (k, v) in dict.take_pending() {
            dict_batch.insert(k, v);
        }
        partition.dict_tree.apply_batch(dict_batch)?;
    }
    if !new_catalog.is_empty() {
        let mut batch = sled::Batch::default();
        let mut global = store.catalog.write().expect("catalog lock");
        for e in &new_catalog {
            global.add(e);
            batch.insert(e.as_slice(), &[][..]);
        }
        partition.catalog.apply_batch(batch)?;
    }
    // The blocks first, durable, then the pointers to them (flushed by the caller).
    partition.vlog.sync()?;
    partition.blocks.apply_batch(blocks_batch)?;
    partition.traces.insert(trace_keys);
    partition.index.insert(index_keys);
    partition
        .usage
        .lock()
        .expect("usage lock")
        .add(&partition.meta, &usage)?;
    let total = partition.span_count() + span_count;
    partition
        .meta
        .insert(SPAN_COUNT_KEY, &total.to_be_bytes())?;
    crate::metrics::SPANS_WRITTEN.inc_by(span_count);
    Ok(())
}

/// Groups one trace's spans by (resource, scope), keeping arrival order.
fn group_spans<'a>(spans: &[Accepted<'a>]) -> Vec<SpanGroup<'a>> {
    let mut groups: Vec<SpanGroup<'a>> = Vec::new();
    for a in spans {
        let found = groups.iter_mut().find(|g| {
            std::ptr::eq(g.resource, a.resource)
                && std::ptr::eq(g.scope, a.scope)
                && std::ptr::eq(g.resource_schema, a.resource_schema)
                && std::ptr::eq(g.scope_schema, a.scope_schema)
        });
        match found {
            Some(g) => g.spans.push(a.span),
            None => groups.push(SpanGroup {
                resource: a.resource,
                resource_schema: a.resource_schema,
                scope: a.scope,
                scope_schema: a.scope_schema,
                spans: vec![a.span],
            }),
        }
    }
    groups
}

fn catalog_entries(
    cat: &mut crate::partition::CatalogState,
    out: &mut Vec<Vec<u8>>,
    a: &Accepted<'_>,
    max_tags: usize,
    buf: &mut Vec<u8>,
) {
    let cap = max_tags * (catalog::MAX_VALUES_PER_TAG as usize + 1);
    if cat.keys.len() >= cap {
        return;
    }
    catalog::operation_entry_into(buf, a.service, a.span.kind, &a.span.name);
    if !cat.keys.contains(buf.as_slice()) {
        cat.keys.insert(buf.clone());
        out.push(buf.clone());
    }
    let span_attrs = a.span.attributes.iter().map(|kv| (TagScope::Span, kv));
    let resource_attrs = a
        .resource
        .attributes
        .iter()
        .map(|kv| (TagScope::Resource, kv));
    let mut text = String::new();
    for (scope, kv) in span_attrs.chain(resource_attrs) {
        catalog::tag_entry_into(buf, scope, &kv.key);
        if !cat.keys.contains(buf.as_slice()) {
            cat.keys.insert(buf.clone());
            out.push(buf.clone());
        }
        text.clear();
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => text.push_str(s),
            Some(Value::IntValue(i)) => text.push_str(&i.to_string()),
            Some(Value::BoolValue(b)) => text.push_str(if *b { "true" } else { "false" }),
            _ => continue,
        }
        if text.len() > catalog::MAX_VALUE_LEN {
            continue;
        }
        catalog::value_entry_into(buf, scope, &kv.key, &text);
        if cat.keys.contains(buf.as_slice()) {
            continue;
        }
        let tag_id = catalog::value_entry_tag(buf).expect("value entry").to_vec();
        let n = cat.values_per_tag.entry(tag_id).or_default();
        if *n >= catalog::MAX_VALUES_PER_TAG {
            continue;
        }
        *n += 1;
        cat.keys.insert(buf.clone());
        out.push(buf.clone());
    }
}

/// Adds counted calls to the `deps` tree of the partition holding each hour.
fn apply_edges(store: &TraceStore, edges: Edges) -> Result<Vec<Arc<Partition>>, StoreError> {
    let mut touched: Vec<Arc<Partition>> = Vec::new();
    for ((hour, parent, child), n) in edges {
        let t = u64::from(hour) * 3_600_000_000_000;
        let partition = store.partition_for_write(store.partition_start_for(t))?;
        let key = keys::deps_key(hour, &parent, &child);
        let old = partition
            .deps
            .get(&key)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        partition.deps.insert(key, &(old + n).to_be_bytes())?;
        if !touched.iter().any(|t| Arc::ptr_eq(t, &partition)) {
            touched.push(partition);
        }
    }
    Ok(touched)
}
