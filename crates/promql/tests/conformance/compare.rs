//! Runs one `eval` statement and compares the result as upstream's `compareResult` does.

use crate::script::{Eval, EvalKind, Expect};
use pharos_model::{is_stale_nan, Labels, MemSource};
use pharos_promql::{Engine, QueryOptions, Value};
use promql_parser::parser::{AtModifier, Expr};
use std::time::{Duration, UNIX_EPOCH};

/// Upstream's `almost.Equal(a, b, 1e-6)` plus the stale-marker rule.
pub fn float_eq(a: f64, b: f64) -> bool {
    const MIN_NORMAL: f64 = 2.2250738585072014e-308;
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let d = (a - b).abs();
    let s = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || s < MIN_NORMAL {
        return d < 1e-6 * MIN_NORMAL;
    }
    d / s.min(f64::MAX) < 1e-6
}

/// Runs the statement, then (for instant evals) upstream's extra checks: the same query
/// as a range query around T, and the `@ T` variants at other evaluation times.
pub fn check(engine: &Engine, src: &MemSource, e: &Eval) -> Result<(), String> {
    let expr = pharos_promql::parse(&e.expr).map_err(|err| format!("parse: {err}"))?;
    check_one(engine, src, e, &expr, e.start)?;
    if e.range.is_some() || e.kind == EvalKind::Fail {
        return Ok(());
    }
    if e.kind != EvalKind::Ordered {
        check_range_mode(engine, src, e, &expr, e.start)
            .map_err(|m| format!("range-mode check: {m}"))?;
    }
    const TIME_FUNCTIONS: &[&str] = &[
        "days_in_month",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "hour",
        "minute",
        "month",
        "year",
        "predict_linear",
        "time",
        "timestamp",
    ];
    if TIME_FUNCTIONS
        .iter()
        .any(|f| e.expr.contains(&format!("{f}(")))
    {
        return Ok(());
    }
    let t = e.start;
    let mut pinned = expr.clone();
    add_at(&mut pinned, t);
    let times: Vec<i64> = if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    };
    for at in times {
        check_one(engine, src, e, &pinned, at)
            .map_err(|m| format!("@ {} variant at {at}ms: {m}", t as f64 / 1000.0))?;
        if e.kind != EvalKind::Ordered {
            check_range_mode(engine, src, e, &pinned, at)
                .map_err(|m| format!("@ variant range-mode at {at}ms: {m}"))?;
        }
    }
    Ok(())
}

/// Adds `@ t` to every selector and subquery that has none, not descending into subqueries
/// that carry one.
fn add_at(e: &mut Expr, t_ms: i64) {
    let at = || {
        let at = if t_ms >= 0 {
            UNIX_EPOCH + Duration::from_millis(t_ms as u64)
        } else {
            UNIX_EPOCH - Duration::from_millis((-t_ms) as u64)
        };
        Some(AtModifier::At(at))
    };
    match e {
        Expr::VectorSelector(vs) if vs.at.is_none() => vs.at = at(),
        Expr::MatrixSelector(ms) if ms.vs.at.is_none() => ms.vs.at = at(),
        Expr::Subquery(sq) if sq.at.is_none() => sq.at = at(),
        Expr::Aggregate(a) => {
            add_at(&mut a.expr, t_ms);
            if let Some(p) = a.param.as_mut() {
                add_at(p, t_ms);
            }
        }
        Expr::Unary(u) => add_at(&mut u.expr, t_ms),
        Expr::Binary(b) => {
            add_at(&mut b.lhs, t_ms);
            add_at(&mut b.rhs, t_ms);
        }
        Expr::Paren(p) => add_at(&mut p.expr, t_ms),
        Expr::Call(c) => c.args.args.iter_mut().for_each(|a| add_at(a, t_ms)),
        _ => {}
    }
}

/// The instant query re-run as a range query from T-1m to T+1m: the points at T must match.
fn check_range_mode(
    engine: &Engine,
    src: &MemSource,
    e: &Eval,
    expr: &Expr,
    t: i64,
) -> Result<(), String> {
    let res = engine
        .range_expr(
            src,
            expr,
            t - 60_000,
            t + 60_000,
            60_000,
            &QueryOptions::default(),
        )
        .map_err(|err| format!("error: {err}"))?;
    let Value::Matrix(series) = &res.value else {
        return Err("range query did not return a matrix".into());
    };
    for w in series.windows(2) {
        if w[0].labels >= w[1].labels {
            return Err("matrix is not sorted by labels".into());
        }
    }
    let at_t: Vec<(Labels, f64)> = series
        .iter()
        .filter_map(|s| {
            s.points
                .iter()
                .find(|p| p.t == t)
                .map(|p| (s.labels.clone(), p.v))
        })
        .collect();
    if let [Expect::Scalar(v)] = e.expects.as_slice() {
        return match at_t.as_slice() {
            [(_, got)] if float_eq(*v, *got) => Ok(()),
            other => Err(format!("expected scalar {v}, got {}", show(other))),
        };
    }
    compare_vector(&at_t, &e.expects, false)
}

fn check_one(
    engine: &Engine,
    src: &MemSource,
    e: &Eval,
    expr: &Expr,
    t: i64,
) -> Result<(), String> {
    let opts = QueryOptions::default();
    let res = match e.range {
        None => engine.instant_expr(src, expr, t, &opts),
        Some((end, step)) => engine.range_expr(src, expr, e.start, end, step, &opts),
    };
    let res = match (res, e.kind) {
        (Err(_), EvalKind::Fail) => return Ok(()),
        (Ok(_), EvalKind::Fail) => return Err("expected an error, got a result".into()),
        (Err(err), _) => return Err(format!("error: {err}")),
        (Ok(r), _) => r,
    };
    match e.kind {
        EvalKind::Warn if res.warnings.is_empty() => {
            return Err("expected a warning, got none".into())
        }
        EvalKind::Plain | EvalKind::Ordered if !res.warnings.is_empty() => {
            return Err(format!("unexpected warnings: {:?}", res.warnings))
        }
        _ => {}
    }
    match (&res.value, e.range) {
        (Value::Scalar(p), None) => match e.expects.as_slice() {
            [Expect::Scalar(v)] if float_eq(*v, p.v) => Ok(()),
            [Expect::Scalar(v)] => Err(format!("scalar: expected {v}, got {}", p.v)),
            _ => Err(format!("got scalar {}, expected a vector", p.v)),
        },
        (Value::Vector(samples), None) => {
            let got: Vec<(Labels, f64)> = samples.iter().map(|s| (s.labels.clone(), s.v)).collect();
            compare_vector(&got, &e.expects, e.kind == EvalKind::Ordered)
        }
        (Value::Matrix(series), None) => {
            // A range-vector result of an instant query: compare all points.
            let got: Vec<(Labels, Vec<(i64, f64)>)> = series
                .iter()
                .map(|s| {
                    (
                        s.labels.clone(),
                        s.points.iter().map(|p| (p.t, p.v)).collect(),
                    )
                })
                .collect();
            compare_matrix_points(&got, &e.expects)
        }
        (Value::Matrix(series), Some((_, step))) => {
            for w in series.windows(2) {
                if w[0].labels >= w[1].labels {
                    return Err("matrix is not sorted by labels".into());
                }
            }
            let got: Vec<(Labels, Vec<(i64, f64)>)> = series
                .iter()
                .map(|s| {
                    (
                        s.labels.clone(),
                        s.points.iter().map(|p| (p.t, p.v)).collect(),
                    )
                })
                .collect();
            let expected: Vec<(Labels, Vec<(i64, f64)>)> = e
                .expects
                .iter()
                .filter_map(|x| match x {
                    Expect::Series(l, vals) => Some((
                        l.clone(),
                        vals.iter()
                            .enumerate()
                            .filter_map(|(k, v)| v.map(|v| (e.start + k as i64 * step, v)))
                            .collect(),
                    )),
                    Expect::Scalar(_) => None,
                })
                .collect();
            compare_series_sets(&got, &expected)
        }
        (v, _) => Err(format!("unexpected result type {}", v.type_name())),
    }
}

fn compare_vector(got: &[(Labels, f64)], expects: &[Expect], ordered: bool) -> Result<(), String> {
    let mut exp: Vec<(Labels, f64)> = Vec::new();
    for x in expects {
        match x {
            Expect::Series(l, v) if v.len() == 1 && v[0].is_some() => {
                exp.push((l.clone(), v[0].unwrap()))
            }
            Expect::Series(l, _) => return Err(format!("bad expectation for {l}")),
            Expect::Scalar(v) => return Err(format!("expected scalar {v}, got a vector")),
        }
    }
    if got.len() != exp.len() {
        return Err(format!(
            "expected {} samples, got {}: {}",
            exp.len(),
            got.len(),
            show(got)
        ));
    }
    for (pos, (l, v)) in got.iter().enumerate() {
        let Some(idx) = exp.iter().position(|(el, _)| el == l) else {
            return Err(format!("unexpected series {l} {v}"));
        };
        if ordered && idx != pos {
            return Err(format!("series {l} at position {pos}, expected at {idx}"));
        }
        if !float_eq(exp[idx].1, *v) {
            return Err(format!("{l}: expected {}, got {v}", exp[idx].1));
        }
    }
    Ok(())
}

fn compare_matrix_points(
    got: &[(Labels, Vec<(i64, f64)>)],
    expects: &[Expect],
) -> Result<(), String> {
    if got.len() != expects.len() {
        return Err(format!(
            "expected {} series, got {}",
            expects.len(),
            got.len()
        ));
    }
    for (l, pts) in got {
        let Some(Expect::Series(_, vals)) = expects
            .iter()
            .find(|x| matches!(x, Expect::Series(el, _) if el == l))
        else {
            return Err(format!("unexpected series {l}"));
        };
        let want: Vec<f64> = vals.iter().flatten().copied().collect();
        if want.len() != pts.len() || !want.iter().zip(pts).all(|(a, b)| float_eq(*a, b.1)) {
            return Err(format!("{l}: expected {want:?}, got {pts:?}"));
        }
    }
    Ok(())
}

fn compare_series_sets(
    got: &[(Labels, Vec<(i64, f64)>)],
    expected: &[(Labels, Vec<(i64, f64)>)],
) -> Result<(), String> {
    if got.len() != expected.len() {
        let names: Vec<String> = got.iter().map(|(l, _)| l.to_string()).collect();
        return Err(format!(
            "expected {} series, got {}: {names:?}",
            expected.len(),
            got.len()
        ));
    }
    for (l, pts) in got {
        let Some((_, want)) = expected.iter().find(|(el, _)| el == l) else {
            return Err(format!("unexpected series {l}"));
        };
        if want.len() != pts.len() {
            return Err(format!(
                "{l}: expected {} points, got {}: {pts:?}",
                want.len(),
                pts.len()
            ));
        }
        for (a, b) in want.iter().zip(pts) {
            if a.0 != b.0 || !float_eq(a.1, b.1) {
                return Err(format!("{l}: expected {want:?}, got {pts:?}"));
            }
        }
    }
    Ok(())
}

fn show(got: &[(Labels, f64)]) -> String {
    got.iter()
        .map(|(l, v)| format!("{l} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
