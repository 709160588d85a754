//! OTLP/JSON bodies (camelCase, snake_case, enum names): a request or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pharos_trace_ingest::{decode, Format};

fuzz_target!(|data: &[u8]| {
    let _ = decode(data, Format::Json);
});
