//! A map from series id to a value, stored densely: the values sit in fixed-size pages and
//! a hash map holds only id → position (8 bytes a slot).
//!
//! A `HashMap<u32, SeriesHead>` keeps the ~100-byte values in its own table, which grows
//! by doubling: with a million series in the head up to half of a 200+ MiB table is empty
//! slots (measured with heaptrack at 1.14 M series: 237 MiB of tables). Here the values are
//! packed (removal moves the last value into the hole) and only the small position table
//! has spare slots; pages are allocated one at a time, so growth never copies the values.

use crate::fast_hash::FastBuild;
use std::collections::HashMap;

/// Values per page.
const PAGE: usize = 1024;

pub struct Slab<T> {
    pos: HashMap<u32, u32, FastBuild>,
    /// `pages[p][i]` is the value at position `p * PAGE + i`, with its id.
    pages: Vec<Vec<(u32, T)>>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            pos: HashMap::default(),
            pages: Vec::new(),
            len: 0,
        }
    }
}

fn split(pos: usize) -> (usize, usize) {
    (pos / PAGE, pos % PAGE)
}

impl<T> Slab<T> {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn contains_key(&self, id: u32) -> bool {
        self.pos.contains_key(&id)
    }

    pub fn get(&self, id: u32) -> Option<&T> {
        let (p, i) = split(*self.pos.get(&id)? as usize);
        Some(&self.pages[p][i].1)
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        let (p, i) = split(*self.pos.get(&id)? as usize);
        Some(&mut self.pages[p][i].1)
    }

    /// The value of `id`, inserted with `make` if absent.
    pub fn get_or_insert_with(&mut self, id: u32, make: impl FnOnce() -> T) -> &mut T {
        let at = match self.pos.get(&id) {
            Some(&at) => at as usize,
            None => {
                let at = self.len;
                let (p, _) = split(at);
                if p == self.pages.len() {
                    self.pages.push(Vec::with_capacity(PAGE));
                }
                self.pages[p].push((id, make()));
                self.pos.insert(id, at as u32);
                self.len += 1;
                at
            }
        };
        let (p, i) = split(at);
        &mut self.pages[p][i].1
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.pages.iter().flatten().map(|(_, v)| v)
    }

    /// Keeps the values for which `keep(id, value)` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(u32, &mut T) -> bool) {
        let mut at = 0;
        while at < self.len {
            let (p, i) = split(at);
            let (id, v) = &mut self.pages[p][i];
            if keep(*id, v) {
                at += 1;
            } else {
                let id = *id;
                self.remove_at(at, id);
                // The last value moved into `at`: look at it next.
            }
        }
        self.pos.shrink_to(self.len + self.len / 8);
    }

    fn remove_at(&mut self, at: usize, id: u32) {
        self.pos.remove(&id);
        let last = self.len - 1;
        let (lp, li) = split(last);
        let moved = self.pages[lp]
            .pop()
            .expect("the last position holds a value");
        debug_assert_eq!(li, self.pages[lp].len());
        if at != last {
            let (p, i) = split(at);
            self.pos.insert(moved.0, at as u32);
            self.pages[p][i] = moved;
        }
        if self.pages[lp].is_empty() {
            self.pages.pop();
        }
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_retain_across_pages() {
        let mut s: Slab<u64> = Slab::default();
        for id in 0..(3 * PAGE as u32 + 5) {
            *s.get_or_insert_with(id * 3, || 0) += u64::from(id);
        }
        assert_eq!(s.len(), 3 * PAGE + 5);
        assert_eq!(s.get(30), Some(&10));
        assert!(s.get(31).is_none());
        *s.get_or_insert_with(30, || 99) += 1;
        assert_eq!(s.get(30), Some(&11));
        // Drop every id that is a multiple of 2 (values moved from the end stay findable).
        s.retain(|id, _| id % 2 == 1);
        let kept: Vec<u32> = (0..(3 * PAGE as u32 + 5))
            .map(|id| id * 3)
            .filter(|id| id % 2 == 1)
            .collect();
        assert_eq!(s.len(), kept.len());
        for id in &kept {
            assert_eq!(s.get(*id), Some(&u64::from(id / 3)));
        }
        assert!(!s.contains_key(30));
        assert_eq!(s.pages.len(), kept.len().div_ceil(PAGE));
        let sum: u64 = s.values().sum();
        assert_eq!(sum, kept.iter().map(|id| u64::from(id / 3)).sum::<u64>());
        s.retain(|_, _| false);
        assert_eq!(s.len(), 0);
        assert!(s.pages.is_empty());
    }
}
