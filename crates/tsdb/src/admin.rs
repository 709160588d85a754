//! Operator functions: stats, retention, snapshots.

use crate::days::{day_name, day_start, DAY_MS};
use crate::self_metrics::metrics;
use crate::{now_ms, wal, Tsdb, TsdbError};
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::Ordering;

#[derive(Clone, Debug, Serialize)]
pub struct PartitionStats {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub segments: usize,
    pub samples: u64,
    pub series: u64,
    pub disk_bytes: u64,
    /// Oldest and newest sample timestamps (ms).
    pub min_t: i64,
    pub max_t: i64,
    /// When retention deletes the partition (ms since the epoch).
    pub expires_at: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TsdbStats {
    pub series_total: u64,
    pub active_series: u64,
    pub head_bytes: u64,
    pub head_min_t: Option<i64>,
    pub head_max_t: Option<i64>,
    /// Samples in the partitions (flushed); the head's are not counted.
    pub samples_on_disk: u64,
    pub oldest_t: Option<i64>,
    pub newest_t: Option<i64>,
    pub retention_ms: i64,
    pub disk_bytes_wal: u64,
    pub disk_bytes_index: u64,
    pub disk_bytes_partitions: u64,
    pub partitions: Vec<PartitionStats>,
}

impl Tsdb {
    pub fn stats(&self) -> TsdbStats {
        let mut partitions = Vec::new();
        for (day, segs) in self.parts.all() {
            let mut series = roaring::RoaringBitmap::new();
            for s in &segs {
                series |= &s.bitmap;
            }
            partitions.push(PartitionStats {
                day: day_name(day),
                segments: segs.len(),
                samples: segs.iter().map(|s| s.samples).sum(),
                series: series.len(),
                disk_bytes: segs.iter().map(|s| s.disk_bytes).sum(),
                min_t: segs.iter().map(|s| s.min_t).min().unwrap_or(0),
                max_t: segs.iter().map(|s| s.max_t).max().unwrap_or(0),
                expires_at: day_start(day) + DAY_MS + self.retention_ms,
            });
        }
        let head_min = self.head.min_t.load(Ordering::Relaxed);
        let head_max = self.head.max_t.load(Ordering::Relaxed);
        let head_min_t = (head_min != i64::MAX).then_some(head_min);
        let head_max_t = (head_max != i64::MIN).then_some(head_max);
        let oldest_t = partitions.iter().map(|p| p.min_t).chain(head_min_t).min();
        let newest_t = partitions.iter().map(|p| p.max_t).chain(head_max_t).max();
        TsdbStats {
            series_total: self.series_total.load(Ordering::Relaxed),
            active_series: self.head.active_series() as u64,
            head_bytes: self.head.heap_bytes() as u64,
            head_min_t,
            head_max_t,
            samples_on_disk: partitions.iter().map(|p| p.samples).sum(),
            oldest_t,
            newest_t,
            retention_ms: self.retention_ms,
            disk_bytes_wal: self.wal.disk_bytes(),
            disk_bytes_index: self.index.size_on_disk(),
            disk_bytes_partitions: partitions.iter().map(|p| p.disk_bytes).sum(),
            partitions,
        }
    }

    /// Deletes day partitions wholly older than the retention period, their exemplars, and
    /// series left without data; returns the days dropped (`YYYY-MM-DD`).
    pub fn apply_retention(&self) -> Result<Vec<String>, TsdbError> {
        let cutoff = now_ms() - self.retention_ms;
        let dropped = self.parts.drop_before(cutoff)?;
        self.index.drop_exemplars_before(crate::day_of(cutoff))?;
        if !dropped.is_empty() {
            metrics()
                .retention_dropped_partitions
                .inc_by(dropped.len() as u64);
            // Series with no data left anywhere leave the index.
            // The head and the flush in progress before the segments, as reads do.
            let mut live = self.unflushed_sids();
            for (_, segs) in self.parts.all() {
                for s in segs {
                    live |= &s.bitmap;
                }
            }
            let mut dead = self.index.all_sids()?;
            dead -= live;
            // Series created while we computed this are in the head; keep them too.
            let dead: roaring::RoaringBitmap = dead
                .iter()
                .filter(|sid| !self.head.is_active(*sid))
                .collect();
            let removed = self.index.unregister(&dead)?;
            self.series_total.fetch_sub(
                removed.min(self.series_total.load(Ordering::Relaxed)),
                Ordering::Relaxed,
            );
            tracing::info!(
                partitions = dropped.len(),
                series_removed = removed,
                "metrics retention applied"
            );
        }
        Ok(dropped.into_iter().map(day_name).collect())
    }

    /// Writes a consistent copy of the store to `dest` (which must not exist), openable with
    /// [`Tsdb::open`]: the head is flushed first; segments are hard-linked (copied across
    /// file systems); the index is copied tree by tree; the WAL written since is copied.
    pub fn snapshot(&self, dest: &Path) -> Result<(), TsdbError> {
        if dest.exists() {
            return Err(TsdbError::Io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("snapshot destination {} already exists", dest.display()),
            )));
        }
        self.flush()?;
        let _m = self.parts.maintenance.lock();
        std::fs::create_dir_all(dest.join("parts"))?;
        for (day, segs) in self.parts.all() {
            std::fs::create_dir_all(dest.join("parts").join(day_name(day)))?;
            for s in segs {
                let to = dest
                    .join("parts")
                    .join(crate::partitions::relative_segment_path(day, s.id));
                if std::fs::hard_link(&s.path, &to).is_err() {
                    std::fs::copy(&s.path, &to)?;
                }
            }
        }
        let snap = crate::index::sled_config(&dest.join("index"), 1 << 20)
            .open()
            .map_err(std::io::Error::other)?;
        snap.import(self.index.db.export());
        snap.flush().map_err(std::io::Error::other)?;
        drop(snap);
        let wal_dest = dest.join("wal");
        std::fs::create_dir_all(&wal_dest)?;
        for id in wal::list_segments(self.wal.dir())? {
            let name = format!("{id:010}.wal");
            std::fs::copy(self.wal.dir().join(&name), wal_dest.join(&name))?;
        }
        tracing::info!(dest = %dest.display(), "metrics snapshot written");
        Ok(())
    }
}
