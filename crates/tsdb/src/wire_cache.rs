//! A bounded cache from a sender's exact label bytes to a series id.
//!
//! A remote-write request carries every series' full label set, so on a steady scrape
//! load nearly every row names a series the store already holds. The write path normally
//! validates each label set (UTF-8, names, limits), sorts and encodes it and hashes the
//! encoding to find the series; VictoriaMetrics skips that work with a cache keyed by the
//! raw bytes of the series name, and so does this one. The key is a 128-bit hash of the
//! label fields exactly as they arrived: equal bytes decode to equal, already validated
//! labels, so a hit may skip straight to the series id.
//!
//! The table has a fixed size chosen at start (`metrics.wire_series_cache_percent` of
//! `memory.budget`): sets of four 16-byte slots (one cache line), least recently used
//! replaced first, under one of 64 locks. A slot keeps 96 bits of the key beside the id;
//! together with the set's position that leaves a false hit at odds far below 2^-100.
//! Nothing is ever wrong because of a miss, and a hit is only used for a series that is
//! active in the head (the caller checks), so ids of series that left the head are
//! harmless.

use parking_lot::Mutex;

const WAYS: usize = 4;
const SHARDS: usize = 64;

#[derive(Clone, Copy, Default)]
struct Slot {
    tag: u64,
    check: u32,
    /// The series id plus one; 0 marks an empty slot.
    sid1: u32,
}

#[derive(Clone, Copy, Default)]
#[repr(align(64))]
struct Set([Slot; WAYS]);

pub struct WireCache {
    shards: Vec<Mutex<Box<[Set]>>>,
    sets_per_shard: usize,
}

/// Where a key lives and what identifies it there.
fn place(key: u128, sets_per_shard: usize) -> (usize, usize, u64, u32) {
    let low = key as u64;
    let shard = (low as usize) % SHARDS;
    let set = ((low >> 6) as u32 as usize) % sets_per_shard;
    (shard, set, (key >> 64) as u64, (low >> 32) as u32)
}

impl WireCache {
    /// A cache using about `bytes` of memory (at least one set per lock).
    pub fn new(bytes: usize) -> WireCache {
        let sets = bytes / std::mem::size_of::<Set>();
        let sets_per_shard = (sets / SHARDS).max(1);
        WireCache {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(vec![Set::default(); sets_per_shard].into_boxed_slice()))
                .collect(),
            sets_per_shard,
        }
    }

    /// The series id last stored for `key`, if still cached.
    pub fn get(&self, key: u128) -> Option<u32> {
        let (shard, set, tag, check) = place(key, self.sets_per_shard);
        let mut sets = self.shards[shard].lock();
        let slots = &mut sets[set].0;
        let at = slots
            .iter()
            .position(|s| s.sid1 != 0 && s.tag == tag && s.check == check)?;
        let sid = slots[at].sid1 - 1;
        // Most recently used first.
        slots[..=at].rotate_right(1);
        Some(sid)
    }

    /// Remembers `key` → `sid`, replacing the set's least recently used entry if full.
    pub fn insert(&self, key: u128, sid: u32) {
        let (shard, set, tag, check) = place(key, self.sets_per_shard);
        let mut sets = self.shards[shard].lock();
        let slots = &mut sets[set].0;
        let at = slots
            .iter()
            .position(|s| s.sid1 == 0 || (s.tag == tag && s.check == check))
            .unwrap_or(WAYS - 1);
        slots[at] = Slot {
            tag,
            check,
            sid1: sid.saturating_add(1),
        };
        slots[..=at].rotate_right(1);
    }

    /// Bytes the table takes.
    #[cfg(test)]
    pub fn size_bytes(&self) -> usize {
        SHARDS * self.sets_per_shard * std::mem::size_of::<Set>()
    }
}

/// The cache key of a sender's label bytes.
pub fn wire_key(label_bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(label_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_misses_and_lru_replacement() {
        // One set per lock: keys that share a shard compete for four slots.
        let c = WireCache::new(0);
        assert_eq!(c.size_bytes(), SHARDS * 64);
        let key = |i: u128| (i << 64) | (i << 32) | 5; // all in shard 5, set 0
        for i in 1..=4 {
            c.insert(key(i), i as u32 * 10);
        }
        for i in 1..=4 {
            assert_eq!(c.get(key(i)), Some(i as u32 * 10));
        }
        // Key 1 was used least recently: a fifth key replaces it.
        c.insert(key(5), 50);
        assert_eq!(c.get(key(1)), None);
        assert_eq!(c.get(key(2)), Some(20));
        assert_eq!(c.get(key(5)), Some(50));
        // Re-inserting updates in place.
        c.insert(key(2), 21);
        assert_eq!(c.get(key(2)), Some(21));
        // A key differing only in the checked bits is a miss.
        assert_eq!(c.get(key(2) ^ (1 << 40)), None);
        assert_eq!(c.get(wire_key(b"other")), None);
    }

    #[test]
    fn holds_its_capacity() {
        let c = WireCache::new(1 << 20);
        let n = (1 << 20) / 16 / 2;
        for i in 0..n {
            c.insert(wire_key(&(i as u64).to_le_bytes()), i);
        }
        let hits = (0..n)
            .filter(|i| c.get(wire_key(&(*i as u64).to_le_bytes())) == Some(*i))
            .count();
        // Half full: nearly every key still in its set of four.
        assert!(hits as f64 > 0.95 * n as f64, "{hits} of {n}");
    }
}
