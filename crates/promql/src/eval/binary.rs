//! Binary operators: arithmetic, comparison (with `bool`), and the set operators, with
//! `on`/`ignoring` matching and `group_left`/`group_right` cardinalities.

use super::{absent, is_absent, present, Evaluator, Series, Val};
use crate::error::QueryError;
use pharos_model::{Labels, METRIC_NAME};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "%" => Op::Mod,
            "^" => Op::Pow,
            "atan2" => Op::Atan2,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            "<" => Op::Lt,
            ">=" => Op::Ge,
            "<=" => Op::Le,
            "and" => Op::And,
            "or" => Op::Or,
            "unless" => Op::Unless,
            _ => return None,
        })
    }

    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }

    /// Arithmetic results lose the metric name; comparisons keep it.
    fn drops_name(self) -> bool {
        !self.is_comparison() && !self.is_set()
    }

    /// The value and whether a comparison holds (always true for arithmetic).
    #[inline]
    fn apply(self, l: f64, r: f64) -> (f64, bool) {
        match self {
            Op::Add => (l + r, true),
            Op::Sub => (l - r, true),
            Op::Mul => (l * r, true),
            Op::Div => (l / r, true),
            Op::Mod => (l % r, true),
            Op::Pow => (l.powf(r), true),
            Op::Atan2 => (l.atan2(r), true),
            Op::Eq => (l, l == r),
            Op::Ne => (l, l != r),
            Op::Gt => (l, l > r),
            Op::Lt => (l, l < r),
            Op::Ge => (l, l >= r),
            Op::Le => (l, l <= r),
            Op::And | Op::Or | Op::Unless => (l, true),
        }
    }
}

pub(crate) fn eval(ev: &Evaluator, b: &BinaryExpr, ts: &[i64]) -> Result<Val, QueryError> {
    let op_text = b.op.to_string();
    let op = Op::parse(&op_text)
        .ok_or_else(|| QueryError::bad_data(format!("unknown binary operator {op_text:?}")))?;
    let (l, r) = super::join(|| ev.eval(&b.lhs, ts), || ev.eval(&b.rhs, ts));
    let (l, r) = (l?, r?);
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    match (l, r) {
        (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
            l.iter()
                .zip(&r)
                .map(|(&a, &c)| {
                    let (v, keep) = op.apply(a, c);
                    if op.is_comparison() {
                        if keep {
                            1.0
                        } else {
                            0.0
                        }
                    } else {
                        v
                    }
                })
                .collect(),
        )),
        (Val::Vector(l), Val::Scalar(r)) => {
            vector_scalar(ev, op, l, &r, false, return_bool).map(Val::Vector)
        }
        (Val::Scalar(l), Val::Vector(r)) => {
            vector_scalar(ev, op, r, &l, true, return_bool).map(Val::Vector)
        }
        (Val::Vector(l), Val::Vector(r)) => {
            let card = b
                .modifier
                .as_ref()
                .map(|m| m.card.clone())
                .unwrap_or(VectorMatchCardinality::OneToOne);
            let matching = b.modifier.as_ref().and_then(|m| m.matching.clone());
            if op.is_set() {
                set_op(ev, op, l, r, &matching).map(Val::Vector)
            } else {
                vector_vector(ev, op, l, r, &card, &matching, return_bool).map(Val::Vector)
            }
        }
        (l, r) => Err(QueryError::bad_data(format!(
            "binary expression must contain only scalar and instant vector types, got {} and {}",
            l.type_name(),
            r.type_name()
        ))),
    }
}

fn vector_scalar(
    ev: &Evaluator,
    op: Op,
    mut series: Vec<Series>,
    scalar: &[f64],
    swap: bool,
    return_bool: bool,
) -> Result<Vec<Series>, QueryError> {
    let drop = op.drops_name() || return_bool;
    for s in &mut series {
        for (v, &sc) in s.vals.iter_mut().zip(scalar) {
            if is_absent(*v) {
                continue;
            }
            let (mut out, keep) = if swap {
                op.apply(sc, *v)
            } else {
                op.apply(*v, sc)
            };
            if op.is_comparison() && swap {
                out = *v;
            }
            *v = if return_bool {
                if keep {
                    1.0
                } else {
                    0.0
                }
            } else if keep {
                out
            } else {
                absent()
            };
        }
        if drop {
            ev.drop_name(s);
        }
    }
    series.retain(|s| !s.is_empty());
    if drop {
        ev.dedup(series)
    } else {
        Ok(series)
    }
}

/// The matching signature of a label set: the `on` labels, or all but the `ignoring`
/// labels and the metric name.
fn signature(labels: &Labels, matching: &Option<LabelModifier>) -> Labels {
    match matching {
        Some(LabelModifier::Include(on)) => {
            let names: Vec<&str> = on.labels.iter().map(String::as_str).collect();
            let mut b = labels.to_builder();
            b.keep(&names);
            b.build()
        }
        Some(LabelModifier::Exclude(ign)) => {
            let mut b = labels.to_builder();
            b.del(METRIC_NAME);
            for n in &ign.labels {
                b.del(n);
            }
            b.build()
        }
        None => labels.without_metric_name(),
    }
}

/// Assigns a small integer to every distinct signature of both sides.
fn signature_ids(
    l: &[Series],
    r: &[Series],
    matching: &Option<LabelModifier>,
) -> (Vec<u32>, Vec<u32>, Vec<Labels>) {
    let mut ids: HashMap<Labels, u32> = HashMap::new();
    let mut sigs = Vec::new();
    let mut id_of = |labels: &Labels| {
        let sig = signature(labels, matching);
        let next = ids.len() as u32;
        *ids.entry(sig.clone()).or_insert_with(|| {
            sigs.push(sig);
            next
        })
    };
    let li = l.iter().map(|s| id_of(&s.labels)).collect();
    let ri = r.iter().map(|s| id_of(&s.labels)).collect();
    (li, ri, sigs)
}

fn set_op(
    ev: &Evaluator,
    op: Op,
    l: Vec<Series>,
    r: Vec<Series>,
    matching: &Option<LabelModifier>,
) -> Result<Vec<Series>, QueryError> {
    let steps = l.first().or(r.first()).map_or(0, |s| s.vals.len());
    let (lid, rid, sigs) = signature_ids(&l, &r, matching);
    // present_on[step][sig]: is some series of the given side present there?
    let mark = |series: &[Series], ids: &[u32]| {
        let mut m = vec![false; steps * sigs.len()];
        for (s, &id) in series.iter().zip(ids) {
            for (i, v) in s.vals.iter().enumerate() {
                if present(*v) {
                    m[i * sigs.len() + id as usize] = true;
                }
            }
        }
        m
    };
    match op {
        Op::And | Op::Unless => {
            let on_right = mark(&r, &rid);
            let want = op == Op::And;
            let mut out = l;
            for (s, &id) in out.iter_mut().zip(&lid) {
                for (i, v) in s.vals.iter_mut().enumerate() {
                    if present(*v) && on_right[i * sigs.len() + id as usize] != want {
                        *v = absent();
                    }
                }
            }
            out.retain(|s| !s.is_empty());
            Ok(out)
        }
        Op::Or => {
            let on_left = mark(&l, &lid);
            let mut out = l;
            for (mut s, &id) in r.into_iter().zip(&rid) {
                for (i, v) in s.vals.iter_mut().enumerate() {
                    if present(*v) && on_left[i * sigs.len() + id as usize] {
                        *v = absent();
                    }
                }
                if !s.is_empty() {
                    out.push(s);
                }
            }
            ev.dedup(out)
        }
        _ => unreachable!("set_op called with a non-set operator"),
    }
}

fn vector_vector(
    ev: &Evaluator,
    op: Op,
    l: Vec<Series>,
    r: Vec<Series>,
    card: &VectorMatchCardinality,
    matching: &Option<LabelModifier>,
    return_bool: bool,
) -> Result<Vec<Series>, QueryError> {
    let swapped = matches!(card, VectorMatchCardinality::OneToMany(_));
    let (many, one) = if swapped { (r, l) } else { (l, r) };
    let steps = many.first().or(one.first()).map_or(0, |s| s.vals.len());
    let (mid, oid, sigs) = signature_ids(&many, &one, matching);
    let include: Vec<String> = card.labels().map(|l| l.labels.clone()).unwrap_or_default();
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let drop = op.drops_name() || return_bool;

    let mut one_at: Vec<u32> = vec![u32::MAX; sigs.len()];
    let mut matched: Vec<u32> = vec![u32::MAX; sigs.len()];
    let mut pair_out: HashMap<(u32, u32), usize> = HashMap::new();
    let mut out_index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Series> = Vec::new();
    let mut out_step: Vec<usize> = Vec::new();

    for i in 0..steps {
        if i % 256 == 0 {
            ev.check_deadline()?;
        }
        one_at.iter_mut().for_each(|x| *x = u32::MAX);
        matched.iter_mut().for_each(|x| *x = u32::MAX);
        for (j, s) in one.iter().enumerate() {
            if is_absent(s.vals[i]) {
                continue;
            }
            let slot = &mut one_at[oid[j] as usize];
            if *slot != u32::MAX {
                let side = if swapped { "left" } else { "right" };
                let (a, b) = (&one[*slot as usize].labels, &s.labels);
                return Err(QueryError::execution(format!(
                    "found duplicate series for the match group {} on the {side} hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: matching labels must be unique on one side",
                    sigs[oid[j] as usize]
                )));
            }
            *slot = j as u32;
        }
        for (j, s) in many.iter().enumerate() {
            let lv = s.vals[i];
            if is_absent(lv) {
                continue;
            }
            let sig = mid[j] as usize;
            let k = one_at[sig];
            if k == u32::MAX {
                continue;
            }
            if one_to_one {
                if matched[sig] != u32::MAX {
                    return Err(QueryError::execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                    ));
                }
                matched[sig] = j as u32;
            }
            let rv = one[k as usize].vals[i];
            let (fl, fr) = if swapped { (rv, lv) } else { (lv, rv) };
            let (val, keep) = op.apply(fl, fr);
            let val = if return_bool {
                if keep {
                    1.0
                } else {
                    0.0
                }
            } else if keep {
                val
            } else {
                continue;
            };
            let oi = match pair_out.get(&(j as u32, k)) {
                Some(&o) => o,
                None => {
                    let mut flag = false;
                    let labels = result_labels(
                        ev,
                        &s.labels,
                        &one[k as usize].labels,
                        drop,
                        one_to_one,
                        matching,
                        &include,
                        &mut flag,
                    );
                    let o = *out_index.entry(labels.clone()).or_insert_with(|| {
                        out.push(Series {
                            labels,
                            vals: vec![absent(); steps],
                            drop_name: flag,
                        });
                        out_step.push(usize::MAX);
                        out.len() - 1
                    });
                    pair_out.insert((j as u32, k), o);
                    o
                }
            };
            if out_step[oi] == i {
                return Err(QueryError::execution(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                ));
            }
            out_step[oi] = i;
            out[oi].vals[i] = val;
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn result_labels(
    ev: &Evaluator,
    many: &Labels,
    one: &Labels,
    drop: bool,
    one_to_one: bool,
    matching: &Option<LabelModifier>,
    include: &[String],
    flag: &mut bool,
) -> Labels {
    let mut b = many.to_builder();
    if drop {
        if ev.settings.delayed_name_removal {
            *flag = true;
        } else {
            b.del(METRIC_NAME);
        }
    }
    if one_to_one {
        match matching {
            Some(LabelModifier::Include(on)) => {
                let names: Vec<&str> = on.labels.iter().map(String::as_str).collect();
                b.keep(&names);
            }
            Some(LabelModifier::Exclude(ign)) => {
                for n in &ign.labels {
                    b.del(n);
                }
            }
            None => {}
        }
    }
    for n in include {
        match one.get(n) {
            Some(v) => b.set(n.clone(), v.to_string()),
            None => b.del(n),
        };
    }
    b.build()
}
