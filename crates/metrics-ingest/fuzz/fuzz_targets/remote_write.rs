//! Remote-write bodies: snappy decompression (bounded) then both decoders. The zero-copy
//! decoder used on the hot path must accept exactly what the prost types accept, with the
//! same series, labels and samples; the byte range it reports for a series' labels must hold
//! exactly those labels (the store caches series ids by those bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pharos_metrics_ingest::proto::{TimeSeries, WriteRequest};
use pharos_metrics_ingest::{remote_write, wire};
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
            // The store's cache key covers these bytes: they alone must decode to the labels.
            if let Some(r) = &s.label_bytes {
                let only = TimeSeries::decode(&raw[r.clone()]).expect("label fields decode alone");
                assert_eq!(only.labels, t.labels);
                assert!(only.samples.is_empty() && only.exemplars.is_empty());
            }
        }
    }
}
