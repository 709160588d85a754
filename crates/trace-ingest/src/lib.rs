//! Trace ingest.
//!
//! In: `POST /v1/traces` bodies: OTLP `ExportTraceServiceRequest` as protobuf or JSON,
//! optionally gzip-compressed.
//! Out: spans handed to [`pharos_tracestore`]; an `ExportTraceServiceResponse` with
//! `partial_success` for what was rejected.
