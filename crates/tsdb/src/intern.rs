//! Shared strings for decoded label sets.
//!
//! Every series of a metric repeats the same label names and most of the same values
//! (`__name__`, `job`, `namespace`, `container`…). Decoded one series at a time, each copy
//! would get its own allocation; through the interner equal strings share one, so the label
//! cache holds each once and sorting a selection by label set — which compares those
//! shared leading labels over and over — compares them by pointer ([`SharedStr`]'s order)
//! instead of reading them.
//!
//! Bounded: strings longer than [`MAX_LEN`] (ids, paths, hashes: rarely shared) are not
//! interned, and the set starts over when it holds its maximum number of strings.

use parking_lot::{Mutex, MutexGuard};
use pharos_model::SharedStr;
use std::collections::HashSet;

/// Longest string worth sharing.
pub const MAX_LEN: usize = 64;

pub struct Interner {
    strings: Mutex<HashSet<SharedStr>>,
    max_entries: usize,
}

impl Interner {
    /// An interner of at most `max_entries` strings (0: none are shared).
    pub fn new(max_entries: usize) -> Self {
        Interner {
            strings: Mutex::new(HashSet::new()),
            max_entries,
        }
    }

    /// The interned strings, locked once for all the names and values of a label set.
    pub fn table(&self) -> Table<'_> {
        Table {
            strings: self.strings.lock(),
            max_entries: self.max_entries,
        }
    }

    /// `s`, sharing the allocation of an equal string interned before.
    #[cfg(test)]
    pub fn get(&self, s: &str) -> SharedStr {
        self.table().get(s)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.strings.lock().len()
    }
}

/// The interner, locked (see [`Interner::table`]).
pub struct Table<'a> {
    strings: MutexGuard<'a, HashSet<SharedStr>>,
    max_entries: usize,
}

impl Table<'_> {
    /// `s`, sharing the allocation of an equal string interned before.
    pub fn get(&mut self, s: &str) -> SharedStr {
        if s.len() > MAX_LEN || self.max_entries == 0 {
            return SharedStr::from(s);
        }
        if let Some(shared) = self.strings.get(s) {
            return shared.clone();
        }
        if self.strings.len() >= self.max_entries {
            self.strings.clear();
        }
        let shared = SharedStr::from(s);
        self.strings.insert(shared.clone());
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_short_strings_share_one_allocation_within_the_bound() {
        let interner = Interner::new(3);
        let a = interner.get("namespace");
        let b = interner.get(&String::from("namespace"));
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str(), b.as_str()), "shared");
        let long = "x".repeat(MAX_LEN + 1);
        let (c, d) = (interner.get(&long), interner.get(&long));
        assert!(
            !std::ptr::eq(c.as_str(), d.as_str()),
            "long strings are not kept"
        );
        for s in ["a", "b", "c", "d"] {
            interner.get(s);
        }
        assert!(interner.len() <= 3);
        assert_eq!(Interner::new(0).get("job"), "job");
    }
}
