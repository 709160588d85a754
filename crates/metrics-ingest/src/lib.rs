//! Metrics ingest: decodes what senders push and hands rows to the TSDB.
//!
//! In: HTTP bodies of `POST /api/v1/write` (snappy protobuf remote-write 1.0) and
//! `POST /api/v1/import/prometheus` (text exposition); `GET /api/v1/export` requests.
//! Out: validated series + samples/exemplars/metadata written to [`pharos_tsdb`];
//! JSON lines of raw samples for export.
//!
//! [`ingest_router`] serves the write endpoints (ingest scope), [`read_router`] the export
//! (read scope). Both return 400 with a message for input that can never succeed (the
//! valid rest of a request is still stored), 413 past `limits.max_decompressed_bytes`,
//! 415 for content types they do not speak (remote-write 2.0 included) and 503 with
//! `Retry-After` when the store cannot take more right now.

mod error;
pub mod export;
pub mod proto;
mod rejections;
pub mod remote_write;
mod request;
mod self_metrics;
pub mod text;
pub mod wire;

pub use error::IngestError;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use pharos_config::Config;
use pharos_tsdb::Tsdb;
use std::sync::Arc;

/// What the handlers share.
pub struct IngestState {
    pub tsdb: Arc<Tsdb>,
    pub max_decompressed: usize,
}

fn state(tsdb: Arc<Tsdb>, config: &Config) -> Arc<IngestState> {
    self_metrics::metrics();
    Arc::new(IngestState {
        tsdb,
        max_decompressed: config.limits.max_decompressed_bytes.as_u64() as usize,
    })
}

/// `POST /api/v1/write` and `POST /api/v1/import/prometheus` (mount in the ingest scope).
pub fn ingest_router(tsdb: Arc<Tsdb>, config: &Config) -> Router {
    Router::new()
        .route("/api/v1/write", post(remote_write::handler))
        .route("/api/v1/import/prometheus", post(text::handler))
        // The front enforces `limits.max_body_bytes` (413); lift axum's own 2 MB default to it.
        .layer(DefaultBodyLimit::max(
            config.limits.max_body_bytes.as_u64() as usize
        ))
        .with_state(state(tsdb, config))
}

/// `GET /api/v1/export` (mount in the read scope).
pub fn read_router(tsdb: Arc<Tsdb>, config: &Config) -> Router {
    Router::new()
        .route("/api/v1/export", get(export::handler))
        .with_state(state(tsdb, config))
}

#[cfg(test)]
mod tests;
