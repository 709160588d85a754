//! Jaeger query APIs: v1 JSON (Grafana's Jaeger data source, Jaeger UI ≤ 2.20) and v3
//! OTLP JSON (newer Jaeger UI).

pub mod model;
pub mod v1;
pub mod v3;

use crate::common::Shared;
use crate::params::Params;
use pharos_tracestore::{kind_from_name, kind_name};
use serde_json::{json as j, Value};

/// `service`'s operations as `{name, spanKind}` objects, of one span kind if a parameter in
/// `kind_params` names one; the message of a 400 if `service` is missing or the kind
/// unknown. Each API version wraps the answer and the error in its own envelope.
fn operations_of(api: &Shared, p: &Params, kind_params: &[&str]) -> Result<Vec<Value>, String> {
    let service = p
        .get("service")
        .ok_or_else(|| "parameter 'service' is required".to_owned())?;
    let kind = match p.get_any(kind_params) {
        None => None,
        Some(k) => Some(kind_from_name(k).ok_or_else(|| format!("unsupported span kind {k:?}"))?),
    };
    Ok(api
        .store
        .operations(service, kind)
        .into_iter()
        .map(|(name, k)| j!({"name": name, "spanKind": kind_name(k).unwrap_or("")}))
        .collect())
}
