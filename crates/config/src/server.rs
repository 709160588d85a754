//! `[server]`: where to listen, where the data lives, logging, shutdown.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Data directory (created if missing).
    pub data: PathBuf,
    pub log_format: LogFormat,
    /// How long in-flight requests may take to drain on SIGTERM/SIGINT.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Timeout for a request that is not a query (queries have `query.timeout`).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How often the server stores its own metrics in its TSDB (`job="pharos"`); `0s` turns
    /// self-monitoring off.
    #[serde(with = "humantime_serde")]
    pub self_scrape_interval: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:9400".into(),
            data: PathBuf::from("./data"),
            log_format: LogFormat::Text,
            shutdown_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            self_scrape_interval: Duration::from_secs(15),
        }
    }
}
