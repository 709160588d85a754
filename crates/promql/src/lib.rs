//! The PromQL engine.
//!
//! In: a PromQL expression (parsed with `promql-parser`), an evaluation time or range, and a
//! [`pharos_model::SeriesSource`].
//! Out: instant vectors, range vectors (matrices), scalars or strings ([`Value`]) with
//! Prometheus 2.x semantics, warnings and infos as Prometheus annotates them, or a
//! [`QueryError`] carrying Prometheus's `errorType`.
//!
//! ```
//! use pharos_model::{Labels, MemSource};
//! use pharos_promql::{Engine, EngineOptions, Value};
//! let src = MemSource::new();
//! src.add(&Labels::from_pairs([("__name__", "up"), ("job", "a")]), 0, 1.0);
//! let engine = Engine::with_options(EngineOptions::default());
//! let r = engine.instant(&src, "sum(up)", 10_000).unwrap();
//! assert!(matches!(r.value, Value::Vector(ref v) if v[0].v == 1.0));
//! ```
//!
//! Native histograms are not supported yet: the functions that read them
//! (`histogram_count`, `histogram_sum`, …) see only float series and return nothing.

mod engine;
mod error;
mod eval;
pub mod labels;
mod value;

pub use engine::{fits_caller_stack, parse, Engine, EngineOptions, QueryOptions};
pub use error::{ErrorKind, QueryError};
pub use value::{InstantSample, Point, QueryResult, RangeSeries, Value};

/// The matcher sets (one per `or` alternative) a selector stands for, as the store reads them.
pub fn selector_matchers(
    vs: &promql_parser::parser::VectorSelector,
) -> Result<Vec<Vec<pharos_model::Matcher>>, QueryError> {
    eval::selector_matchers(vs)
}

/// Every vector selector in an expression (also those inside range selectors and subqueries).
pub fn selectors(
    expr: &promql_parser::parser::Expr,
) -> Vec<&promql_parser::parser::VectorSelector> {
    use promql_parser::parser::Expr;
    fn walk<'e>(e: &'e Expr, out: &mut Vec<&'e promql_parser::parser::VectorSelector>) {
        match e {
            Expr::VectorSelector(vs) => out.push(vs),
            Expr::MatrixSelector(ms) => out.push(&ms.vs),
            Expr::Subquery(sq) => walk(&sq.expr, out),
            Expr::Paren(p) => walk(&p.expr, out),
            Expr::Unary(u) => walk(&u.expr, out),
            Expr::Binary(b) => {
                walk(&b.lhs, out);
                walk(&b.rhs, out);
            }
            Expr::Aggregate(a) => {
                walk(&a.expr, out);
                if let Some(p) = &a.param {
                    walk(p, out);
                }
            }
            Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(expr, &mut out);
    out
}
