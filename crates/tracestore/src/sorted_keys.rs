//! One kind of a partition's keys (trace keys or index keys) as a small LSM tree: a
//! bounded in-memory buffer of the keys of recent commits, flushed to an immutable
//! sorted run ([`crate::run`]) when the store's key buffers outgrow
//! `traces.key_buffer_size` or the store closes, and runs merged (size-tiered, by the
//! background merger, [`crate::compactor`]) when there are more than [`MAX_RUNS`].
//!
//! The buffer is not logged: every key can be derived again from the value log (trace
//! keys from the block headers, index keys from each block's postings directory), so
//! on open the partition replays the blocks from [`SortedKeys::covered`] on. A run that
//! cannot be read at open is set aside (renamed `.corrupt`) and all runs of the kind
//! rebuilt from the value log.

use crate::error::StoreError;
use crate::run::{self, Entry, Run, RunWriter};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// More runs than this (per kind and partition) are merged in the background.
pub const MAX_RUNS: usize = 6;
/// More runs than this, and the writer merges them itself (the background merger is
/// behind): bounds the runs a lookup reads.
pub const INLINE_MERGE_RUNS: usize = 4 * MAX_RUNS;
/// Memory counted per buffered entry besides its key and value (tree node, allocations).
const ENTRY_OVERHEAD: usize = 80;
/// Most run files looked at when opening (guards the directory scan).
const MAX_RUN_FILES: usize = 10_000;

#[derive(Default)]
struct State {
    buffer: BTreeMap<Vec<u8>, Vec<u8>>,
    buffer_bytes: usize,
    /// Oldest first.
    runs: Vec<Arc<Run>>,
}

pub struct SortedKeys {
    dir: PathBuf,
    kind: &'static str,
    bloom_prefix: usize,
    state: RwLock<State>,
    next_run: AtomicU64,
}

impl SortedKeys {
    /// Opens the runs of `kind` in `dir` (`<kind>-<number>.run`), removing temporary
    /// files of an interrupted flush or merge. `bloom_prefix`: key prefix length the
    /// runs' bloom filters hold (0 for none).
    pub fn open(
        dir: &Path,
        kind: &'static str,
        bloom_prefix: usize,
    ) -> Result<SortedKeys, StoreError> {
        let mut numbered: Vec<(u64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir)?.take(MAX_RUN_FILES) {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(rest) = name.strip_prefix(kind).and_then(|r| r.strip_prefix('-')) else {
                continue;
            };
            if rest.ends_with(".tmp") {
                std::fs::remove_file(&path)?;
            } else if let Some(n) = rest.strip_suffix(".run").and_then(|n| n.parse().ok()) {
                numbered.push((n, path));
            }
        }
        numbered.sort();
        let next = numbered.last().map_or(0, |(n, _)| n + 1);
        let mut runs = Vec::with_capacity(numbered.len());
        for (_, path) in &numbered {
            match Run::open(path) {
                Ok(r) => runs.push(Arc::new(r)),
                Err(e) => {
                    tracing::error!(error = %e, "unreadable key run; rebuilding this partition's {kind} keys from the value log");
                    for (_, p) in &numbered {
                        std::fs::rename(p, p.with_extension("corrupt"))?;
                    }
                    runs.clear();
                    break;
                }
            }
        }
        Ok(SortedKeys {
            dir: dir.to_owned(),
            kind,
            bloom_prefix,
            state: RwLock::new(State {
                runs,
                ..State::default()
            }),
            next_run: AtomicU64::new(next),
        })
    }

    /// Value-log block sequence from which keys are not in runs yet (to replay on open).
    pub fn covered(&self) -> u64 {
        let state = self.state.read().expect("keys lock");
        state.runs.iter().map(|r| r.covered).max().unwrap_or(0)
    }

    pub fn insert(&self, entries: impl IntoIterator<Item = Entry>) {
        let mut state = self.state.write().expect("keys lock");
        for (k, v) in entries {
            let (key_len, value_len) = (k.len(), v.len());
            match state.buffer.insert(k, v) {
                Some(old) => state.buffer_bytes = state.buffer_bytes + value_len - old.len(),
                None => state.buffer_bytes += key_len + value_len + ENTRY_OVERHEAD,
            }
        }
    }

    /// Memory held by the buffer (estimated).
    pub fn buffer_bytes(&self) -> usize {
        self.state.read().expect("keys lock").buffer_bytes
    }

    pub fn run_count(&self) -> usize {
        self.state.read().expect("keys lock").runs.len()
    }

    /// Entries in the runs (a key in two runs before they merge counts twice).
    pub fn keys_in_runs(&self) -> u64 {
        let state = self.state.read().expect("keys lock");
        state.runs.iter().map(|r| r.entries).sum()
    }

    /// Every entry with `lo <= key <= hi`, in key order, from the buffer and the runs.
    /// `bloom_key` (a prefix of `lo` of the bloom length) lets runs that cannot hold it
    /// be skipped.
    pub fn range(
        &self,
        lo: &[u8],
        hi: &[u8],
        bloom_key: Option<&[u8]>,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut found: BTreeMap<Vec<u8>, Vec<u8>>;
        let runs: Vec<Arc<Run>>;
        {
            let state = self.state.read().expect("keys lock");
            found = state
                .buffer
                .range::<[u8], _>((std::ops::Bound::Included(lo), std::ops::Bound::Included(hi)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            runs = state.runs.clone();
        }
        let mut from_run = Vec::new();
        for run in &runs {
            if bloom_key.is_some_and(|b| !run.may_contain_prefix(b)) {
                continue;
            }
            from_run.clear();
            run.range(lo, hi, &mut from_run)?;
            for (k, v) in from_run.drain(..) {
                found.entry(k).or_insert(v);
            }
        }
        Ok(found.into_iter().collect())
    }

    fn run_path(&self) -> PathBuf {
        let n = self.next_run.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{}-{n:010}.run", self.kind))
    }

    /// Writes the buffer to a new run covering blocks below `covered`, then empties it.
    /// Only the writer calls it (readers keep reading the buffer until the run is in);
    /// it may run while the merger merges older runs.
    pub fn flush(&self, covered: u64) -> Result<(), StoreError> {
        let path = {
            let state = self.state.read().expect("keys lock");
            if state.buffer.is_empty() {
                return Ok(());
            }
            let mut w = RunWriter::create(&self.run_path(), self.bloom_prefix)?;
            for (k, v) in &state.buffer {
                w.add(k, v)?;
            }
            w.finish(covered)?
        };
        let run = Arc::new(Run::open(&path)?);
        let mut state = self.state.write().expect("keys lock");
        state.runs.push(run);
        state.buffer.clear();
        state.buffer_bytes = 0;
        crate::metrics::KEY_RUNS_FLUSHED.inc();
        Ok(())
    }

    /// When there are more than `max_runs` runs, merges the newest ones into one: the
    /// newest two, and each older run not bigger than those picked so far together
    /// (size-tiered, so a key is rewritten about log(runs) times, not at every merge).
    /// Readers holding an old run keep reading it (its file is unlinked, not yet freed)
    /// until they let go. One merger at a time (callers hold the store's file lock); a
    /// flush may add a newer run meanwhile, which the merge leaves alone.
    pub fn merge_if_over(&self, max_runs: usize) -> Result<bool, StoreError> {
        let runs = self.state.read().expect("keys lock").runs.clone();
        if runs.len() <= max_runs.max(1) {
            return Ok(false);
        }
        let mut start = runs.len() - 1;
        let mut picked_entries = runs[start].entries;
        while start > 0 && (runs.len() - start < 2 || runs[start - 1].entries <= picked_entries) {
            start -= 1;
            picked_entries += runs[start].entries;
        }
        let picked = &runs[start..];
        let covered = picked.iter().map(|r| r.covered).max().unwrap_or(0);
        let mut w = RunWriter::create(&self.run_path(), self.bloom_prefix)?;
        let refs: Vec<&Run> = picked.iter().map(|r| r.as_ref()).collect();
        run::merge(&refs, |k, v| w.add(k, v))?;
        let merged = Arc::new(Run::open(&w.finish(covered)?)?);
        {
            let mut state = self.state.write().expect("keys lock");
            state
                .runs
                .retain(|r| !picked.iter().any(|old| Arc::ptr_eq(old, r)));
            state.runs.push(merged);
        }
        for old in picked {
            std::fs::remove_file(&old.path)?;
        }
        crate::metrics::KEY_RUNS_MERGED.inc();
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(range: std::ops::Range<u32>) -> Vec<Entry> {
        range
            .map(|i| (i.to_be_bytes().to_vec(), vec![i as u8]))
            .collect()
    }

    fn all(keys: &SortedKeys) -> Vec<Entry> {
        keys.range(&[], &[0xff; 8], None).unwrap()
    }

    #[test]
    fn buffer_flushes_and_merges_keep_every_key_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let keys = SortedKeys::open(dir.path(), "traces", 2).unwrap();
        assert_eq!(keys.covered(), 0);
        for (n, start) in (0..10u32).map(|n| (n, n * 100)) {
            // Overlapping ranges, so merges meet duplicate keys.
            keys.insert(entries(start..start + 150));
            assert!(keys.buffer_bytes() > 0);
            keys.flush(u64::from(n) + 1).unwrap();
            assert_eq!(keys.buffer_bytes(), 0);
            keys.merge_if_over(3).unwrap();
            assert!(keys.run_count() <= 4);
        }
        keys.insert(entries(2_000..2_010));
        let want = [entries(0..1_050), entries(2_000..2_010)].concat();
        assert_eq!(all(&keys), want);
        assert_eq!(
            keys.range(&[0, 0, 1, 0], &[0, 0, 1, 9], Some(&[0, 0]))
                .unwrap(),
            entries(256..266)
        );
        assert_eq!(keys.covered(), 10);
        drop(keys);
        // Reopened: the runs are back, the unflushed buffer is not (the partition replays
        // it from the value log), a leftover temporary file is removed.
        std::fs::write(dir.path().join("traces-0000000099.tmp"), b"partial").unwrap();
        let keys = SortedKeys::open(dir.path(), "traces", 2).unwrap();
        assert_eq!(all(&keys), entries(0..1_050));
        assert_eq!(keys.covered(), 10);
        assert!(!dir.path().join("traces-0000000099.tmp").exists());
        // Another kind in the same directory is separate.
        assert!(all(&SortedKeys::open(dir.path(), "index", 0).unwrap()).is_empty());
    }

    #[test]
    fn an_unreadable_run_is_set_aside_for_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let keys = SortedKeys::open(dir.path(), "index", 0).unwrap();
        keys.insert(entries(0..10));
        keys.flush(4).unwrap();
        drop(keys);
        let run = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let len = std::fs::metadata(&run).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&run)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let keys = SortedKeys::open(dir.path(), "index", 0).unwrap();
        assert_eq!(keys.covered(), 0, "rebuild from the start of the value log");
        assert!(all(&keys).is_empty());
        assert!(run.with_extension("corrupt").exists());
    }
}
