//! The public entry points: parse, evaluate as an instant or range query, apply limits.

use crate::error::QueryError;
use crate::eval::{merge_same_labels, present, EvalSettings, Evaluator, Series, Val};
use crate::value::{InstantSample, Point, QueryResult, RangeSeries, Value};
use pharos_config::QueryConfig;
use pharos_model::SeriesSource;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{Expr, Function};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

/// Engine settings (from `[query]` in the configuration, plus engine-only switches).
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample.
    pub lookback_delta: Duration,
    /// Longest a query may run.
    pub timeout: Duration,
    /// Most samples a query may load from storage, and most points one node may produce.
    pub max_samples: usize,
    /// Most steps of a range query (Prometheus: 11,000).
    pub max_points_per_series: usize,
    /// Most series a result may hold.
    pub max_series: usize,
    /// Resolution of subqueries written without a step (`x[5m:]`).
    pub subquery_default_step: Duration,
    /// Prometheus's experimental delayed `__name__` removal (off by default, as in Prometheus).
    pub delayed_name_removal: bool,
}

impl From<&QueryConfig> for EngineOptions {
    fn from(c: &QueryConfig) -> Self {
        EngineOptions {
            lookback_delta: c.lookback_delta,
            timeout: c.timeout,
            max_samples: c.max_samples,
            max_points_per_series: c.max_points_per_series,
            max_series: c.max_series,
            subquery_default_step: Duration::from_secs(60),
            delayed_name_removal: false,
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions::from(&QueryConfig::default())
    }
}

/// Per-request overrides (the API's `timeout` and `lookback_delta` parameters).
#[derive(Clone, Debug, Default)]
pub struct QueryOptions {
    pub timeout: Option<Duration>,
    pub lookback_delta: Option<Duration>,
    /// The query must end by then, however long it waited for a worker (e.g. the time the
    /// request arrived plus its timeout).
    pub deadline: Option<Instant>,
}

/// The PromQL engine. Cheap to clone; every query gets its own evaluator. Queries run on
/// the engine's own worker threads (one per core, with deep stacks for nested expressions),
/// which also bounds how many evaluate at once.
#[derive(Clone)]
pub struct Engine {
    opts: EngineOptions,
    pool: Arc<rayon::ThreadPool>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("opts", &self.opts).finish()
    }
}

/// Stack of each query worker thread (address space; only touched pages use memory).
const WORKER_STACK_BYTES: usize = 32 << 20;
/// Most operators and brackets a query may contain (checked before parsing).
const MAX_QUERY_NESTING_TOKENS: usize = 2048;
/// Deepest expression tree the evaluator accepts.
const MAX_EXPR_DEPTH: usize = 256;

static REGISTER_LEGACY: Once = Once::new();

/// Parses PromQL text. `holt_winters` (Prometheus 2.x's name of
/// `double_exponential_smoothing`) is accepted too.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    REGISTER_LEGACY.call_once(|| {
        // Only fails if the parser already knows the name, which is fine.
        let _ = promql_parser::parser::register_extra_functions(vec![Function::new(
            "holt_winters",
            vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            0,
            ValueType::Vector,
            false,
        )]);
    });
    let tokens = nesting_tokens(query);
    if tokens > MAX_QUERY_NESTING_TOKENS {
        return Err(QueryError::bad_data(format!(
            "invalid parameter \"query\": the query has {tokens} operators and brackets, more than the limit of {MAX_QUERY_NESTING_TOKENS}"
        )));
    }
    let expr = promql_parser::parser::parse(query)
        .map_err(|e| QueryError::bad_data(format!("invalid parameter \"query\": {e}")))?;
    if depth(&expr) > MAX_EXPR_DEPTH {
        return Err(QueryError::bad_data(format!(
            "invalid parameter \"query\": the expression is nested more than {MAX_EXPR_DEPTH} levels deep"
        )));
    }
    Ok(expr)
}

/// Counts the characters outside string literals that can add a level of nesting.
fn nesting_tokens(q: &str) -> usize {
    let mut n = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in q.chars() {
        if let Some(qc) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && qc != '`' {
                escaped = true;
            } else if c == qc {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '[' | '+' | '-' | '*' | '/' | '%' | '^' | '<' | '>' | '=' | '!' => n += 1,
            _ => {}
        }
    }
    n + q.matches(" and ").count() + q.matches(" or ").count() + q.matches(" unless ").count()
}

/// Deepest expression evaluated outside the engine's workers (whose stacks are
/// [`WORKER_STACK_BYTES`]): a few kilobytes of stack per level fit an ordinary 2 MiB
/// thread stack many times over.
const CALLER_STACK_MAX_DEPTH: usize = 16;

/// Whether `expr` is shallow enough to be evaluated on a thread with an ordinary stack
/// (see [`Engine::range_expr_here`]).
pub fn fits_caller_stack(expr: &Expr) -> bool {
    depth(expr) <= CALLER_STACK_MAX_DEPTH
}

/// Depth of an expression tree (bounded by the token check before parsing).
fn depth(e: &Expr) -> usize {
    1 + match e {
        Expr::Aggregate(a) => depth(&a.expr).max(a.param.as_deref().map_or(0, depth)),
        Expr::Unary(u) => depth(&u.expr),
        Expr::Binary(b) => depth(&b.lhs).max(depth(&b.rhs)),
        Expr::Paren(p) => depth(&p.expr),
        Expr::Subquery(s) => depth(&s.expr),
        Expr::Call(c) => c.args.args.iter().map(|a| depth(a)).max().unwrap_or(0),
        _ => 0,
    }
}

impl Engine {
    pub fn new(cfg: &QueryConfig) -> Self {
        Self::with_options(EngineOptions::from(cfg))
    }

    pub fn with_options(opts: EngineOptions) -> Self {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .stack_size(WORKER_STACK_BYTES)
            .thread_name(|i| format!("promql-{i}"))
            .build()
            .expect("starting the query worker threads");
        Engine {
            opts,
            pool: Arc::new(pool),
        }
    }

    /// Runs `job` on one of the engine's workers and hands its result to `done` there
    /// (for async callers: one thread hop, no blocking thread in between). A panic in
    /// `job` reaches `done` as `Err`, never the worker pool.
    pub fn spawn<R: Send + 'static>(
        &self,
        job: impl FnOnce(&Engine) -> R + Send + 'static,
        done: impl FnOnce(std::thread::Result<R>) + Send + 'static,
    ) {
        let engine = self.clone();
        self.pool.spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&engine)));
            done(r)
        });
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at `t` (ms).
    pub fn instant(
        &self,
        src: &dyn SeriesSource,
        query: &str,
        t: i64,
    ) -> Result<QueryResult, QueryError> {
        self.instant_with(src, query, t, &QueryOptions::default())
    }

    /// Evaluates `query` at `start, start+step, …, ≤ end` (ms).
    pub fn range(
        &self,
        src: &dyn SeriesSource,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, QueryError> {
        self.range_with(src, query, start, end, step, &QueryOptions::default())
    }

    pub fn instant_with(
        &self,
        src: &dyn SeriesSource,
        query: &str,
        t: i64,
        o: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        self.pool.install(|| {
            let expr = parse(query)?;
            self.instant_expr(src, &expr, t, o)
        })
    }

    pub fn range_with(
        &self,
        src: &dyn SeriesSource,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        o: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        self.pool.install(|| {
            let expr = parse(query)?;
            self.range_expr(src, &expr, start, end, step, o)
        })
    }

    pub fn instant_expr(
        &self,
        src: &dyn SeriesSource,
        expr: &Expr,
        t: i64,
        o: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        let ev = Evaluator::new(src, self.settings(o), t, t, 0);
        let ts = [t];
        let value = match ev.eval(expr, &ts)? {
            Val::Scalar(v) => Value::Scalar(Point { t, v: v[0] }),
            Val::Str(s) => Value::String { t, s },
            Val::Vector(series) => {
                let series = self.finish(&ev, series)?;
                Value::Vector(
                    series
                        .into_iter()
                        .filter(|s| present(s.vals[0]))
                        .map(|s| InstantSample {
                            labels: s.labels,
                            t,
                            v: s.vals[0],
                        })
                        .collect(),
                )
            }
            Val::Matrix(m) => {
                let mut out = Vec::with_capacity(m.series.len());
                for s in &m.series {
                    let points: Vec<Point> = m
                        .window(&s.points, 0)
                        .iter()
                        .map(|p| Point { t: p.t, v: p.v })
                        .collect();
                    if !points.is_empty() {
                        let labels = if s.drop_name {
                            s.labels.without_metric_name()
                        } else {
                            s.labels.clone()
                        };
                        out.push(RangeSeries { labels, points });
                    }
                }
                self.check_series(out.len())?;
                Value::Matrix(out)
            }
        };
        let (warnings, infos) = ev.take_annotations();
        Ok(QueryResult {
            value,
            warnings,
            infos,
        })
    }

    /// Evaluates a parsed expression at `start, start+step, …, ≤ end` (ms) on the engine's workers.
    pub fn range_expr(
        &self,
        src: &dyn SeriesSource,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
        o: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        self.pool
            .install(|| self.range_expr_here(src, expr, start, end, step, o))
    }

    /// [`Engine::range_expr`] on the calling thread: with no hand-off to a worker, and
    /// no parallelism unless the caller is itself one of the workers. For queries known to
    /// be small (whose hand-off would cost more than their evaluation) and shallow enough
    /// for an ordinary thread's stack ([`fits_caller_stack`]). [`Engine::instant_expr`]
    /// works the same way on any thread.
    pub fn range_expr_here(
        &self,
        src: &dyn SeriesSource,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
        o: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        if step <= 0 {
            return Err(QueryError::bad_data(
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if end < start {
            return Err(QueryError::bad_data(
                "end timestamp must not be before start time",
            ));
        }
        let n = ((end - start) / step + 1) as usize;
        // As Prometheus: (end - start) / step may not exceed the limit.
        if n - 1 > self.opts.max_points_per_series {
            return Err(QueryError::bad_data(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                group_thousands(self.opts.max_points_per_series)
            )));
        }
        match expr.value_type() {
            ValueType::Scalar | ValueType::Vector => {}
            other => {
                let name = match other {
                    ValueType::Matrix => "range vector",
                    ValueType::String => "string",
                    _ => "unknown",
                };
                return Err(not_for_range_query(name));
            }
        }
        let ts: Vec<i64> = (0..n).map(|i| start + i as i64 * step).collect();
        let ev = Evaluator::new(src, self.settings(o), start, end, step);
        let series = match ev.eval(expr, &ts)? {
            Val::Scalar(vals) => vec![Series {
                labels: Default::default(),
                vals,
                drop_name: false,
            }],
            Val::Vector(series) => self.finish(&ev, series)?,
            other => return Err(not_for_range_query(other.type_name())),
        };
        let mut out: Vec<RangeSeries> = series
            .into_iter()
            .map(|s| RangeSeries {
                points: ts
                    .iter()
                    .zip(&s.vals)
                    .filter(|(_, v)| present(**v))
                    .map(|(&t, &v)| Point { t, v })
                    .collect(),
                labels: s.labels,
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        let (warnings, infos) = ev.take_annotations();
        Ok(QueryResult {
            value: Value::Matrix(out),
            warnings,
            infos,
        })
    }

    fn settings(&self, o: &QueryOptions) -> EvalSettings {
        let timeout = o
            .timeout
            .map_or(self.opts.timeout, |t| t.min(self.opts.timeout));
        EvalSettings {
            lookback_ms: o
                .lookback_delta
                .unwrap_or(self.opts.lookback_delta)
                .as_millis() as i64,
            subquery_step_ms: (self.opts.subquery_default_step.as_millis() as i64).max(1),
            delayed_name_removal: self.opts.delayed_name_removal,
            max_samples: self.opts.max_samples,
            deadline: o.deadline.map_or(Instant::now() + timeout, |d| {
                d.min(Instant::now() + timeout)
            }),
        }
    }

    /// Applies delayed name removal, then the duplicate and series-count checks.
    fn finish(&self, ev: &Evaluator, mut series: Vec<Series>) -> Result<Vec<Series>, QueryError> {
        if ev.settings.delayed_name_removal {
            for s in &mut series {
                if s.drop_name {
                    s.labels = crate::eval::strip_name(std::mem::take(&mut s.labels));
                    s.drop_name = false;
                }
            }
            series = merge_same_labels(series)?;
        }
        self.check_series(series.len())?;
        Ok(series)
    }

    fn check_series(&self, n: usize) -> Result<(), QueryError> {
        if n > self.opts.max_series {
            return Err(QueryError::execution(format!(
                "the query returned {n} series, more than the limit of {} (query.max_series)",
                self.opts.max_series
            )));
        }
        Ok(())
    }
}

fn not_for_range_query(type_name: &str) -> QueryError {
    QueryError::bad_data(format!(
        "invalid expression type \"{type_name}\" for range query, must be Scalar or instant Vector"
    ))
}

fn group_thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deeply_nested_queries_are_refused_not_crashed() {
        let deep = "1+".repeat(50_000) + "1";
        assert_eq!(parse(&deep).unwrap_err().kind, crate::ErrorKind::BadData);
        let parens = "(".repeat(300) + "1" + &")".repeat(300);
        assert!(parse(&parens)
            .unwrap_err()
            .message
            .contains("nested more than"));
        assert!(parse(r#"up{job=~"a+b+c+d+e"}"#).is_ok());
        let src = pharos_model::MemSource::new();
        let engine = Engine::with_options(EngineOptions::default());
        let ok = "(".repeat(200) + "1" + &")".repeat(200);
        assert!(engine.instant(&src, &ok, 0).is_ok());
    }

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(11000), "11,000");
        assert_eq!(group_thousands(999), "999");
    }
}
