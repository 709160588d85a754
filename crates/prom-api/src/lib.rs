//! The Prometheus HTTP API.
//!
//! In: `/api/v1/*` read requests (GET or form POST) from Grafana, the UI and scripts.
//! Out: Prometheus-identical JSON (string-encoded sample values, `resultType`, `warnings`,
//! `{"status":"error","errorType":…}` with Prometheus's HTTP codes), computed by
//! [`pharos_promql`] over a [`pharos_model::SeriesSource`] (the TSDB).
//!
//! [`read_router`] returns the routes with their state applied; the front mounts them
//! behind the `read` scope's token check, limits and timeout.

mod cheap;
mod escape;
mod meta;
mod metrics;
mod params;
mod query;
mod response;
mod status;

pub use escape::unescape_label_name;
pub use params::{parse_duration, parse_time};
pub use status::PROMETHEUS_API_VERSION;

use axum::routing::get;
use axum::Router;
use pharos_config::Config;
use pharos_model::SeriesSource;
use pharos_promql::Engine;
use std::sync::Arc;
use std::time::SystemTime;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub source: Arc<dyn SeriesSource>,
    pub engine: Arc<Engine>,
    pub config: Arc<Config>,
    pub started: SystemTime,
    /// Queries cheap enough to evaluate on the request's thread.
    pub cheap: Arc<cheap::CheapQueries>,
}

/// The Prometheus query API over `source`, configured by `config.query`.
pub fn read_router(source: Arc<dyn SeriesSource>, config: &Config) -> Router {
    let state = ApiState {
        source,
        engine: Arc::new(Engine::new(&config.query)),
        config: Arc::new(config.clone()),
        started: SystemTime::now(),
        cheap: Arc::new(cheap::CheapQueries::new(config.query.inline_below)),
    };
    Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route("/api/v1/series", get(meta::series).post(meta::series))
        .route(
            "/api/v1/labels",
            get(meta::label_names).post(meta::label_names),
        )
        .route("/api/v1/label/{name}/values", get(meta::label_values))
        .route("/api/v1/metadata", get(meta::metadata))
        .route(
            "/api/v1/query_exemplars",
            get(meta::exemplars).post(meta::exemplars),
        )
        .route(
            "/api/v1/format_query",
            get(meta::format_query).post(meta::format_query),
        )
        .route(
            "/api/v1/parse_query",
            get(meta::parse_query).post(meta::parse_query),
        )
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/rules", get(status::rules))
        .route("/api/v1/alerts", get(status::alerts))
        .route("/api/v1/targets", get(status::targets))
        .with_state(state)
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
