//! A bounded cache of decoded label sets by series id, for the read path.
//!
//! A query returns every selected series with its labels; decoding them from the registry
//! (block lookup, a copy of the bytes, UTF-8 checks and one `String` per name and value)
//! was a quarter of the query threads' time on the bench's churn queries. A cached
//! [`Labels`] is shared (`Arc`), so a hit costs a map lookup and a reference-count
//! increment. Sharded to keep the two query workers off each other's lock; each shard
//! evicts first-in first-out once over its share of the byte budget. A series' labels
//! never change; ids that leave the registry (retention) are removed.
//!
//! [`ValuesCache`] keeps, per label name, every value with its postings bitmap (what sled's
//! `postings` tree and the pending series hold for the name), so label-value lookups and
//! matchers that walk a name's values (`=~`, `!=`, `!~`) do not scan sled and deserialize
//! one bitmap per value each time. Any registration or removal of series makes every entry
//! stale (a generation counter); stale entries are rebuilt by the next reader.

use crate::fast_hash::FastBuild;
use crate::fifo::Fifo;
use parking_lot::Mutex;
use pharos_model::Labels;
use roaring::RoaringBitmap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const SHARDS: usize = 16;

type Shard = Fifo<u32, Labels, FastBuild>;

pub struct LabelCache {
    shards: Vec<Mutex<Shard>>,
    shard_bytes: usize,
}

/// Estimated memory of one cached label set: its strings, their `String` headers, the
/// shared vector, and the map and queue slots.
fn cost(labels: &Labels) -> usize {
    labels
        .iter()
        .map(|l| l.name.len() + l.value.len() + 48)
        .sum::<usize>()
        + 72
}

impl LabelCache {
    /// A cache of at most about `max_bytes` (0 disables it).
    pub fn new(max_bytes: usize) -> Self {
        let shard_bytes = max_bytes / SHARDS;
        LabelCache {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Fifo::new(shard_bytes)))
                .collect(),
            shard_bytes,
        }
    }

    fn shard(&self, sid: u32) -> &Mutex<Shard> {
        &self.shards[sid as usize % SHARDS]
    }

    pub fn get(&self, sid: u32) -> Option<Labels> {
        self.shard(sid).lock().get(&sid).cloned()
    }

    pub fn insert(&self, sid: u32, labels: &Labels) {
        let c = cost(labels);
        if c <= self.shard_bytes {
            self.shard(sid).lock().insert(sid, labels.clone(), c);
        }
    }

    /// Forgets `sids` (their series left the registry; ids may be given out again).
    pub fn remove(&self, sids: &RoaringBitmap) {
        for sid in sids {
            self.shard(sid).lock().remove(&sid);
        }
    }

    /// Estimated bytes held.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| s.lock().bytes()).sum()
    }
}

/// One label name's values with the ids of the series holding each.
pub type Values = Arc<Vec<(String, RoaringBitmap)>>;

struct ValuesEntry {
    generation: u64,
    values: Values,
    bytes: usize,
}

#[derive(Default)]
struct ValuesInner {
    map: HashMap<String, ValuesEntry>,
    bytes: usize,
}

pub struct ValuesCache {
    generation: AtomicU64,
    inner: Mutex<ValuesInner>,
    max_bytes: usize,
}

impl ValuesCache {
    /// A cache of at most about `max_bytes` (0 disables it).
    pub fn new(max_bytes: usize) -> Self {
        ValuesCache {
            generation: AtomicU64::new(0),
            inner: Mutex::default(),
            max_bytes,
        }
    }

    /// Read before building an entry, passed to [`ValuesBuilder::finish`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Makes every entry stale (the postings changed).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The values of `name`, if cached and not stale.
    pub fn get(&self, name: &str) -> Option<Values> {
        let current = self.generation();
        let inner = self.inner.lock();
        let e = inner.map.get(name)?;
        (e.generation == current).then(|| e.values.clone())
    }

    fn insert(
        &self,
        name: &str,
        generation: u64,
        values: Vec<(String, RoaringBitmap)>,
        bytes: usize,
    ) {
        let mut inner = self.inner.lock();
        let current = self.generation();
        if generation != current {
            return;
        }
        if inner.bytes + bytes > self.max_bytes {
            // Stale entries first, then everything.
            let ValuesInner { map, bytes: held } = &mut *inner;
            map.retain(|_, e| {
                let keep = e.generation == current;
                if !keep {
                    *held -= e.bytes;
                }
                keep
            });
            if inner.bytes + bytes > self.max_bytes {
                inner.map.clear();
                inner.bytes = 0;
            }
        }
        let entry = ValuesEntry {
            generation,
            values: Arc::new(values),
            bytes,
        };
        if let Some(old) = inner.map.insert(name.to_owned(), entry) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
    }
}

/// Collects a name's values during a pass over its postings, for [`ValuesCache`]; gives up
/// (keeps nothing) once they need more than the whole cache.
pub struct ValuesBuilder<'a> {
    cache: &'a ValuesCache,
    values: Vec<(String, RoaringBitmap)>,
    bytes: usize,
    too_big: bool,
}

impl<'a> ValuesBuilder<'a> {
    pub fn new(cache: &'a ValuesCache) -> Self {
        ValuesBuilder {
            cache,
            values: Vec::new(),
            bytes: 0,
            too_big: cache.max_bytes == 0,
        }
    }

    pub fn push(&mut self, value: &str, ids: RoaringBitmap) {
        if self.too_big {
            return;
        }
        self.bytes += value.len() + ids.serialized_size() + 64;
        if self.bytes > self.cache.max_bytes {
            self.too_big = true;
            self.values = Vec::new();
            return;
        }
        self.values.push((value.to_owned(), ids));
    }

    /// Caches the values collected for `name` (a complete pass), sorted by value, unless
    /// the postings changed since `generation` was read.
    pub fn finish(mut self, name: &str, generation: u64) {
        if !self.too_big {
            // sled's keys come sorted; values only pending were appended after them.
            if !self.values.is_sorted_by(|a, b| a.0 <= b.0) {
                self.values.sort_by(|a, b| a.0.cmp(&b.0));
            }
            self.cache
                .insert(name, generation, self.values, self.bytes + name.len() + 64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(i: u32) -> Labels {
        Labels::from_pairs([("__name__", "m".to_string()), ("id", format!("{i:04}"))])
    }

    #[test]
    fn bounded_fifo_and_removal() {
        let one = cost(&labels(0));
        let cache = LabelCache::new(SHARDS * one * 4);
        for i in 0..(SHARDS as u32 * 10) {
            cache.insert(i, &labels(i));
        }
        assert!(cache.bytes() <= SHARDS * one * 4);
        // The newest four of each shard are kept, the oldest evicted.
        let n = SHARDS as u32 * 10;
        assert_eq!(cache.get(n - 1), Some(labels(n - 1)));
        assert_eq!(cache.get(0), None);
        cache.remove(&RoaringBitmap::from_iter([n - 1]));
        assert_eq!(cache.get(n - 1), None);
        assert!(cache.bytes() <= SHARDS * one * 4 - one);
        let off = LabelCache::new(0);
        off.insert(1, &labels(1));
        assert_eq!(off.get(1), None);
    }

    fn build(cache: &ValuesCache, name: &str, values: &[(&str, u32)], generation: u64) {
        let mut b = ValuesBuilder::new(cache);
        for (v, id) in values {
            b.push(v, RoaringBitmap::from_iter([*id]));
        }
        b.finish(name, generation);
    }

    #[test]
    fn values_are_stale_after_invalidation_and_bounded() {
        let cache = ValuesCache::new(1000);
        let g = cache.generation();
        build(&cache, "job", &[("a", 1), ("b", 2)], g);
        let got = cache.get("job").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, "b");
        // Built from postings read before a change: not kept.
        cache.invalidate();
        assert!(cache.get("job").is_none());
        build(&cache, "job", &[("a", 1)], g);
        assert!(cache.get("job").is_none());
        build(&cache, "job", &[("a", 1)], cache.generation());
        assert_eq!(cache.get("job").unwrap().len(), 1);
        // More than the whole cache: not cached.
        let many: Vec<(String, u32)> = (0..100).map(|i| (format!("v{i}"), i)).collect();
        let many: Vec<(&str, u32)> = many.iter().map(|(v, i)| (v.as_str(), *i)).collect();
        build(&cache, "big", &many, cache.generation());
        assert!(cache.get("big").is_none());
        assert!(cache.inner.lock().bytes <= 1000);
        let off = ValuesCache::new(0);
        build(&off, "job", &[("a", 1)], off.generation());
        assert!(off.get("job").is_none());
    }
}
