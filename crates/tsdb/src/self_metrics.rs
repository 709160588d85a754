//! The TSDB's self-metrics, registered once in the `prometheus` default registry.

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
};
use std::sync::OnceLock;

pub struct TsdbMetrics {
    pub samples_appended: IntCounter,
    pub samples_duplicate: IntCounter,
    pub samples_rejected: IntCounterVec,
    pub series_created: IntCounter,
    pub active_series: IntGauge,
    pub head_bytes: IntGauge,
    pub hash_index_bytes: IntGauge,
    pub flushes: IntCounter,
    pub flush_seconds: Histogram,
    pub merges: IntCounter,
    pub wal_replayed_records: IntCounter,
    pub disk_bytes: IntGaugeVec,
    pub partitions: IntGauge,
    pub retention_dropped_partitions: IntCounter,
}

fn reg<T: prometheus::core::Collector + Clone + 'static>(c: T) -> T {
    // A second registration (several stores in one test process) keeps the first.
    let _ = prometheus::register(Box::new(c.clone()));
    c
}

pub fn metrics() -> &'static TsdbMetrics {
    static M: OnceLock<TsdbMetrics> = OnceLock::new();
    M.get_or_init(|| TsdbMetrics {
        samples_appended: reg(IntCounter::new(
            "pharos_tsdb_samples_appended_total",
            "Samples stored in the TSDB head.",
        )
        .expect("valid metric")),
        samples_duplicate: reg(IntCounter::new(
            "pharos_tsdb_samples_duplicate_total",
            "Exact duplicates of stored samples, acknowledged and stored once.",
        )
        .expect("valid metric")),
        samples_rejected: reg(IntCounterVec::new(
            Opts::new(
                "pharos_tsdb_samples_rejected_total",
                "Samples refused by the TSDB, by reason.",
            ),
            &["reason"],
        )
        .expect("valid metric")),
        series_created: reg(IntCounter::new(
            "pharos_tsdb_series_created_total",
            "New series registered.",
        )
        .expect("valid metric")),
        active_series: reg(IntGauge::new(
            "pharos_tsdb_active_series",
            "Series in the in-memory head.",
        )
        .expect("valid metric")),
        head_bytes: reg(IntGauge::new(
            "pharos_tsdb_head_bytes",
            "Estimated memory held by the in-memory head.",
        )
        .expect("valid metric")),
        hash_index_bytes: reg(IntGauge::new(
            "pharos_tsdb_series_hash_index_bytes",
            "Memory held by the label hash → series id index of all registered series.",
        )
        .expect("valid metric")),
        flushes: reg(IntCounter::new(
            "pharos_tsdb_flushes_total",
            "Head flushes to the time partitions.",
        )
        .expect("valid metric")),
        flush_seconds: reg(Histogram::with_opts(
            HistogramOpts::new(
                "pharos_tsdb_flush_duration_seconds",
                "Duration of head flushes.",
            )
            .buckets(vec![0.01, 0.1, 0.5, 1.0, 5.0, 20.0, 60.0]),
        )
        .expect("valid metric")),
        merges: reg(
            IntCounter::new("pharos_tsdb_merges_total", "Segment merges (compactions).")
                .expect("valid metric"),
        ),
        wal_replayed_records: reg(IntCounter::new(
            "pharos_tsdb_wal_replayed_records_total",
            "WAL records replayed at start.",
        )
        .expect("valid metric")),
        disk_bytes: reg(IntGaugeVec::new(
            Opts::new(
                "pharos_tsdb_disk_bytes",
                "Bytes on disk by component (wal, index, partitions).",
            ),
            &["component"],
        )
        .expect("valid metric")),
        partitions: reg(
            IntGauge::new("pharos_tsdb_partitions", "Day partitions on disk.")
                .expect("valid metric"),
        ),
        retention_dropped_partitions: reg(IntCounter::new(
            "pharos_tsdb_retention_dropped_partitions_total",
            "Day partitions deleted by retention.",
        )
        .expect("valid metric")),
    })
}
