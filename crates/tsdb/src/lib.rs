//! The metrics TSDB.
//!
//! In: series (label sets) with samples, exemplars and metadata from metrics ingest.
//! Out: [`pharos_model::SeriesSource`] reads for the PromQL engine and the Prometheus API;
//! stats (series, samples, disk by partition) for self-metrics and the operator CLI.
