//! Text exposition bodies: parsing never panics, and every sample kept has a metric name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pharos_metrics_ingest::text;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let parsed = text::parse_text(s, 0, &[("extra".into(), "x".into())]);
    for sample in &parsed.samples {
        assert_eq!(sample.labels[0].0, "__name__");
        assert!(!sample.labels[0].1.is_empty());
    }
    let lines = s.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(parsed.samples.len() + parsed.errors.len() <= lines);
});
