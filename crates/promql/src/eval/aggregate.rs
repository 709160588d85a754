//! Aggregation operators over instant vectors, with `by`/`without` grouping.

use super::accumulate;
use super::{absent, is_absent, par_map, present, Evaluator, Series, Val};
use crate::error::QueryError;
use pharos_model::{Labels, METRIC_NAME};
use promql_parser::parser::{AggregateExpr, LabelModifier};
use std::collections::HashMap;

pub(crate) fn eval(ev: &Evaluator, a: &AggregateExpr, ts: &[i64]) -> Result<Val, QueryError> {
    let op = a.op.to_string();
    let input = ev.eval_vector(&a.expr, ts)?;
    let (keys, members) = group(&input, &a.modifier);
    let steps = ts.len();
    let series = match op.as_str() {
        "sum" | "avg" | "min" | "max" | "count" | "group" | "stddev" | "stdvar" => {
            let vals = par_map(&members, |m| accumulate::aggregate(&op, &input, m, steps));
            group_series(keys, vals, &members, &input)
        }
        "quantile" => {
            let q = first_step_param(ev, a, ts)?;
            if !(0.0..=1.0).contains(&q[0]) {
                ev.warn(format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    q[0]
                ));
            }
            let vals = par_map(&members, |m| {
                (0..steps)
                    .map(|i| {
                        let mut v: Vec<f64> = m
                            .iter()
                            .map(|&j| input[j].vals[i])
                            .filter(|v| present(*v))
                            .collect();
                        if v.is_empty() {
                            absent()
                        } else {
                            quantile(q[i], &mut v)
                        }
                    })
                    .collect::<Vec<f64>>()
            });
            group_series(keys, vals, &members, &input)
        }
        "topk" | "bottomk" | "limitk" | "limit_ratio" => {
            let p = first_step_param(ev, a, ts)?;
            select_members(ev, &op, input, &members, &p)?
        }
        "count_values" => {
            let label = ev.eval_string(a.param.as_deref().ok_or_else(|| missing(&op))?, ts)?;
            count_values(&label, &input, &keys, &members, steps)?
        }
        other => {
            return Err(QueryError::bad_data(format!(
                "unknown aggregation {other:?}"
            )))
        }
    };
    Ok(Val::Vector(
        series.into_iter().filter(|s| !s.is_empty()).collect(),
    ))
}

/// The parameter of topk, bottomk, quantile, limitk and limit_ratio. Prometheus 2.x
/// evaluates it once, at the first step, and uses that value at every step.
fn first_step_param(ev: &Evaluator, a: &AggregateExpr, ts: &[i64]) -> Result<Vec<f64>, QueryError> {
    let op = a.op.to_string();
    let p = ev.eval_scalar(
        a.param.as_deref().ok_or_else(|| missing(&op))?,
        &ts[..1.min(ts.len())],
    )?;
    Ok(vec![p.first().copied().unwrap_or(f64::NAN); ts.len()])
}

fn missing(op: &str) -> QueryError {
    QueryError::bad_data(format!("{op} needs a parameter"))
}

/// One output series per group, in group order.
fn group_series(
    keys: Vec<Labels>,
    vals: Vec<Vec<f64>>,
    members: &[Vec<usize>],
    input: &[Series],
) -> Vec<Series> {
    keys.into_iter()
        .zip(vals)
        .zip(members)
        .map(|((labels, vals), m)| Series {
            drop_name: group_drops_name(&labels, input, m),
            labels,
            vals,
        })
        .collect()
}

/// A group keyed by a to-be-dropped metric name (delayed name removal) drops it too.
fn group_drops_name(key: &Labels, input: &[Series], members: &[usize]) -> bool {
    key.get(METRIC_NAME).is_some() && members.iter().any(|&j| input[j].drop_name)
}

/// Groups series by their grouping labels, in order of first appearance.
fn group(input: &[Series], modifier: &Option<LabelModifier>) -> (Vec<Labels>, Vec<Vec<usize>>) {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut keys = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (j, s) in input.iter().enumerate() {
        let key = grouping_key(&s.labels, modifier);
        // Most series join an existing group: look up before cloning the key.
        let g = match index.get(&key) {
            Some(&g) => g,
            None => {
                index.insert(key.clone(), keys.len());
                keys.push(key);
                members.push(Vec::new());
                keys.len() - 1
            }
        };
        members[g].push(j);
    }
    (keys, members)
}

pub(crate) fn grouping_key(labels: &Labels, modifier: &Option<LabelModifier>) -> Labels {
    match modifier {
        None => Labels::default(),
        Some(LabelModifier::Include(by)) => {
            label_subset(labels, |n| by.labels.iter().any(|b| b == n))
        }
        Some(LabelModifier::Exclude(without)) => label_subset(labels, |n| {
            n != METRIC_NAME && !without.labels.iter().any(|b| b == n)
        }),
    }
}

/// The labels (with non-empty values) whose names `keep` accepts, cloning only those.
fn label_subset(labels: &Labels, keep: impl Fn(&str) -> bool) -> Labels {
    Labels::from_sorted(
        labels
            .iter()
            .filter(|l| !l.value.is_empty() && keep(&l.name))
            .cloned()
            .collect(),
    )
}

/// Prometheus's `quantile`: linear interpolation between closest ranks, NaNs sorted first.
pub(crate) fn quantile(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    vals.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap(),
    });
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    vals[lower as usize] * (1.0 - weight) + vals[upper as usize] * weight
}

/// topk, bottomk, limitk, limit_ratio: the output keeps the selected input series.
fn select_members(
    ev: &Evaluator,
    op: &str,
    input: Vec<Series>,
    members: &[Vec<usize>],
    p: &[f64],
) -> Result<Vec<Series>, QueryError> {
    let steps = p.len();
    let mut chosen: Vec<Vec<bool>> = vec![vec![false; steps]; input.len()];
    // For instant queries, the output order: per group, in the operator's order.
    let mut order: Vec<usize> = Vec::new();
    if op == "limit_ratio" && p.iter().any(|r| !(-1.0..=1.0).contains(r)) {
        let bad = p
            .iter()
            .find(|r| !(-1.0..=1.0).contains(*r))
            .copied()
            .unwrap_or(f64::NAN);
        ev.warn(format!(
            "PromQL warning: ratio value should be between -1 and 1, got {bad}, capping to {}",
            bad.clamp(-1.0, 1.0)
        ));
    }
    let ratio_offsets: Vec<f64> = if op == "limit_ratio" {
        input
            .iter()
            .map(|s| label_hash(&s.labels) as f64 / u64::MAX as f64)
            .collect()
    } else {
        Vec::new()
    };
    for (i, &param) in p.iter().enumerate() {
        if op != "limit_ratio" && !(-9.223372036854776e18..9.223372036854776e18).contains(&param) {
            return Err(QueryError::execution(format!(
                "Scalar value {param} overflows int64"
            )));
        }
        for m in members {
            let present_members: Vec<usize> = m
                .iter()
                .copied()
                .filter(|&j| present(input[j].vals[i]))
                .collect();
            let picked: Vec<usize> = match op {
                "limit_ratio" => {
                    let r = param.clamp(-1.0, 1.0);
                    present_members
                        .into_iter()
                        .filter(|&j| {
                            let off = ratio_offsets[j];
                            (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r)
                        })
                        .collect()
                }
                _ => {
                    let k = if param.is_nan() { 0 } else { param as i64 };
                    if k < 1 {
                        Vec::new()
                    } else if op == "limitk" {
                        present_members.into_iter().take(k as usize).collect()
                    } else {
                        let mut v = present_members;
                        let top = op == "topk";
                        v.sort_by(|&a, &b| {
                            let (x, y) = (input[a].vals[i], input[b].vals[i]);
                            match (x.is_nan(), y.is_nan()) {
                                (true, true) => std::cmp::Ordering::Equal,
                                (true, false) => std::cmp::Ordering::Greater,
                                (false, true) => std::cmp::Ordering::Less,
                                _ if top => y.partial_cmp(&x).unwrap(),
                                _ => x.partial_cmp(&y).unwrap(),
                            }
                        });
                        v.truncate(k as usize);
                        v
                    }
                }
            };
            for &j in &picked {
                chosen[j][i] = true;
            }
            if steps == 1 {
                order.extend(picked);
            }
        }
    }
    let mut input: Vec<Option<Series>> = input.into_iter().map(Some).collect();
    let mut out = Vec::new();
    let mut take = |j: usize, out: &mut Vec<Series>| {
        if let Some(mut s) = input[j].take() {
            for (v, &c) in s.vals.iter_mut().zip(&chosen[j]) {
                if !c {
                    *v = absent();
                }
            }
            if !s.is_empty() {
                out.push(s);
            }
        }
    };
    if steps == 1 {
        for j in order {
            take(j, &mut out);
        }
    } else {
        for j in 0..chosen.len() {
            take(j, &mut out);
        }
    }
    Ok(out)
}

/// Prometheus's label-set hash (xxhash64 over `name\xffvalue\xff…`), for limit_ratio.
fn label_hash(labels: &Labels) -> u64 {
    let mut b = Vec::with_capacity(256);
    for l in labels.iter() {
        b.extend_from_slice(l.name.as_bytes());
        b.push(0xff);
        b.extend_from_slice(l.value.as_bytes());
        b.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&b, 0)
}

fn count_values(
    label: &str,
    input: &[Series],
    keys: &[Labels],
    members: &[Vec<usize>],
    steps: usize,
) -> Result<Vec<Series>, QueryError> {
    if !crate::labels::is_valid_label_name(label) {
        return Err(QueryError::execution(format!(
            "invalid label name {label:?}"
        )));
    }
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Series> = Vec::new();
    for (key, m) in keys.iter().zip(members) {
        for i in 0..steps {
            for &j in m {
                let v = input[j].vals[i];
                if is_absent(v) {
                    continue;
                }
                let mut b = key.to_builder();
                b.set(label, crate::labels::format_float(v));
                let labels = b.build();
                let o = *index.entry(labels.clone()).or_insert_with(|| {
                    out.push(Series {
                        labels,
                        vals: vec![absent(); steps],
                        drop_name: false,
                    });
                    out.len() - 1
                });
                let cell = &mut out[o].vals[i];
                *cell = if is_absent(*cell) { 1.0 } else { *cell + 1.0 };
            }
        }
    }
    Ok(out)
}
