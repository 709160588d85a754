//! Label hash → series ids, for every registered series, in memory.
//!
//! Ingest finds a series' id from the hash of its label bytes. Active series are found in
//! the head; this index answers for the others (series that went idle, or every series
//! right after a restart). It used to be a sled tree with one key per series, which cost
//! ~250 bytes of disk and more than 100 bytes of memory per series; here a series costs
//! 12 bytes: the low 64 bits of its 128-bit label hash and its id, in two sorted arrays,
//! plus a small hash map for series registered since the last merge into the arrays.
//!
//! 64 bits do not identify a series: a lookup returns candidates, which the caller checks
//! against the registry's label bytes. The index is rebuilt from the registry on start
//! (see [`crate::index::Index::open`]).

use crate::fast_hash::FastBuild;
use roaring::RoaringBitmap;
use std::collections::HashMap;

/// Series registered since the last merge beyond which they are merged into the arrays.
const MERGE_AT: usize = 1 << 16;

#[derive(Default)]
pub struct HashIndex {
    /// Sorted by (hash, id); `ids[i]` belongs to `hashes[i]`.
    hashes: Vec<u64>,
    ids: Vec<u32>,
    /// Registered since the last merge.
    recent: HashMap<u64, u32, FastBuild>,
    /// Recent entries whose 64-bit hash was already taken in `recent` (practically never).
    recent_collisions: Vec<(u64, u32)>,
}

/// The part of a 128-bit label hash the index keeps.
pub fn short(hash: u128) -> u64 {
    hash as u64
}

impl HashIndex {
    /// Builds the index from (hash, id) pairs in any order.
    pub fn from_entries(mut entries: Vec<(u64, u32)>) -> Self {
        entries.sort_unstable();
        entries.dedup();
        let (hashes, ids) = entries.into_iter().unzip();
        HashIndex {
            hashes,
            ids,
            ..Default::default()
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.hashes.len() + self.recent.len() + self.recent_collisions.len()
    }

    /// Heap bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 8
            + self.ids.capacity() * 4
            + self.recent.capacity() * 13
            + self.recent_collisions.capacity() * 16
    }

    pub fn insert(&mut self, hash: u64, sid: u32) {
        match self.recent.get(&hash) {
            None => {
                self.recent.insert(hash, sid);
            }
            Some(&old) if old == sid => {}
            Some(_) => self.recent_collisions.push((hash, sid)),
        }
        if self.recent.len() >= MERGE_AT {
            self.merge();
        }
    }

    /// Ids registered under `hash` (usually none or one).
    pub fn candidates(&self, hash: u64) -> impl Iterator<Item = u32> + '_ {
        let from = self.hashes.partition_point(|&h| h < hash);
        let to = from + self.hashes[from..].partition_point(|&h| h == hash);
        self.ids[from..to]
            .iter()
            .copied()
            .chain(self.recent.get(&hash).copied())
            .chain(
                self.recent_collisions
                    .iter()
                    .filter(move |(h, _)| *h == hash)
                    .map(|(_, sid)| *sid),
            )
    }

    /// Forgets the given series.
    pub fn remove(&mut self, sids: &RoaringBitmap) {
        if sids.is_empty() {
            return;
        }
        self.merge();
        let mut w = 0;
        for r in 0..self.hashes.len() {
            if !sids.contains(self.ids[r]) {
                self.hashes[w] = self.hashes[r];
                self.ids[w] = self.ids[r];
                w += 1;
            }
        }
        self.hashes.truncate(w);
        self.ids.truncate(w);
        self.hashes.shrink_to_fit();
        self.ids.shrink_to_fit();
    }

    /// Moves the recent entries into the sorted arrays (one linear merge).
    fn merge(&mut self) {
        if self.recent.is_empty() && self.recent_collisions.is_empty() {
            return;
        }
        let mut add: Vec<(u64, u32)> = self.recent.drain().collect();
        add.append(&mut self.recent_collisions);
        add.sort_unstable();
        self.recent.shrink_to(MERGE_AT);
        self.recent_collisions.shrink_to_fit();
        let n = self.hashes.len() + add.len();
        let mut hashes = Vec::with_capacity(n);
        let mut ids = Vec::with_capacity(n);
        let (mut i, mut j) = (0, 0);
        while i < self.hashes.len() || j < add.len() {
            let take_old = j == add.len()
                || (i < self.hashes.len() && (self.hashes[i], self.ids[i]) <= add[j]);
            let (h, sid) = if take_old {
                i += 1;
                (self.hashes[i - 1], self.ids[i - 1])
            } else {
                j += 1;
                add[j - 1]
            };
            if hashes.last() == Some(&h) && ids.last() == Some(&sid) {
                continue;
            }
            hashes.push(h);
            ids.push(sid);
        }
        self.hashes = hashes;
        self.ids = ids;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_id_across_merges_and_collisions() {
        let mut x = HashIndex::from_entries(vec![(5, 1), (3, 2), (5, 3)]);
        for sid in 10..(10 + 2 * MERGE_AT as u32 + 7) {
            x.insert(u64::from(sid) * 7919, sid);
        }
        // A 64-bit collision among recent entries and with the sorted arrays.
        x.insert(42, 100_000_001);
        x.insert(42, 100_000_002);
        x.insert(5, 100_000_003);
        let mut five: Vec<u32> = x.candidates(5).collect();
        five.sort_unstable();
        assert_eq!(five, vec![1, 3, 100_000_003]);
        let mut c: Vec<u32> = x.candidates(42).collect();
        c.sort_unstable();
        assert_eq!(c, vec![100_000_001, 100_000_002]);
        assert_eq!(x.candidates(7919 * 12).collect::<Vec<_>>(), vec![12]);
        assert_eq!(x.candidates(4).count(), 0);
        let total = 3 + 2 * MERGE_AT + 7 + 3;
        assert_eq!(x.len(), total);

        let mut gone = RoaringBitmap::new();
        gone.insert(3);
        gone.insert(12);
        gone.insert(100_000_002);
        x.remove(&gone);
        assert_eq!(x.candidates(5).collect::<Vec<_>>(), vec![1, 100_000_003]);
        assert_eq!(x.candidates(7919 * 12).count(), 0);
        assert_eq!(x.candidates(42).collect::<Vec<_>>(), vec![100_000_001]);
        assert_eq!(x.len(), total - 3);
        // Re-inserting a known pair does not duplicate it.
        x.insert(5, 1);
        x.merge();
        assert_eq!(x.candidates(5).collect::<Vec<_>>(), vec![1, 100_000_003]);
    }
}
