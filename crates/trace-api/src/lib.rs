//! Trace query APIs.
//!
//! In: Jaeger UI / Grafana Jaeger and Tempo data source requests.
//! Out: Jaeger JSON, OTLP JSON (Jaeger v3) and Tempo JSON/protobuf answers from
//! [`pharos_tracestore`].
//!
//! Routes (read scope): Jaeger `/api/services`, `/api/services/{service}/operations`,
//! `/api/operations`, `/api/traces`, `/api/traces/{id}`, `/api/dependencies`,
//! `/api/transform` (OTLP JSON → Jaeger JSON), `/api/archive/{id}` and `/api/metrics/*`
//! (501: no archive or span-metrics storage);
//! Jaeger v3 `/api/v3/{services,operations,traces,traces/{id},dependencies}`;
//! Tempo `/api/echo`, `/api/traces/{id}` (shared with Jaeger: protobuf by `Accept`),
//! `/api/v2/traces/{id}`, `/api/search`, `/api/search/tags`, `/api/v2/search/tags`,
//! `/api/search/tag/{tag}/values`, `/api/v2/search/tag/{tag}/values`, `/api/status/buildinfo`.

mod common;
mod jaeger;
mod params;
mod tempo;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use common::{Api, Shared};
use pharos_config::Config;
use pharos_tracestore::TraceStore;
use std::sync::Arc;

/// The read-scope routes of the Jaeger and Tempo APIs over `store`.
pub fn read_router(store: Arc<TraceStore>, config: &Config) -> Router {
    let api: Shared = Arc::new(Api {
        store,
        retention_ns: config.retention.traces.as_nanos() as u64,
    });
    Router::new()
        .route("/api/services", get(jaeger::v1::services))
        .route(
            "/api/services/{service}/operations",
            get(jaeger::v1::service_operations),
        )
        .route("/api/operations", get(jaeger::v1::operations))
        .route("/api/traces", get(jaeger::v1::search))
        .route("/api/traces/{id}", get(trace_by_id))
        .route("/api/dependencies", get(jaeger::v1::dependencies))
        .route(
            "/api/archive/{id}",
            axum::routing::post(jaeger::v1::archive),
        )
        .route("/api/transform", axum::routing::post(jaeger::v1::transform))
        .route("/api/metrics/{kind}", get(jaeger::v1::metrics_disabled))
        .route("/api/v3/services", get(jaeger::v3::services))
        .route("/api/v3/operations", get(jaeger::v3::operations))
        .route("/api/v3/traces", get(jaeger::v3::search))
        .route("/api/v3/traces/{id}", get(jaeger::v3::trace))
        .route("/api/v3/dependencies", get(jaeger::v3::dependencies))
        .route("/api/echo", get(tempo::echo))
        .route("/api/status/buildinfo", get(tempo::buildinfo))
        .route("/api/v2/traces/{id}", get(tempo::trace_v2))
        .route("/api/search", get(tempo::search))
        .route("/api/search/tags", get(tempo::tags_v1))
        .route("/api/v2/search/tags", get(tempo::tags_v2))
        .route("/api/search/tag/{tag}/values", get(tempo::tag_values_v1))
        .route("/api/v2/search/tag/{tag}/values", get(tempo::tag_values_v2))
        .with_state(api)
}

/// `/api/traces/{id}` is both Jaeger's trace by id and Tempo's v1 trace by id: Tempo
/// clients ask for protobuf (`Accept: application/protobuf`) and get the Tempo form,
/// everyone else gets Jaeger's JSON (Tempo's JSON form is at `/api/v2/traces/{id}`).
async fn trace_by_id(
    state: State<Shared>,
    id: Path<String>,
    q: RawQuery,
    headers: HeaderMap,
) -> Response {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("protobuf") {
        tempo::trace_v1(state, id, q, headers).await
    } else {
        jaeger::v1::trace(state, id, q).await
    }
}
