//! The decoders of on-disk data (sample blocks, segment frames, WAL records, label sets):
//! corrupt input is an error, never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pharos_tsdb::fuzzing::decode_all(data);
});
