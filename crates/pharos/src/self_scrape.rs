//! Self-monitoring: the server stores its own metrics in its own TSDB, as if Prometheus
//! scraped `/metrics` every `server.self_scrape_interval`, with `job="pharos"` and
//! `instance="<listen address>"`. The shipped Pharos dashboard reads these series.

use pharos_metrics_ingest::text::{append_parsed, parse_text};
use pharos_tsdb::Tsdb;
use prometheus::{Encoder, TextEncoder};
use std::sync::Arc;
use std::time::Duration;

/// Scrapes the process-wide registry once and appends the samples; returns how many.
pub fn scrape_once(tsdb: &Tsdb) -> anyhow::Result<u64> {
    let mut text = Vec::new();
    TextEncoder::new().encode(&prometheus::gather(), &mut text)?;
    let text = String::from_utf8(text)?;
    let extra = [("job".to_owned(), "pharos".to_owned())];
    let parsed = parse_text(&text, pharos_tsdb::now_ms(), &extra);
    let outcome = append_parsed(tsdb, &parsed)?;
    Ok(outcome.samples_accepted)
}

/// Runs until aborted; a failed scrape is logged and the next one tried.
pub async fn run(tsdb: Arc<Tsdb>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let db = tsdb.clone();
        match tokio::task::spawn_blocking(move || scrape_once(&db)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "self-scrape failed"),
            Err(e) => tracing::warn!(error = %e, "self-scrape task failed"),
        }
    }
}
