//! The evaluator: walks the AST once for all evaluation steps.
//!
//! Every node yields its value at every step at once, series by series (dense per-step
//! arrays with an "absent" marker), so matching, grouping and label work happen once per
//! series instead of once per step, and per-series work can run on both cores.

mod accumulate;
mod aggregate;
mod binary;
mod functions;
mod histogram;
mod kahan;
mod range_fns;
mod selector;
mod subquery;

pub(crate) use selector::matcher_sets as selector_matchers;

use crate::error::QueryError;
use pharos_model::{Labels, Sample, SeriesSource, METRIC_NAME};
use promql_parser::parser::{AtModifier, Expr, Offset};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Instant, UNIX_EPOCH};

/// The bit pattern that marks "no value at this step" in dense per-step arrays. It is a
/// signalling NaN, which float arithmetic never produces; stored NaNs with this exact
/// pattern are canonicalised when read (see [`canonical`]).
const ABSENT_BITS: u64 = 0x7ff4_0000_0000_0a5e;

#[inline]
pub(crate) fn absent() -> f64 {
    f64::from_bits(ABSENT_BITS)
}

#[inline]
pub(crate) fn is_absent(v: f64) -> bool {
    v.to_bits() == ABSENT_BITS
}

#[inline]
pub(crate) fn present(v: f64) -> bool {
    v.to_bits() != ABSENT_BITS
}

/// A stored value that happens to carry the absent marker's bits becomes a plain NaN.
#[inline]
pub(crate) fn canonical(v: f64) -> f64 {
    if is_absent(v) {
        f64::NAN
    } else {
        v
    }
}

/// An instant-vector series evaluated at every step.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub labels: Labels,
    /// One value per step; [`absent`] where the series has no sample.
    pub vals: Vec<f64>,
    /// Delayed name removal: the metric name is dropped when the query finishes.
    pub drop_name: bool,
}

impl Series {
    pub fn is_empty(&self) -> bool {
        self.vals.iter().all(|v| is_absent(*v))
    }
}

/// A range-vector series: raw points, and per step a window into them.
#[derive(Clone, Debug)]
pub(crate) struct RangeData {
    pub labels: Labels,
    pub points: Vec<Sample>,
    pub drop_name: bool,
}

/// A range vector: series, the range, and the end of the window at every step.
#[derive(Clone, Debug)]
pub(crate) struct MatrixVal {
    pub series: Vec<RangeData>,
    pub range: i64,
    /// Window end per step (step time, `@` and offset applied); the window is
    /// `[end - range, end]`, closed on both sides as in Prometheus 2.x.
    pub ends: Vec<i64>,
}

impl MatrixVal {
    /// The window `[lo, hi)` into `points` for every step. Steps' window ends only grow
    /// (or stay, with `@`), so two forward-moving cursors find them in one pass.
    pub fn windows(&self, points: &[Sample]) -> Vec<(usize, usize)> {
        let n = points.len();
        if !self.ends.windows(2).all(|w| w[0] <= w[1]) {
            return (0..self.ends.len())
                .map(|i| {
                    let end = self.ends[i];
                    let start = end.saturating_sub(self.range);
                    let lo = points.partition_point(|s| s.t < start);
                    let hi = points.partition_point(|s| s.t <= end);
                    (lo, hi.max(lo))
                })
                .collect();
        }
        let (mut lo, mut hi) = (0, 0);
        self.ends
            .iter()
            .map(|&end| {
                let start = end.saturating_sub(self.range);
                while lo < n && points[lo].t < start {
                    lo += 1;
                }
                while hi < n && points[hi].t <= end {
                    hi += 1;
                }
                (lo, hi.max(lo))
            })
            .collect()
    }

    /// The earliest and latest window end (`(0, -1)`, an empty span, without steps).
    pub fn bounds(&self) -> (i64, i64) {
        match (self.ends.iter().min(), self.ends.iter().max()) {
            (Some(&lo), Some(&hi)) => (lo, hi),
            _ => (0, -1),
        }
    }

    /// The points of `points` that fall in the window of step `i`.
    pub fn window<'p>(&self, points: &'p [Sample], i: usize) -> &'p [Sample] {
        let end = self.ends[i];
        let start = end.saturating_sub(self.range);
        let lo = points.partition_point(|s| s.t < start);
        let hi = points.partition_point(|s| s.t <= end);
        &points[lo..hi.max(lo)]
    }
}

/// The value of a node over all steps.
#[derive(Debug)]
pub(crate) enum Val {
    Scalar(Vec<f64>),
    Str(String),
    Vector(Vec<Series>),
    Matrix(MatrixVal),
}

impl Val {
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
        }
    }
}

/// Settings of one evaluation.
#[derive(Clone, Debug)]
pub(crate) struct EvalSettings {
    pub lookback_ms: i64,
    pub subquery_step_ms: i64,
    pub delayed_name_removal: bool,
    pub max_samples: usize,
    pub deadline: Instant,
}

/// Shared state of one query evaluation.
pub(crate) struct Evaluator<'a> {
    pub src: &'a dyn SeriesSource,
    pub settings: EvalSettings,
    pub query_start: i64,
    pub query_end: i64,
    /// Query step (ms), for `step()`; 0 for instant queries.
    pub query_step: i64,
    loaded: AtomicUsize,
    warnings: Mutex<BTreeSet<String>>,
    infos: Mutex<BTreeSet<String>>,
}

/// Series count from which per-series work is spread over threads: below it, waking the
/// other worker costs more than the work saves.
pub(crate) const PARALLEL_MIN_SERIES: usize = 512;

impl<'a> Evaluator<'a> {
    pub fn new(
        src: &'a dyn SeriesSource,
        settings: EvalSettings,
        start: i64,
        end: i64,
        step: i64,
    ) -> Self {
        Evaluator {
            src,
            settings,
            query_start: start,
            query_end: end,
            query_step: step,
            loaded: AtomicUsize::new(0),
            warnings: Mutex::new(BTreeSet::new()),
            infos: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn warn(&self, msg: String) {
        self.warnings.lock().unwrap().insert(msg);
    }

    pub fn info(&self, msg: String) {
        self.infos.lock().unwrap().insert(msg);
    }

    pub fn take_annotations(&self) -> (Vec<String>, Vec<String>) {
        let w = std::mem::take(&mut *self.warnings.lock().unwrap());
        let i = std::mem::take(&mut *self.infos.lock().unwrap());
        (w.into_iter().collect(), i.into_iter().collect())
    }

    pub fn check_deadline(&self) -> Result<(), QueryError> {
        if Instant::now() > self.settings.deadline {
            Err(QueryError::timeout())
        } else {
            Ok(())
        }
    }

    /// Accounts `n` samples loaded from storage; fails beyond the per-query limit.
    pub fn account_loaded(&self, n: usize) -> Result<(), QueryError> {
        let total = self.loaded.fetch_add(n, Ordering::Relaxed) + n;
        if total > self.settings.max_samples {
            return Err(QueryError::too_many_samples());
        }
        Ok(())
    }

    /// Checks that one node's output (`n` points) fits under the sample limit.
    pub fn check_output(&self, n: usize) -> Result<(), QueryError> {
        if n > self.settings.max_samples {
            return Err(QueryError::too_many_samples());
        }
        Ok(())
    }

    /// Evaluates `e` at every time in `ts` (milliseconds, ascending).
    pub fn eval(&self, e: &Expr, ts: &[i64]) -> Result<Val, QueryError> {
        self.check_deadline()?;
        let v = match e {
            Expr::NumberLiteral(n) => Val::Scalar(vec![n.val; ts.len()]),
            Expr::StringLiteral(s) => Val::Str(s.val.clone()),
            Expr::Paren(p) => self.eval(&p.expr, ts)?,
            Expr::Unary(u) => self.negate(self.eval(&u.expr, ts)?)?,
            Expr::Binary(b) => binary::eval(self, b, ts)?,
            Expr::Aggregate(a) => aggregate::eval(self, a, ts)?,
            Expr::Call(c) => functions::eval_call(self, c, ts)?,
            Expr::VectorSelector(vs) => Val::Vector(selector::instant(self, vs, ts, false)?),
            Expr::MatrixSelector(ms) => Val::Matrix(selector::matrix(self, ms, ts)?),
            Expr::Subquery(sq) => Val::Matrix(subquery::eval(self, sq, ts)?),
            Expr::Extension(_) => {
                return Err(QueryError::bad_data(
                    "extension expressions are not supported",
                ))
            }
        };
        if let Val::Vector(s) = &v {
            self.check_output(s.len().saturating_mul(ts.len()))?;
        }
        Ok(v)
    }

    /// Evaluates an expression that must be a scalar (function and aggregation parameters).
    pub fn eval_scalar(&self, e: &Expr, ts: &[i64]) -> Result<Vec<f64>, QueryError> {
        match self.eval(e, ts)? {
            Val::Scalar(v) => Ok(v),
            other => Err(QueryError::bad_data(format!(
                "expected scalar, got {}",
                other.type_name()
            ))),
        }
    }

    pub fn eval_vector(&self, e: &Expr, ts: &[i64]) -> Result<Vec<Series>, QueryError> {
        match self.eval(e, ts)? {
            Val::Vector(v) => Ok(v),
            other => Err(QueryError::bad_data(format!(
                "expected instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    pub fn eval_string(&self, e: &Expr, ts: &[i64]) -> Result<String, QueryError> {
        match self.eval(e, ts)? {
            Val::Str(s) => Ok(s),
            other => Err(QueryError::bad_data(format!(
                "expected string, got {}",
                other.type_name()
            ))),
        }
    }

    pub fn eval_matrix(&self, e: &Expr, ts: &[i64]) -> Result<MatrixVal, QueryError> {
        match self.eval(e, ts)? {
            Val::Matrix(m) => Ok(m),
            other => Err(QueryError::bad_data(format!(
                "expected range vector, got {}",
                other.type_name()
            ))),
        }
    }

    fn negate(&self, v: Val) -> Result<Val, QueryError> {
        Ok(match v {
            Val::Scalar(mut s) => {
                s.iter_mut().for_each(|x| *x = -*x);
                Val::Scalar(s)
            }
            Val::Vector(mut series) => {
                for s in &mut series {
                    s.vals.iter_mut().filter(|x| present(**x)).for_each(|x| *x = -*x);
                    self.drop_name(s);
                }
                Val::Vector(self.dedup(series)?)
            }
            other => {
                return Err(QueryError::bad_data(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                    other.type_name()
                )))
            }
        })
    }

    /// Drops the metric name now, or marks it for dropping at the end (delayed removal).
    pub fn drop_name(&self, s: &mut Series) {
        if self.settings.delayed_name_removal {
            s.drop_name = true;
        } else if s.labels.get(METRIC_NAME).is_some() {
            s.labels = strip_name(std::mem::take(&mut s.labels));
        }
    }

    /// Merges series with identical label sets; two values at one step are an error
    /// ("vector cannot contain metrics with the same labelset"), as in Prometheus.
    pub fn dedup(&self, series: Vec<Series>) -> Result<Vec<Series>, QueryError> {
        merge_same_labels(series)
    }

    /// The time a selector or subquery looks at for each step: `@` pins it, `offset` shifts it.
    pub fn effective_times(
        &self,
        ts: &[i64],
        at: &Option<AtModifier>,
        offset: &Option<Offset>,
    ) -> Vec<i64> {
        let off = offset_ms(offset);
        match self.at_ms(at) {
            Some(at) => vec![at.saturating_sub(off); ts.len()],
            None => ts.iter().map(|t| t.saturating_sub(off)).collect(),
        }
    }

    pub fn at_ms(&self, at: &Option<AtModifier>) -> Option<i64> {
        match at {
            None => None,
            Some(AtModifier::Start) => Some(self.query_start),
            Some(AtModifier::End) => Some(self.query_end),
            Some(AtModifier::At(t)) => Some(match t.duration_since(UNIX_EPOCH) {
                Ok(d) => millis(d),
                Err(e) => -millis(e.duration()),
            }),
        }
    }
}

/// A duration in milliseconds, capped far below overflow.
pub(crate) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis())
        .unwrap_or(i64::MAX)
        .min(i64::MAX / 4)
}

pub(crate) fn offset_ms(offset: &Option<Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(d)) => millis(*d),
        Some(Offset::Neg(d)) => -millis(*d),
    }
}

/// True if two series may share a label set: compares label hashes, so it allocates
/// nothing (a hash collision only sends the caller down the exact path).
fn may_share_labels(series: &[Series]) -> bool {
    use std::hash::{Hash, Hasher};
    let mut hashes: Vec<u64> = series
        .iter()
        .map(|s| {
            // FxHash: several times cheaper than SipHash on label sets; equal hashes are
            // then compared exactly, so its weak mixing costs time, never a wrong answer.
            let mut h = fxhash::FxHasher64::default();
            s.labels.hash(&mut h);
            h.finish()
        })
        .collect();
    hashes.sort_unstable();
    hashes.windows(2).any(|w| w[0] == w[1])
}

/// Merges series that share a label set (and name-drop flag outcome).
pub(crate) fn merge_same_labels(series: Vec<Series>) -> Result<Vec<Series>, QueryError> {
    // Usually every label set is distinct: check that without cloning them into a map.
    if !may_share_labels(&series) {
        return Ok(series);
    }
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    for s in series {
        match index.get(&s.labels) {
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
            Some(&i) => {
                let dst = &mut out[i];
                for (d, v) in dst.vals.iter_mut().zip(s.vals.iter()) {
                    if present(*v) {
                        if present(*d) {
                            return Err(QueryError::same_labelset());
                        }
                        *d = *v;
                    }
                }
                dst.drop_name &= s.drop_name;
            }
        }
    }
    Ok(out)
}

/// The label set without the metric name, reusing its strings.
pub(crate) fn strip_name(labels: Labels) -> Labels {
    let mut v = labels.into_vec();
    v.retain(|l| l.name != METRIC_NAME);
    Labels::from_sorted(v)
}

/// True when running on one of the engine's workers, so that work can be spread over
/// them. A query evaluated on the caller's own thread (a small one, see
/// `Engine::range_expr_here`) stays on that thread.
pub(crate) fn on_workers() -> bool {
    rayon::current_thread_index().is_some()
}

/// Evaluates `a` and `b`, in parallel when on the engine's workers.
pub(crate) fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if on_workers() {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// Like [`par_map`], consuming the items.
pub(crate) fn par_map_owned<T: Send, R: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync + Send,
) -> Vec<R> {
    use rayon::prelude::*;
    if items.len() >= PARALLEL_MIN_SERIES && on_workers() {
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

/// Runs `f` over items, on both cores when there are enough of them.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    if items.len() >= PARALLEL_MIN_SERIES && on_workers() {
        items.par_iter().map(f).collect()
    } else {
        items.iter().map(f).collect()
    }
}
