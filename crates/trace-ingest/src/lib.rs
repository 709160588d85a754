//! Trace ingest.
//!
//! In: `POST /v1/traces` bodies: OTLP `ExportTraceServiceRequest` as protobuf or JSON,
//! optionally gzip- or deflate-compressed (bounded by `limits.max_decompressed_bytes`).
//! Out: spans handed to [`pharos_tracestore`]; an `ExportTraceServiceResponse` in the
//! request's content type with `partial_success` for what was rejected; `google.rpc.Status`
//! with 400 (undecodable), 413 (too large), 415 (content type or encoding), 503 with
//! `Retry-After` (store queue full or failing).

mod decode;
mod json;
mod metrics;
mod response;

pub use decode::{decode, decompress, DecodeError, Encoding, Format};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use pharos_config::Config;
use pharos_tracestore::{StoreError, TraceStore};
use std::sync::Arc;

struct Ingest {
    store: Arc<TraceStore>,
    max_decompressed: usize,
}

/// `POST /v1/traces` on `store`, for the ingest scope.
pub fn ingest_router(store: Arc<TraceStore>, config: &Config) -> Router {
    let state = Arc::new(Ingest {
        store,
        max_decompressed: config.limits.max_decompressed_bytes.as_u64() as usize,
    });
    Router::new()
        .route("/v1/traces", post(export))
        .layer(DefaultBodyLimit::max(
            config.limits.max_body_bytes.as_u64() as usize
        ))
        .with_state(state)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn count(format: Option<Format>, resp: Response) -> Response {
    let f = format.map(Format::as_str).unwrap_or("unknown");
    metrics::REQUESTS
        .with_label_values(&[f, resp.status().as_str()])
        .inc();
    resp
}

async fn export(State(state): State<Arc<Ingest>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(format) = Format::from_content_type(header_str(&headers, header::CONTENT_TYPE)) else {
        let msg = "unsupported Content-Type: use application/x-protobuf or application/json";
        return count(
            None,
            response::failure(None, StatusCode::UNSUPPORTED_MEDIA_TYPE, msg),
        );
    };
    let Some(encoding) = Encoding::from_header(header_str(&headers, header::CONTENT_ENCODING))
    else {
        let msg = "unsupported Content-Encoding: use gzip, deflate or none";
        return count(
            Some(format),
            response::failure(Some(format), StatusCode::UNSUPPORTED_MEDIA_TYPE, msg),
        );
    };
    let limit = state.max_decompressed;
    let decoded = tokio::task::spawn_blocking(move || {
        let raw = decompress(&body, encoding, limit)?;
        decode(&raw, format)
    })
    .await;
    let request = match decoded {
        Ok(Ok(r)) => r,
        Ok(Err(DecodeError::TooLarge { limit })) => {
            let msg = format!("request body is larger than {limit} bytes after decompression");
            return count(
                Some(format),
                response::failure(Some(format), StatusCode::PAYLOAD_TOO_LARGE, &msg),
            );
        }
        Ok(Err(DecodeError::Invalid(msg))) => {
            return count(
                Some(format),
                response::failure(Some(format), StatusCode::BAD_REQUEST, &msg),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "trace decoding task failed");
            return count(
                Some(format),
                response::failure(
                    Some(format),
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "decoding failed",
                ),
            );
        }
    };
    let spans: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    metrics::SPANS_RECEIVED.inc_by(spans as u64);
    if spans == 0 {
        return count(Some(format), response::success(format, 0, ""));
    }
    match state.store.write(request.resource_spans).await {
        Ok(outcome) => {
            metrics::SPANS_STORED.inc_by(outcome.accepted);
            for (reason, n) in &outcome.rejected {
                metrics::SPANS_REJECTED
                    .with_label_values(&[reason.as_str()])
                    .inc_by(*n);
            }
            count(
                Some(format),
                response::success(
                    format,
                    outcome.rejected_total(),
                    &outcome.rejection_message(),
                ),
            )
        }
        Err(e) => {
            let reason = if matches!(e, StoreError::Overloaded) {
                "overloaded"
            } else {
                "store_error"
            };
            metrics::SPANS_REJECTED
                .with_label_values(&[reason])
                .inc_by(spans as u64);
            if !matches!(e, StoreError::Overloaded) {
                tracing::error!(error = %e, "storing spans failed");
            }
            let msg = format!("spans not stored, retry later: {e}");
            count(
                Some(format),
                response::failure(Some(format), StatusCode::SERVICE_UNAVAILABLE, &msg),
            )
        }
    }
}
