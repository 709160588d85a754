//! The trace store: time partitions, the group-commit writer, reads, retention, stats
//! and snapshots.

use crate::catalog::{Catalog, TagScope};
use crate::deps::DependencyTracker;
use crate::error::StoreError;
use crate::partition::{dir_size, Partition};
use crate::sorted_keys::{INLINE_MERGE_RUNS, MAX_RUNS};
use crate::trace::Trace;
use crate::usage::ServiceUsage;
use crate::write::{self, WriteOutcome};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use pharos_config::Config;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Most spans (summed over requests) one group commit takes from the queue.
const MAX_COMMIT_SPANS: usize = 100_000;

pub(crate) struct Settings {
    pub partition_ns: u64,
    pub retention_ns: u64,
    pub future_margin_ns: u64,
    pub cache_per_partition: u64,
    pub max_dictionary: usize,
    pub indexed_attributes: HashSet<String>,
    pub max_search_candidates: usize,
    pub max_catalog_tags: usize,
    pub retention_check: Duration,
    /// Most bytes of trace and index keys buffered in memory over all partitions.
    pub key_buffer_bytes: usize,
}

type Reply = tokio::sync::oneshot::Sender<Result<WriteOutcome, StoreError>>;

struct WriteJob {
    spans: Vec<ResourceSpans>,
    count: usize,
    reply: Reply,
}

pub struct TraceStore {
    pub(crate) root: PathBuf,
    pub(crate) settings: Settings,
    pub(crate) partitions: RwLock<BTreeMap<u64, Arc<Partition>>>,
    pub(crate) catalog: RwLock<Catalog>,
    pub(crate) deps_tracker: Mutex<DependencyTracker>,
    pub(crate) zstd: Mutex<Option<zstd::bulk::Compressor<'static>>>,
    /// Held for the whole of a group commit; snapshots take it to see a quiet store.
    commit_lock: Mutex<()>,
    /// Held while run files are replaced (merges) and by whatever needs the partition
    /// directories still (snapshots, retention). Taken after `commit_lock`, never before.
    files_lock: Mutex<()>,
    compactor: crate::compactor::Compactor,
    queue: Mutex<Option<SyncSender<WriteJob>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    retention_stop: Mutex<Option<mpsc::Sender<()>>>,
    retention_thread: Mutex<Option<JoinHandle<()>>>,
}

pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Counts, time range and disk use of the store, by time partition.
#[derive(Clone, Debug, Serialize)]
pub struct StoreStats {
    pub spans: u64,
    pub disk_bytes: u64,
    pub partitions: Vec<PartitionStats>,
    pub services: usize,
    pub tag_names: usize,
    /// Start of the oldest partition and end of the newest, unix seconds.
    pub oldest_unix: Option<u64>,
    pub newest_unix: Option<u64>,
    pub retention_seconds: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PartitionStats {
    pub name: String,
    pub start_unix: u64,
    pub end_unix: u64,
    /// When retention deletes this partition, unix seconds.
    pub expires_unix: u64,
    pub spans: u64,
    pub disk_bytes: u64,
    pub dictionary_entries: usize,
    /// Sorted-run files of trace and index keys, and the keys in them.
    pub key_runs: usize,
    pub keys_in_runs: u64,
}

/// What `apply_retention` removed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RetentionReport {
    pub partitions_dropped: Vec<String>,
    pub bytes_freed: u64,
}

impl TraceStore {
    /// Opens (or creates) the store under `dir`, starts the group-commit writer and the
    /// retention task.
    pub fn open(dir: &Path, config: &Config) -> Result<Arc<TraceStore>, StoreError> {
        let t = &config.traces;
        let partition_ns = t.partition_duration.as_nanos() as u64;
        if partition_ns < 3_600_000_000_000 {
            return Err(StoreError::Config(
                "traces.partition_duration must be at least 1h".into(),
            ));
        }
        if config.retention.traces.as_nanos() as u64 / partition_ns > 1_000 {
            return Err(StoreError::Config(
                "retention.traces / traces.partition_duration gives more than 1,000 partitions (one database each); use longer partitions".into(),
            ));
        }
        if t.write_queue == 0 || t.max_search_candidates == 0 {
            return Err(StoreError::Config(
                "traces.write_queue and traces.max_search_candidates must be > 0".into(),
            ));
        }
        let retention_ns = config.retention.traces.as_nanos() as u64;
        let expected_partitions = (retention_ns / partition_ns + 2).max(1);
        let settings = Settings {
            partition_ns,
            retention_ns,
            future_margin_ns: t.future_margin.as_nanos() as u64,
            cache_per_partition: (t.cache_size.as_u64() / expected_partitions).max(1 << 20),
            max_dictionary: t.max_dictionary_strings,
            indexed_attributes: t.indexed_attributes.iter().cloned().collect(),
            max_search_candidates: t.max_search_candidates,
            max_catalog_tags: t.max_catalog_tags,
            key_buffer_bytes: t.key_buffer_size.as_u64() as usize,
            retention_check: config
                .retention
                .check_interval
                .max(Duration::from_millis(100)),
        };
        std::fs::create_dir_all(dir)?;
        let mut partitions = BTreeMap::new();
        let mut catalog = Catalog::default();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((start, end)) = Partition::parse_dir_name(&name) else {
                continue;
            };
            let p = Partition::open(
                dir,
                start,
                end,
                settings.cache_per_partition,
                settings.max_dictionary,
            )?;
            for k in p.catalog_state.lock().expect("catalog lock").keys.iter() {
                catalog.add(k);
            }
            partitions.insert(start, Arc::new(p));
        }
        crate::metrics::PARTITIONS.set(partitions.len() as i64);
        let (tx, rx) = mpsc::sync_channel(t.write_queue);
        let store = Arc::new(TraceStore {
            root: dir.to_owned(),
            deps_tracker: Mutex::new(DependencyTracker::new(t.dependency_window_spans)),
            zstd: Mutex::new(zstd::bulk::Compressor::new(3).ok()),
            settings,
            partitions: RwLock::new(partitions),
            catalog: RwLock::new(catalog),
            commit_lock: Mutex::new(()),
            files_lock: Mutex::new(()),
            compactor: crate::compactor::Compactor::idle(),
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(None),
            retention_stop: Mutex::new(None),
            retention_thread: Mutex::new(None),
        });
        let s = store.clone();
        let writer = std::thread::Builder::new()
            .name("trace-writer".into())
            .spawn(move || s.writer_loop(rx))?;
        *store.writer.lock().expect("writer lock") = Some(writer);
        let (stop_tx, stop_rx) = mpsc::channel();
        let s = Arc::downgrade(&store);
        let every = store.settings.retention_check;
        let retention = std::thread::Builder::new()
            .name("trace-retention".into())
            .spawn(move || loop {
                match stop_rx.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {
                        let Some(store) = s.upgrade() else { return };
                        if let Err(e) = store.apply_retention() {
                            tracing::warn!(error = %e, "trace retention failed");
                        }
                    }
                    _ => return,
                }
            })?;
        store.compactor.start(Arc::downgrade(&store))?;
        *store.retention_stop.lock().expect("lock") = Some(stop_tx);
        *store.retention_thread.lock().expect("lock") = Some(retention);
        store.apply_retention()?;
        // Keys rebuilt on open (after a crash) may exceed the buffer limit.
        {
            let _quiet = store.commit_lock.lock().expect("commit lock");
            store.bound_key_buffers()?;
        }
        Ok(store)
    }

    /// Writes spans; resolves once they are durable (fsynced in a group commit).
    /// Fails at once with [`StoreError::Overloaded`] when the write queue is full.
    pub async fn write(&self, spans: Vec<ResourceSpans>) -> Result<WriteOutcome, StoreError> {
        let rx = self.enqueue(spans)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// [`TraceStore::write`] for callers outside an async runtime.
    pub fn write_blocking(&self, spans: Vec<ResourceSpans>) -> Result<WriteOutcome, StoreError> {
        let rx = self.enqueue(spans)?;
        rx.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    fn enqueue(
        &self,
        spans: Vec<ResourceSpans>,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<WriteOutcome, StoreError>>, StoreError> {
        let count = spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        let (reply, rx) = tokio::sync::oneshot::channel();
        let queue = self.queue.lock().expect("queue lock");
        let tx = queue.as_ref().ok_or(StoreError::Closed)?;
        match tx.try_send(WriteJob {
            spans,
            count,
            reply,
        }) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(StoreError::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(StoreError::Closed),
        }
    }

    fn writer_loop(&self, rx: Receiver<WriteJob>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            let mut spans = jobs[0].count;
            while spans < MAX_COMMIT_SPANS {
                match rx.try_recv() {
                    Ok(job) => {
                        spans += job.count;
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            let (requests, replies): (Vec<_>, Vec<_>) =
                jobs.into_iter().map(|j| (j.spans, j.reply)).unzip();
            let started = Instant::now();
            let result = {
                let _quiet = self.commit_lock.lock().expect("commit lock");
                let result = write::commit(self, &requests, now_ns());
                // Runs only after a commit that is durable in full, so they never point
                // at blocks a crash could lose. The spans are durable whatever happens
                // here: keys not written to a run stay buffered and are rebuilt from the
                // value log after a restart.
                if result.is_ok() {
                    if let Err(e) = self.bound_key_buffers() {
                        tracing::warn!(error = %e, "writing trace key runs failed");
                    }
                }
                result
            };
            crate::metrics::COMMIT_SECONDS.observe(started.elapsed().as_secs_f64());
            match result {
                Ok(outcomes) => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "trace store commit failed");
                    let msg = e.to_string();
                    for reply in replies {
                        let _ =
                            reply.send(Err(StoreError::Corrupt(format!("commit failed: {msg}"))));
                    }
                }
            }
        }
    }

    /// Keeps the key buffers within `traces.key_buffer_size`: when they are over it,
    /// writes the biggest partitions' buffers to runs until under half of it. Called by
    /// the writer after a commit is durable, so the runs never point past the blocks.
    fn bound_key_buffers(&self) -> Result<(), StoreError> {
        let limit = self.settings.key_buffer_bytes;
        let mut parts: Vec<(usize, Arc<Partition>)> = self
            .all_partitions()
            .into_iter()
            .map(|p| (p.key_buffer_bytes(), p))
            .collect();
        let mut total: usize = parts.iter().map(|(b, _)| b).sum();
        crate::metrics::KEY_BUFFER_BYTES.set(total as i64);
        if total <= limit {
            return Ok(());
        }
        parts.sort_by_key(|(bytes, _)| std::cmp::Reverse(*bytes));
        for (bytes, p) in parts {
            if total <= limit / 2 {
                break;
            }
            p.flush_keys()?;
            total -= bytes;
            if p.max_run_count() > INLINE_MERGE_RUNS {
                let _files = self.files_lock.lock().expect("files lock");
                p.merge_runs(INLINE_MERGE_RUNS)?;
            }
        }
        crate::metrics::KEY_BUFFER_BYTES.set(total as i64);
        self.compactor.wake();
        Ok(())
    }

    /// One pass of the background merger over every partition.
    pub(crate) fn merge_key_runs(&self) {
        let parts = self.all_partitions();
        for p in parts {
            if p.max_run_count() <= MAX_RUNS {
                continue;
            }
            let _files = self.files_lock.lock().expect("files lock");
            if let Err(e) = p.merge_runs(MAX_RUNS) {
                tracing::warn!(partition = %p.dir.display(), error = %e, "merging trace key runs failed");
            }
        }
    }

    /// Start of the partition that holds time `t_ns`: an existing one covering it, or the
    /// aligned range of `traces.partition_duration` containing it.
    pub(crate) fn partition_start_for(&self, t_ns: u64) -> u64 {
        let parts = self.partitions.read().expect("partitions lock");
        if let Some((&start, p)) = parts.range(..=t_ns).next_back() {
            if t_ns < p.end_ns {
                return start;
            }
        }
        t_ns - t_ns % self.settings.partition_ns
    }

    pub(crate) fn partition_for_write(&self, start: u64) -> Result<Arc<Partition>, StoreError> {
        if let Some(p) = self.partitions.read().expect("partitions lock").get(&start) {
            return Ok(p.clone());
        }
        let mut parts = self.partitions.write().expect("partitions lock");
        if let Some(p) = parts.get(&start) {
            return Ok(p.clone());
        }
        let mut end = start + self.settings.partition_ns;
        if let Some((&next, _)) = parts.range(start + 1..).next() {
            end = end.min(next);
        }
        let p = Arc::new(Partition::open(
            &self.root,
            start,
            end,
            self.settings.cache_per_partition,
            self.settings.max_dictionary,
        )?);
        parts.insert(start, p.clone());
        crate::metrics::PARTITIONS.set(parts.len() as i64);
        Ok(p)
    }

    /// The earliest span start still inside retention.
    pub(crate) fn cutoff_ns(&self) -> u64 {
        now_ns().saturating_sub(self.settings.retention_ns)
    }

    /// A snapshot of the open partitions, oldest first.
    fn all_partitions(&self) -> Vec<Arc<Partition>> {
        let parts = self.partitions.read().expect("partitions lock");
        parts.values().cloned().collect()
    }

    pub(crate) fn partitions_overlapping(&self, start_ns: u64, end_ns: u64) -> Vec<Arc<Partition>> {
        let parts = self.partitions.read().expect("partitions lock");
        parts
            .values()
            .rev()
            .filter(|p| p.overlaps(start_ns, end_ns))
            .cloned()
            .collect()
    }

    /// A trace by id (`None` if no span of it is stored). `window` (ns) narrows the
    /// partitions looked at, as Jaeger's and Tempo's optional start/end hints do.
    pub fn trace(
        &self,
        trace_id: &[u8; 16],
        window: Option<(u64, u64)>,
    ) -> Result<Option<Trace>, StoreError> {
        let cutoff = self.cutoff_ns();
        let (from, to) = window.unwrap_or((0, u64::MAX));
        let mut groups = Vec::new();
        for p in self.partitions_overlapping(from.max(cutoff), to) {
            groups.extend(p.read_trace(trace_id)?);
        }
        for g in &mut groups {
            g.spans.retain(|s| s.start_time_unix_nano >= cutoff);
        }
        groups.retain(|g| !g.spans.is_empty());
        if groups.is_empty() {
            return Ok(None);
        }
        Ok(Some(Trace {
            trace_id: *trace_id,
            groups,
        }))
    }

    /// Whether searches on attribute `key` can use the secondary index.
    pub fn is_indexed(&self, key: &str) -> bool {
        self.settings.indexed_attributes.contains(key)
    }

    pub fn services(&self) -> Vec<String> {
        self.catalog.read().expect("catalog lock").services()
    }

    /// Operations of a service with their OTLP span kinds, optionally of one kind.
    pub fn operations(&self, service: &str, kind: Option<i32>) -> Vec<(String, i32)> {
        self.catalog
            .read()
            .expect("catalog lock")
            .operations(service, kind)
    }

    pub fn tag_names(&self, scope: Option<TagScope>) -> Vec<(TagScope, String)> {
        self.catalog.read().expect("catalog lock").tag_names(scope)
    }

    pub fn tag_values(&self, scope: Option<TagScope>, name: &str) -> Vec<String> {
        self.catalog
            .read()
            .expect("catalog lock")
            .tag_values(scope, name)
    }

    /// Calls between services (parent, child, count) in `[start_ns, end_ns]`, hour-grained.
    pub fn dependencies(
        &self,
        start_ns: u64,
        end_ns: u64,
    ) -> Result<Vec<(String, String, u64)>, StoreError> {
        let from_hour = (start_ns.max(self.cutoff_ns()) / 3_600_000_000_000) as u32;
        let to_hour = (end_ns / 3_600_000_000_000).min(u32::MAX as u64) as u32;
        let mut sums = HashMap::new();
        for p in self.partitions_overlapping(start_ns, end_ns) {
            p.read_deps(from_hour, to_hour, &mut sums)?;
        }
        let mut out: Vec<_> = sums.into_iter().map(|((p, c), n)| (p, c, n)).collect();
        out.sort();
        Ok(out)
    }

    pub fn stats(&self) -> StoreStats {
        let parts = self.all_partitions();
        let retention_s = self.settings.retention_ns / 1_000_000_000;
        let partitions: Vec<PartitionStats> = parts
            .iter()
            .map(|p| PartitionStats {
                name: Partition::dir_name(p.start_ns, p.end_ns),
                start_unix: p.start_ns / 1_000_000_000,
                end_unix: p.end_ns / 1_000_000_000,
                expires_unix: p.end_ns / 1_000_000_000 + retention_s,
                spans: p.span_count(),
                disk_bytes: p.disk_bytes(),
                dictionary_entries: p.dict.read().expect("dict lock").len(),
                key_runs: p.traces.run_count() + p.index.run_count(),
                keys_in_runs: p.traces.keys_in_runs() + p.index.keys_in_runs(),
            })
            .collect();
        let disk_bytes = dir_size(&self.root);
        crate::metrics::DISK_BYTES.set(disk_bytes as i64);
        let catalog = self.catalog.read().expect("catalog lock");
        StoreStats {
            spans: partitions.iter().map(|p| p.spans).sum(),
            disk_bytes,
            oldest_unix: partitions.first().map(|p| p.start_unix),
            newest_unix: partitions.last().map(|p| p.end_unix),
            partitions,
            services: catalog.services().len(),
            tag_names: catalog.tag_count(),
            retention_seconds: retention_s,
        }
    }

    /// Spans and on-disk bytes per service, over all partitions, biggest first.
    ///
    /// `spans` is exact (counted at write time). `bytes` apportions each partition's disk
    /// bytes (all its files: blocks, keys, index, dictionary) among its services by their
    /// share of the partition's encoded span bytes before compression (a trace's encoded
    /// chunk is divided among its services by span count), so the bytes add up to the
    /// partitions' disk use (less rounding). Counts are kept per partition, survive restart and go away
    /// with a partition dropped by retention.
    pub fn service_usage(&self) -> Vec<ServiceUsage> {
        let parts = self.all_partitions();
        let per_partition: Vec<ServiceUsage> = parts
            .iter()
            .flat_map(|p| {
                let disk = p.disk_bytes();
                let usage = p.usage.lock().expect("usage lock");
                usage.apportion(disk).collect::<Vec<_>>()
            })
            .collect();
        crate::usage::merge(per_partition.into_iter())
    }

    /// Deletes every partition whose whole range is older than `retention.traces`, and
    /// with it its files; rebuilds the catalog from what is left.
    pub fn apply_retention(&self) -> Result<RetentionReport, StoreError> {
        let _quiet = self.commit_lock.lock().expect("commit lock");
        let _files = self.files_lock.lock().expect("files lock");
        let cutoff = self.cutoff_ns();
        let expired: Vec<Arc<Partition>> = {
            let mut parts = self.partitions.write().expect("partitions lock");
            let keys: Vec<u64> = parts
                .iter()
                .filter(|(_, p)| p.end_ns <= cutoff)
                .map(|(&k, _)| k)
                .collect();
            keys.into_iter().filter_map(|k| parts.remove(&k)).collect()
        };
        let mut report = RetentionReport::default();
        if expired.is_empty() {
            return Ok(report);
        }
        for p in expired {
            let dir = p.dir.clone();
            let bytes = p.disk_bytes();
            let name = Partition::dir_name(p.start_ns, p.end_ns);
            // Readers may still hold the partition; its files are unlinked now and their
            // space returns when the last handle closes.
            drop(p);
            std::fs::remove_dir_all(&dir)?;
            tracing::info!(partition = %name, bytes, "dropped expired trace partition");
            crate::metrics::PARTITIONS_DROPPED.inc();
            report.bytes_freed += bytes;
            report.partitions_dropped.push(name);
        }
        let mut catalog = Catalog::default();
        let parts = self.partitions.read().expect("partitions lock");
        for p in parts.values() {
            for k in p.catalog_state.lock().expect("catalog lock").keys.iter() {
                catalog.add(k);
            }
        }
        crate::metrics::PARTITIONS.set(parts.len() as i64);
        *self.catalog.write().expect("catalog lock") = catalog;
        Ok(report)
    }

    /// Copies a consistent image of the store to `dest` (created; must not exist or be
    /// empty). Writes wait while the copy runs. Returns the bytes copied.
    pub fn snapshot(&self, dest: &Path) -> Result<u64, StoreError> {
        let _quiet = self.commit_lock.lock().expect("commit lock");
        let _files = self.files_lock.lock().expect("files lock");
        let parts = self.all_partitions();
        std::fs::create_dir_all(dest)?;
        let mut bytes = 0;
        for p in parts {
            p.db.flush()?;
            bytes += copy_dir(
                &p.dir,
                &dest.join(Partition::dir_name(p.start_ns, p.end_ns)),
            )?;
        }
        Ok(bytes)
    }

    /// Stops accepting writes, commits and fsyncs everything queued, stops background work.
    pub fn close(&self) -> Result<(), StoreError> {
        drop(self.queue.lock().expect("queue lock").take());
        if let Some(h) = self.writer.lock().expect("writer lock").take() {
            let _ = h.join();
        }
        self.compactor.stop();
        drop(self.retention_stop.lock().expect("lock").take());
        if let Some(h) = self.retention_thread.lock().expect("lock").take() {
            let _ = h.join();
        }
        let parts = std::mem::take(&mut *self.partitions.write().expect("partitions lock"));
        for p in parts.values() {
            p.db.flush()?;
            p.flush_keys()?;
        }
        // Dropping the partitions closes their databases (once readers let go).
        drop(parts);
        crate::metrics::PARTITIONS.set(0);
        Ok(())
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<u64, StoreError> {
    std::fs::create_dir_all(to)?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            bytes += copy_dir(&entry.path(), &target)?;
        } else {
            bytes += std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(bytes)
}
