//! The metric data model shared by the stages of Pharos's metrics path.
//!
//! In: nothing (this crate has no I/O).
//! Out: the types that cross stage boundaries — [`Labels`], [`Sample`], [`Matcher`],
//! [`SeriesData`], [`Exemplar`], [`MetricMetadata`] — and the [`SeriesSource`] trait,
//! which the TSDB implements and the PromQL engine and the Prometheus API consume.
//! [`MemSource`] is a small in-memory `SeriesSource` for tests and conformance runs.

mod labels;
mod matcher;
mod mem;
mod shared_str;
mod source;

pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};
pub use matcher::{all_match, MatchOp, Matcher, MatcherError};
pub use mem::MemSource;
pub use shared_str::SharedStr;
pub use source::{
    Exemplar, ExemplarSeries, HeadStats, MappedSeries, MetricMetadata, Sample, SeriesData,
    SeriesMapper, SeriesSource, SourceError,
};

/// The bit pattern Prometheus uses for a staleness marker (a special NaN).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// A staleness marker value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True if `v` is exactly the staleness marker (not any other NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}
