//! Subqueries: the inner expression evaluated on its own step grid, as a range vector.

use super::{present, Evaluator, MatrixVal, RangeData, Val};
use crate::error::QueryError;
use pharos_model::{Labels, Sample};
use promql_parser::parser::SubqueryExpr;

pub(crate) fn eval(ev: &Evaluator, sq: &SubqueryExpr, ts: &[i64]) -> Result<MatrixVal, QueryError> {
    let range = super::millis(sq.range);
    let step = match sq.step {
        Some(s) if super::millis(s) > 0 => super::millis(s),
        _ => ev.settings.subquery_step_ms,
    };
    let ends = ev.effective_times(ts, &sq.at, &sq.offset);
    let (Some(&lo), Some(&hi)) = (ends.iter().min(), ends.iter().max()) else {
        return Ok(MatrixVal {
            series: Vec::new(),
            range,
            ends,
        });
    };
    // First step-aligned time at or after the earliest window start (Go's truncating division).
    let from = lo.saturating_sub(range);
    let mut start = step * (from / step);
    if start < from {
        start += step;
    }
    let n = if hi < start {
        0
    } else {
        (hi.saturating_sub(start) / step).saturating_add(1) as usize
    };
    let inner_ts: Vec<i64> = (0..n).map(|i| start + i as i64 * step).collect();
    ev.check_output(n)?;
    let series = if inner_ts.is_empty() {
        Vec::new()
    } else {
        match ev.eval(&sq.expr, &inner_ts)? {
            Val::Scalar(vals) => vec![RangeData {
                labels: Labels::default(),
                points: to_points(&inner_ts, &vals),
                drop_name: false,
            }],
            Val::Vector(vs) => vs
                .into_iter()
                .map(|s| RangeData {
                    points: to_points(&inner_ts, &s.vals),
                    labels: s.labels,
                    drop_name: s.drop_name,
                })
                .filter(|r| !r.points.is_empty())
                .collect(),
            other => {
                return Err(QueryError::bad_data(format!(
                    "subquery is only allowed on instant vector, got {} instead",
                    other.type_name()
                )))
            }
        }
    };
    Ok(MatrixVal {
        series,
        range,
        ends,
    })
}

fn to_points(ts: &[i64], vals: &[f64]) -> Vec<Sample> {
    ts.iter()
        .zip(vals)
        .filter(|(_, v)| present(**v))
        .map(|(&t, &v)| Sample { t, v })
        .collect()
}
