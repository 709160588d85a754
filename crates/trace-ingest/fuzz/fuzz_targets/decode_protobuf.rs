//! OTLP protobuf bodies: decoding must return a request or an error, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pharos_trace_ingest::{decode, Format};

fuzz_target!(|data: &[u8]| {
    let _ = decode(data, Format::Protobuf);
});
