//! Stored blocks and span chunks (as read back from disk): a result or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pharos_tracestore::fuzz_decode_block(data);
});
