//! `[ui]`: the embedded browser UI.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Folder of Grafana-format dashboard JSON files to provision.
    pub dashboards: PathBuf,
    /// How long a login session lasts.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// How often the senders scrape (Grafana's data-source "scrape interval"): the smallest
    /// step dashboards query, and the base of `$__rate_interval`.
    #[serde(with = "humantime_serde")]
    pub scrape_interval: Duration,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            dashboards: PathBuf::from("dashboards"),
            session_ttl: Duration::from_secs(86_400),
            scrape_interval: Duration::from_secs(15),
        }
    }
}
