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
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            dashboards: PathBuf::from("dashboards"),
            session_ttl: Duration::from_secs(86_400),
        }
    }
}
