//! Function calls: dispatch, and the functions over instant vectors and scalars.

use super::{absent, histogram, present, range_fns, selector, Evaluator, Series, Val};
use crate::error::QueryError;
use crate::labels::is_valid_label_name;
use chrono::{Datelike, Timelike};
use pharos_model::{Labels, METRIC_NAME};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Call, Expr};
use regex::Regex;
use std::collections::HashSet;

/// Strips parentheses around an argument.
pub(crate) fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

pub(crate) fn eval_call(ev: &Evaluator, c: &Call, ts: &[i64]) -> Result<Val, QueryError> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
    if range_fns::is_range_function(name) {
        return range_fns::eval(ev, name, &args, ts);
    }
    let arg = |i: usize| -> Result<&Expr, QueryError> {
        args.get(i)
            .copied()
            .ok_or_else(|| QueryError::bad_data(format!("missing argument {i} of {name}()")))
    };
    let v = match name {
        "time" => Val::Scalar(ts.iter().map(|&t| t as f64 / 1000.0).collect()),
        "pi" => Val::Scalar(vec![std::f64::consts::PI; ts.len()]),
        "start" => Val::Scalar(vec![ev.query_start as f64 / 1000.0; ts.len()]),
        "end" => Val::Scalar(vec![ev.query_end as f64 / 1000.0; ts.len()]),
        "step" => Val::Scalar(vec![ev.query_step as f64 / 1000.0; ts.len()]),
        "range" => Val::Scalar(vec![
            (ev.query_end - ev.query_start) as f64 / 1000.0;
            ts.len()
        ]),
        "vector" => Val::Vector(vec![Series {
            labels: Labels::default(),
            vals: ev.eval_scalar(arg(0)?, ts)?,
            drop_name: false,
        }]),
        "scalar" => {
            let input = ev.eval_vector(arg(0)?, ts)?;
            Val::Scalar(
                (0..ts.len())
                    .map(|i| {
                        let mut it = input.iter().map(|s| s.vals[i]).filter(|v| present(*v));
                        match (it.next(), it.next()) {
                            (Some(v), None) => v,
                            _ => f64::NAN,
                        }
                    })
                    .collect(),
            )
        }
        "timestamp" => {
            let mut input = match unwrap_parens(arg(0)?) {
                Expr::VectorSelector(vs) => selector::instant(ev, vs, ts, true)?,
                other => {
                    let mut v = ev.eval_vector(other, ts)?;
                    for s in &mut v {
                        for (x, &t) in s.vals.iter_mut().zip(ts) {
                            if present(*x) {
                                *x = t as f64 / 1000.0;
                            }
                        }
                    }
                    v
                }
            };
            input.iter_mut().for_each(|s| ev.drop_name(s));
            Val::Vector(ev.dedup(input)?)
        }
        "absent" => {
            let input = ev.eval_vector(arg(0)?, ts)?;
            let vals = (0..ts.len())
                .map(|i| {
                    if input.iter().any(|s| present(s.vals[i])) {
                        absent()
                    } else {
                        1.0
                    }
                })
                .collect();
            let s = Series {
                labels: absent_labels(arg(0)?),
                vals,
                drop_name: false,
            };
            Val::Vector(if s.is_empty() { Vec::new() } else { vec![s] })
        }
        "label_replace" => label_replace(ev, &args, ts)?,
        "label_join" => label_join(ev, &args, ts)?,
        "sort" | "sort_desc" => {
            let mut input = ev.eval_vector(arg(0)?, ts)?;
            if ts.len() == 1 {
                sort_by_value(&mut input, name == "sort_desc");
            }
            Val::Vector(input)
        }
        "sort_by_label" | "sort_by_label_desc" => {
            let mut input = ev.eval_vector(arg(0)?, ts)?;
            let mut names = Vec::new();
            for a in &args[1..] {
                names.push(ev.eval_string(a, ts)?);
            }
            if ts.len() == 1 {
                input.sort_by(|a, b| {
                    let mut ord = std::cmp::Ordering::Equal;
                    for n in &names {
                        let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
                        ord = natural_cmp(x, y);
                        if ord.is_ne() {
                            break;
                        }
                    }
                    if ord.is_eq() {
                        ord = a.labels.cmp(&b.labels);
                    }
                    if name == "sort_by_label_desc" {
                        ord.reverse()
                    } else {
                        ord
                    }
                });
            }
            Val::Vector(input)
        }
        "histogram_quantile" => {
            let q = ev.eval_scalar(arg(0)?, ts)?;
            let input = ev.eval_vector(arg(1)?, ts)?;
            Val::Vector(histogram::quantile(ev, &q, input)?)
        }
        // These read native histograms only; float series are ignored, as in Prometheus.
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" | "histogram_fraction" => {
            for a in &args {
                ev.eval(a, ts)?;
            }
            Val::Vector(Vec::new())
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let input = ev.eval_vector(arg(0)?, ts)?;
            let (lo, hi) = match name {
                "clamp" => (ev.eval_scalar(arg(1)?, ts)?, ev.eval_scalar(arg(2)?, ts)?),
                "clamp_min" => (ev.eval_scalar(arg(1)?, ts)?, vec![f64::INFINITY; ts.len()]),
                _ => (
                    vec![f64::NEG_INFINITY; ts.len()],
                    ev.eval_scalar(arg(1)?, ts)?,
                ),
            };
            map_values(ev, input, |v, i| {
                if name == "clamp" && hi[i] < lo[i] {
                    absent()
                } else {
                    go_max(lo[i], go_min(hi[i], v))
                }
            })?
        }
        "round" => {
            let input = ev.eval_vector(arg(0)?, ts)?;
            let to = match args.get(1) {
                Some(a) => ev.eval_scalar(a, ts)?,
                None => vec![1.0; ts.len()],
            };
            map_values(ev, input, |v, i| {
                let inv = 1.0 / to[i];
                (v * inv + 0.5).floor() / inv
            })?
        }
        "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month" | "hour" | "minute"
        | "month" | "year" => {
            let input = match args.first() {
                Some(a) => ev.eval_vector(a, ts)?,
                None => vec![Series {
                    labels: Labels::default(),
                    vals: ts.iter().map(|&t| t as f64 / 1000.0).collect(),
                    drop_name: false,
                }],
            };
            map_values(ev, input, |v, _| date_part(name, v))?
        }
        _ => {
            let f = math_fn(name).ok_or_else(|| {
                QueryError::bad_data(format!("function {name:?} is not supported"))
            })?;
            let input = ev.eval_vector(arg(0)?, ts)?;
            map_values(ev, input, |v, _| f(v))?
        }
    };
    Ok(v)
}

/// Applies `f` to every present value, drops the metric name, checks for duplicates.
fn map_values(
    ev: &Evaluator,
    mut input: Vec<Series>,
    f: impl Fn(f64, usize) -> f64,
) -> Result<Val, QueryError> {
    for s in &mut input {
        for (i, v) in s.vals.iter_mut().enumerate() {
            if present(*v) {
                *v = f(*v, i);
            }
        }
        ev.drop_name(s);
    }
    input.retain(|s| !s.is_empty());
    Ok(Val::Vector(ev.dedup(input)?))
}

fn math_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => |v: f64| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => |v: f64| v * 180.0 / std::f64::consts::PI,
        "rad" => |v: f64| v * std::f64::consts::PI / 180.0,
        _ => return None,
    })
}

/// Go's math.Max: NaN if either is NaN.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn date_part(name: &str, v: f64) -> f64 {
    if !v.is_finite() {
        return f64::NAN;
    }
    let Some(t) = chrono::DateTime::from_timestamp(v as i64, 0) else {
        return f64::NAN;
    };
    (match name {
        "day_of_month" => t.day(),
        "day_of_week" => t.weekday().num_days_from_sunday(),
        "day_of_year" => t.ordinal(),
        "days_in_month" => days_in_month(t.year(), t.month()),
        "hour" => t.hour(),
        "minute" => t.minute(),
        "month" => t.month(),
        _ => return t.year() as f64,
    }) as f64
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Labels of `absent()`'s output: the equality matchers of a selector argument.
pub(crate) fn absent_labels(arg: &Expr) -> Labels {
    let vs = match unwrap_parens(arg) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::default(),
    };
    let mut b = Labels::default().to_builder();
    let mut has = HashSet::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if matches!(m.op, PMatchOp::Equal) && !has.contains(&m.name) {
            b.set(m.name.clone(), m.value.clone());
            has.insert(m.name.clone());
        } else {
            b.del(&m.name);
        }
    }
    b.build()
}

fn sort_by_value(input: &mut [Series], desc: bool) {
    input.sort_by(|a, b| {
        let (x, y) = (a.vals[0], b.vals[0]);
        match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if desc => y.partial_cmp(&x).unwrap(),
            _ => x.partial_cmp(&y).unwrap(),
        }
    });
}

/// Natural ordering: runs of digits compare by numeric value.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, dy) = (trim_zeros(&x[..nx]), trim_zeros(&y[..ny]));
                let ord = dx.len().cmp(&dy.len()).then_with(|| dx.cmp(dy));
                if ord.is_ne() {
                    return ord;
                }
                x = &x[nx..];
                y = &y[ny..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|c| **c == b'0').count();
    &d[n.min(d.len().saturating_sub(1))..]
}

fn label_replace(ev: &Evaluator, args: &[&Expr], ts: &[i64]) -> Result<Val, QueryError> {
    if args.len() != 5 {
        return Err(QueryError::bad_data("label_replace() needs 5 arguments"));
    }
    let input = ev.eval_vector(args[0], ts)?;
    let dst = ev.eval_string(args[1], ts)?;
    let repl = ev.eval_string(args[2], ts)?;
    let src = ev.eval_string(args[3], ts)?;
    let re_text = ev.eval_string(args[4], ts)?;
    let re = Regex::new(&format!("^(?:{re_text})$")).map_err(|e| {
        QueryError::execution(format!(
            "invalid regular expression in label_replace(): {re_text}: {e}"
        ))
    })?;
    if !is_valid_label_name(&dst) {
        return Err(QueryError::execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(input.len());
    for mut s in input {
        let value = s.labels.get(&src).unwrap_or("");
        if let Some(caps) = re.captures(value) {
            let mut res = String::new();
            caps.expand(&repl, &mut res);
            set_label(&mut s, &dst, res);
        }
        out.push(s);
    }
    Ok(Val::Vector(ev.dedup(out)?))
}

/// Sets (or, for an empty value, removes) a label; setting the metric name keeps it.
fn set_label(s: &mut Series, name: &str, value: String) {
    let mut b = s.labels.to_builder();
    if value.is_empty() {
        b.del(name);
    } else {
        b.set(name, value);
    }
    s.labels = b.build();
    if name == METRIC_NAME {
        s.drop_name = false;
    }
}

fn label_join(ev: &Evaluator, args: &[&Expr], ts: &[i64]) -> Result<Val, QueryError> {
    if args.len() < 3 {
        return Err(QueryError::bad_data(
            "label_join() needs at least 3 arguments",
        ));
    }
    let input = ev.eval_vector(args[0], ts)?;
    let dst = ev.eval_string(args[1], ts)?;
    let sep = ev.eval_string(args[2], ts)?;
    let mut srcs = Vec::new();
    for a in &args[3..] {
        let s = ev.eval_string(a, ts)?;
        if !is_valid_label_name(&s) {
            return Err(QueryError::execution(format!(
                "invalid source label name in label_join(): {s}"
            )));
        }
        srcs.push(s);
    }
    if !is_valid_label_name(&dst) {
        return Err(QueryError::execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(input.len());
    for mut s in input {
        let joined = srcs
            .iter()
            .map(|n| s.labels.get(n).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(&sep);
        set_label(&mut s, &dst, joined);
        out.push(s);
    }
    Ok(Val::Vector(ev.dedup(out)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::is_absent;

    #[test]
    fn natural_order() {
        assert!(natural_cmp("a2", "a10").is_lt());
        assert!(natural_cmp("a10", "a10").is_eq());
        assert!(natural_cmp("b", "a10").is_gt());
    }

    #[test]
    fn absent_marker_untouched_by_math() {
        assert!(is_absent(absent()));
        assert!(!is_absent(f64::NAN));
    }
}
