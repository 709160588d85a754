//! Jaeger query APIs: v1 JSON (Grafana's Jaeger data source, Jaeger UI ≤ 2.20) and v3
//! OTLP JSON (newer Jaeger UI).

pub mod model;
pub mod v1;
pub mod v3;
