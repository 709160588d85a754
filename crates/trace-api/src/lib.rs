//! Trace query APIs.
//!
//! In: Jaeger UI / Grafana Jaeger and Tempo data source requests.
//! Out: Jaeger JSON, OTLP JSON (Jaeger v3) and Tempo JSON/protobuf answers from
//! [`pharos_tracestore`].
