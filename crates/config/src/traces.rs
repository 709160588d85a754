//! `[traces]`: the trace store, its indexes and its ingest guardrails.

use bytesize::ByteSize;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracesConfig {
    /// Span and resource attribute keys that get a secondary index (searches on other
    /// attributes scan a bounded number of candidate traces instead).
    pub indexed_attributes: Vec<String>,
    /// Length of one time partition (one directory on disk). Retention drops whole
    /// partitions, so data lives on disk for up to `retention.traces` + this. At least 1h,
    /// and at most 1,000 partitions per retention period.
    #[serde(with = "humantime_serde")]
    pub partition_duration: Duration,
    /// Page cache shared by the open partitions (sled's cache, split between them).
    pub cache_size: ByteSize,
    /// Write requests waiting for the group-commit writer; more get 503 with Retry-After.
    pub write_queue: usize,
    /// Spans whose start is further than this in the future are rejected.
    #[serde(with = "humantime_serde")]
    pub future_margin: Duration,
    /// Most traces one search loads to check its conditions span by span.
    pub max_search_candidates: usize,
    /// Recent spans remembered to link parents and children across services for
    /// `/api/dependencies` (each entry is a few dozen bytes).
    pub dependency_window_spans: usize,
    /// Most distinct strings interned per partition (attribute keys, names, short values).
    pub max_dictionary_strings: usize,
    /// Most attribute names (and values per name) kept for the Tempo tag lists.
    pub max_catalog_tags: usize,
    /// Memory for the trace and index keys of recent writes, over all partitions; when
    /// full, the biggest buffers are written to sorted runs on disk.
    pub key_buffer_size: ByteSize,
}

impl Default for TracesConfig {
    fn default() -> Self {
        TracesConfig {
            indexed_attributes: [
                "http.request.method",
                "http.response.status_code",
                "http.route",
                "http.method",
                "http.status_code",
                "db.system",
                "error",
                "k8s.namespace.name",
                "deployment.environment",
            ]
            .map(String::from)
            .to_vec(),
            partition_duration: Duration::from_secs(86_400),
            cache_size: ByteSize::mib(64),
            write_queue: 256,
            future_margin: Duration::from_secs(600),
            max_search_candidates: 5_000,
            dependency_window_spans: 200_000,
            max_dictionary_strings: 50_000,
            max_catalog_tags: 1_000,
            key_buffer_size: ByteSize::mib(16),
        }
    }
}
