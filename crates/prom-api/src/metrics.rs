//! Self-metrics of the query API, in the default `prometheus` registry.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use std::sync::OnceLock;

struct Metrics {
    duration: HistogramVec,
    errors: IntCounterVec,
}

fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| {
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "pharos_promql_query_duration_seconds",
                "Time spent evaluating PromQL queries.",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
            ]),
            &["kind"],
        )
        .expect("valid histogram");
        let errors = IntCounterVec::new(
            Opts::new(
                "pharos_prom_api_errors_total",
                "Prometheus API requests answered with an error, by errorType.",
            ),
            &["error_type"],
        )
        .expect("valid counter");
        // Registration fails only if already registered (e.g. several routers in tests).
        let _ = prometheus::register(Box::new(duration.clone()));
        let _ = prometheus::register(Box::new(errors.clone()));
        Metrics { duration, errors }
    })
}

/// Records one query evaluation (`kind`: instant or range).
pub fn observe_query(kind: &'static str, seconds: f64) {
    metrics()
        .duration
        .with_label_values(&[kind])
        .observe(seconds);
}

/// Counts one error answer.
pub fn error(error_type: &'static str) {
    metrics().errors.with_label_values(&[error_type]).inc();
}
