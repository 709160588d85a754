//! Concurrency limits per endpoint class, and request timeouts.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// At most `permits` requests of one class in flight; a request that cannot get a slot
/// within `wait` is refused with `status` (429 for writes, 503 for queries) and `Retry-After`.
#[derive(Clone)]
pub struct ConcurrencyLimit {
    pub class: &'static str,
    pub semaphore: Arc<Semaphore>,
    pub wait: Duration,
    pub status: StatusCode,
    /// `pharos_http_requests_in_flight{class}`: requests holding a slot now.
    pub in_flight: prometheus::IntGauge,
}

impl ConcurrencyLimit {
    pub fn new(class: &'static str, permits: usize, wait: Duration, status: StatusCode) -> Self {
        ConcurrencyLimit {
            class,
            semaphore: Arc::new(Semaphore::new(permits)),
            wait,
            status,
            in_flight: crate::self_metrics::in_flight_gauge(class),
        }
    }
}

pub async fn limit_concurrency(
    State(limit): State<ConcurrencyLimit>,
    req: Request,
    next: Next,
) -> Response {
    let permit = match limit.semaphore.clone().try_acquire_owned() {
        Ok(p) => Ok(p),
        Err(_) => {
            match tokio::time::timeout(limit.wait, limit.semaphore.clone().acquire_owned()).await {
                Ok(Ok(p)) => Ok(p),
                _ => Err(()),
            }
        }
    };
    match permit {
        Ok(_permit) => {
            let _in_flight = crate::self_metrics::InFlightGuard::new(&limit.in_flight);
            next.run(req).await
        }
        Err(()) => {
            crate::self_metrics::count_refused(limit.class, "concurrency");
            overloaded(
                limit.status,
                &format!("too many concurrent {} requests; retry later", limit.class),
            )
        }
    }
}

/// A refusal the client should retry: the given status, `Retry-After: 1`, and a
/// Prometheus-shaped JSON error.
pub fn overloaded(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"status": "error", "errorType": "unavailable", "error": message});
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

/// Ends a request that runs longer than its class allows with 503.
#[derive(Clone)]
pub struct Timeout {
    pub class: &'static str,
    pub after: Duration,
}

pub async fn limit_time(State(t): State<Timeout>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(t.after, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            crate::self_metrics::count_refused(t.class, "timeout");
            let body = serde_json::json!({
                "status": "error",
                "errorType": "timeout",
                "error": format!("request timed out after {}", humanize(t.after)),
            });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}

fn humanize(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}
