//! The trace store.
//!
//! In: spans from trace ingest (OTLP `ResourceSpans`), written in group commits that are
//! fsynced before [`TraceStore::write`] resolves.
//! Out: traces by id and trace searches (service, operation, tags, duration, time) for the
//! Jaeger and Tempo APIs; service, operation and tag lists; service dependencies; stats,
//! retention and snapshots for the operator.
//!
//! Layout (badger-style, on sled): one sled database per time partition
//! (`traces.partition_duration`, by span start), each with
//! - `spans`: trace id · start · span id → a compressed chunk of that trace's spans (one
//!   trace is one contiguous key range);
//! - `index`: (service | service+operation | service+attribute=value) · start · trace id
//!   → longest span duration, so time-bounded searches are range scans;
//! - `dict`: interned strings, resources and scopes referenced by the chunks;
//! - `catalog`, `deps`, `meta`: services/operations/tags, dependency counts, span count.
//!
//! Retention deletes whole partition directories, which frees their disk.

mod block;
mod catalog;
mod chunk;
mod deps;
mod dict;
mod error;
mod keys;
mod metrics;
mod partition;
pub mod sample;
mod search;
mod store;
mod trace;
mod usage;
mod value;
mod varint;
mod vlog;
mod write;

pub use catalog::TagScope;
pub use chunk::DecodedGroup;
pub use error::StoreError;
pub use search::{SearchHit, SpanPredicate, TraceQuery};
pub use store::{PartitionStats, RetentionReport, StoreStats, TraceStore};
pub use trace::{hex, parse_trace_id, Trace};
pub use usage::ServiceUsage;
pub use value::{
    base64_encode, format_double, kind_from_name, kind_name, service_name, span_has_tag, to_json,
    to_text, NO_SERVICE_NAME, STATUS_ERROR,
};
pub use write::{RejectReason, WriteOutcome};

/// Re-export of the OTLP types the store speaks, so callers use the same version.
pub use opentelemetry_proto;
/// Re-export of the protobuf runtime, for callers that encode OTLP bodies.
pub use prost;

/// Decodes `bytes` as a stored block and each of its span chunks against an empty
/// dictionary, returning how many chunks decoded. For fuzzing the on-disk decoders
/// (`crates/tracestore/fuzz`): any input must give a result or an error, never a panic.
pub fn fuzz_decode_block(bytes: &[u8]) -> usize {
    let Ok(block) = block::Block::decode(bytes, 0) else {
        return 0;
    };
    let dict = dict::Dict::default();
    (0..block.traces.len())
        .filter(|&i| {
            block
                .chunk(i)
                .is_some_and(|(t, c)| chunk::decode(&dict, &t.trace_id, t.start_ns, c).is_ok())
        })
        .count()
}
