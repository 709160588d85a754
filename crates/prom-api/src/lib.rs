//! The Prometheus HTTP API.
//!
//! In: `/api/v1/*` read requests (GET or form POST) from Grafana, the UI and scripts.
//! Out: Prometheus-identical JSON, computed by [`pharos_promql`] over a
//! [`pharos_model::SeriesSource`] (the TSDB).
