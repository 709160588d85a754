//! OTLP/HTTP answers in the request's content type: `ExportTraceServiceResponse` (with
//! `partial_success` when spans were rejected) and `google.rpc.Status` for failures.

use crate::decode::Format;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;

/// `google.rpc.Status` (code, message; no details).
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

fn with_type(status: StatusCode, format: Format, body: Vec<u8>) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    resp
}

/// 200 with an empty response, or with `partial_success` when `rejected > 0`.
pub fn success(format: Format, rejected: u64, message: &str) -> Response {
    let partial = (rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: rejected as i64,
        error_message: message.to_owned(),
    });
    let body = match format {
        Format::Protobuf => ExportTraceServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        Format::Json => {
            let v = match partial {
                None => serde_json::json!({}),
                Some(p) => {
                    serde_json::json!({"partialSuccess": {"rejectedSpans": p.rejected_spans.to_string(), "errorMessage": p.error_message}})
                }
            };
            v.to_string().into_bytes()
        }
    };
    with_type(StatusCode::OK, format, body)
}

/// gRPC code matching an HTTP status, for `google.rpc.Status.code`.
fn grpc_code(status: StatusCode) -> i32 {
    match status.as_u16() {
        400 => 3,        // INVALID_ARGUMENT
        401 => 16,       // UNAUTHENTICATED
        413 => 8,        // RESOURCE_EXHAUSTED
        415 => 3,        // INVALID_ARGUMENT
        429 | 503 => 14, // UNAVAILABLE
        _ => 13,         // INTERNAL
    }
}

/// A failure answered with `google.rpc.Status`; `Retry-After: 1` for 429/503.
pub fn failure(format: Option<Format>, status: StatusCode, message: &str) -> Response {
    let code = grpc_code(status);
    let mut resp = match format {
        Some(Format::Protobuf) => with_type(
            status,
            Format::Protobuf,
            RpcStatus {
                code,
                message: message.to_owned(),
            }
            .encode_to_vec(),
        ),
        Some(Format::Json) => with_type(
            status,
            Format::Json,
            serde_json::json!({"code": code, "message": message})
                .to_string()
                .into_bytes(),
        ),
        None => (status, format!("{message}\n")).into_response(),
    };
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}
