//! Errors of the ingest and export endpoints, and the HTTP status each one gets.
//!
//! Remote-write senders retry 5xx (and 429) and drop the batch on other 4xx, so anything
//! that can never succeed is a 4xx and only transient trouble is a 5xx.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Malformed input that will never be accepted: 400.
    #[error("{0}")]
    BadRequest(String),
    /// Decompressed body larger than `limits.max_decompressed_bytes`: 413.
    #[error("{0}")]
    TooLarge(String),
    /// Content type or encoding we do not speak (remote-write 2.0 included): 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Temporarily unable to store (head over budget, store closing): 503 + Retry-After.
    #[error("{0}")]
    Unavailable(String),
    /// Storage failure: 500 (senders retry).
    #[error("{0}")]
    Internal(String),
}

impl IngestError {
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<pharos_tsdb::TsdbError> for IngestError {
    fn from(e: pharos_tsdb::TsdbError) -> Self {
        match e {
            pharos_tsdb::TsdbError::Overloaded(_) | pharos_tsdb::TsdbError::Closed => {
                IngestError::Unavailable(e.to_string())
            }
            pharos_tsdb::TsdbError::Io(_) => IngestError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), error = %self, "metrics ingest failed");
        } else {
            tracing::debug!(status = status.as_u16(), error = %self, "metrics ingest refused");
        }
        let mut r = (status, format!("{self}\n")).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        r
    }
}
