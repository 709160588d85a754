//! Remote-write bodies: snappy decompression (bounded) then both decoders. The zero-copy
//! decoder used on the hot path must accept exactly what the prost types accept, with the
//! same series, labels and samples.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pharos_metrics_ingest::{proto::WriteRequest, remote_write, wire};
use prost::Message;

fuzz_target!(|data: &[u8]| {
    // Raw protobuf (as if already decompressed) and, separately, as a snappy body.
    check(data);
    if let Ok(raw) = remote_write::decompress(data, 1 << 20) {
        assert!(raw.len() <= 1 << 20);
        check(&raw);
    }
});

fn check(raw: &[u8]) {
    let ours = wire::decode(raw);
    let theirs = WriteRequest::decode(raw);
    assert_eq!(ours.is_ok(), theirs.is_ok(), "decoders disagree on validity");
    if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
        assert_eq!(ours.series.len(), theirs.timeseries.len());
        for (s, t) in ours.series.iter().zip(&theirs.timeseries) {
            let labels: Vec<(&[u8], &[u8])> = t.labels.iter().map(|l| (&l.name[..], &l.value[..])).collect();
            assert_eq!(&ours.labels[s.labels.clone()], &labels[..]);
            let samples = &ours.samples[s.samples.clone()];
            assert_eq!(samples.len(), t.samples.len());
            for (a, b) in samples.iter().zip(&t.samples) {
                assert_eq!((a.t, a.v.to_bits()), (b.timestamp, b.value.to_bits()));
            }
            assert_eq!(s.histograms, t.histograms.len());
        }
    }
}
