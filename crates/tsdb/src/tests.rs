//! Store-level tests: append, read back, restart, retention, guardrails.

use super::*;
use pharos_model::{
    is_stale_nan, stale_nan, MatchOp, Matcher, MetricMetadata, Sample, SeriesSource,
};
use std::time::Duration;

/// The test configuration: defaults with a 64 MiB memory budget (shared by the modules'
/// own tests).
pub(crate) fn config() -> Config {
    let mut c = Config::default();
    c.memory.budget = bytesize_mib(64);
    c
}

fn bytesize_mib(n: u64) -> bytesize::ByteSize {
    bytesize::ByteSize::mib(n)
}

fn row<'a>(labels: &'a [(&'a str, &'a str)], samples: &'a [Sample]) -> SeriesRow<'a> {
    SeriesRow {
        labels: labels.into(),
        samples,
        exemplars: &[],
    }
}

fn s(t: i64, v: f64) -> Sample {
    Sample { t, v }
}

const MIN: i64 = 60_000;

#[test]
fn append_select_restart() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ms();
    let a = [("__name__", "up"), ("job", "api")];
    let b = [("job", "web"), ("__name__", "up")];
    let samples_a: Vec<Sample> = (0..100)
        .map(|i| s(now - 100 * MIN + i * MIN, i as f64))
        .collect();
    let samples_b = [s(now - MIN, 1.0), s(now, stale_nan())];
    {
        let db = Tsdb::open(dir.path(), &config()).unwrap();
        let meta = MetricMetadata {
            metric: "up".into(),
            kind: "gauge".into(),
            help: "is it up".into(),
            unit: String::new(),
        };
        let out = db
            .append(
                &[row(&a, &samples_a), row(&b, &samples_b)],
                std::slice::from_ref(&meta),
            )
            .unwrap();
        assert_eq!(out.samples_accepted, 102);
        assert_eq!(out.series_created, 2);
        assert!(out.rejected.is_empty());
        let got = db
            .select(&[Matcher::equal("__name__", "up")], now - 50 * MIN, now)
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].samples.len(), 50);
        assert!(is_stale_nan(got[1].samples[1].v));
        assert_eq!(db.metadata(Some("up"), None).unwrap(), vec![meta]);
        db.close().unwrap();
    }
    // Reopen: everything flushed at close is read from the partitions.
    let db = Tsdb::open(dir.path(), &config()).unwrap();
    let got = db
        .select(
            &[Matcher::new(MatchOp::RegexMatch, "job", "a.*").unwrap()],
            0,
            now,
        )
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].samples, samples_a);
    assert_eq!(db.label_values("job", &[], 0, now).unwrap(), ["api", "web"]);
    assert_eq!(db.label_names(&[], 0, now).unwrap(), ["__name__", "job"]);
    // A time range without data returns nothing.
    assert!(db
        .series(&[], now - 2 * 86_400_000 * 10, now - 2 * 86_400_000 * 9)
        .unwrap()
        .is_empty());
    // New samples after restart go on the same series.
    let out = db.append(&[row(&a, &[s(now + 1000, 7.0)])], &[]).unwrap();
    assert_eq!(out.series_created, 0);
    let got = db
        .select(&[Matcher::equal("job", "api")], now, now + 1000)
        .unwrap();
    assert_eq!(got[0].samples, vec![s(now + 1000, 7.0)]);
    db.close().unwrap();
}

#[test]
fn out_of_order_backfill_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), &config()).unwrap();
    let now = now_ms();
    let l = [("__name__", "x")];
    db.append(&[row(&l, &[s(now, 1.0)])], &[]).unwrap();
    // Backfill two days ago and an out-of-order sample, then retries of both.
    let old: Vec<Sample> = (0..10)
        .map(|i| s(now - 2 * 86_400_000 + i * MIN, i as f64))
        .collect();
    db.append(&[row(&l, &old), row(&l, &[s(now - MIN, 0.5)])], &[])
        .unwrap();
    db.flush().unwrap();
    let retry = db
        .append(&[row(&l, &old), row(&l, &[s(now, 1.0)])], &[])
        .unwrap();
    assert_eq!(retry.samples_accepted, 11);
    assert_eq!(retry.samples_duplicate, 1);
    db.flush().unwrap();
    let got = db
        .select(&[Matcher::equal("__name__", "x")], 0, now)
        .unwrap();
    assert_eq!(got[0].samples.len(), 12);
    assert_eq!(got[0].samples[..10], old[..]);
    // Merging the partitions stores the re-sent samples once.
    for _ in 0..50 {
        if db.parts.all().iter().all(|(_, segs)| segs.len() == 1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let st = db.stats();
    assert!(st.partitions.iter().all(|p| p.segments == 1), "{st:?}");
    assert_eq!(st.samples_on_disk, 12);
    assert_eq!(
        db.select(&[Matcher::equal("__name__", "x")], 0, now)
            .unwrap()[0]
            .samples
            .len(),
        12
    );
    db.close().unwrap();
}

#[test]
fn rejections_by_reason_keep_the_good_series() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.metrics.max_active_series = 2;
    c.metrics.max_labels_per_series = 3;
    let db = Tsdb::open(dir.path(), &c).unwrap();
    let now = now_ms();
    let rows_labels: Vec<Vec<(&str, &str)>> = vec![
        vec![("__name__", "a")],
        vec![("__name__", "b"), ("bad-name", "1")],
        vec![("__name__", "c"), ("a", "1"), ("b", "1"), ("c", "1")],
        vec![("__name__", "d")],
        vec![("__name__", "e")],
    ];
    let ok = [s(now, 1.0)];
    let old = [s(now - 31 * 86_400_000, 1.0)];
    let future = [s(now + 3_600_000, 1.0)];
    let mut rows: Vec<SeriesRow> = rows_labels.iter().map(|l| row(l, &ok)).collect();
    rows.push(row(&rows_labels[0], &old));
    rows.push(row(&rows_labels[0], &future));
    let out = db.append(&rows, &[]).unwrap();
    assert_eq!(out.samples_accepted, 2);
    let reasons: Vec<_> = out.rejected.iter().map(|r| (r.reason, r.samples)).collect();
    assert_eq!(
        reasons,
        vec![
            (RejectReason::InvalidLabels, 1),
            (RejectReason::TooManyLabels, 1),
            (RejectReason::TooOld, 1),
            (RejectReason::TooFarInFuture, 1),
            (RejectReason::MaxActiveSeries, 1),
        ]
    );
    assert!(
        out.rejection_message().contains("bad-name"),
        "{}",
        out.rejection_message()
    );
    assert_eq!(db.series(&[], 0, now).unwrap().len(), 2);
    db.close().unwrap();
}

fn wire<'a>(key: u128, pairs: &'a [(&'a [u8], &'a [u8])], samples: &'a [Sample]) -> SeriesRow<'a> {
    SeriesRow {
        labels: RowLabels::Wire { key, pairs },
        samples,
        exemplars: &[],
    }
}

#[test]
fn wire_rows_skip_checks_only_for_known_active_series() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.metrics.max_active_series = 1;
    let db = Tsdb::open(dir.path(), &c).unwrap();
    let now = now_ms();
    let a: [(&[u8], &[u8]); 2] = [(b"job", b"x"), (b"__name__", b"a")];
    let key_a = wire_key(b"a's label bytes");
    let out = db
        .append(&[wire(key_a, &a, &[s(now - 2000, 1.0)])], &[])
        .unwrap();
    assert_eq!((out.samples_accepted, out.series_created), (1, 1));
    // The same key again: the cached series, sorted labels and all.
    let out = db
        .append(&[wire(key_a, &a, &[s(now - 1000, 2.0)])], &[])
        .unwrap();
    assert_eq!((out.samples_accepted, out.series_created), (1, 0));
    let got = db.select(&[Matcher::equal("job", "x")], 0, now).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].labels.get("__name__"), Some("a"));
    assert_eq!(got[0].samples, vec![s(now - 2000, 1.0), s(now - 1000, 2.0)]);
    // Invalid UTF-8 is refused with its own reason, and never cached.
    let bad: [(&[u8], &[u8]); 1] = [(b"__name__", b"\xc3\x28")];
    for _ in 0..2 {
        let out = db
            .append(&[wire(wire_key(b"bad"), &bad, &[s(now, 1.0)])], &[])
            .unwrap();
        assert_eq!(out.rejected[0].reason, RejectReason::InvalidUtf8);
    }
    // Series `a` leaves the head (idle for a flush interval); `b` takes the only slot.
    for _ in 0..2 {
        *db.last_eviction.lock() -= c.metrics.flush_interval;
        db.flush().unwrap();
    }
    assert_eq!(db.head.active_series(), 0);
    let out = db
        .append(&[row(&[("__name__", "b")], &[s(now, 1.0)])], &[])
        .unwrap();
    assert_eq!(out.series_created, 1);
    // A cached key of a series no longer in the head still meets the active-series limit.
    let out = db.append(&[wire(key_a, &a, &[s(now, 3.0)])], &[]).unwrap();
    assert_eq!(out.rejected[0].reason, RejectReason::MaxActiveSeries);
    db.close().unwrap();
}

#[test]
fn head_stats_count_what_is_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), &config()).unwrap();
    let empty = db.head_stats().unwrap();
    assert_eq!((empty.num_series, empty.chunk_count), (0, 0));
    assert_eq!((empty.min_time, empty.max_time), (i64::MAX, i64::MIN));
    let now = now_ms();
    let a = [s(now - 2000, 1.0), s(now - 1000, 2.0)];
    db.append(
        &[
            row(&[("__name__", "a")], &a),
            row(&[("__name__", "b")], &a[1..]),
        ],
        &[],
    )
    .unwrap();
    let h = db.head_stats().unwrap();
    assert_eq!((h.num_series, h.chunk_count), (2, 2));
    assert_eq!((h.min_time, h.max_time), (now - 2000, now - 1000));
    // A flush empties the chunks; the series stay active.
    db.flush().unwrap();
    let h = db.head_stats().unwrap();
    assert_eq!((h.num_series, h.chunk_count, h.min_time), (2, 0, i64::MAX));
    db.close().unwrap();
}

#[test]
fn retention_drops_whole_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ms();
    let mut c = config();
    c.retention.metrics = Duration::from_secs(5 * 86_400);
    {
        let db = Tsdb::open(dir.path(), &c).unwrap();
        let l = [("__name__", "old")];
        let l2 = [("__name__", "new")];
        db.append(
            &[
                row(&l, &[s(now - 3 * 86_400_000, 1.0)]),
                row(&l2, &[s(now, 2.0)]),
            ],
            &[],
        )
        .unwrap();
        db.close().unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("parts")).unwrap().count(),
            2
        );
    }
    c.retention.metrics = Duration::from_secs(86_400);
    // The background thread applies retention at start and then every `check_interval`:
    // keep it out of the way, so that the partition is dropped by the call below.
    c.retention.check_interval = Duration::from_secs(30 * 86_400);
    let db = Tsdb::open(dir.path(), &c).unwrap();
    // Reads already exclude what is past retention, before the partition is deleted.
    assert!(db
        .select(&[Matcher::equal("__name__", "old")], 0, now)
        .unwrap()
        .is_empty());
    let dropped = db.apply_retention().unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(
        std::fs::read_dir(dir.path().join("parts")).unwrap().count(),
        1
    );
    assert_eq!(db.label_values("__name__", &[], 0, now).unwrap(), ["new"]);
    assert_eq!(db.stats().series_total, 1);
    // The dropped series is forgotten by the hash index too: it comes back as a new series,
    // while a known one is found again.
    let out = db
        .append(
            &[
                row(&[("__name__", "old")], &[s(now, 3.0)]),
                row(&[("__name__", "new")], &[s(now + 1, 4.0)]),
            ],
            &[],
        )
        .unwrap();
    assert_eq!(out.series_created, 1);
    assert_eq!(db.stats().series_total, 2);
    db.close().unwrap();
}

#[test]
fn snapshot_opens_as_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    let dest = snap.path().join("snap");
    let now = now_ms();
    let db = Tsdb::open(dir.path(), &config()).unwrap();
    let l = [("__name__", "s")];
    db.append(&[row(&l, &[s(now, 3.0)])], &[]).unwrap();
    db.snapshot(&dest).unwrap();
    db.close().unwrap();
    let copy = Tsdb::open(&dest, &config()).unwrap();
    assert_eq!(
        copy.select(&[], 0, now).unwrap()[0].samples,
        vec![s(now, 3.0)]
    );
    copy.close().unwrap();
}

#[test]
fn exemplars_are_kept_and_bounded_per_series() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.metrics.max_exemplars_per_series = 3;
    let db = Tsdb::open(dir.path(), &c).unwrap();
    let now = now_ms();
    let l = [("__name__", "req_bucket"), ("le", "0.5")];
    let exemplars: Vec<pharos_model::Exemplar> = (0..5)
        .map(|i| pharos_model::Exemplar {
            labels: pharos_model::Labels::from_pairs([("trace_id", format!("t{i}"))]),
            value: 0.1 * i as f64,
            t: now - 1000 + i,
        })
        .collect();
    let out = db
        .append(
            &[SeriesRow {
                labels: (&l).into(),
                samples: &[s(now, 1.0)],
                exemplars: &exemplars,
            }],
            &[],
        )
        .unwrap();
    assert_eq!(out.exemplars_accepted, 5);
    db.close().unwrap();
    drop(db);
    let db = Tsdb::open(dir.path(), &c).unwrap();
    let got = db
        .exemplars(
            &[Matcher::equal("__name__", "req_bucket")],
            now - 10_000,
            now,
        )
        .unwrap();
    assert_eq!(got.len(), 1);
    let ids: Vec<_> = got[0]
        .exemplars
        .iter()
        .map(|e| e.labels.get("trace_id").unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["t2", "t3", "t4"], "the newest three are kept");
    db.close().unwrap();
}

/// A query running while the head is flushed sees every sample acknowledged before it
/// started: none may be in neither the head, the flush in progress nor the segments.
#[test]
fn queries_during_flushes_see_every_acknowledged_sample() {
    use std::sync::atomic::AtomicUsize;
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(Tsdb::open(dir.path(), &config()).unwrap());
    let base = now_ms() - 120 * MIN;
    let names: Vec<String> = (0..500).map(|i| format!("s{i}")).collect();
    let acked = std::sync::Arc::new(AtomicUsize::new(0));
    let writer = {
        let (db, acked, names) = (db.clone(), acked.clone(), names.clone());
        std::thread::spawn(move || {
            for i in 0..60i64 {
                let samples = [s(base + i * MIN, i as f64)];
                let labels: Vec<[(&str, &str); 2]> = names
                    .iter()
                    .map(|n| [("__name__", "race"), ("id", n.as_str())])
                    .collect();
                let rows: Vec<SeriesRow<'_>> = labels.iter().map(|l| row(l, &samples)).collect();
                db.append(&rows, &[]).unwrap();
                acked.store(i as usize + 1, Ordering::SeqCst);
                db.flush().unwrap();
            }
        })
    };
    let mut checks = 0;
    let mut short = Vec::new();
    // Bounded by the writer's 60 rounds (or its failure).
    while !writer.is_finished() {
        let want = acked.load(Ordering::SeqCst);
        let got = db
            .select(
                &[Matcher::equal("__name__", "race")],
                base,
                base + 200 * MIN,
            )
            .unwrap();
        checks += 1;
        if want > 0 && (got.len() < names.len() || got.iter().any(|g| g.samples.len() < want)) {
            let least = got.iter().map(|g| g.samples.len()).min().unwrap_or(0);
            short.push((want, got.len(), least));
        }
    }
    writer.join().unwrap();
    assert!(
        short.is_empty(),
        "{} of {checks} queries missed acknowledged samples: {:?}",
        short.len(),
        &short[..short.len().min(5)]
    );
}
