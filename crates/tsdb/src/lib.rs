//! The metrics TSDB.
//!
//! In: series (label sets) with samples, exemplars and metadata from metrics ingest
//! ([`Tsdb::append`]).
//! Out: [`pharos_model::SeriesSource`] reads for the PromQL engine and the Prometheus API;
//! [`Tsdb::stats`], [`Tsdb::metric_usage`], [`Tsdb::apply_retention`] and [`Tsdb::snapshot`]
//! for the operator CLI and admin API; self-metrics in the `prometheus` default registry.
//!
//! Layout under the data directory (`data/metrics`):
//! - `wal/`: write-ahead log; every acknowledged append is fsynced here (group commit);
//! - `index/`: sled — series registry, inverted index, exemplars, metadata;
//! - `parts/YYYY-MM-DD/*.seg`: one directory per day of immutable, zstd-compressed segment
//!   files, written when the in-memory head is flushed and merged in the background;
//!   retention deletes whole day directories.
//!
//! See `docs/tsdb.md` for the design and the measurements behind it.

mod admin;
mod append;
mod codec;
mod days;
mod fast_hash;
mod fifo;
mod flush;
mod frame_cache;
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod hash_index;
mod head;
mod index;
mod intern;
mod label_cache;
mod partitions;
mod query;
mod read;
mod registry;
mod segment;
mod self_metrics;
mod series_key;
mod slab;
mod usage;
mod wal;
mod wire_cache;

pub use admin::{PartitionStats, TsdbStats};
pub use append::{utf8_label_pairs, AppendOutcome, Rejection, RowLabels, SeriesRow};
pub use days::{day_name, day_of};
pub use guard::RejectReason;
pub use usage::{MetricUsage, MetricUsageReport};
pub use wire_cache::wire_key;

use frame_cache::FrameCache;
use guard::RateLimiter;
use head::{FlushItem, Head};
use index::Index;
use parking_lot::{Condvar, Mutex, RwLock};
use partitions::Partitions;
use pharos_config::Config;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum TsdbError {
    #[error("metrics storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The head is over its memory budget and flushing cannot keep up: retry later.
    #[error("metrics store is overloaded: {0}")]
    Overloaded(String),
    #[error("metrics store is closed")]
    Closed,
}

/// Wall clock in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// WAL size that triggers an early flush (bounds replay time and disk use).
const WAL_FLUSH_BYTES: u64 = 512 << 20;
/// A head with data and no append for this long is flushed (so an idle server's data
/// directory settles to its compact form).
const IDLE_FLUSH: Duration = Duration::from_secs(5);

pub struct Tsdb {
    dir: PathBuf,
    config: Config,
    retention_ms: i64,
    head: Head,
    wal: wal::Wal,
    index: Index,
    parts: Partitions,
    cache: FrameCache,
    /// Appends hold it shared; a flush holds it exclusively while it rotates the WAL and
    /// takes the head's samples, so no acknowledged sample is in neither.
    gate: RwLock<()>,
    /// The samples a running flush took from the head, readable until their segment is in.
    flushing: RwLock<Option<Arc<Vec<FlushItem>>>>,
    flush_lock: Mutex<()>,
    last_eviction: Mutex<Instant>,
    next_sid: AtomicU32,
    /// Sender's label bytes → series id, for rows that arrive in a wire format.
    wire_cache: wire_cache::WireCache,
    series_total: AtomicU64,
    new_series: RateLimiter,
    head_limit: usize,
    last_append: AtomicI64,
    closed: AtomicBool,
    wake: (Mutex<bool>, Condvar),
    background: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Tsdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tsdb({})", self.dir.display())
    }
}

fn percent(budget: u64, pct: u8) -> u64 {
    budget / 100 * u64::from(pct)
}

impl Tsdb {
    /// Opens (or creates) the store in `dir`, replays the WAL, and starts the background
    /// flush, merge and retention thread.
    pub fn open(dir: &Path, config: &Config) -> Result<Arc<Tsdb>, TsdbError> {
        std::fs::create_dir_all(dir)?;
        let budget = config.memory.budget.as_u64();
        let m = &config.metrics;
        let index = Index::open(
            &dir.join("index"),
            percent(budget, m.index_cache_percent).max(1 << 20),
            percent(budget, m.label_cache_percent) as usize,
            percent(budget, m.label_values_cache_percent) as usize,
        )?;
        let parts = Partitions::open(&dir.join("parts"))?;
        let old_wal = wal::list_segments(&dir.join("wal")).unwrap_or_default();
        let wal = wal::Wal::open(&dir.join("wal"))?;
        let next_sid = index.next_sid()?;
        let series_total = index.all_sids()?.len();
        let db = Arc::new(Tsdb {
            dir: dir.to_owned(),
            config: config.clone(),
            retention_ms: config.retention.metrics.as_millis() as i64,
            head: Head::default(),
            wal,
            index,
            parts,
            cache: FrameCache::new(percent(budget, m.chunk_cache_percent).max(1 << 20) as usize),
            gate: RwLock::new(()),
            flushing: RwLock::new(None),
            flush_lock: Mutex::new(()),
            last_eviction: Mutex::new(Instant::now()),
            next_sid: AtomicU32::new(next_sid),
            wire_cache: wire_cache::WireCache::new(
                percent(budget, m.wire_series_cache_percent) as usize
            ),
            series_total: AtomicU64::new(series_total),
            new_series: RateLimiter::new(m.max_new_series_per_minute),
            head_limit: percent(budget, m.head_memory_percent).max(1 << 20) as usize,
            last_append: AtomicI64::new(now_ms()),
            closed: AtomicBool::new(false),
            wake: (Mutex::new(false), Condvar::new()),
            background: Mutex::new(None),
        });
        db.replay(&old_wal)?;
        if !old_wal.is_empty() {
            // Write what was replayed to the partitions and drop the old WAL segments.
            db.flush()?;
        }
        db.update_gauges();
        let weak = Arc::downgrade(&db);
        let handle = std::thread::Builder::new()
            .name("pharos-tsdb".into())
            .spawn(move || background(weak))?;
        *db.background.lock() = Some(handle);
        Ok(db)
    }

    fn replay(&self, segments: &[u64]) -> Result<(), TsdbError> {
        if segments.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let total_bytes = wal::dir_size(self.wal.dir());
        tracing::info!(
            segments = segments.len(),
            bytes = total_bytes,
            "replaying metrics WAL"
        );
        let mut pending_series = Vec::new();
        let mut samples = 0u64;
        let mut records = 0u64;
        let mut max_sid = 0u32;
        let mut last_log = Instant::now();
        for (i, id) in segments.iter().enumerate() {
            let mut exemplars = Vec::new();
            let (n, clean) = wal::replay_segment(self.wal.dir(), *id, |rec| match rec {
                wal::Record::Series { sid, labels } => {
                    max_sid = max_sid.max(sid);
                    let hash = series_key::hash(&labels);
                    self.head.with_hash_shard(hash, |m| m.insert(hash, sid));
                    self.head.activate(sid);
                    pending_series.push((sid, hash, labels));
                }
                wal::Record::Samples(s) => {
                    for (sid, t, v) in s {
                        self.head.append_now(sid, &[pharos_model::Sample { t, v }]);
                        samples += 1;
                    }
                }
                wal::Record::Exemplar { sid, t, v, labels } => {
                    exemplars.push((day_of(t), sid, t, v, labels))
                }
                wal::Record::Metadata {
                    metric,
                    kind,
                    help,
                    unit,
                } => {
                    let _ = self.index.put_metadata(&pharos_model::MetricMetadata {
                        metric,
                        kind,
                        help,
                        unit,
                    });
                }
            })?;
            records += n;
            self.index.register(&pending_series)?;
            self.index.persist()?;
            pending_series.clear();
            self.index
                .put_exemplars(&exemplars, self.config.metrics.max_exemplars_per_series)?;
            if !clean {
                tracing::warn!(segment = id, records = n, "WAL segment ends in a torn or corrupt record; the rest of it was never acknowledged");
            }
            if last_log.elapsed() >= Duration::from_secs(2) || i + 1 == segments.len() {
                tracing::info!(
                    segment = i + 1,
                    of = segments.len(),
                    records,
                    samples,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "WAL replay progress"
                );
                last_log = Instant::now();
            }
        }
        self_metrics::metrics().wal_replayed_records.inc_by(records);
        let next = self
            .next_sid
            .load(Ordering::Relaxed)
            .max(max_sid.saturating_add(1));
        self.next_sid.store(next, Ordering::Relaxed);
        self.series_total
            .store(self.index.all_sids()?.len(), Ordering::Relaxed);
        tracing::info!(
            records,
            samples,
            active_series = self.head.active_series(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "WAL replay done"
        );
        Ok(())
    }

    /// Flushes everything and stops the background thread. Call after the front has
    /// drained requests; appends after this fail with [`TsdbError::Closed`].
    pub fn close(&self) -> Result<(), TsdbError> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.notify();
        if let Some(h) = self.background.lock().take() {
            let _ = h.join();
        }
        self.flush()?;
        self.index.persist()?;
        self.index.flush()?;
        tracing::info!(dir = %self.dir.display(), "metrics store closed");
        Ok(())
    }

    fn notify(&self) {
        let (lock, cv) = &self.wake;
        *lock.lock() = true;
        cv.notify_all();
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The oldest timestamp still served (now minus the retention).
    pub fn retention_cutoff(&self) -> i64 {
        now_ms() - self.retention_ms
    }

    fn update_gauges(&self) {
        let m = self_metrics::metrics();
        m.active_series.set(self.head.active_series() as i64);
        m.head_bytes.set(self.head.heap_bytes() as i64);
        m.hash_index_bytes.set(self.index.hash_index_bytes() as i64);
        m.partitions.set(self.parts.parts.read().len() as i64);
        m.disk_bytes
            .with_label_values(&["wal"])
            .set(self.wal.disk_bytes() as i64);
        m.disk_bytes
            .with_label_values(&["partitions"])
            .set(self.parts.disk_bytes() as i64);
    }

    /// What the background thread does on each wake-up.
    fn background_tick(
        &self,
        last_flush: &mut Instant,
        last_retention: &mut Instant,
        last_index_size: &mut Instant,
        last_persist: &mut Instant,
    ) {
        let interval = self.config.metrics.flush_interval;
        let has_data = self.head.data_bytes() > 0;
        let idle =
            now_ms() - self.last_append.load(Ordering::Relaxed) >= IDLE_FLUSH.as_millis() as i64;
        let due = last_flush.elapsed() >= interval
            || self.head.data_bytes() >= self.head_limit
            || self.wal.current_bytes() >= WAL_FLUSH_BYTES
            || (has_data && idle);
        if due {
            if let Err(e) = self.flush() {
                tracing::error!(error = %e, "metrics head flush failed; will retry");
            }
            *last_flush = Instant::now();
        }
        // New series reach sled at least every few seconds, in one batch.
        if self.index.pending_bytes() > 0 && last_persist.elapsed() >= Duration::from_secs(10) {
            if let Err(e) = self.index.persist() {
                tracing::error!(error = %e, "writing new series to the index failed; will retry");
            }
            *last_persist = Instant::now();
        }
        // Merge while nothing else is pressing; one merge per tick keeps flushes timely.
        let quiet = if idle {
            Duration::from_secs(3)
        } else {
            interval * 5
        };
        if self.head.data_bytes() < self.head_limit {
            if let Some((day, segs)) = self.parts.pick_merge(quiet) {
                match self.parts.merge(day, &segs) {
                    Ok(()) => {
                        self_metrics::metrics().merges.inc();
                        for s in &segs {
                            self.cache.forget_segment(s.id);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "metrics segment merge failed"),
                }
            }
        }
        if last_retention.elapsed() >= self.config.retention.check_interval {
            if let Err(e) = self.apply_retention() {
                tracing::error!(error = %e, "metrics retention failed");
            }
            *last_retention = Instant::now();
        }
        if last_index_size.elapsed() >= Duration::from_secs(30) {
            self_metrics::metrics()
                .disk_bytes
                .with_label_values(&["index"])
                .set(self.index.size_on_disk() as i64);
            *last_index_size = Instant::now();
        }
        self.update_gauges();
    }
}

fn background(db: std::sync::Weak<Tsdb>) {
    let mut last_flush = Instant::now();
    let mut last_retention = Instant::now() - Duration::from_secs(86_400);
    let mut last_index_size = Instant::now() - Duration::from_secs(86_400);
    let mut last_persist = Instant::now();
    loop {
        let Some(db) = db.upgrade() else { return };
        if db.closed.load(Ordering::SeqCst) {
            return;
        }
        db.background_tick(
            &mut last_flush,
            &mut last_retention,
            &mut last_index_size,
            &mut last_persist,
        );
        let (lock, cv) = &db.wake;
        let mut woken = lock.lock();
        if !*woken {
            cv.wait_for(&mut woken, Duration::from_millis(500));
        }
        *woken = false;
    }
}

#[cfg(test)]
mod tests;
