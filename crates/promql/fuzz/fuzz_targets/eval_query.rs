//! Any query text, parsed and evaluated as instant and range query over a small fixed data
//! set: must return a value or an error, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pharos_model::{stale_nan, Labels, MemSource};
use pharos_promql::{Engine, EngineOptions};
use std::sync::OnceLock;
use std::time::Duration;

fn fixture() -> &'static (MemSource, Engine) {
    static F: OnceLock<(MemSource, Engine)> = OnceLock::new();
    F.get_or_init(|| {
        let src = MemSource::new();
        for (i, job) in ["a", "b", "c"].iter().enumerate() {
            let l = Labels::from_pairs([("__name__", "m_total"), ("job", job), ("le", &i.to_string())]);
            for k in 0..40i64 {
                let v = if k == 30 { stale_nan() } else { (k * (i as i64 + 1)) as f64 };
                src.add(&l, k * 15_000, v);
            }
        }
        let opts = EngineOptions {
            timeout: Duration::from_secs(2),
            max_samples: 1_000_000,
            ..EngineOptions::default()
        };
        (src, Engine::with_options(opts))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else { return };
    if q.len() > 4096 {
        return;
    }
    let (src, engine) = fixture();
    let _ = engine.instant(src, q, 300_000);
    let _ = engine.range(src, q, 0, 600_000, 30_000);
});
