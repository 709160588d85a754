//! Self-metrics of the trace store, in the `prometheus` crate's default registry.

use prometheus::{
    register_histogram, register_int_counter, register_int_gauge, Histogram, IntCounter, IntGauge,
};
use std::sync::LazyLock;

pub static SPANS_WRITTEN: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "pharos_tracestore_spans_written_total",
        "Spans written to the trace store."
    )
    .expect("metric")
});

pub static COMMIT_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "pharos_tracestore_commit_duration_seconds",
        "Time of one group commit of the trace store, fsync included.",
        vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]
    )
    .expect("metric")
});

pub static PARTITIONS: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "pharos_tracestore_partitions",
        "Open time partitions of the trace store."
    )
    .expect("metric")
});

pub static DISK_BYTES: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "pharos_tracestore_disk_bytes",
        "Bytes on disk of the trace store (as of the last stats or retention run)."
    )
    .expect("metric")
});

pub static PARTITIONS_DROPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "pharos_tracestore_partitions_dropped_total",
        "Time partitions deleted by retention."
    )
    .expect("metric")
});

pub static KEY_RUNS_FLUSHED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "pharos_tracestore_key_runs_flushed_total",
        "Sorted runs of trace or index keys written from the key buffers."
    )
    .expect("metric")
});

pub static KEY_RUNS_MERGED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "pharos_tracestore_key_runs_merged_total",
        "Merges of sorted key runs into one."
    )
    .expect("metric")
});

pub static KEY_BUFFER_BYTES: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "pharos_tracestore_key_buffer_bytes",
        "Memory held by the trace and index key buffers of all partitions (estimated)."
    )
    .expect("metric")
});
