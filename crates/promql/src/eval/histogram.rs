//! `histogram_quantile` over classic (`le`-bucketed) histograms.

use super::{absent, present, Evaluator, Series};
use crate::error::QueryError;
use pharos_model::{Labels, METRIC_NAME};
use std::collections::HashMap;

/// Counts closer than this (relative) are treated as equal when fixing monotonicity.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Output labels, the delayed name-drop flag, and the (bound, series index) buckets.
type Group = (Labels, bool, Vec<(f64, usize)>);

pub(crate) fn quantile(
    ev: &Evaluator,
    q: &[f64],
    input: Vec<Series>,
) -> Result<Vec<Series>, QueryError> {
    if let Some(bad) = q.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        ev.warn(format!(
            "PromQL warning: quantile value should be between 0 and 1, got {bad}"
        ));
    }
    let steps = q.len();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (j, s) in input.iter().enumerate() {
        let le = s.labels.get("le").and_then(parse_le);
        let Some(le) = le else {
            ev.warn(format!(
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of {:?} for metric name {:?}",
                s.labels.get("le").unwrap_or(""),
                s.labels.get(METRIC_NAME).unwrap_or("")
            ));
            continue;
        };
        let mut b = s.labels.to_builder();
        b.del("le");
        let mut flag = false;
        if ev.settings.delayed_name_removal {
            flag = true;
        } else {
            b.del(METRIC_NAME);
        }
        let key = b.build();
        let g = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, flag, Vec::new()));
            groups.len() - 1
        });
        groups[g].2.push((le, j));
    }
    let mut out = Vec::with_capacity(groups.len());
    for (labels, flag, members) in groups {
        let mut vals = vec![absent(); steps];
        for (i, val) in vals.iter_mut().enumerate() {
            let mut buckets: Vec<(f64, f64)> = members
                .iter()
                .map(|&(le, j)| (le, input[j].vals[i]))
                .filter(|(_, c)| present(*c))
                .collect();
            if buckets.is_empty() {
                continue;
            }
            let (v, forced) = bucket_quantile(q[i], &mut buckets);
            if forced {
                ev.info(format!(
                    "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                    labels.get(METRIC_NAME).unwrap_or("")
                ));
            }
            *val = v;
        }
        let s = Series {
            labels,
            vals,
            drop_name: flag,
        };
        if !s.is_empty() {
            out.push(s);
        }
    }
    Ok(out)
}

fn parse_le(s: &str) -> Option<f64> {
    let t = s.trim();
    t.parse::<f64>()
        .ok()
        .or_else(|| match t.to_ascii_lowercase().as_str() {
            "+inf" | "inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            _ => None,
        })
}

/// Prometheus's `bucketQuantile`; the flag tells whether counts had to be made monotonic.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut [(f64, f64)]) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return (f64::NAN, false);
    }
    // Coalesce buckets with the same bound.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(le, c) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == le => last.1 += c,
            _ => merged.push((le, c)),
        }
    }
    let mut forced = false;
    let mut prev = merged[0].1;
    for b in merged.iter_mut().skip(1) {
        let cur = b.1;
        if cur == prev {
            continue;
        }
        if almost_equal(prev, cur, SMALL_DELTA_TOLERANCE) {
            b.1 = prev;
            continue;
        }
        if cur < prev {
            b.1 = prev;
            forced = true;
            continue;
        }
        prev = cur;
    }
    if merged.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let n = merged.len() - 1;
    let b = merged[..n].partition_point(|x| x.1 < rank);
    if b == n {
        return (merged[n - 1].0, forced);
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return (merged[0].0, forced);
    }
    let (mut start, end, mut count) = (0.0, merged[b].0, merged[b].1);
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    (start + (end - start) * (rank / count), forced)
}

/// Prometheus's `almost.Equal`.
pub(crate) fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = 2.2250738585072014e-308;
    if a == b {
        return true;
    }
    let d = (a - b).abs();
    let s = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || s < MIN_NORMAL {
        return d < epsilon * MIN_NORMAL;
    }
    d / s.min(f64::MAX) < epsilon
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_within_bucket() {
        let mut b = vec![(0.1, 10.0), (0.5, 20.0), (f64::INFINITY, 20.0)];
        let (v, forced) = bucket_quantile(0.5, &mut b);
        assert!(!forced);
        assert!((v - 0.1).abs() < 1e-12);
        let mut b = vec![(1.0, 0.0), (2.0, 10.0), (f64::INFINITY, 10.0)];
        assert!((bucket_quantile(0.5, &mut b).0 - 1.5).abs() < 1e-12);
    }
}
