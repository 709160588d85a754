//! `[metrics]`: the TSDB and its ingest guardrails.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Samples further than this in the future are rejected with 400.
    #[serde(with = "humantime_serde")]
    pub future_margin: Duration,
    /// Most series that may be active at once; new series beyond are rejected.
    pub max_active_series: usize,
    /// Most new series per minute; new series beyond are rejected.
    pub max_new_series_per_minute: usize,
    pub max_labels_per_series: usize,
    pub max_label_name_length: usize,
    pub max_label_value_length: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            future_margin: Duration::from_secs(600),
            max_active_series: 2_000_000,
            max_new_series_per_minute: 1_000_000,
            max_labels_per_series: 64,
            max_label_name_length: 256,
            max_label_value_length: 4096,
        }
    }
}
