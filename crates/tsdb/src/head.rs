//! The in-memory head: recent samples of active series, in Gorilla chunks.
//!
//! Each series keeps one in-order chunk for the day its samples fall in; a sample for a
//! later day seals the chunk. Samples older than the series' newest (backfill, late
//! retries) go to a small per-series out-of-order buffer; an exact duplicate of the newest
//! sample is dropped. [`Head::drain`] hands everything to a flush and keeps only the newest
//! timestamp and value of each series (for duplicate detection).

use crate::codec::gorilla::GorillaChunk;
use crate::day_of;
use crate::fast_hash::FastBuild;
use crate::slab::Slab;
use parking_lot::Mutex;
use pharos_model::Sample;
use roaring::RoaringBitmap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

const SHARDS: usize = 32;

#[derive(Default)]
struct Extra {
    sealed: Vec<(i32, GorillaChunk)>,
    ooo: Vec<Sample>,
}

struct SeriesHead {
    chunk: GorillaChunk,
    day: i32,
    /// The newest sample seen (survives a flush, for duplicate detection).
    last_t: i64,
    last_v: u64,
    has_last: bool,
    /// Appended to since the last flush.
    touched: bool,
    extra: Option<Box<Extra>>,
}

impl SeriesHead {
    fn new() -> Self {
        SeriesHead {
            chunk: GorillaChunk::new(),
            day: 0,
            last_t: 0,
            last_v: 0,
            has_last: false,
            touched: true,
            extra: None,
        }
    }

    fn heap_bytes(&self) -> usize {
        self.chunk.heap_bytes()
            + self.extra.as_ref().map_or(0, |e| {
                std::mem::size_of::<Extra>()
                    + e.ooo.capacity() * 16
                    + e.sealed
                        .iter()
                        .map(|(_, c)| c.heap_bytes() + 80)
                        .sum::<usize>()
            })
    }

    /// Appends; returns false for an exact duplicate of the newest sample.
    fn append(&mut self, t: i64, v: f64) -> bool {
        self.touched = true;
        if self.has_last && t <= self.last_t {
            if t == self.last_t && v.to_bits() == self.last_v {
                return false;
            }
            self.extra
                .get_or_insert_with(Default::default)
                .ooo
                .push(Sample { t, v });
            if t == self.last_t {
                // A new value for the newest timestamp: it wins, as the latest write.
                self.last_v = v.to_bits();
            }
            return true;
        }
        let day = day_of(t);
        if !self.chunk.is_empty() && day != self.day {
            let sealed = std::mem::replace(&mut self.chunk, GorillaChunk::new());
            self.extra
                .get_or_insert_with(Default::default)
                .sealed
                .push((self.day, sealed));
        }
        if self.chunk.is_empty() {
            self.day = day;
        }
        self.chunk.push(t, v);
        self.last_t = t;
        self.last_v = v.to_bits();
        self.has_last = true;
        true
    }

    fn has_data(&self) -> bool {
        !self.chunk.is_empty() || self.extra.is_some()
    }

    /// Samples in `[start, end]`, sorted, later writes winning on equal timestamps.
    fn samples_in(&self, start: i64, end: i64, out: &mut Vec<Sample>) {
        if let Some(e) = &self.extra {
            for (_, c) in &e.sealed {
                c.samples_in(start, end, out);
            }
        }
        self.chunk.samples_in(start, end, out);
        if let Some(e) = &self.extra {
            out.extend(e.ooo.iter().filter(|s| s.t >= start && s.t <= end));
        }
    }
}

fn append_samples(s: &mut SeriesHead, samples: &[Sample], acc: &mut AppendAcc) -> usize {
    let before = s.heap_bytes();
    let mut stored = 0;
    for x in samples {
        if s.append(x.t, x.v) {
            stored += 1;
            acc.min_t = acc.min_t.min(x.t);
            acc.max_t = acc.max_t.max(x.t);
        }
    }
    acc.heap_delta += s.heap_bytes() as i64 - before as i64;
    stored
}

/// Bookkeeping of a batch of appends, applied by [`Head::commit`].
pub struct AppendAcc {
    pub activated: usize,
    pub heap_delta: i64,
    pub min_t: i64,
    pub max_t: i64,
}

impl Default for AppendAcc {
    fn default() -> Self {
        AppendAcc {
            activated: 0,
            heap_delta: 0,
            min_t: i64::MAX,
            max_t: i64::MIN,
        }
    }
}

/// What a flush takes out of the head for one series and day.
pub struct FlushItem {
    pub sid: u32,
    pub day: i32,
    pub chunks: Vec<GorillaChunk>,
    pub ooo: Vec<Sample>,
}

impl FlushItem {
    /// All samples, sorted by time; on equal timestamps the later-written one wins.
    pub fn samples(&self) -> Vec<Sample> {
        let mut out = Vec::new();
        for c in &self.chunks {
            out.extend(c.samples());
        }
        out.extend_from_slice(&self.ooo);
        sort_dedup(&mut out);
        out
    }

    pub fn samples_in(&self, start: i64, end: i64, out: &mut Vec<Sample>) {
        for c in &self.chunks {
            c.samples_in(start, end, out);
        }
        out.extend(self.ooo.iter().filter(|s| s.t >= start && s.t <= end));
    }
}

/// Sorts by timestamp (stable) and keeps the last of equal timestamps.
pub fn sort_dedup(s: &mut Vec<Sample>) {
    if s.windows(2).all(|w| w[0].t < w[1].t) {
        return;
    }
    s.sort_by_key(|x| x.t);
    let mut out: Vec<Sample> = Vec::with_capacity(s.len());
    for x in s.drain(..) {
        match out.last_mut() {
            Some(l) if l.t == x.t => *l = x,
            _ => out.push(x),
        }
    }
    *s = out;
}

pub struct Head {
    by_hash: Vec<Mutex<HashMap<u128, u32, FastBuild>>>,
    series: Vec<Mutex<Slab<SeriesHead>>>,
    heap_bytes: AtomicUsize,
    active: AtomicUsize,
    pub min_t: AtomicI64,
    pub max_t: AtomicI64,
    sids: Mutex<RoaringBitmap>,
}

fn hash_shard(h: u128) -> usize {
    ((h >> 64) as usize) % SHARDS
}

fn sid_shard(sid: u32) -> usize {
    sid as usize % SHARDS
}

/// Fixed bytes per active series (map entries and the series struct), for memory accounting.
pub const SERIES_OVERHEAD: usize = 150;

impl Default for Head {
    fn default() -> Self {
        Head {
            by_hash: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::default()))
                .collect(),
            series: (0..SHARDS).map(|_| Mutex::new(Slab::default())).collect(),
            heap_bytes: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            min_t: AtomicI64::new(i64::MAX),
            max_t: AtomicI64::new(i64::MIN),
            sids: Mutex::new(RoaringBitmap::new()),
        }
    }
}

impl Head {
    /// The id of an active series by label hash.
    pub fn lookup(&self, hash: u128) -> Option<u32> {
        self.by_hash[hash_shard(hash)].lock().get(&hash).copied()
    }

    /// Runs `f` with the hash shard locked, so that concurrent creators of one series agree.
    pub fn with_hash_shard<R>(
        &self,
        hash: u128,
        f: impl FnOnce(&mut HashMap<u128, u32, FastBuild>) -> R,
    ) -> R {
        f(&mut self.by_hash[hash_shard(hash)].lock())
    }

    pub fn forget_hash(&self, hash: u128, sid: u32) {
        let mut m = self.by_hash[hash_shard(hash)].lock();
        if m.get(&hash) == Some(&sid) {
            m.remove(&hash);
        }
    }

    pub fn is_active(&self, sid: u32) -> bool {
        self.series[sid_shard(sid)].lock().contains_key(sid)
    }

    /// Appends samples to one series (activating it if needed); returns how many were
    /// stored (exact duplicates of the newest sample are not). Memory and time-range
    /// bookkeeping goes into `acc`, applied once per batch by [`Head::commit`] so that
    /// concurrent writers do not fight over shared counters per series.
    pub fn append(&self, sid: u32, samples: &[Sample], acc: &mut AppendAcc) -> usize {
        let mut shard = self.series[sid_shard(sid)].lock();
        let s = shard.get_or_insert_with(sid, || {
            acc.activated += 1;
            acc.heap_delta += SERIES_OVERHEAD as i64;
            self.sids.lock().insert(sid);
            SeriesHead::new()
        });
        append_samples(s, samples, acc)
    }

    /// [`Head::append`] for a series that is active; `None`, and nothing stored, if it is
    /// not (activating a series is the caller's decision, under the active-series limit).
    pub fn append_active(
        &self,
        sid: u32,
        samples: &[Sample],
        acc: &mut AppendAcc,
    ) -> Option<usize> {
        let mut shard = self.series[sid_shard(sid)].lock();
        Some(append_samples(shard.get_mut(sid)?, samples, acc))
    }

    /// Applies the bookkeeping of a batch of appends.
    pub fn commit(&self, acc: &AppendAcc) {
        if acc.activated > 0 {
            self.active.fetch_add(acc.activated, Ordering::Relaxed);
        }
        if acc.heap_delta > 0 {
            self.heap_bytes
                .fetch_add(acc.heap_delta as usize, Ordering::Relaxed);
        } else if acc.heap_delta < 0 {
            let d = acc.heap_delta.unsigned_abs() as usize;
            let _ = self
                .heap_bytes
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.saturating_sub(d))
                });
        }
        if acc.min_t <= acc.max_t {
            self.min_t.fetch_min(acc.min_t, Ordering::Relaxed);
            self.max_t.fetch_max(acc.max_t, Ordering::Relaxed);
        }
    }

    /// Appends with immediate bookkeeping (replay and tests).
    pub fn append_now(&self, sid: u32, samples: &[Sample]) -> usize {
        let mut acc = AppendAcc::default();
        let n = self.append(sid, samples, &mut acc);
        self.commit(&acc);
        n
    }

    /// Registers an active series with no samples yet (WAL replay of a definition).
    pub fn activate(&self, sid: u32) {
        self.append_now(sid, &[]);
    }

    pub fn heap_bytes(&self) -> usize {
        self.heap_bytes.load(Ordering::Relaxed)
    }

    /// Bytes of samples (chunks and out-of-order buffers), without the fixed per-series
    /// cost: what a flush frees.
    pub fn data_bytes(&self) -> usize {
        self.heap_bytes()
            .saturating_sub(self.active_series() * SERIES_OVERHEAD)
    }

    /// In-memory chunks, open and sealed, over all active series.
    pub fn chunk_count(&self) -> u64 {
        self.series
            .iter()
            .map(|shard| {
                shard
                    .lock()
                    .values()
                    .map(|s| {
                        u64::from(!s.chunk.is_empty())
                            + s.extra.as_ref().map_or(0, |e| e.sealed.len() as u64)
                    })
                    .sum::<u64>()
            })
            .sum()
    }

    pub fn active_series(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Ids of every active series.
    pub fn sids(&self) -> RoaringBitmap {
        self.sids.lock().clone()
    }

    /// Samples of `sid` in `[start, end]` (sorted, deduplicated).
    pub fn samples_in(&self, sid: u32, start: i64, end: i64, out: &mut Vec<Sample>) {
        let shard = self.series[sid_shard(sid)].lock();
        if let Some(s) = shard.get(sid) {
            let from = out.len();
            s.samples_in(start, end, out);
            let mut tail = out.split_off(from);
            sort_dedup(&mut tail);
            out.extend(tail);
        }
    }

    /// Takes every series' samples out for a flush. When `evict` is set, series not appended
    /// to since the previous evicting drain are deactivated and returned in the second list
    /// (their hashes must be forgotten by the caller).
    pub fn drain(&self, evict: bool) -> (Vec<FlushItem>, Vec<u32>) {
        // Sized up front: at a million series, growing by doubling reserved up to twice the
        // list and briefly held the old and the new buffer together (on top of the head).
        let series = self.active_series();
        let mut items = Vec::with_capacity(series + series / 64);
        let mut idle = Vec::new();
        for shard in &self.series {
            let mut shard = shard.lock();
            shard.retain(|sid, s| {
                if s.has_data() {
                    if let Some(extra) = s.extra.take() {
                        for (day, c) in extra.sealed {
                            items.push(FlushItem {
                                sid,
                                day,
                                chunks: vec![c],
                                ooo: Vec::new(),
                            });
                        }
                        if !extra.ooo.is_empty() {
                            // Out-of-order samples may span days: one item per day.
                            let mut by_day: HashMap<i32, Vec<Sample>> = HashMap::new();
                            for x in extra.ooo {
                                by_day.entry(day_of(x.t)).or_default().push(x);
                            }
                            for (day, ooo) in by_day {
                                items.push(FlushItem {
                                    sid,
                                    day,
                                    chunks: Vec::new(),
                                    ooo,
                                });
                            }
                        }
                    }
                    if !s.chunk.is_empty() {
                        let mut c = std::mem::replace(&mut s.chunk, GorillaChunk::new());
                        c.shrink();
                        items.push(FlushItem {
                            sid,
                            day: s.day,
                            chunks: vec![c],
                            ooo: Vec::new(),
                        });
                    }
                }
                if !evict {
                    return true;
                }
                let keep = s.touched;
                s.touched = false;
                if !keep {
                    idle.push(sid);
                }
                keep
            });
        }
        // Merge items of one (series, day) so each becomes one block: in place (a second
        // list would double this one's memory during the flush). The sort is stable, so
        // chunks stay in the order they were written.
        items.sort_by_key(|i| (i.day, i.sid));
        items.dedup_by(|later, kept| {
            if later.day != kept.day || later.sid != kept.sid {
                return false;
            }
            kept.chunks.append(&mut later.chunks);
            kept.ooo.append(&mut later.ooo);
            true
        });
        {
            let mut sids = self.sids.lock();
            for sid in &idle {
                sids.remove(*sid);
            }
        }
        self.active.fetch_sub(idle.len(), Ordering::Relaxed);
        let mut bytes = 0;
        for shard in &self.series {
            let shard = shard.lock();
            bytes += shard
                .values()
                .map(|s| s.heap_bytes() + SERIES_OVERHEAD)
                .sum::<usize>();
        }
        self.heap_bytes.store(bytes, Ordering::Relaxed);
        self.min_t.store(i64::MAX, Ordering::Relaxed);
        self.max_t.store(i64::MIN, Ordering::Relaxed);
        (items, idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: i64, v: f64) -> Sample {
        Sample { t, v }
    }

    #[test]
    fn duplicates_out_of_order_and_day_change() {
        let head = Head::default();
        let day = 86_400_000;
        assert_eq!(
            head.append_now(1, &[s(1000, 1.0), s(2000, 2.0), s(2000, 2.0)]),
            2
        );
        assert_eq!(
            head.append_now(1, &[s(1500, 1.5), s(2000, 9.0), s(day + 5, 3.0)]),
            3
        );
        let mut out = Vec::new();
        head.samples_in(1, 0, i64::MAX, &mut out);
        assert_eq!(
            out,
            vec![s(1000, 1.0), s(1500, 1.5), s(2000, 9.0), s(day + 5, 3.0)]
        );
        let (items, idle) = head.drain(true);
        assert!(idle.is_empty());
        let days: Vec<_> = items.iter().map(|i| (i.day, i.sid)).collect();
        assert_eq!(days, vec![(0, 1), (1, 1)]);
        assert_eq!(
            items[0].samples(),
            vec![s(1000, 1.0), s(1500, 1.5), s(2000, 9.0)]
        );
        // The newest sample is remembered after the drain: a retry is still a duplicate.
        assert_eq!(head.append_now(1, &[s(day + 5, 3.0)]), 0);
        let (items, _) = head.drain(true);
        assert!(items.is_empty());
        let (_, idle) = head.drain(true);
        assert_eq!(idle, vec![1]);
        assert_eq!(head.active_series(), 0);
    }
}

#[cfg(test)]
mod size_probe {
    #[test]
    #[ignore = "measurement, run by hand"]
    fn sizes() {
        eprintln!(
            "SeriesHead {} GorillaChunk {} (u128,u32) {}",
            std::mem::size_of::<super::SeriesHead>(),
            std::mem::size_of::<crate::codec::gorilla::GorillaChunk>(),
            std::mem::size_of::<(u128, u32)>()
        );
    }
}
