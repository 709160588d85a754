//! The trace store.
//!
//! In: spans from trace ingest (OTLP `ResourceSpans`), written in group commits that are
//! fsynced before [`TraceStore::write`] resolves.
//! Out: traces by id and trace searches (service, operation, tags, duration, time) for the
//! Jaeger and Tempo APIs; service, operation and tag lists; service dependencies; stats,
//! retention and snapshots for the operator.
//!
//! Layout (badger-style), one directory per time partition (`traces.partition_duration`,
//! by span start), each with
//! - `blocks.vlog`: the value log of compressed span blocks, index postings and each
//!   block's postings directory ([`vlog`], [`block`]);
//! - trace keys (trace id · block → position) and index keys ((service | service+operation
//!   | service+attribute=value) · block start · block → postings) as small LSM trees:
//!   a bounded memory buffer and immutable sorted runs ([`sorted_keys`], [`run`]),
//!   rebuilt from the value log after a crash;
//! - a small sled database: block places, the dictionary of interned strings, resources
//!   and scopes, the catalog, dependency counts, span counts and usage per service.
//!
//! Retention deletes whole partition directories, which frees their disk.

mod block;
mod bloom;
mod catalog;
mod chunk;
mod compactor;
mod deps;
mod dict;
mod error;
mod keys;
mod metrics;
mod partition;
mod run;
pub mod sample;
mod search;
mod sorted_keys;
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

/// Opens `bytes` as a sorted run file (written to a scratch file under the temp
/// directory) and reads every block and one range of it, returning how many entries
/// were read. For fuzzing the run decoder (`crates/tracestore/fuzz`): any input must
/// give a result or an error, never a panic.
pub fn fuzz_decode_run(bytes: &[u8]) -> usize {
    let path = std::env::temp_dir().join(format!("pharos-fuzz-run-{}.run", std::process::id()));
    if std::fs::write(&path, bytes).is_err() {
        return 0;
    }
    let Ok(run) = run::Run::open(&path) else {
        return 0;
    };
    let mut read = (0..run.block_count())
        .filter_map(|i| run.block(i).ok())
        .map(|entries| entries.len())
        .sum();
    let mut out = Vec::new();
    if run.range(&[0x10], &[0xf0; 20], &mut out).is_ok() {
        read += out.len();
    }
    read
}
