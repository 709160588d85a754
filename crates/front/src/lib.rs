//! The HTTP front of Pharos.
//!
//! In: TCP connections on the listen address, and the routers of the stages
//! ([`StageRoutes`]: ingest, read, admin and public routes, each a `Router` with its state).
//! Out: the same requests, passed on only when they carry a token (or UI session) of the
//! right scope, fit the size and concurrency limits and finish in time; every request gets
//! a request id, a log line and self-metrics. The front also answers `/healthz`,
//! `/readyz` and `/metrics` and runs the graceful shutdown.

pub mod auth;
mod health;
mod limits;
mod request_id;
mod self_metrics;
mod server;
pub mod sessions;

pub use auth::{Authenticator, Identity};
pub use health::Readiness;
pub use server::{build_app, serve, AppSlot, StageRoutes};
pub use sessions::Sessions;
