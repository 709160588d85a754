//! Self-metrics of trace ingest, in the `prometheus` crate's default registry.

use prometheus::{register_int_counter, register_int_counter_vec, IntCounter, IntCounterVec};
use std::sync::LazyLock;

pub static SPANS_RECEIVED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "pharos_trace_ingest_spans_received_total",
        "Spans in decoded OTLP requests."
    )
    .expect("metric")
});

pub static SPANS_STORED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "pharos_trace_ingest_spans_stored_total",
        "Spans stored and acknowledged."
    )
    .expect("metric")
});

/// Reasons: the store's (`invalid_trace_id`, `too_old`, …) and `overloaded`, `store_error`.
pub static SPANS_REJECTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "pharos_trace_ingest_spans_rejected_total",
        "Spans not stored, by reason.",
        &["reason"]
    )
    .expect("metric")
});

/// Requests by body format (`protobuf`, `json`, `unknown`) and HTTP status code.
pub static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "pharos_trace_ingest_requests_total",
        "OTLP trace export requests, by format and status.",
        &["format", "code"]
    )
    .expect("metric")
});
