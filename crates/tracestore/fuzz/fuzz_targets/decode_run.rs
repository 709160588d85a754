//! Any bytes opened as a sorted key run give a result or an error, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pharos_tracestore::fuzz_decode_run(data);
});
