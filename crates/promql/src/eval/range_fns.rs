//! Functions over range vectors: rates, `*_over_time`, regression, smoothing.

use super::aggregate::quantile;
use super::functions::{absent_labels, unwrap_parens};
use super::kahan::kahan_inc;
use super::{absent, par_map_owned, selector, Evaluator, MatrixVal, RangeData, Series, Val};
use crate::error::QueryError;
use pharos_model::{Labels, Sample, METRIC_NAME};
use promql_parser::parser::{Expr, MatrixSelector};

const RANGE_FUNCTIONS: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "holt_winters",
    "double_exponential_smoothing",
    "changes",
    "resets",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "last_over_time",
    "first_over_time",
    "present_over_time",
    "absent_over_time",
    "quantile_over_time",
    "mad_over_time",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
];

pub(crate) fn is_range_function(name: &str) -> bool {
    RANGE_FUNCTIONS.contains(&name)
}

pub(crate) fn eval(
    ev: &Evaluator,
    name: &str,
    args: &[&Expr],
    ts: &[i64],
) -> Result<Val, QueryError> {
    let matrix_idx = usize::from(name == "quantile_over_time");
    let marg = *args
        .get(matrix_idx)
        .ok_or_else(|| QueryError::bad_data(format!("{name}() needs a range vector argument")))?;
    let mut scalars = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i != matrix_idx {
            scalars.push(ev.eval_scalar(a, ts)?);
        }
    }
    if name == "absent_over_time" {
        let m = ev.eval_matrix(marg, ts)?;
        let vals = (0..ts.len())
            .map(|i| {
                if m.series.iter().any(|s| !m.window(&s.points, i).is_empty()) {
                    absent()
                } else {
                    1.0
                }
            })
            .collect();
        let s = Series {
            labels: absent_labels(unwrap_parens(marg)),
            vals,
            drop_name: false,
        };
        return Ok(Val::Vector(if s.is_empty() { Vec::new() } else { vec![s] }));
    }
    if name == "holt_winters" || name == "double_exponential_smoothing" {
        let (sf, tf) = (scalars[0][0], scalars[1][0]);
        if sf <= 0.0 || sf >= 1.0 {
            return Err(QueryError::execution(format!(
                "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
            )));
        }
        if tf <= 0.0 || tf >= 1.0 {
            return Err(QueryError::execution(format!(
                "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
            )));
        }
    }
    if name == "quantile_over_time" {
        if let Some(q) = scalars[0].iter().find(|q| !(0.0..=1.0).contains(*q)) {
            ev.warn(format!(
                "PromQL warning: quantile value should be between 0 and 1, got {q}"
            ));
        }
    }
    // A selector argument (the usual case) is read series by series, each reduced to its
    // per-step values as soon as it is read; anything else (a subquery) is evaluated first.
    let (windows_of, input) = match unwrap_parens(marg) {
        Expr::MatrixSelector(ms) => (selector::window_shape(ev, ms, ts), Input::Selector(ms)),
        other => {
            let m = ev.eval_matrix(other, ts)?;
            let shape = MatrixVal {
                series: Vec::new(),
                range: m.range,
                ends: m.ends,
            };
            (shape, Input::Evaluated(m.series))
        }
    };
    let per_series = SeriesFn {
        name,
        windows_of: &windows_of,
        ts,
        scalars: &scalars,
    };
    let rows: Vec<Series> = match input {
        Input::Evaluated(series) => par_map_owned(series, |s| Series {
            vals: per_series.values(&s.points),
            labels: s.labels,
            drop_name: s.drop_name,
        }),
        Input::Selector(ms) => {
            let values = |_: &Labels, points: &mut Vec<Sample>| {
                selector::drop_stale(points);
                (!points.is_empty()).then(|| per_series.values(points))
            };
            let (lo, hi) = windows_of.bounds();
            selector::map_series(ev, &ms.vs, lo.saturating_sub(windows_of.range), hi, &values)?
                .into_iter()
                .map(|(labels, vals)| Series {
                    labels,
                    vals,
                    drop_name: false,
                })
                .collect()
        }
    };
    if matches!(name, "rate" | "increase" | "irate") {
        for s in &rows {
            if let Some(n) = s.labels.get(METRIC_NAME) {
                if !["_total", "_sum", "_count", "_bucket"]
                    .iter()
                    .any(|suf| n.ends_with(suf))
                {
                    ev.info(format!(
                        "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {n:?}"
                    ));
                }
            }
        }
    }
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let mut out: Vec<Series> = rows.into_iter().filter(|s| !s.is_empty()).collect();
    if !keep_name {
        out.iter_mut().for_each(|s| ev.drop_name(s));
    }
    Ok(Val::Vector(if keep_name { out } else { ev.dedup(out)? }))
}

/// A range function's argument: a selector, read series by series
/// ([`selector::map_series`]), or an already evaluated range vector (a subquery).
enum Input<'e> {
    Selector(&'e MatrixSelector),
    Evaluated(Vec<RangeData>),
}

/// One range function over one series' points, at every step.
struct SeriesFn<'a> {
    name: &'a str,
    windows_of: &'a MatrixVal,
    ts: &'a [i64],
    scalars: &'a [Vec<f64>],
}

impl SeriesFn<'_> {
    fn values(&self, points: &[Sample]) -> Vec<f64> {
        let (name, windows_of) = (self.name, self.windows_of);
        let counts_resets = matches!(name, "rate" | "increase");
        // rate, increase, delta: called directly (no per-step dispatch on the name).
        let rate_kind = match name {
            "rate" => Some((true, true)),
            "increase" => Some((true, false)),
            "delta" => Some((false, false)),
            _ => None,
        };
        // Resets seen up to each sample, so windows without one skip the reset scan; not
        // built at all for the usual series without any reset.
        let any_reset = counts_resets && points.windows(2).any(|p| p[1].v < p[0].v);
        let resets: Vec<u32> = if any_reset {
            let mut n = 0u32;
            let mut prev = f64::NEG_INFINITY;
            points
                .iter()
                .map(|p| {
                    n += u32::from(p.v < prev);
                    prev = p.v;
                    n
                })
                .collect()
        } else {
            Vec::new()
        };
        windows_of
            .windows(points)
            .into_iter()
            .enumerate()
            .map(|(i, (lo, hi))| {
                let w = &points[lo..hi];
                let has_resets = if counts_resets {
                    any_reset && hi > lo && resets[hi - 1] != resets[lo]
                } else {
                    true
                };
                match rate_kind {
                    Some(_) if w.is_empty() => absent(),
                    Some((is_counter, is_rate)) => {
                        let end = windows_of.ends[i];
                        let start = end.saturating_sub(windows_of.range);
                        // delta never looks for resets.
                        let has_resets = is_counter && has_resets;
                        extrapolated_rate(w, start, end, has_resets, is_counter, is_rate)
                            .unwrap_or_else(absent)
                    }
                    None => apply(name, windows_of, w, i, self.ts[i], self.scalars, has_resets)
                        .unwrap_or_else(absent),
                }
            })
            .collect()
    }
}

/// One function on one window. `None` means no output at this step.
fn apply(
    name: &str,
    m: &MatrixVal,
    w: &[Sample],
    i: usize,
    t: i64,
    scalars: &[Vec<f64>],
    has_resets: bool,
) -> Option<f64> {
    if w.is_empty() {
        return None;
    }
    let end = m.ends[i];
    let start = end.saturating_sub(m.range);
    Some(match name {
        "rate" => extrapolated_rate(w, start, end, has_resets, true, true)?,
        "increase" => extrapolated_rate(w, start, end, has_resets, true, false)?,
        "delta" => extrapolated_rate(w, start, end, false, false, false)?,
        "irate" => instant_value(w, true)?,
        "idelta" => instant_value(w, false)?,
        "deriv" => {
            if w.len() < 2 {
                return None;
            }
            linear_regression(w, w[0].t).0
        }
        "predict_linear" => {
            if w.len() < 2 {
                return None;
            }
            let (slope, intercept) = linear_regression(w, t);
            slope * scalars[0][i] + intercept
        }
        "holt_winters" | "double_exponential_smoothing" => {
            holt_winters(w, scalars[0][i], scalars[1][i])?
        }
        "changes" => w
            .windows(2)
            .filter(|p| p[0].v != p[1].v && !(p[0].v.is_nan() && p[1].v.is_nan()))
            .count() as f64,
        "resets" => w.windows(2).filter(|p| p[1].v < p[0].v).count() as f64,
        "avg_over_time" => avg(w),
        "sum_over_time" => {
            let (mut s, mut c) = (0.0, 0.0);
            for p in w {
                (s, c) = kahan_inc(p.v, s, c);
            }
            if s.is_infinite() {
                s
            } else {
                s + c
            }
        }
        "min_over_time" => w[1..]
            .iter()
            .fold(w[0].v, |m, p| if p.v < m || m.is_nan() { p.v } else { m }),
        "max_over_time" => w[1..]
            .iter()
            .fold(w[0].v, |m, p| if p.v > m || m.is_nan() { p.v } else { m }),
        "count_over_time" => w.len() as f64,
        "stddev_over_time" => variance(w).sqrt(),
        "stdvar_over_time" => variance(w),
        "last_over_time" => w[w.len() - 1].v,
        "first_over_time" => w[0].v,
        "present_over_time" => 1.0,
        "quantile_over_time" => {
            let mut v: Vec<f64> = w.iter().map(|p| p.v).collect();
            quantile(scalars[0][i], &mut v)
        }
        "mad_over_time" => {
            let mut v: Vec<f64> = w.iter().map(|p| p.v).collect();
            let median = quantile(0.5, &mut v);
            let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
            quantile(0.5, &mut dev)
        }
        "ts_of_first_over_time" => w[0].t as f64 / 1000.0,
        "ts_of_last_over_time" => w[w.len() - 1].t as f64 / 1000.0,
        "ts_of_max_over_time" => extreme_ts(w, |a, b| a > b),
        "ts_of_min_over_time" => extreme_ts(w, |a, b| a < b),
        _ => return None,
    })
}

/// Timestamp (seconds) of the last sample holding the extreme value.
fn extreme_ts(w: &[Sample], better: impl Fn(f64, f64) -> bool) -> f64 {
    let mut best = w[0];
    for p in &w[1..] {
        if better(p.v, best.v) || best.v.is_nan() || p.v == best.v {
            best = *p;
        }
    }
    best.t as f64 / 1000.0
}

/// Prometheus 2.x `extrapolatedRate`.
/// `has_resets: false` promises the window holds no counter reset (skips the scan).
fn extrapolated_rate(
    w: &[Sample],
    range_start: i64,
    range_end: i64,
    has_resets: bool,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (first, last) = (w[0], w[w.len() - 1]);
    let mut result = last.v - first.v;
    if is_counter && has_resets {
        let mut prev = 0.0;
        for p in w {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_step = sampled / (w.len() - 1) as f64;
    let threshold = avg_step * 1.1;
    let mut interval = sampled;
    if to_start >= threshold {
        to_start = avg_step / 2.0;
    }
    if is_counter && result > 0.0 && first.v >= 0.0 {
        let to_zero = sampled * (first.v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    interval += to_start;
    if to_end >= threshold {
        to_end = avg_step / 2.0;
    }
    interval += to_end;
    let mut factor = interval / sampled;
    if is_rate {
        factor /= (range_end - range_start) as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` / `idelta`: from the last two samples.
fn instant_value(w: &[Sample], is_rate: bool) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (prev, last) = (w[w.len() - 2], w[w.len() - 1]);
    let mut v = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let dt = last.t - prev.t;
    if dt == 0 {
        return None;
    }
    if is_rate {
        v /= dt as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares slope and intercept, x in seconds relative to `intercept_t`.
fn linear_regression(w: &[Sample], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let init_y = w[0].v;
    let mut const_y = true;
    for (i, p) in w.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(p.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * p.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn holt_winters(w: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, w[0].v);
    let mut b = w[1].v - w[0].v;
    for (i, p) in w.iter().enumerate().skip(1) {
        let x = sf * p.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

fn avg(w: &[Sample]) -> f64 {
    let (mut sum, mut c, mut count) = (w[0].v, 0.0, 1.0);
    let (mut mean, mut incremental) = (0.0, false);
    for p in &w[1..] {
        count += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(p.v, sum, c);
            if !ns.is_infinite() {
                (sum, c) = (ns, nc);
                continue;
            }
            // The sum would overflow: continue with an incremental mean.
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(p.v / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

fn variance(w: &[Sample]) -> f64 {
    let (mut count, mut mean, mut cmean, mut aux, mut caux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in w {
        count += 1.0;
        let delta = p.v - (mean + cmean);
        (mean, cmean) = kahan_inc(delta / count, mean, cmean);
        (aux, caux) = kahan_inc(delta * (p.v - (mean + cmean)), aux, caux);
    }
    (aux + caux) / count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(i64, f64)]) -> Vec<Sample> {
        v.iter().map(|&(t, v)| Sample { t, v }).collect()
    }

    #[test]
    fn rate_extrapolates_like_prometheus() {
        // 0..=100 over 50m at 5m steps, rate over [5m] at 50m: 10 per 300 s.
        let w = pts(&[(2_700_000, 90.0), (3_000_000, 100.0)]);
        let r = extrapolated_rate(&w, 2_700_000, 3_000_000, true, true, true).unwrap();
        assert!((r - 10.0 / 300.0).abs() < 1e-12);
        // Counter reset adds the value before the reset.
        let w = pts(&[(0, 5.0), (10_000, 1.0), (20_000, 3.0)]);
        let inc = extrapolated_rate(&w, 0, 20_000, true, true, false).unwrap();
        assert!((inc - 3.0).abs() < 1e-12);
    }

    #[test]
    fn regression_of_a_line() {
        let w = pts(&[(0, 1.0), (1000, 3.0), (2000, 5.0)]);
        let (slope, icpt) = linear_regression(&w, 0);
        assert!((slope - 2.0).abs() < 1e-12 && (icpt - 1.0).abs() < 1e-12);
    }
}
