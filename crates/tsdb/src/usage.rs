//! Disk usage per metric name: which metric names the bytes of the segment files belong to.
//!
//! Segments store the samples of many series in zstd frames, so a series' bytes on disk are
//! not written anywhere; they are estimated here. Every segment's file size is split over
//! its frames in proportion to their compressed sizes (so the magic, the index and the
//! footer are shared out too), and each frame's part over its blocks in proportion to their
//! encoded sizes, in whole bytes that add up exactly: the bytes of all metric names plus
//! [`MetricUsageReport::unnamed_bytes`] equal the segment bytes that
//! [`Tsdb::stats`](crate::Tsdb::stats) reports as `disk_bytes_partitions`.
//!
//! Memory is bounded for any number of series: series ids are mapped to metric names one
//! window of [`WINDOW_SIDS`] ids at a time (a table of 4 bytes per id), frames are
//! decompressed one at a time, and only one postings bitmap is held at once. Memory grows
//! with the number of metric names (one total per name), not with the number of series.
//! Time: every frame of every segment is read and decompressed once per window it
//! overlaps (one window below a million series).

use crate::index::Index;
use crate::segment::{frame_blocks, Segment};
use crate::{Tsdb, TsdbError};
use roaring::RoaringBitmap;
use serde::Serialize;
use std::ops::RangeInclusive;
use std::sync::Arc;

/// Series ids mapped to metric names at a time (a 4 MiB table).
const WINDOW_SIDS: u32 = 1 << 20;
/// The name-table entry of a series id without a metric name in the index.
const NO_NAME: u32 = u32::MAX;
/// The label that holds the metric name.
const METRIC_NAME: &str = "__name__";

/// What one metric name costs on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MetricUsage {
    /// The metric name (`__name__`).
    pub name: String,
    /// Series registered with this name in the index (with or without data on disk).
    pub series: u64,
    /// Samples of those series in the segment files.
    pub samples: u64,
    /// The segment-file bytes attributed to those series (see the module docs).
    pub bytes: u64,
}

/// The metric names with the most bytes on disk, and the totals they are part of.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MetricUsageReport {
    /// At most `limit` names, most bytes first (equal bytes: more series first, then by name).
    pub top: Vec<MetricUsage>,
    /// Metric names in the index (all of them were measured, not only the top ones).
    pub names: u64,
    /// Bytes of series that have no metric name, or are no longer in the index.
    pub unnamed_bytes: u64,
    /// Samples of those series.
    pub unnamed_samples: u64,
    /// Segment-file bytes measured: the sum over every metric name plus `unnamed_bytes`.
    pub bytes: u64,
    /// Samples in the segment files measured.
    pub samples: u64,
}

/// Running totals of one metric name (or of the unnamed series).
#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    samples: u64,
    bytes: u64,
}

impl Totals {
    fn add(&mut self, samples: u64, bytes: u64) {
        self.samples += samples;
        self.bytes += bytes;
    }
}

impl Tsdb {
    /// Per metric name: series count, samples and bytes in the segment files, for the
    /// `limit` names with the most bytes; every name is measured.
    ///
    /// Counted: the segment files of every time partition (their whole size, shared out as
    /// the module docs say). Not counted: samples still in the in-memory head (their bytes
    /// on disk are WAL records, which are not attributed to names; call [`Tsdb::flush`]
    /// first to count them), and the index (sled). Reads every frame of every segment.
    pub fn metric_usage(&self, limit: usize) -> Result<MetricUsageReport, TsdbError> {
        self.metric_usage_in_windows(limit, WINDOW_SIDS)
    }

    fn metric_usage_in_windows(
        &self,
        limit: usize,
        window: u32,
    ) -> Result<MetricUsageReport, TsdbError> {
        let segments: Vec<Arc<Segment>> = self
            .parts
            .all()
            .into_iter()
            .flat_map(|(_, segs)| segs)
            .collect();
        let names = metric_names(&self.index)?;
        let mut totals = vec![Totals::default(); names.len()];
        let mut unnamed = Totals::default();
        let mut table = Vec::new();
        for sids in windows(&segments, window) {
            fill_name_table(&self.index, &names, &sids, &mut table)?;
            for seg in &segments {
                attribute_segment(seg, &sids, &table, &mut totals, &mut unnamed);
            }
        }
        // A segment without frames has no series to share its bytes with.
        for seg in segments.iter().filter(|s| s.frames.is_empty()) {
            unnamed.add(0, seg.disk_bytes);
        }
        let mut usage = Vec::with_capacity(names.len());
        for (name, t) in names.into_iter().zip(&totals) {
            let series = self.index.postings(METRIC_NAME, &name)?.len();
            usage.push(MetricUsage {
                name,
                series,
                samples: t.samples,
                bytes: t.bytes,
            });
        }
        let report = MetricUsageReport {
            names: usage.len() as u64,
            unnamed_bytes: unnamed.bytes,
            unnamed_samples: unnamed.samples,
            bytes: totals.iter().map(|t| t.bytes).sum::<u64>() + unnamed.bytes,
            samples: totals.iter().map(|t| t.samples).sum::<u64>() + unnamed.samples,
            top: top_by_bytes(usage, limit),
        };
        Ok(report)
    }
}

/// Every metric name in the index (persisted and pending).
fn metric_names(index: &Index) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    index.scan_values(METRIC_NAME, |name| {
        names.push(name.to_owned());
        false
    })?;
    Ok(names)
}

/// The id windows `0..=max` of the series in `segments`, `window` ids each (at most 4,096
/// windows for a window of 2^20 ids).
fn windows(segments: &[Arc<Segment>], window: u32) -> Vec<RangeInclusive<u32>> {
    let Some(max) = segments.iter().filter_map(|s| s.bitmap.max()).max() else {
        return Vec::new();
    };
    let window = window.max(1);
    (0..=max / window)
        .map(|i| {
            let start = i * window;
            start..=start.saturating_add(window - 1).min(max)
        })
        .collect()
}

/// Sets `table[sid - start]` to the index in `names` of each series id's metric name.
fn fill_name_table(
    index: &Index,
    names: &[String],
    sids: &RangeInclusive<u32>,
    table: &mut Vec<u32>,
) -> std::io::Result<()> {
    table.clear();
    table.resize((sids.end() - sids.start()) as usize + 1, NO_NAME);
    for (i, name) in names.iter().enumerate() {
        let ids: RoaringBitmap = index.postings(METRIC_NAME, name)?;
        for sid in ids.range(sids.clone()) {
            table[(sid - sids.start()) as usize] = i as u32;
        }
    }
    Ok(())
}

/// Adds the samples and bytes of `seg`'s series with ids in `sids` to their metric names.
fn attribute_segment(
    seg: &Segment,
    sids: &RangeInclusive<u32>,
    table: &[u32],
    totals: &mut [Totals],
    unnamed: &mut Totals,
) {
    let frame_bytes: u64 = seg.frames.iter().map(|f| u64::from(f.clen)).sum();
    let mut frame_shares = Apportion::new(seg.disk_bytes, frame_bytes);
    for (i, f) in seg.frames.iter().enumerate() {
        let share = frame_shares.next(u64::from(f.clen));
        if f.last_sid < *sids.start() || f.first_sid > *sids.end() {
            continue;
        }
        let frame = seg.read_frame(i);
        let blocks = frame
            .as_ref()
            .ok()
            .and_then(|data| frame_blocks(data, f.first_sid));
        let Some(blocks) = blocks else {
            // Unreadable: its bytes count once, as unnamed, in the window of its first id.
            if sids.contains(&f.first_sid) {
                let error = frame.err().map(|e| e.to_string()).unwrap_or_default();
                tracing::warn!(segment = %seg.path.display(), frame = i, %error, "unreadable frame; its bytes are counted as unnamed");
                unnamed.add(f.samples, share);
            }
            continue;
        };
        let block_bytes: u64 = blocks.iter().map(|b| b.data.len() as u64).sum();
        let mut block_shares = Apportion::new(share, block_bytes);
        for b in &blocks {
            let bytes = block_shares.next(b.data.len() as u64);
            if !sids.contains(&b.sid) {
                continue;
            }
            let samples = crate::codec::block::sample_count(b.data);
            match table.get((b.sid - sids.start()) as usize) {
                Some(&n) if n != NO_NAME => totals[n as usize].add(samples, bytes),
                _ => unnamed.add(samples, bytes),
            }
        }
        if block_bytes == 0 && sids.contains(&f.first_sid) {
            unnamed.add(0, share);
        }
    }
}

/// Splits `total` over parts in proportion to their weights (which add up to `weights`),
/// in whole units that add up to exactly `total` once every weight has been given.
struct Apportion {
    total: u64,
    weights: u64,
    seen: u64,
    given: u64,
}

impl Apportion {
    fn new(total: u64, weights: u64) -> Self {
        Apportion {
            total,
            weights,
            seen: 0,
            given: 0,
        }
    }

    /// The share of the next part, of weight `weight`.
    fn next(&mut self, weight: u64) -> u64 {
        if self.weights == 0 {
            return 0;
        }
        self.seen = self.seen.saturating_add(weight).min(self.weights);
        let due =
            (u128::from(self.total) * u128::from(self.seen) / u128::from(self.weights)) as u64;
        let share = due.saturating_sub(self.given);
        self.given = due;
        share
    }
}

/// The `limit` entries with the most bytes, most first (then more series, then by name).
fn top_by_bytes(mut usage: Vec<MetricUsage>, limit: usize) -> Vec<MetricUsage> {
    let order = |a: &MetricUsage, b: &MetricUsage| {
        b.bytes
            .cmp(&a.bytes)
            .then(b.series.cmp(&a.series))
            .then_with(|| a.name.cmp(&b.name))
    };
    if limit < usage.len() {
        if limit == 0 {
            return Vec::new();
        }
        usage.select_nth_unstable_by(limit - 1, order);
        usage.truncate(limit);
    }
    usage.sort_unstable_by(order);
    usage
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeriesRow;
    use pharos_config::Config;
    use pharos_model::Sample;

    #[test]
    fn apportion_adds_up_exactly() {
        let weights = [3u64, 0, 7, 1, 1, 13];
        let mut a = Apportion::new(1001, weights.iter().sum());
        let shares: Vec<u64> = weights.iter().map(|w| a.next(*w)).collect();
        assert_eq!(shares.iter().sum::<u64>(), 1001);
        assert_eq!(shares[1], 0);
        assert!(shares[5] > shares[2] && shares[2] > shares[0]);
        assert_eq!(Apportion::new(5, 0).next(3), 0);
    }

    #[test]
    fn top_is_bounded_and_ordered() {
        let u = |name: &str, series, bytes| MetricUsage {
            name: name.into(),
            series,
            samples: 0,
            bytes,
        };
        let all = vec![
            u("c", 1, 5),
            u("a", 1, 9),
            u("b", 2, 5),
            u("d", 1, 5),
            u("e", 1, 1),
        ];
        let names = |v: Vec<MetricUsage>| v.into_iter().map(|m| m.name).collect::<Vec<_>>();
        assert_eq!(names(top_by_bytes(all.clone(), 3)), ["a", "b", "c"]);
        assert_eq!(
            names(top_by_bytes(all.clone(), 10)),
            ["a", "b", "c", "d", "e"]
        );
        assert!(top_by_bytes(all, 0).is_empty());
    }

    const DAY_MS: i64 = 86_400_000;

    /// Noon UTC `days` days before yesterday: samples up to 12 hours before it fall in one
    /// daily partition at any time of day the test runs.
    fn noon_before_yesterday(days: i64) -> i64 {
        let now = crate::now_ms();
        now - now.rem_euclid(DAY_MS) - (days + 1) * DAY_MS + DAY_MS / 2
    }

    /// `series` series of `metric` with `points` samples each, one minute apart, ending at
    /// noon UTC `days_ago` days before yesterday.
    fn append(db: &Tsdb, metric: &str, series: usize, points: usize, days_ago: i64) {
        let end = noon_before_yesterday(days_ago);
        let samples: Vec<Sample> = (0..points)
            .map(|i| Sample {
                t: end - (points - i) as i64 * 60_000,
                v: (i * 7919 % 1013) as f64 * 1.37,
            })
            .collect();
        let instances: Vec<String> = (0..series).map(|i| format!("host-{i}")).collect();
        let labels: Vec<[(&str, &str); 2]> = instances
            .iter()
            .map(|i| [("__name__", metric), ("instance", i.as_str())])
            .collect();
        let rows: Vec<SeriesRow> = labels
            .iter()
            .map(|l| SeriesRow {
                labels: l.into(),
                samples: &samples,
                exemplars: &[],
            })
            .collect();
        db.append(&rows, &[]).unwrap();
    }

    #[test]
    fn bytes_per_metric_name_add_up_to_the_segments() {
        let dir = tempfile::tempdir().unwrap();
        let db = Tsdb::open(dir.path(), &crate::tests::config()).unwrap();
        // One segment per day partition (so no background merge changes the files), three
        // partitions, series of one name in two of them.
        append(&db, "big", 40, 600, 0);
        append(&db, "medium", 3, 600, 0);
        db.flush().unwrap();
        append(&db, "small", 50, 2, 1);
        append(&db, "big", 40, 30, 1);
        db.flush().unwrap();
        // A series without a metric name.
        let nameless = [("job", "x")];
        let one = [Sample {
            t: noon_before_yesterday(2),
            v: 1.0,
        }];
        let row = SeriesRow {
            labels: (&nameless).into(),
            samples: &one,
            exemplars: &[],
        };
        db.append(&[row], &[]).unwrap();
        db.flush().unwrap();

        let stats = db.stats();
        assert_eq!(stats.partitions.len(), 3);
        assert!(stats.partitions.iter().all(|p| p.segments == 1));
        // Windows of 7 ids and of 1: frames span windows, every window edge is exercised.
        for window in [WINDOW_SIDS, 7, 1] {
            let r = db.metric_usage_in_windows(2, window).unwrap();
            assert_eq!(r.bytes, stats.disk_bytes_partitions, "window {window}");
            assert_eq!(r.samples, stats.samples_on_disk, "window {window}");
            assert_eq!(r.names, 3);
            assert_eq!(r.unnamed_samples, 1);
            assert!(r.unnamed_bytes > 0);
            let names: Vec<&str> = r.top.iter().map(|m| m.name.as_str()).collect();
            assert_eq!(names, ["big", "medium"], "window {window}");
            assert_eq!(r.top[0].series, 40);
            assert_eq!(r.top[0].samples, 40 * 630);
            assert_eq!(r.top[1].samples, 3 * 600);
            let all = db.metric_usage_in_windows(10, window).unwrap();
            let sum: u64 = all.top.iter().map(|m| m.bytes).sum();
            assert_eq!(sum + all.unnamed_bytes, stats.disk_bytes_partitions);
            assert_eq!(all.top[2].name, "small");
            assert_eq!(all.top[2].series, 50);
        }
        db.close().unwrap();
    }

    #[test]
    fn an_empty_store_has_no_usage() {
        let dir = tempfile::tempdir().unwrap();
        let db = Tsdb::open(dir.path(), &Config::default()).unwrap();
        assert_eq!(db.metric_usage(10).unwrap(), MetricUsageReport::default());
        db.close().unwrap();
    }
}
