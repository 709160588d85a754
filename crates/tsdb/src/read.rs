//! Reading the samples and labels of many series for one query.
//!
//! The series ids (ascending) are cut into chunks read in parallel on the caller's rayon
//! pool (the PromQL engine's workers), so decoding uses every core; a caller that is not
//! on a pool reads on its own thread. Within a chunk each
//! segment is walked once in id order; frames come from the frame cache with their block
//! headers already parsed, and only blocks overlapping the range are decoded, only as far
//! as the range reaches. The flush in progress and the
//! head are merged after the segments, so the newest write wins on equal timestamps.
//!
//! Samples move from the head to the flush in progress to a segment, so a chunk looks for
//! them in that order: the head and the flush in progress together under the append gate
//! (a flush hands the head over while holding it exclusively), then the segments as
//! they are after that. A sample acknowledged before the read started is then found in at
//! least one of the three (twice at most, which the merge removes); reading the segments
//! first let a flush that ran in between hide it.

use crate::codec::block;
use crate::head::{sort_dedup, FlushItem};
use crate::segment::{FrameData, Segment};
use crate::Tsdb;
use pharos_model::{Labels, Sample, SeriesData, SourceError};
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Fewest series per parallel chunk: below it, handing work to another thread costs more
/// than it saves.
const MIN_CHUNK: usize = 32;
/// Most series per chunk, so that both workers get work on large selections.
const MAX_CHUNK: usize = 1024;

fn storage(e: impl std::fmt::Display) -> SourceError {
    SourceError::Storage(e.to_string())
}

fn too_many_samples(max: usize) -> SourceError {
    SourceError::LimitExceeded(format!(
        "the query would load more than {max} samples (query.max_samples)"
    ))
}

/// The samples a query has read so far, against its limit (shared by the parallel chunks).
struct SampleBudget {
    max: Option<usize>,
    used: AtomicUsize,
}

impl SampleBudget {
    fn take(&self, n: usize) -> Result<(), SourceError> {
        let total = self.used.fetch_add(n, Ordering::Relaxed) + n;
        match self.max {
            Some(max) if total > max => Err(too_many_samples(max)),
            _ => Ok(()),
        }
    }
}

impl Tsdb {
    /// Reads series `sids` (ascending): those with samples in `[start, end]`, with their
    /// labels, in id order. With `max_samples`, fails once more samples than that are read.
    pub(crate) fn read_series(
        &self,
        sids: &[u32],
        start: i64,
        end: i64,
        max_samples: Option<usize>,
    ) -> Result<Vec<SeriesData>, SourceError> {
        let keep = |labels, samples| Some(SeriesData { labels, samples });
        Ok(self
            .read_series_map(sids, start, end, max_samples, &keep)?
            .0)
    }

    /// [`Tsdb::read_series`], handing each series to `f` as soon as it is read (on the
    /// reading thread) and keeping what `f` returns, in id order; also returns the number
    /// of samples read.
    pub(crate) fn read_series_map<R: Send>(
        &self,
        sids: &[u32],
        start: i64,
        end: i64,
        max_samples: Option<usize>,
        f: &(impl Fn(Labels, Vec<Sample>) -> Option<R> + Sync),
    ) -> Result<(Vec<R>, usize), SourceError> {
        let budget = SampleBudget {
            max: max_samples,
            used: AtomicUsize::new(0),
        };
        if rayon::current_thread_index().is_none() || sids.len() <= MIN_CHUNK {
            // Not on a worker pool (e.g. a small query evaluated on the request's thread),
            // or too little to share: read here, without handing work to another thread.
            let out = self.read_chunk(sids, start, end, &budget, f)?;
            return Ok((out, budget.used.into_inner()));
        }
        let chunk = (sids.len() / (rayon::current_num_threads() * 4)).clamp(MIN_CHUNK, MAX_CHUNK);
        let parts = sids
            .par_chunks(chunk)
            .map(|ids| self.read_chunk(ids, start, end, &budget, f))
            .collect::<Result<Vec<_>, _>>()?;
        let out = parts.into_iter().flatten().collect();
        Ok((out, budget.used.into_inner()))
    }

    /// One chunk of [`Tsdb::read_series_map`], on one thread.
    fn read_chunk<R>(
        &self,
        sids: &[u32],
        start: i64,
        end: i64,
        budget: &SampleBudget,
        f: &impl Fn(Labels, Vec<Sample>) -> Option<R>,
    ) -> Result<Vec<R>, SourceError> {
        // The head and the flush in progress first, together (see the module's comment).
        let (head, flushing) = {
            let _gate = self.gate.read();
            let mut head: Vec<Vec<Sample>> = vec![Vec::new(); sids.len()];
            for (sid, out) in sids.iter().zip(head.iter_mut()) {
                self.head.samples_in(*sid, start, end, out);
            }
            (head, self.flushing.read().clone())
        };
        budget.take(head.iter().map(Vec::len).sum())?;
        let segments = self.parts.overlapping(start, end);
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); sids.len()];
        let mut ts_scratch = Vec::new();
        for seg in &segments {
            let mut frame: Option<(usize, Arc<FrameData>)> = None;
            for (sid, out) in sids.iter().zip(samples.iter_mut()) {
                if !seg.bitmap.contains(*sid) {
                    continue;
                }
                let before = out.len();
                for fi in seg.frames_for(*sid) {
                    let meta = &seg.frames[fi];
                    if meta.max_t < start || meta.min_t > end {
                        continue;
                    }
                    let f = match frame.take() {
                        Some(f) if f.0 == fi => frame.insert(f),
                        _ => frame.insert((fi, self.load_frame(seg, fi)?)),
                    };
                    for (b, data) in f.1.blocks_of(*sid) {
                        if b.max_t < start || b.min_t > end {
                            continue;
                        }
                        block::decode_with(data, start, end, &mut ts_scratch, out).map_err(
                            |_| storage(format!("corrupt block in {}", seg.path.display())),
                        )?;
                    }
                }
                budget.take(out.len() - before)?;
            }
        }
        if let Some(items) = &flushing {
            add_flushing(items, sids, start, end, &mut samples);
        }
        let mut series = Vec::new();
        for ((sid, mut s), h) in sids.iter().zip(samples).zip(head) {
            s.extend(h);
            sort_dedup(&mut s);
            if s.is_empty() {
                continue;
            }
            if let Some(labels) = self.index.labels(*sid).map_err(storage)? {
                series.extend(f(labels, s));
            }
        }
        Ok(series)
    }

    /// Frame `fi` of `seg`, from the frame cache.
    fn load_frame(&self, seg: &Segment, fi: usize) -> Result<Arc<FrameData>, SourceError> {
        self.cache
            .get_or_load((seg.id, fi as u32), || seg.load_frame(fi))
            .map_err(storage)
    }
}

/// Appends the samples in range of the flush in progress to the series of `sids`.
fn add_flushing(
    items: &[FlushItem],
    sids: &[u32],
    start: i64,
    end: i64,
    samples: &mut [Vec<Sample>],
) {
    let (Some(&lo), Some(&hi)) = (sids.first(), sids.last()) else {
        return;
    };
    for it in items.iter().filter(|it| it.sid >= lo && it.sid <= hi) {
        if let Ok(pos) = sids.binary_search(&it.sid) {
            it.samples_in(start, end, &mut samples[pos]);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{SeriesRow, Tsdb};
    use pharos_model::{Labels, Matcher, Sample, SeriesSource, SourceError};

    const STEP: i64 = 15_000;

    /// Label pairs and samples of one series to append.
    type Input<'a> = (Vec<(&'a str, &'a str)>, Vec<Sample>);

    /// Samples `from..to` (in steps) of series `i`, starting at `t0`.
    fn samples(i: usize, t0: i64, from: i64, to: i64) -> Vec<Sample> {
        (from..to)
            .map(|k| Sample {
                t: t0 + k * STEP,
                v: (i as i64 * 1000 + k) as f64 / 4.0,
            })
            .collect()
    }

    /// Many series (several parallel chunks), partly flushed to a segment, partly in the
    /// head; a sub-range selection must equal the filtered expectation, sorted by labels.
    #[test]
    fn parallel_read_merges_segments_and_head_in_label_order() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::tests::config();
        let db = Tsdb::open(dir.path(), &config).unwrap();
        let now = crate::now_ms();
        let t0 = now - 200 * STEP;
        let names: Vec<String> = (0..300).map(|i| format!("s{:03}", (i * 7) % 300)).collect();
        let append = |from: i64, to: i64| {
            let all: Vec<Input> = names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let labels = vec![("__name__", "m"), ("id", name.as_str())];
                    (labels, samples(i, t0, from, to))
                })
                .collect();
            let rows: Vec<SeriesRow> = all
                .iter()
                .map(|(labels, samples)| SeriesRow {
                    labels: labels.into(),
                    samples,
                    exemplars: &[],
                })
                .collect();
            db.append(&rows, &[]).unwrap();
        };
        append(0, 120);
        db.flush().unwrap();
        append(120, 200);
        let (start, end) = (t0 + 100 * STEP + 1, t0 + 150 * STEP);
        let got = db
            .select(&[Matcher::equal("__name__", "m")], start, end)
            .unwrap();
        assert_eq!(got.len(), 300);
        let labels: Vec<&Labels> = got.iter().map(|s| &s.labels).collect();
        assert!(labels.windows(2).all(|w| w[0] < w[1]), "sorted by labels");
        for sd in &got {
            let id = sd.labels.get("id").unwrap();
            let i = names.iter().position(|n| n == id).unwrap();
            let want: Vec<Sample> = samples(i, t0, 0, 200)
                .into_iter()
                .filter(|s| s.t >= start && s.t <= end)
                .collect();
            assert_eq!(sd.samples, want, "series {id}");
        }
        // select_map hands over the same series (sum and count of each), sorted, whether it
        // reads on a worker pool (in parallel) or on this thread.
        let summary = |_: &Labels, s: &mut Vec<Sample>| {
            (!s.len().is_multiple_of(7)).then(|| vec![s.iter().map(|x| x.v).sum(), s.len() as f64])
        };
        let want: Vec<(Labels, Vec<f64>)> = got
            .iter()
            .filter_map(|sd| {
                let mut s = sd.samples.clone();
                summary(&sd.labels, &mut s).map(|v| (sd.labels.clone(), v))
            })
            .collect();
        let m = [Matcher::equal("__name__", "m")];
        let here = db.select_map(&m, start, end, &summary).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let on_pool = pool.install(|| db.select_map(&m, start, end, &summary).unwrap());
        assert_eq!(here.series, want);
        assert_eq!(on_pool, here);
        let read: usize = got.iter().map(|sd| sd.samples.len()).sum();
        assert_eq!(here.samples_read, read);
        db.close().unwrap();
        drop(db);

        let mut limited = config.clone();
        limited.query.max_samples = 1000;
        let db = Tsdb::open(dir.path(), &limited).unwrap();
        let err = db
            .select(&[Matcher::equal("__name__", "m")], start, end)
            .unwrap_err();
        assert!(matches!(err, SourceError::LimitExceeded(_)), "{err:?}");
    }
}
