//! A map with a byte budget that evicts in insertion order (first in, first out): the
//! mechanism under the frame cache and the label-set cache. Each entry's cost is given at
//! insertion and kept beside it, so eviction does not have to measure it again.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};

pub struct Fifo<K, V, S> {
    map: HashMap<K, (V, usize), S>,
    /// Keys in insertion order; may hold keys removed since (skipped when reached).
    order: VecDeque<K>,
    bytes: usize,
    max_bytes: usize,
}

impl<K: Hash + Eq + Clone, V, S: BuildHasher + Default> Fifo<K, V, S> {
    pub fn new(max_bytes: usize) -> Self {
        Fifo {
            map: HashMap::default(),
            order: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|(v, _)| v)
    }

    /// Inserts `key` unless it is present, then evicts the oldest entries until the total
    /// cost is within the budget.
    pub fn insert(&mut self, key: K, value: V, cost: usize) {
        if self.map.contains_key(&key) {
            return;
        }
        self.map.insert(key.clone(), (value, cost));
        self.order.push_back(key);
        self.bytes += cost;
        while self.bytes > self.max_bytes {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, c)) = self.map.remove(&old) {
                self.bytes -= c;
            }
        }
    }

    /// Removes `key`. Queue slots of removed keys are dropped once they outnumber the
    /// entries (plus some slack), so removals stay cheap.
    pub fn remove(&mut self, key: &K) {
        if let Some((_, c)) = self.map.remove(key) {
            self.bytes -= c;
        }
        if self.order.len() > 2 * self.map.len() + 1024 {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
    }

    /// Keeps only the entries whose key passes `keep`.
    pub fn retain(&mut self, keep: impl Fn(&K) -> bool) {
        let bytes = &mut self.bytes;
        self.map.retain(|k, (_, c)| {
            let kept = keep(k);
            if !kept {
                *bytes -= *c;
            }
            kept
        });
        self.order.retain(|k| keep(k));
    }

    /// Total cost of the entries held.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::RandomState;

    #[test]
    fn evicts_oldest_within_budget() {
        let mut f: Fifo<u32, &str, RandomState> = Fifo::new(10);
        f.insert(1, "a", 4);
        f.insert(2, "b", 4);
        f.insert(1, "again", 4); // present: unchanged
        assert_eq!((f.get(&1), f.bytes()), (Some(&"a"), 8));
        f.insert(3, "c", 4); // over budget: 1 goes
        assert_eq!((f.get(&1), f.get(&3), f.bytes()), (None, Some(&"c"), 8));
        f.remove(&2);
        assert_eq!((f.get(&2), f.bytes()), (None, 4));
        f.insert(4, "d", 2);
        f.retain(|k| *k != 3);
        assert_eq!((f.get(&3), f.get(&4), f.bytes()), (None, Some(&"d"), 2));
    }
}
