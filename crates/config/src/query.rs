//! `[query]`: PromQL engine limits, with Prometheus's defaults.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryConfig {
    /// How far back an instant selector looks for a sample.
    #[serde(with = "humantime_serde")]
    pub lookback_delta: Duration,
    /// Longest a query may run.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Most samples one query may load from storage (16 bytes each), and most points any
    /// one step of its evaluation may produce. 20 M keeps a single query under ~320 MiB,
    /// inside the whole server's 768 MiB budget (Prometheus's default is 50 M).
    pub max_samples: usize,
    /// Most points per series in a range query (Prometheus: 11,000).
    pub max_points_per_series: usize,
    /// Most series one query may return.
    pub max_series: usize,
    /// A query whose previous run took less than this is evaluated on the request's own
    /// thread instead of being handed to the query workers (two thread wake-ups saved).
    /// Zero turns this off.
    #[serde(with = "humantime_serde")]
    pub inline_below: Duration,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            lookback_delta: Duration::from_secs(300),
            timeout: Duration::from_secs(120),
            max_samples: 20_000_000,
            max_points_per_series: 11_000,
            max_series: 500_000,
            inline_below: Duration::from_millis(1),
        }
    }
}
