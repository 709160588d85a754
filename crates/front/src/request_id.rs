//! A request id per request — taken from `X-Request-Id` when it is sane, minted otherwise —
//! echoed in the response and carried by every log line of the request (a tracing span).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use std::time::Instant;
use tracing::Instrument;

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
    let method = req.method().clone();
    // The path only: query strings can carry user data and are not needed to follow a request.
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let started = Instant::now();
    let mut resp = async move {
        let resp = next.run(req).await;
        tracing::info!(
            status = resp.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
        resp
    }
    .instrument(span)
    .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    resp
}
