//! `[metrics]`: the TSDB and its ingest guardrails.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Samples further than this in the future are rejected with 400.
    #[serde(with = "humantime_serde")]
    pub future_margin: Duration,
    /// Most series that may be active at once; new series beyond are rejected.
    pub max_active_series: usize,
    /// Most new series per minute; new series beyond are rejected. The default lets a
    /// fleet of 2000 node_exporters (1.1 M series) register in its first scrape minute.
    pub max_new_series_per_minute: usize,
    pub max_labels_per_series: usize,
    pub max_label_name_length: usize,
    pub max_label_value_length: usize,
    /// How often the in-memory head is written to the time partitions on disk (and the
    /// WAL truncated). The head is also flushed earlier when it outgrows its share of
    /// `memory.budget`.
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    /// Share of `memory.budget` (in percent) the in-memory head may use before it is
    /// flushed early.
    pub head_memory_percent: u8,
    /// Share of `memory.budget` (in percent) given to the index store's (sled's) cache.
    pub index_cache_percent: u8,
    /// Share of `memory.budget` (in percent) given to the cache of decompressed chunk frames.
    pub chunk_cache_percent: u8,
    /// Share of `memory.budget` (in percent) given to the cache that maps a remote-write
    /// series' label bytes to its id, so rows of known series skip label validation. 16
    /// bytes per series; 1 % of 768 MiB holds about 480,000.
    pub wire_series_cache_percent: u8,
    /// Share of `memory.budget` (in percent) given to the cache of decoded label sets by
    /// series id, which queries read for every selected series (0 turns it off).
    pub label_cache_percent: u8,
    /// Share of `memory.budget` (in percent) given to the cache of each label name's values
    /// and their postings (label-value lookups, regex and negative matchers); a name whose
    /// postings need more is read from the index each time (0 turns the cache off).
    pub label_values_cache_percent: u8,
    /// Most exemplars kept per series and day; older ones of the same day are replaced.
    pub max_exemplars_per_series: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            future_margin: Duration::from_secs(600),
            max_active_series: 2_000_000,
            max_new_series_per_minute: 2_000_000,
            max_labels_per_series: 64,
            max_label_name_length: 256,
            max_label_value_length: 4096,
            flush_interval: Duration::from_secs(120),
            head_memory_percent: 8,
            index_cache_percent: 8,
            chunk_cache_percent: 4,
            wire_series_cache_percent: 1,
            label_cache_percent: 2,
            label_values_cache_percent: 1,
            max_exemplars_per_series: 64,
        }
    }
}
