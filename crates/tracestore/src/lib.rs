//! The trace store.
//!
//! In: spans from trace ingest.
//! Out: traces by id and trace searches (service, operation, tags, duration, time) for the
//! Jaeger and Tempo APIs; service and operation lists; stats for the operator CLI.
