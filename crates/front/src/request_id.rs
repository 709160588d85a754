//! A request id per request — taken from `X-Request-Id` when it is sane, minted otherwise —
//! echoed in the response and carried by every log line of the request (a tracing span).
//!
//! Each request ends with a "request finished" line (status, duration). It is logged at
//! INFO only when the request failed (status 400 and up) or was slow
//! ([`SLOW_REQUEST`]); otherwise at DEBUG (`PHAROS_LOG=info,pharos_front=debug` shows every
//! request). Dashboards repeat small requests many times a minute: writing a line for each
//! of them costs more than answering one from memory, and says nothing an operator needs,
//! as Prometheus, VictoriaMetrics and Grafana (without `router_logging`) also do not log them.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// A request that took at least this long is logged at INFO even when it succeeded.
pub const SLOW_REQUEST: Duration = Duration::from_secs(5);

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client's id is used if it is 1..=128 visible ASCII characters.
fn client_id(req: &Request) -> Option<String> {
    let v = req.headers().get(&X_REQUEST_ID)?.to_str().ok()?;
    (!v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| v.to_owned())
}

fn mint() -> String {
    let mut b = [0u8; 8];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub async fn with_request_id(req: Request, next: Next) -> Response {
    let id = client_id(&req).unwrap_or_else(mint);
    // The path only: query strings can carry user data and are not needed to follow a request.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path()
    );
    let started = Instant::now();
    let mut resp = async move {
        let resp = next.run(req).await;
        let status = resp.status().as_u16();
        let took = started.elapsed();
        let duration_ms = took.as_secs_f64() * 1000.0;
        if status >= 400 || took >= SLOW_REQUEST {
            tracing::info!(status, duration_ms, "request finished");
        } else {
            tracing::debug!(status, duration_ms, "request finished");
        }
        resp
    }
    .instrument(span)
    .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    resp
}
