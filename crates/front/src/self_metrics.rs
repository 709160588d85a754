//! The front's own metrics, in the process-wide `prometheus` default registry, and the
//! `/metrics` handler that gathers everything the stages registered there too.

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use prometheus::{
    register_histogram_vec, register_int_counter_vec, register_int_gauge_vec, Encoder,
    HistogramVec, IntCounterVec, IntGaugeVec, TextEncoder,
};
use std::sync::LazyLock;
use std::time::Instant;

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "pharos_http_requests_total",
        "HTTP requests by route pattern and status code.",
        &["route", "code"]
    )
    .expect("register pharos_http_requests_total")
});

static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "pharos_http_request_duration_seconds",
        "HTTP request duration by route pattern.",
        &["route"],
        vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            120.0
        ]
    )
    .expect("register pharos_http_request_duration_seconds")
});

static BODY_BYTES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "pharos_http_request_body_bytes_total",
        "Bytes of request bodies received (as sent, before decompression) by route pattern.",
        &["route"]
    )
    .expect("register pharos_http_request_body_bytes_total")
});

static REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "pharos_http_requests_refused_total",
        "Requests refused by the front's limits, by endpoint class and reason.",
        &["class", "reason"]
    )
    .expect("register pharos_http_requests_refused_total")
});

static IN_FLIGHT: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "pharos_http_requests_in_flight",
        "Requests holding one of their endpoint class's concurrency slots now.",
        &["class"]
    )
    .expect("register pharos_http_requests_in_flight")
});

/// Registers the process collector (RSS, CPU, open fds) and the front's metrics, so that
/// `/metrics` shows them before the first request.
pub fn init() {
    #[cfg(target_os = "linux")]
    {
        let _ = prometheus::register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
    }
    LazyLock::force(&REQUESTS);
    LazyLock::force(&DURATION);
    LazyLock::force(&BODY_BYTES);
    LazyLock::force(&REFUSED);
    LazyLock::force(&IN_FLIGHT);
}

/// The in-flight gauge of one endpoint class (created at 0, so it shows before use).
pub fn in_flight_gauge(class: &str) -> prometheus::IntGauge {
    IN_FLIGHT.with_label_values(&[class])
}

/// Counts one request in flight on a gauge until dropped: when the response is done, or
/// when the client went away and the request was cancelled.
pub struct InFlightGuard<'a>(&'a prometheus::IntGauge);

impl<'a> InFlightGuard<'a> {
    pub fn new(gauge: &'a prometheus::IntGauge) -> Self {
        gauge.inc();
        InFlightGuard(gauge)
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

pub fn count_refused(class: &str, reason: &str) {
    REFUSED.with_label_values(&[class, reason]).inc();
}

/// Middleware (inside the router, so the matched route pattern is known): counts the
/// request, its body bytes and its duration under the route pattern, never the raw path.
pub async fn record(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| route_label(p.as_str()))
        .unwrap_or_else(|| "unmatched".to_owned());
    let bytes = BODY_BYTES.with_label_values(&[&route]);
    let req = req.map(|body| {
        axum::body::Body::new(body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                bytes.inc_by(data.len() as u64);
            }
            frame
        }))
    });
    let started = Instant::now();
    let resp = next.run(req).await;
    DURATION
        .with_label_values(&[&route])
        .observe(started.elapsed().as_secs_f64());
    REQUESTS
        .with_label_values(&[&route, resp.status().as_str()])
        .inc();
    resp
}

/// A route pattern as a label value: axum's `{param}` written `:param`, as most Prometheus
/// instrumentation does (and as simple exposition parsers expect: no braces in values).
fn route_label(pattern: &str) -> String {
    pattern.replace('{', ":").replace('}', "")
}

/// `GET /metrics`: everything in the default registry, in the text exposition format.
pub async fn metrics_handler() -> Response {
    let families = prometheus::gather();
    let mut buf = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&families, &mut buf) {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        buf,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn route_labels_have_no_braces() {
        assert_eq!(
            super::route_label("/api/v1/label/{name}/values"),
            "/api/v1/label/:name/values"
        );
        assert_eq!(super::route_label("/api/traces/{*id}"), "/api/traces/:*id");
    }
}
