//! `[retention]`: how long each store keeps data.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Metrics samples older than this are dropped and never returned.
    #[serde(with = "humantime_serde")]
    pub metrics: Duration,
    /// Spans older than this are dropped and never returned.
    #[serde(with = "humantime_serde")]
    pub traces: Duration,
    /// How often the background task looks for expired partitions.
    #[serde(with = "humantime_serde")]
    pub check_interval: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            metrics: Duration::from_secs(30 * 86_400),
            traces: Duration::from_secs(7 * 86_400),
            check_interval: Duration::from_secs(60),
        }
    }
}
