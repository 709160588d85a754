//! Metrics ingest: decodes what senders push and hands rows to the TSDB.
//!
//! In: HTTP bodies of `POST /api/v1/write` (snappy protobuf remote-write 1.0) and
//! `POST /api/v1/import/prometheus` (text exposition); `GET /api/v1/export` requests.
//! Out: validated series + samples/exemplars/metadata written to [`pharos_tsdb`];
//! JSON lines of raw samples for export.
