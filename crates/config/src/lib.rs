//! Pharos configuration.
//!
//! In: an optional TOML file (`--config`), environment variables and command-line flags
//! (applied by the binary as [`Override`]s, in that order of increasing precedence).
//! Out: one validated [`Config`] that every stage reads its section from, and a record of
//! where each value came from ([`Source`]) for `pharos check-config`.
//!
//! Every section lives in its own module; durations are written like `30d`, `10m`, `2m30s`
//! and sizes like `768MiB`.

mod auth;
mod limits;
mod load;
mod memory;
mod metrics;
mod query;
mod retention;
mod server;
mod traces;
mod ui;

pub use auth::{AuthConfig, Scope};
pub use limits::LimitsConfig;
pub use load::{ConfigError, Loaded, Override, Source};
pub use memory::MemoryConfig;
pub use metrics::MetricsConfig;
pub use query::QueryConfig;
pub use retention::RetentionConfig;
pub use server::{LogFormat, ServerConfig};
pub use traces::TracesConfig;
pub use ui::UiConfig;

use serde::{Deserialize, Serialize};

/// The whole configuration. Unknown keys are errors, so typos are caught.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub memory: MemoryConfig,
    pub retention: RetentionConfig,
    pub metrics: MetricsConfig,
    pub query: QueryConfig,
    pub traces: TracesConfig,
    pub ui: UiConfig,
}
