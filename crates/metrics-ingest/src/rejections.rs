//! Collects what one request had refused, for the 400 message and the counters.

use crate::error::IngestError;
use crate::self_metrics::metrics;
use pharos_tsdb::AppendOutcome;
use std::collections::BTreeMap;

/// Refused rows by reason: (count, first message).
#[derive(Default, Debug)]
pub struct Rejected(BTreeMap<String, (u64, String)>);

impl Rejected {
    pub fn add(&mut self, reason: &str, rows: u64, message: String) {
        let e = self.0.entry(reason.to_owned()).or_insert((0, message));
        e.0 += rows;
    }

    pub fn merge_outcome(&mut self, outcome: &AppendOutcome) {
        for r in &outcome.rejected {
            let e = self
                .0
                .entry(r.reason.as_str().to_owned())
                .or_insert((0, r.example.clone()));
            e.0 += r.samples;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Counts the rejections and turns them into a 400 naming each reason.
    pub fn into_error(self, endpoint: &str) -> IngestError {
        let mut parts = Vec::new();
        for (reason, (rows, example)) in &self.0 {
            metrics()
                .rows_rejected
                .with_label_values(&[endpoint, reason])
                .inc_by(*rows);
            parts.push(format!("{rows} rejected ({reason}), e.g. {example}"));
        }
        IngestError::BadRequest(format!(
            "some data was not stored; the rest was: {}",
            parts.join("; ")
        ))
    }
}
