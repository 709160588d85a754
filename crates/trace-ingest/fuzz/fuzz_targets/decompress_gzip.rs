//! gzip and deflate bodies: bounded output, an error for garbage, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pharos_trace_ingest::{decompress, Encoding};

fuzz_target!(|data: &[u8]| {
    for enc in [Encoding::Gzip, Encoding::Deflate] {
        if let Ok(out) = decompress(data, enc, 1 << 20) {
            assert!(out.len() <= 1 << 20);
        }
    }
});
