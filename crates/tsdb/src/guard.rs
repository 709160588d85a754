//! Guardrails: label validation, limits per series, and the new-series rate limit.

use parking_lot::Mutex;
use pharos_config::MetricsConfig;
use std::time::{Duration, Instant};

/// Why samples (or a whole series) were refused. Each is a `reason` label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    InvalidUtf8,
    InvalidLabels,
    TooManyLabels,
    LabelNameTooLong,
    LabelValueTooLong,
    TooOld,
    TooFarInFuture,
    MaxActiveSeries,
    NewSeriesRateLimit,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::InvalidLabels => "invalid_labels",
            RejectReason::TooManyLabels => "too_many_labels",
            RejectReason::LabelNameTooLong => "label_name_too_long",
            RejectReason::LabelValueTooLong => "label_value_too_long",
            RejectReason::TooOld => "too_old",
            RejectReason::TooFarInFuture => "too_far_in_future",
            RejectReason::MaxActiveSeries => "max_active_series",
            RejectReason::NewSeriesRateLimit => "new_series_rate_limit",
        }
    }
}

/// A legacy Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

pub fn too_many_labels(n: usize, limit: usize) -> String {
    format!("series has {n} labels, more than the limit of {limit}")
}

/// Validates and normalises a label set in place: drops empty values, sorts by name if the
/// sender did not, refuses empty/invalid/duplicate names and the configured limits.
pub fn check_labels(
    pairs: &mut Vec<(&str, &str)>,
    cfg: &MetricsConfig,
) -> Result<(), (RejectReason, String)> {
    if pairs.len() > cfg.max_labels_per_series {
        return Err((
            RejectReason::TooManyLabels,
            too_many_labels(pairs.len(), cfg.max_labels_per_series),
        ));
    }
    pairs.retain(|(_, v)| !v.is_empty());
    if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err((
                RejectReason::InvalidLabels,
                format!("duplicate label name {:?}", w[0].0),
            ));
        }
    }
    if pairs.is_empty() {
        return Err((RejectReason::InvalidLabels, "series has no labels".into()));
    }
    for (n, v) in pairs.iter() {
        if !valid_label_name(n) {
            return Err((
                RejectReason::InvalidLabels,
                format!("invalid label name {n:?}"),
            ));
        }
        if n.len() > cfg.max_label_name_length {
            return Err((
                RejectReason::LabelNameTooLong,
                format!(
                    "label name of {} bytes is longer than the limit of {}",
                    n.len(),
                    cfg.max_label_name_length
                ),
            ));
        }
        if v.len() > cfg.max_label_value_length {
            return Err((
                RejectReason::LabelValueTooLong,
                format!(
                    "value of label {n:?} has {} bytes, more than the limit of {}",
                    v.len(),
                    cfg.max_label_value_length
                ),
            ));
        }
    }
    Ok(())
}

/// At most `limit` new series per rolling minute window.
pub struct RateLimiter {
    limit: usize,
    window: Mutex<(Instant, usize)>,
}

impl RateLimiter {
    pub fn new(limit: usize) -> Self {
        RateLimiter {
            limit,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    pub fn try_take(&self) -> bool {
        let mut w = self.window.lock();
        if w.0.elapsed() >= Duration::from_secs(60) {
            *w = (Instant::now(), 0);
        }
        if w.1 >= self.limit {
            return false;
        }
        w.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_normalised_and_checked() {
        let cfg = MetricsConfig {
            max_labels_per_series: 3,
            max_label_value_length: 5,
            ..Default::default()
        };
        let mut ok = vec![("job", "a"), ("__name__", "up"), ("empty", "")];
        check_labels(&mut ok, &cfg).unwrap();
        assert_eq!(ok, vec![("__name__", "up"), ("job", "a")]);
        let err = |mut v: Vec<(&str, &str)>| check_labels(&mut v, &cfg).unwrap_err().0;
        assert_eq!(
            err(vec![("a", "1"), ("a", "2")]),
            RejectReason::InvalidLabels
        );
        assert_eq!(err(vec![("1a", "1")]), RejectReason::InvalidLabels);
        assert_eq!(err(vec![("", "1")]), RejectReason::InvalidLabels);
        assert_eq!(err(vec![("a", "123456")]), RejectReason::LabelValueTooLong);
        assert_eq!(
            err(vec![("a", "1"), ("b", "1"), ("c", "1"), ("d", "1")]),
            RejectReason::TooManyLabels
        );
        assert_eq!(err(vec![("a", "")]), RejectReason::InvalidLabels);
    }

    #[test]
    fn rate_limiter_caps_the_window() {
        let r = RateLimiter::new(2);
        assert!(r.try_take() && r.try_take());
        assert!(!r.try_take());
    }
}
