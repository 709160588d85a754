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
    Exemplar, ExemplarSeries, HeadStats, Labels, MappedSeries, Matcher, MetricMetadata, Sample,
    SeriesData, SeriesMapper, SeriesSource, SourceError,
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

    /// Series ids in the head or the flush in progress, read together under the append gate
    /// (which a flush's hand-over holds exclusively). Callers look at the segments after
    /// this, in the order series move (see `read.rs`), so that a flush running meanwhile
    /// cannot hide a series.
    pub(crate) fn unflushed_sids(&self) -> RoaringBitmap {
        let _gate = self.gate.read();
        let mut bm = self.head.sids();
        if let Some(f) = self.flushing.read().as_ref() {
            bm.extend(f.iter().map(|i| i.sid));
        }
        bm
    }

    /// Series ids with data (possibly) in range: the head, the flush in progress, then the
    /// segments' bitmaps.
    fn present(&self, start: i64, end: i64) -> RoaringBitmap {
        let mut bm = self.unflushed_sids();
        for seg in self.parts.overlapping(start, end) {
            bm |= &seg.bitmap;
        }
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

    /// The ids (ascending) of the series a selection reads, with the range clamped to the
    /// retention period; `None` if nothing of the range is left.
    fn selection(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Option<(Vec<u32>, i64, i64)>, SourceError> {
        let Some((start, end)) = self.clamp(start, end) else {
            return Ok(None);
        };
        let sids: Vec<u32> = self.matching_sids(matchers, start, end)?.iter().collect();
        self.check_series_limit(sids.len() as u64)?;
        Ok(Some((sids, start, end)))
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

/// Sorts a selection by label set: in parallel on a worker pool, else on this thread.
fn sort_by_labels<T: Send>(items: &mut [T], labels: impl Fn(&T) -> &Labels + Sync) {
    let by_labels = |a: &T, b: &T| labels(a).cmp(labels(b));
    if rayon::current_thread_index().is_some() {
        items.par_sort_by(by_labels);
    } else {
        items.sort_by(by_labels);
    }
}

impl SeriesSource for Tsdb {
    fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<SeriesData>, SourceError> {
        let Some((sids, start, end)) = self.selection(matchers, start, end)? else {
            return Ok(Vec::new());
        };
        let mut out = self.read_series(&sids, start, end, Some(self.config.query.max_samples))?;
        sort_by_labels(&mut out, |s| &s.labels);
        Ok(out)
    }

    fn select_map(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        f: &SeriesMapper,
    ) -> Result<MappedSeries, SourceError> {
        let Some((sids, start, end)) = self.selection(matchers, start, end)? else {
            return Ok(MappedSeries::default());
        };
        let map = |labels: Labels, mut samples: Vec<Sample>| {
            f(&labels, &mut samples).map(|v| (labels, v))
        };
        let max = Some(self.config.query.max_samples);
        let (mut series, samples_read) = self.read_series_map(&sids, start, end, max, &map)?;
        sort_by_labels(&mut series, |s| &s.0);
        Ok(MappedSeries {
            series,
            samples_read,
        })
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
