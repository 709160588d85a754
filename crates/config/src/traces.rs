//! `[traces]`: the trace store and its indexes.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracesConfig {
    /// Span and resource attribute keys that get a secondary index.
    pub indexed_attributes: Vec<String>,
}

impl Default for TracesConfig {
    fn default() -> Self {
        TracesConfig {
            indexed_attributes: [
                "http.request.method",
                "http.response.status_code",
                "http.route",
                "http.method",
                "http.status_code",
                "db.system",
                "error",
                "k8s.namespace.name",
                "deployment.environment",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}
