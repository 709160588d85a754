//! What every API handler shares: the store handle, blocking store calls off the async
//! threads, and JSON answers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pharos_tracestore::{StoreError, TraceStore};
use std::sync::Arc;

pub struct Api {
    pub store: Arc<TraceStore>,
    pub retention_ns: u64,
}

pub type Shared = Arc<Api>;

/// Runs a store call on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    api: &Shared,
    f: impl FnOnce(&TraceStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = api.store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .unwrap_or_else(|e| Err(StoreError::Corrupt(format!("query task failed: {e}"))))
}

pub fn json(status: StatusCode, v: &serde_json::Value) -> Response {
    let mut resp = (status, v.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
