//! The read interface of the metrics store, as the query engine sees it.

use crate::{Labels, Matcher};
use serde::{Deserialize, Serialize};

/// One sample: a millisecond timestamp and a float value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

/// A series with its samples in the requested range, sorted by time, no duplicate timestamps.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesData {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// Turns one series' samples (in range, oldest first) into what a query keeps of it, such
/// as a range function's value at every step; `None` drops the series. It runs on the
/// threads that read the series, right after each is read, and may reorder or filter the
/// samples in place.
pub type SeriesMapper<'a> = dyn Fn(&Labels, &mut Vec<Sample>) -> Option<Vec<f64>> + Sync + 'a;

/// What [`SeriesSource::select_map`] returns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MappedSeries {
    /// The mapper's output per kept series, sorted by label set.
    pub series: Vec<(Labels, Vec<f64>)>,
    /// Samples read from storage, for the query's sample limit.
    pub samples_read: usize,
}

/// An exemplar attached to a series (e.g. a trace id on a histogram bucket).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exemplar {
    pub labels: Labels,
    pub value: f64,
    pub t: i64,
}

/// The exemplars of one series.
#[derive(Clone, Debug, PartialEq)]
pub struct ExemplarSeries {
    pub series: Labels,
    pub exemplars: Vec<Exemplar>,
}

/// Metric metadata as remote-write and `/api/v1/metadata` carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricMetadata {
    pub metric: String,
    /// counter, gauge, histogram, gaugehistogram, summary, info, stateset, unknown.
    #[serde(rename = "type")]
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// Head statistics of the store, for `/api/v1/status/tsdb` (`headStats`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadStats {
    pub num_series: u64,
    pub chunk_count: u64,
    /// Oldest and newest sample timestamps (ms) held.
    pub min_time: i64,
    pub max_time: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The query would load more than a configured limit allows.
    #[error("{0}")]
    LimitExceeded(String),
    /// The query was cancelled or ran out of time.
    #[error("query cancelled: {0}")]
    Cancelled(String),
    #[error("storage error: {0}")]
    Storage(String),
}

/// What the PromQL engine and the Prometheus API need from the metrics store.
///
/// Time ranges are inclusive milliseconds `[start, end]`. Implementations must not
/// decode data outside the range where they can avoid it, and must never return samples
/// older than the retention period.
pub trait SeriesSource: Send + Sync {
    /// Series matching all `matchers` that have at least one sample in range, with those samples.
    fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<SeriesData>, SourceError>;

    /// [`SeriesSource::select`], with each series handed to `f` as soon as it is read and
    /// only `f`'s output kept: a query that reduces samples to one value per step never
    /// holds all of a selection's samples at once, and does that work while the samples
    /// are still in the CPU's cache. Stores that read in parallel call `f` in parallel.
    fn select_map(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        f: &SeriesMapper,
    ) -> Result<MappedSeries, SourceError> {
        let data = self.select(matchers, start, end)?;
        let samples_read = data.iter().map(|s| s.samples.len()).sum();
        let series = data
            .into_iter()
            .filter_map(|mut s| f(&s.labels, &mut s.samples).map(|v| (s.labels, v)))
            .collect();
        Ok(MappedSeries {
            series,
            samples_read,
        })
    }

    /// Label sets of matching series with data in range (no samples decoded where avoidable).
    fn series(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<Labels>, SourceError>;

    /// Sorted label names of matching series (all series if `matchers` is empty).
    fn label_names(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<String>, SourceError>;

    /// Sorted values of label `name` over matching series (all series if `matchers` is empty).
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<String>, SourceError>;

    /// True if [`SeriesSource::label_values`] for `name` and `matchers` would be answered
    /// from memory, without disk reads, so that a caller may run it in place instead of
    /// handing it to a blocking thread. A hint: a wrong answer costs latency, not results.
    fn label_values_in_memory(&self, _name: &str, _matchers: &[Matcher]) -> bool {
        false
    }

    /// Exemplars of matching series in range.
    fn exemplars(
        &self,
        _matchers: &[Matcher],
        _start: i64,
        _end: i64,
    ) -> Result<Vec<ExemplarSeries>, SourceError> {
        Ok(Vec::new())
    }

    /// Metadata by metric name (all if `metric` is None), at most `limit` metrics.
    fn metadata(
        &self,
        _metric: Option<&str>,
        _limit: Option<usize>,
    ) -> Result<Vec<MetricMetadata>, SourceError> {
        Ok(Vec::new())
    }

    /// Head statistics for `/api/v1/status/tsdb`; `None` if the store does not keep them
    /// (the API then counts series itself and reports no chunk count or time bounds).
    fn head_stats(&self) -> Option<HeadStats> {
        None
    }
}
