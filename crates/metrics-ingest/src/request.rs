//! What every write endpoint does around its own decoder: count the bytes, decode and store
//! on the blocking pool, turn the outcome into the answer, and count the answer.

use crate::error::IngestError;
use crate::rejections::Rejected;
use crate::self_metrics::metrics;
use crate::IngestState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::Arc;

/// Runs `work` (decompress, decode, store) on the blocking pool and answers for `endpoint`.
pub async fn decode_and_store<F>(
    endpoint: &'static str,
    state: Arc<IngestState>,
    body: Bytes,
    work: F,
) -> Response
where
    F: FnOnce(&IngestState, &[u8]) -> Result<Rejected, IngestError> + Send + 'static,
{
    count_bytes(endpoint, "received", body.len());
    let result = tokio::task::spawn_blocking(move || work(&state, &body))
        .await
        .unwrap_or_else(|e| Err(IngestError::Internal(format!("ingest task failed: {e}"))));
    answer(endpoint, result)
}

/// Counts bytes of a request body at a `stage` (received as sent, or decompressed).
pub fn count_bytes(endpoint: &str, stage: &str, n: usize) {
    metrics()
        .bytes
        .with_label_values(&[endpoint, stage])
        .inc_by(n as u64);
}

/// 204 if all was stored, 400 naming what was refused, or the error's status.
pub fn answer(endpoint: &str, result: Result<Rejected, IngestError>) -> Response {
    let response = match result {
        Ok(rejected) if rejected.is_empty() => StatusCode::NO_CONTENT.into_response(),
        Ok(rejected) => rejected.into_error(endpoint).into_response(),
        Err(e) => e.into_response(),
    };
    metrics()
        .requests
        .with_label_values(&[endpoint, response.status().as_str()])
        .inc();
    response
}
