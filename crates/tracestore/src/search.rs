//! Trace search: candidates from the secondary index (service, operation, indexed
//! attributes; newest first, time-bounded range scans, duration prefilter), then each
//! candidate trace is loaded and checked span by span: a trace matches when one span
//! satisfies every condition, as in Jaeger's reference implementation.

use crate::block::Block;
use crate::chunk::DecodedGroup;
use crate::error::StoreError;
use crate::keys::{self, TERM_ATTRIBUTE, TERM_OPERATION, TERM_SERVICE};
use crate::partition::{Partition, Posting};
use crate::store::TraceStore;
use crate::trace::Trace;
use crate::value::{service_name, span_has_tag};
use opentelemetry_proto::tonic::trace::v1::Span;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// An extra condition on one span (TraceQL and Tempo tag filters build these).
pub type SpanPredicate = dyn Fn(&DecodedGroup, &Span) -> bool + Send + Sync;

#[derive(Clone, Default)]
pub struct TraceQuery {
    pub service: Option<String>,
    pub operation: Option<String>,
    /// Tags compared as text, as Jaeger does (`error=true`, `http.status_code=500`).
    pub tags: Vec<(String, String)>,
    pub start_ns: u64,
    pub end_ns: u64,
    pub min_duration_ns: Option<u64>,
    pub max_duration_ns: Option<u64>,
    pub limit: usize,
    pub span_filter: Option<Arc<SpanPredicate>>,
}

/// A matching trace and which of its spans matched (indexes into `Trace::spans()`).
#[derive(Clone, Debug)]
pub struct SearchHit {
    pub trace: Trace,
    pub matched: Vec<usize>,
}

/// Index entries gathered per term before the span-by-span check.
const MAX_ENTRIES_PER_TERM: usize = 500_000;

impl TraceQuery {
    fn span_matches(&self, g: &DecodedGroup, s: &Span) -> bool {
        if s.start_time_unix_nano < self.start_ns || s.start_time_unix_nano > self.end_ns {
            return false;
        }
        if self
            .service
            .as_deref()
            .is_some_and(|svc| service_name(&g.resource) != svc)
        {
            return false;
        }
        if self.operation.as_deref().is_some_and(|op| s.name != op) {
            return false;
        }
        let dur = s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano);
        if self.min_duration_ns.is_some_and(|m| dur < m)
            || self.max_duration_ns.is_some_and(|m| dur > m)
        {
            return false;
        }
        if !self.tags.iter().all(|(k, v)| span_has_tag(g, s, k, v)) {
            return false;
        }
        self.span_filter.as_ref().is_none_or(|f| f(g, s))
    }
}

/// Where a candidate trace's chunk lives: (partition, block, position).
type ChunkRef = (u64, u64, u32);

impl TraceStore {
    /// Traces with a span matching `q`, newest first, at most `q.limit`.
    pub fn search(&self, q: &TraceQuery) -> Result<Vec<SearchHit>, StoreError> {
        let mut q = q.clone();
        q.start_ns = q.start_ns.max(self.cutoff_ns());
        if q.limit == 0 || q.start_ns > q.end_ns {
            return Ok(Vec::new());
        }
        let candidates = self.candidates(&q)?;
        let parts: HashMap<u64, Arc<Partition>> = self
            .partitions_overlapping(q.start_ns, q.end_ns)
            .into_iter()
            .map(|p| (p.start_ns, p))
            .collect();
        let mut blocks: HashMap<(u64, u64), Option<Block>> = HashMap::new();
        let mut seen: HashSet<[u8; 16]> = HashSet::new();
        let mut hits = Vec::new();
        for (_, (part, seq, position)) in candidates
            .into_iter()
            .take(self.settings.max_search_candidates)
        {
            let Some(p) = parts.get(&part) else { continue };
            if blocks.len() > 256 {
                blocks.clear();
            }
            if let std::collections::hash_map::Entry::Vacant(e) = blocks.entry((part, seq)) {
                e.insert(p.block(seq)?);
            }
            let Some(block) = blocks.get(&(part, seq)).and_then(Option::as_ref) else {
                continue;
            };
            let Some((trace_id, groups)) = p.decode_chunk(block, position as usize)? else {
                continue;
            };
            if seen.contains(&trace_id) {
                continue;
            }
            if !groups
                .iter()
                .any(|g| g.spans.iter().any(|s| q.span_matches(g, s)))
            {
                continue;
            }
            seen.insert(trace_id);
            let Some(trace) = self.trace(&trace_id, None)? else {
                continue;
            };
            let matched = trace
                .spans()
                .enumerate()
                .filter(|(_, (g, s))| q.span_matches(g, s))
                .map(|(i, _)| i)
                .collect();
            hits.push(SearchHit { trace, matched });
            if hits.len() >= q.limit {
                break;
            }
        }
        Ok(hits)
    }

    /// Chunks that may hold a matching span, with their latest matching start, newest first.
    fn candidates(&self, q: &TraceQuery) -> Result<Vec<(u64, ChunkRef)>, StoreError> {
        let services = match &q.service {
            Some(s) => vec![s.clone()],
            None => self.services(),
        };
        let parts = self.partitions_overlapping(q.start_ns, q.end_ns);
        let min_dur_us = q.min_duration_ns.map(|n| n / 1000).unwrap_or(0);
        let indexed: Vec<&(String, String)> = q
            .tags
            .iter()
            .filter(|(k, _)| self.settings.indexed_attributes.contains(k.as_str()))
            .collect();
        let single_term = indexed.is_empty();
        let cap = if single_term {
            self.settings.max_search_candidates
        } else {
            MAX_ENTRIES_PER_TERM
        };
        let mut all: HashMap<ChunkRef, u64> = HashMap::new();
        for svc in &services {
            let mut terms = vec![match &q.operation {
                Some(op) => keys::term_prefix(TERM_OPERATION, &[svc, op]),
                None => keys::term_prefix(TERM_SERVICE, &[svc]),
            }];
            for (k, v) in &indexed {
                terms.push(keys::term_prefix(TERM_ATTRIBUTE, &[svc, k, v]));
            }
            let mut found: Option<HashMap<ChunkRef, u64>> = None;
            for (i, prefix) in terms.iter().enumerate() {
                let mut postings: Vec<Posting> = Vec::new();
                for p in &parts {
                    let before = postings.len();
                    p.scan_term(
                        prefix,
                        q.start_ns,
                        q.end_ns,
                        cap.saturating_sub(before).max(1),
                        &mut postings,
                    )?;
                }
                let mut set: HashMap<ChunkRef, u64> = HashMap::with_capacity(postings.len());
                for post in postings {
                    if i == 0 && post.dur_us < min_dur_us {
                        continue;
                    }
                    let e = set
                        .entry((post.partition, post.block, post.position))
                        .or_insert(post.start_ns);
                    *e = (*e).max(post.start_ns);
                }
                found = Some(match found {
                    None => set,
                    Some(prev) => prev
                        .into_iter()
                        .filter(|(t, _)| set.contains_key(t))
                        .collect(),
                });
                if found.as_ref().is_some_and(|f| f.is_empty()) {
                    break;
                }
            }
            for (chunk, start) in found.unwrap_or_default() {
                let e = all.entry(chunk).or_insert(start);
                *e = (*e).max(start);
            }
        }
        let mut out: Vec<(u64, ChunkRef)> = all.into_iter().map(|(c, s)| (s, c)).collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        Ok(out)
    }
}
