//! Instant and range vector selectors: one storage read per selector for the whole query,
//! then the lookback (instant) or window (range) logic per series and step.

use super::{canonical, par_map_owned, present, Evaluator, MatrixVal, RangeData, Series};
use crate::error::QueryError;
use pharos_model::{
    is_stale_nan, Labels, MatchOp, Matcher, Sample, SeriesData, SeriesMapper, METRIC_NAME,
};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::label::Matcher as PMatcher;
use promql_parser::parser::{MatrixSelector, VectorSelector};
use std::collections::HashSet;

/// Converts the parser's matchers into the store's, one set per `or` alternative.
pub(crate) fn matcher_sets(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let mut base = Vec::new();
    if let Some(name) = &vs.name {
        base.push(Matcher::equal(METRIC_NAME, name.clone()));
    }
    let convert = |ms: &[PMatcher]| -> Result<Vec<Matcher>, QueryError> {
        let mut out = base.clone();
        for m in ms {
            out.push(convert_matcher(m)?);
        }
        Ok(out)
    };
    if vs.matchers.or_matchers.is_empty() {
        Ok(vec![convert(&vs.matchers.matchers)?])
    } else {
        vs.matchers
            .or_matchers
            .iter()
            .map(|alt| {
                let mut all = vs.matchers.matchers.clone();
                all.extend(alt.iter().cloned());
                convert(&all)
            })
            .collect()
    }
}

fn convert_matcher(m: &PMatcher) -> Result<Matcher, QueryError> {
    let (op, value) = match &m.op {
        PMatchOp::Equal => (MatchOp::Equal, m.value.clone()),
        PMatchOp::NotEqual => (MatchOp::NotEqual, m.value.clone()),
        // The parser has already rewritten Go-only syntax (e.g. a literal `{`); reuse its form.
        PMatchOp::Re(r) => (MatchOp::RegexMatch, unanchor(r.as_str())),
        PMatchOp::NotRe(r) => (MatchOp::RegexNoMatch, unanchor(r.as_str())),
    };
    Matcher::new(op, m.name.clone(), value).map_err(|e| QueryError::bad_data(e.to_string()))
}

fn unanchor(re: &str) -> String {
    re.strip_prefix("^(?:")
        .and_then(|r| r.strip_suffix(")$"))
        .unwrap_or(re)
        .to_string()
}

/// Reads the series a selector matches with samples in `[mint, maxt]`.
pub(crate) fn load(
    ev: &Evaluator,
    vs: &VectorSelector,
    mint: i64,
    maxt: i64,
) -> Result<Vec<SeriesData>, QueryError> {
    ev.check_deadline()?;
    let sets = matcher_sets(vs)?;
    let mut out: Vec<SeriesData> = Vec::new();
    let mut seen: HashSet<Labels> = HashSet::new();
    let several = sets.len() > 1;
    for set in &sets {
        for s in ev.src.select(set, mint, maxt)? {
            if several && !seen.insert(s.labels.clone()) {
                continue;
            }
            ev.account_loaded(s.samples.len())?;
            out.push(s);
        }
    }
    Ok(out)
}

/// Reads the series a selector matches in `[mint, maxt]` and reduces each, as soon as it
/// is read, to `f`'s per-step values ([`SeriesSource::select_map`]): the selection's
/// samples are never all held at once. Sorted by label set.
///
/// [`SeriesSource::select_map`]: pharos_model::SeriesSource::select_map
pub(crate) fn map_series(
    ev: &Evaluator,
    vs: &VectorSelector,
    mint: i64,
    maxt: i64,
    f: &SeriesMapper,
) -> Result<Vec<(Labels, Vec<f64>)>, QueryError> {
    ev.check_deadline()?;
    let sets = matcher_sets(vs)?;
    if let [set] = &sets[..] {
        let mapped = ev.src.select_map(set, mint, maxt, f)?;
        ev.account_loaded(mapped.samples_read)?;
        return Ok(mapped.series);
    }
    // `or` alternatives: the union of their selections, each series once.
    let data = load(ev, vs, mint, maxt)?;
    Ok(par_map_owned(data, |mut sd| {
        f(&sd.labels, &mut sd.samples).map(|v| (sd.labels, v))
    })
    .into_iter()
    .flatten()
    .collect())
}

/// An instant vector selector: per step, the newest sample within the lookback window,
/// unless it is a staleness marker. With `want_ts`, the sample's timestamp (seconds)
/// replaces its value (for `timestamp()`).
pub(crate) fn instant(
    ev: &Evaluator,
    vs: &VectorSelector,
    ts: &[i64],
    want_ts: bool,
) -> Result<Vec<Series>, QueryError> {
    let eff = ev.effective_times(ts, &vs.at, &vs.offset);
    let (Some(&lo), Some(&hi)) = (eff.iter().min(), eff.iter().max()) else {
        return Ok(Vec::new());
    };
    let lookback = ev.settings.lookback_ms;
    let values = |_: &Labels, samples: &mut Vec<Sample>| {
        let vals = lookback_values(samples, &eff, lookback, want_ts);
        vals.iter().any(|v| present(*v)).then_some(vals)
    };
    let rows = map_series(ev, vs, lo.saturating_sub(lookback), hi, &values)?;
    Ok(rows
        .into_iter()
        .map(|(labels, vals)| Series {
            labels,
            vals,
            drop_name: false,
        })
        .collect())
}

/// For each time in `eff` (any order), the value of the newest sample in `[t - lookback, t]`.
pub(crate) fn lookback_values(
    samples: &[Sample],
    eff: &[i64],
    lookback: i64,
    want_ts: bool,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(eff.len());
    let mut hint = 0usize;
    let mut prev_t = i64::MIN;
    for &t in eff {
        // Steps are usually ascending: continue the scan from the previous position.
        if t < prev_t {
            hint = 0;
        }
        prev_t = t;
        while hint < samples.len() && samples[hint].t <= t {
            hint += 1;
        }
        let v = match hint.checked_sub(1).map(|i| samples[i]) {
            Some(s) if s.t >= t.saturating_sub(lookback) && !is_stale_nan(s.v) => {
                if want_ts {
                    s.t as f64 / 1000.0
                } else {
                    canonical(s.v)
                }
            }
            _ => super::absent(),
        };
        out.push(v);
    }
    out
}

/// A range vector selector: the samples of each series (staleness markers removed), with the
/// window end at every step.
pub(crate) fn matrix(
    ev: &Evaluator,
    ms: &MatrixSelector,
    ts: &[i64],
) -> Result<MatrixVal, QueryError> {
    let MatrixVal { range, ends, .. } = window_shape(ev, ms, ts);
    let (Some(&lo), Some(&hi)) = (ends.iter().min(), ends.iter().max()) else {
        return Ok(MatrixVal {
            series: Vec::new(),
            range,
            ends,
        });
    };
    let data = load(ev, &ms.vs, lo.saturating_sub(range), hi)?;
    let series = data
        .into_iter()
        .map(|sd| {
            let mut points = sd.samples;
            drop_stale(&mut points);
            RangeData {
                labels: sd.labels,
                points,
                drop_name: false,
            }
        })
        .filter(|r| !r.points.is_empty())
        .collect();
    Ok(MatrixVal {
        series,
        range,
        ends,
    })
}

/// A range selector's windows (range, and end per step) without any series.
pub(crate) fn window_shape(ev: &Evaluator, ms: &MatrixSelector, ts: &[i64]) -> MatrixVal {
    MatrixVal {
        series: Vec::new(),
        range: super::millis(ms.range),
        ends: ev.effective_times(ts, &ms.vs.at, &ms.vs.offset),
    }
}

/// Removes staleness markers from a range selector's points and canonicalises stored NaNs.
pub(crate) fn drop_stale(points: &mut Vec<Sample>) {
    // Usually neither occurs: check before rewriting.
    if points.iter().any(|s| s.v.is_nan()) {
        points.retain(|s| !is_stale_nan(s.v));
        points.iter_mut().for_each(|s| s.v = canonical(s.v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::is_absent;
    use pharos_model::stale_nan;

    fn s(t: i64, v: f64) -> Sample {
        Sample { t, v }
    }

    #[test]
    fn lookback_is_closed_and_stale_ends_series() {
        let samples = [s(0, 1.0), s(10_000, 2.0), s(20_000, stale_nan())];
        let v = lookback_values(
            &samples,
            &[0, 5_000, 10_000, 20_000, 310_000, 310_001],
            300_000,
            false,
        );
        assert_eq!(&v[..3], &[1.0, 1.0, 2.0]);
        assert!(is_absent(v[3]));
        assert!(is_absent(v[4]), "newest sample is the stale marker");
        let v = lookback_values(&samples[..2], &[310_000, 310_001], 300_000, false);
        assert_eq!(v[0], 2.0);
        assert!(is_absent(v[1]));
    }
}
