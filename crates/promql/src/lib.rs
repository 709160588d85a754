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

pub use engine::{parse, Engine, EngineOptions, QueryOptions};
pub use error::{ErrorKind, QueryError};
pub use value::{InstantSample, Point, QueryResult, RangeSeries, Value};
