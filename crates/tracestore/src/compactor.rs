//! The background merger of sorted key runs: the writer only writes its key buffers to
//! new runs and wakes this thread, which merges the runs of partitions that have more
//! than [`crate::sorted_keys::MAX_RUNS`], so a long merge never delays a group commit.
//! If the merger falls far behind, the writer merges inline (see
//! [`crate::sorted_keys::INLINE_MERGE_RUNS`]), which bounds the runs a lookup reads.

use crate::store::TraceStore;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Mutex, Weak};
use std::thread::JoinHandle;

pub struct Compactor {
    wake: Mutex<Option<SyncSender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Compactor {
    /// A compactor with no thread yet (see [`Compactor::start`]).
    pub fn idle() -> Compactor {
        Compactor {
            wake: Mutex::new(None),
            thread: Mutex::new(None),
        }
    }

    /// Starts the merging thread for `store`.
    pub fn start(&self, store: Weak<TraceStore>) -> std::io::Result<()> {
        // One pending wake-up is enough: a pass looks at every partition.
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("trace-compactor".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    let Some(store) = store.upgrade() else { return };
                    store.merge_key_runs();
                }
            })?;
        *self.wake.lock().expect("compactor lock") = Some(tx);
        *self.thread.lock().expect("compactor lock") = Some(thread);
        Ok(())
    }

    /// Asks for a merge pass (returns at once).
    pub fn wake(&self) {
        if let Some(tx) = self.wake.lock().expect("compactor lock").as_ref() {
            // Full: a pass is pending already; disconnected: stopping.
            let _: Result<(), TrySendError<()>> = tx.try_send(());
        }
    }

    /// Lets the current pass finish and stops the thread.
    pub fn stop(&self) {
        drop(self.wake.lock().expect("compactor lock").take());
        if let Some(h) = self.thread.lock().expect("compactor lock").take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sorted_keys::MAX_RUNS;
    use crate::TraceStore;

    #[test]
    fn a_merge_pass_leaves_at_most_max_runs_and_every_trace() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = pharos_config::Config::default();
        config.traces.key_buffer_size = bytesize::ByteSize::b(1);
        let store = TraceStore::open(dir.path(), &config).unwrap();
        let base = crate::store::now_ns() - 3_600_000_000_000;
        let mut ids = Vec::new();
        for seed in 1..=40 {
            let (id, front, cart) = crate::sample::trace_requests(seed, base + seed * 1_000_000);
            store.write_blocking(front).unwrap();
            store.write_blocking(cart).unwrap();
            ids.push(id);
        }
        // Whatever the background pass did already, one more pass settles it.
        store.merge_key_runs();
        for p in store.partitions.read().unwrap().values() {
            assert!(p.max_run_count() <= MAX_RUNS, "{} runs", p.max_run_count());
        }
        for id in &ids {
            assert_eq!(store.trace(id, None).unwrap().unwrap().span_count(), 7);
        }
        store.close().unwrap();
    }
}
