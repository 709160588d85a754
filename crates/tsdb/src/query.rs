//! The read path: [`SeriesSource`] over segments, the flush in progress, and the head.
//!
//! A query resolves matchers to series ids through the inverted index, restricted to the
//! series present in the partitions overlapping the range (segment bitmaps) and the head;
//! then reads the samples ([`crate::read`]: in parallel, only the frames whose id and time
//! ranges match, only the blocks overlapping the range). Sources are merged oldest first,
//! so the newest write wins on equal timestamps. Nothing older than the retention cutoff
//! is returned.

use crate::{day_of, Tsdb};
use pharos_model::{
    Exemplar, ExemplarSeries, HeadStats, Labels, Matcher, MetricMetadata, SeriesData, SeriesSource,
    SourceError,
};
use rayon::slice::ParallelSliceMut;
use roaring::RoaringBitmap;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;

fn storage(e: impl std::fmt::Display) -> SourceError {
    SourceError::Storage(e.to_string())
}

impl Tsdb {
    /// Clamps a query range to the retention period; `None` if nothing is left.
    fn clamp(&self, start: i64, end: i64) -> Option<(i64, i64)> {
        let start = start.max(self.retention_cutoff());
        (start <= end).then_some((start, end))
    }

    /// Series ids with data (possibly) in range: segment bitmaps plus the head.
    fn present(&self, start: i64, end: i64) -> RoaringBitmap {
        let mut bm = RoaringBitmap::new();
        for seg in self.parts.overlapping(start, end) {
            bm |= &seg.bitmap;
        }
        if let Some(f) = self.flushing.read().as_ref() {
            bm.extend(f.iter().map(|i| i.sid));
        }
        bm |= self.head.sids();
        bm
    }

    fn matching_sids(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<RoaringBitmap, SourceError> {
        let present = self.present(start, end);
        if matchers.is_empty() {
            return Ok(present);
        }
        self.index.select(matchers, &present).map_err(storage)
    }

    fn check_series_limit(&self, n: u64) -> Result<(), SourceError> {
        let max = self.config.query.max_series as u64;
        if n > max {
            return Err(SourceError::LimitExceeded(format!(
                "the selectors match {n} series, more than the limit of {max} (query.max_series)"
            )));
        }
        Ok(())
    }

    fn labels_of(&self, sid: u32) -> Result<Option<Labels>, SourceError> {
        self.index.labels(sid).map_err(storage)
    }

    /// Every sample of matching series in range, for export (no series or sample limits).
    pub fn export(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        mut f: impl FnMut(SeriesData) -> bool,
    ) -> Result<(), SourceError> {
        let Some((start, end)) = self.clamp(start, end) else {
            return Ok(());
        };
        let sids: Vec<u32> = self.matching_sids(matchers, start, end)?.iter().collect();
        for chunk in sids.chunks(256) {
            for series in self.read_series(chunk, start, end, None)? {
                if !f(series) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

impl SeriesSource for Tsdb {
    fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<SeriesData>, SourceError> {
        let Some((start, end)) = self.clamp(start, end) else {
            return Ok(Vec::new());
        };
        let sids: Vec<u32> = self.matching_sids(matchers, start, end)?.iter().collect();
        self.check_series_limit(sids.len() as u64)?;
        let mut out = self.read_series(&sids, start, end, Some(self.config.query.max_samples))?;
        if rayon::current_thread_index().is_some() {
            out.par_sort_by(|a, b| a.labels.cmp(&b.labels));
        } else {
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
        }
        Ok(out)
    }

    fn series(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<Labels>, SourceError> {
        let Some((start, end)) = self.clamp(start, end) else {
            return Ok(Vec::new());
        };
        let sids = self.matching_sids(matchers, start, end)?;
        self.check_series_limit(sids.len())?;
        let mut out = Vec::with_capacity(sids.len() as usize);
        for sid in &sids {
            if let Some(l) = self.labels_of(sid)? {
                out.push(l);
            }
        }
        out.sort();
        Ok(out)
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<String>, SourceError> {
        let Some((start, end)) = self.clamp(start, end) else {
            return Ok(Vec::new());
        };
        if matchers.is_empty() {
            // Names from the index, kept if any series with the name has data in range.
            let present = self.present(start, end);
            let mut out = Vec::new();
            for name in self.index.label_names().map_err(storage)? {
                if self.index.any_with_name(&name, &present).map_err(storage)? {
                    out.push(name);
                }
            }
            return Ok(out);
        }
        let mut names = BTreeSet::new();
        for sid in &self.matching_sids(matchers, start, end)? {
            if let Some(l) = self.labels_of(sid)? {
                names.extend(l.iter().map(|l| l.name.clone()));
            }
        }
        Ok(names.into_iter().map(String::from).collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<String>, SourceError> {
        let Some((start, end)) = self.clamp(start, end) else {
            return Ok(Vec::new());
        };
        let scope = self.matching_sids(matchers, start, end)?;
        let mut values = self.index.values_within(name, &scope).map_err(storage)?;
        values.sort_unstable();
        values.dedup();
        Ok(values)
    }

    fn label_values_in_memory(&self, name: &str, matchers: &[Matcher]) -> bool {
        matchers.is_empty() && self.index.values_cached(name)
    }

    fn exemplars(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<ExemplarSeries>, SourceError> {
        let Some((start, end)) = self.clamp(start, end) else {
            return Ok(Vec::new());
        };
        let sids = self.matching_sids(matchers, start, end)?;
        self.check_series_limit(sids.len())?;
        let rows = self
            .index
            .exemplars(day_of(start)..=day_of(end), &sids, start, end)
            .map_err(storage)?;
        let mut by_sid: HashMap<u32, Vec<Exemplar>> = HashMap::new();
        for (sid, t, value, labels) in rows {
            by_sid
                .entry(sid)
                .or_default()
                .push(Exemplar { labels, value, t });
        }
        let mut out = Vec::new();
        for (sid, mut exemplars) in by_sid {
            if let Some(series) = self.labels_of(sid)? {
                exemplars.sort_by_key(|e| e.t);
                out.push(ExemplarSeries { series, exemplars });
            }
        }
        out.sort_by(|a, b| a.series.cmp(&b.series));
        Ok(out)
    }

    fn metadata(
        &self,
        metric: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<MetricMetadata>, SourceError> {
        self.index.metadata(metric, limit).map_err(storage)
    }

    /// The in-memory head: active series, their chunks, and the time range of the samples
    /// it holds (`i64::MAX`/`i64::MIN` when it holds none, as Prometheus reports an empty
    /// head). Unlike Prometheus's, this head is flushed every `metrics.flush_interval`.
    fn head_stats(&self) -> Option<HeadStats> {
        Some(HeadStats {
            num_series: self.head.active_series() as u64,
            chunk_count: self.head.chunk_count(),
            min_time: self.head.min_t.load(Ordering::Relaxed),
            max_time: self.head.max_t.load(Ordering::Relaxed),
        })
    }
}
