//! The stores a server (or the CLI, with the server stopped) has open.

use crate::datadir;
use anyhow::Context;
use pharos_config::Config;
use pharos_tracestore::TraceStore;
use pharos_tsdb::Tsdb;
use std::sync::Arc;

/// Every store, opened from the data directory.
pub struct Stores {
    pub tsdb: Arc<Tsdb>,
    pub traces: Arc<TraceStore>,
}

impl Stores {
    /// Opens (or creates) every store under `server.data`. WAL replay happens here.
    pub fn open(config: &Config) -> anyhow::Result<Stores> {
        let data = &config.server.data;
        let tsdb =
            Tsdb::open(&datadir::metrics_dir(data), config).context("opening the metrics store")?;
        let traces = TraceStore::open(&datadir::traces_dir(data), config)
            .context("opening the trace store")?;
        Ok(Stores { tsdb, traces })
    }

    /// Flushes and closes every store; each gets its turn even if another fails.
    pub fn close(&self) {
        if let Err(e) = self.tsdb.close() {
            tracing::error!(error = %e, "closing the metrics store");
        }
        if let Err(e) = self.traces.close() {
            tracing::error!(error = %e, "closing the trace store");
        }
    }
}
