//! Head flush: rotate the WAL, take the head's samples, write one segment per day, then
//! drop the WAL segments the new segments cover.

use crate::self_metrics::metrics;
use crate::series_key::hash;
use crate::{Tsdb, TsdbError};
use std::sync::Arc;
use std::time::Instant;

impl Tsdb {
    /// Writes everything in the head to the time partitions and truncates the WAL.
    pub fn flush(&self) -> Result<(), TsdbError> {
        let _one = self.flush_lock.lock();
        let started = Instant::now();
        let (items, idle, wal_id) = {
            let _gate = self.gate.write();
            let wal_id = self.wal.rotate()?;
            // Series idle for a whole flush interval leave the head (at most two intervals).
            let evict = self.last_eviction.lock().elapsed() >= self.config.metrics.flush_interval;
            if evict {
                *self.last_eviction.lock() = std::time::Instant::now();
            }
            let (items, idle) = self.head.drain(evict);
            let items = Arc::new(items);
            *self.flushing.write() = Some(items.clone());
            (items, idle, wal_id)
        };
        // Forget idle series' hashes (they are found again through the index if they return).
        for sid in &idle {
            if let Some(enc) = self.index.series_bytes(*sid)? {
                self.head.forget_hash(hash(&enc), *sid);
            }
        }
        let result = self.write_items(&items);
        {
            // Under the gate, as readers look in the head and `flushing` together. On
            // success the new segments are already published, where a reader looks next.
            let _gate = self.gate.write();
            if result.is_err() {
                // Keep the WAL: the samples are still there for the next start. Put the
                // taken samples back into the head so they stay readable and get flushed
                // again.
                for it in items.iter() {
                    self.head.append_now(it.sid, &it.samples());
                }
            }
            *self.flushing.write() = None;
        }
        result?;
        self.index.persist()?;
        self.index.flush()?;
        self.wal.truncate_before(wal_id)?;
        let samples: usize = items
            .iter()
            .map(|i| i.chunks.iter().map(|c| c.len() as usize).sum::<usize>() + i.ooo.len())
            .sum();
        let m = metrics();
        m.flushes.inc();
        m.flush_seconds.observe(started.elapsed().as_secs_f64());
        if samples > 0 || !idle.is_empty() {
            tracing::debug!(
                samples,
                series = items.len(),
                deactivated = idle.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "flushed metrics head"
            );
        }
        Ok(())
    }

    fn write_items(&self, items: &[crate::head::FlushItem]) -> Result<(), TsdbError> {
        // Items come sorted by (day, series id).
        let mut i = 0;
        while i < items.len() {
            let day = items[i].day;
            let mut w = self.parts.new_writer(day)?;
            while i < items.len() && items[i].day == day {
                let samples = items[i].samples();
                w.add(items[i].sid, &samples)?;
                i += 1;
            }
            if w.is_empty() {
                w.abandon();
            } else {
                let seg = w.finish()?;
                self.parts.add(day, seg);
            }
        }
        Ok(())
    }
}
