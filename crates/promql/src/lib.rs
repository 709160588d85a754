//! The PromQL engine.
//!
//! In: a PromQL expression (parsed with `promql-parser`), an evaluation time or range, and a
//! [`pharos_model::SeriesSource`].
//! Out: instant vectors, range vectors (matrices), scalars or strings, with Prometheus's
//! semantics and errors.
