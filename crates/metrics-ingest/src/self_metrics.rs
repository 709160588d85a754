//! Ingest self-metrics in the `prometheus` default registry.

use prometheus::{IntCounterVec, Opts};
use std::sync::OnceLock;

pub struct IngestMetrics {
    /// `endpoint`: remote_write, import_prometheus; `code`: the HTTP status.
    pub requests: IntCounterVec,
    pub rows: IntCounterVec,
    pub rows_rejected: IntCounterVec,
    /// `stage`: received (as sent) or decompressed.
    pub bytes: IntCounterVec,
    pub exported_series: IntCounterVec,
}

fn reg(c: IntCounterVec) -> IntCounterVec {
    let _ = prometheus::register(Box::new(c.clone()));
    c
}

pub fn metrics() -> &'static IngestMetrics {
    static M: OnceLock<IngestMetrics> = OnceLock::new();
    M.get_or_init(|| IngestMetrics {
        requests: reg(IntCounterVec::new(
            Opts::new(
                "pharos_ingest_requests_total",
                "Metrics ingest requests by endpoint and status.",
            ),
            &["endpoint", "code"],
        )
        .expect("valid metric")),
        rows: reg(IntCounterVec::new(
            Opts::new("pharos_ingest_rows_total", "Samples accepted by endpoint."),
            &["endpoint"],
        )
        .expect("valid metric")),
        rows_rejected: reg(IntCounterVec::new(
            Opts::new(
                "pharos_ingest_rows_rejected_total",
                "Samples (and refused native histograms) rejected, by endpoint and reason.",
            ),
            &["endpoint", "reason"],
        )
        .expect("valid metric")),
        bytes: reg(IntCounterVec::new(
            Opts::new(
                "pharos_ingest_bytes_total",
                "Ingest body bytes by endpoint and stage (received, decompressed).",
            ),
            &["endpoint", "stage"],
        )
        .expect("valid metric")),
        exported_series: reg(IntCounterVec::new(
            Opts::new(
                "pharos_export_series_total",
                "Series written by export endpoints.",
            ),
            &["format"],
        )
        .expect("valid metric")),
    })
}
