//! The persistent series registry and inverted index, in sled.
//!
//! Trees:
//! - `series_blocks`: blocks of 256 consecutive series ids → zstd of their encoded label
//!   pairs (see `registry.rs`);
//! - (no per-series key: label hash → series id is kept in memory, rebuilt from
//!   `series_blocks` on start — see `hash_index.rs`; an old `by_hash` tree is dropped);
//! - `postings`: `name 0xFF value` → roaring bitmap of the series ids with that label pair
//!   (0xFF never occurs in UTF-8, so keys parse unambiguously and all values of one name
//!   are one contiguous key range). One key per pair rather than per series and label keeps
//!   sled small: it costs ~100+ bytes per key on disk;
//! - `exemplars`: `day id t` → value and exemplar labels;
//! - `metadata`: metric name → type, help, unit.
//!
//! Matchers are answered from postings: `=` is one lookup; `=~`, `!=`, `!~` walk the values
//! of one label name and union the bitmaps of the matching ones.

use crate::hash_index::{short, HashIndex};
use crate::series_key::{decode_labels, decode_labels_with};
use pharos_model::{Labels, MatchOp, Matcher, MetricMetadata};
use roaring::RoaringBitmap;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

const SEP: u8 = 0xFF;

pub struct Index {
    pub db: sled::Db,
    series: crate::registry::Registry,
    /// Label hash → ids of every registered series (persisted and pending).
    by_hash: parking_lot::RwLock<HashIndex>,
    postings: sled::Tree,
    postings_lock: parking_lot::Mutex<()>,
    /// Series registered since the last [`Index::persist`]: kept in memory and written to
    /// sled in one batch per flush (their definitions are in the WAL until then). Writing
    /// per request rewrote the common postings bitmaps on every request and left sled's
    /// log full of garbage (~2 KB per series on a churning workload).
    pending: parking_lot::RwLock<Pending>,
    exemplars: sled::Tree,
    metadata: sled::Tree,
    /// Decoded label sets of recently read series.
    label_cache: crate::label_cache::LabelCache,
    /// Shares equal names and short values among the label sets the cache holds.
    interner: crate::intern::Interner,
    /// Values of a label name with their postings, for label-value lookups and matchers
    /// that walk a name's values.
    values_cache: crate::label_cache::ValuesCache,
}

fn sid_key(sid: u32) -> [u8; 4] {
    sid.to_be_bytes()
}

fn posting_key(name: &str, value: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + value.len() + 1);
    k.extend_from_slice(name.as_bytes());
    k.push(SEP);
    k.extend_from_slice(value.as_bytes());
    k
}

fn storage(e: sled::Error) -> std::io::Error {
    std::io::Error::other(e)
}

pub type Result<T> = std::io::Result<T>;

/// Estimated memory of one pending series: its labels twice (series map, postings keys)
/// and a map entry with a one-element bitmap per label.
fn pending_cost(enc: &[u8], labels: usize) -> usize {
    2 * enc.len() + labels * 160 + 96
}

#[derive(Default)]
struct Pending {
    series: std::collections::HashMap<u32, (u128, Vec<u8>)>,
    /// name → value → ids.
    postings: BTreeMap<String, BTreeMap<String, RoaringBitmap>>,
    bytes: usize,
}

/// The sled settings of the index (a copy for snapshots must use the same ones: sled refuses
/// to reopen a database with another segment size).
pub fn sled_config(dir: &std::path::Path, cache_bytes: u64) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .cache_capacity(cache_bytes)
        .flush_every_ms(Some(1000))
        .mode(sled::Mode::LowSpace)
        // Small segments: sled's default of 512 KiB makes a small index several times its size.
        .segment_size(1 << 16)
}

impl Index {
    /// Opens the index with `cache_bytes` for sled's cache, `label_cache_bytes` for decoded
    /// label sets and `values_cache_bytes` for the values (and postings) of label names.
    pub fn open(
        dir: &std::path::Path,
        cache_bytes: u64,
        label_cache_bytes: usize,
        values_cache_bytes: usize,
    ) -> Result<Index> {
        let db = sled_config(dir, cache_bytes).open().map_err(storage)?;
        let tree = |n: &str| db.open_tree(n).map_err(storage);
        // Data directories written before the hash index moved into memory.
        db.drop_tree("by_hash").map_err(storage)?;
        let series = crate::registry::Registry::new(tree("series_blocks")?, 256);
        let started = std::time::Instant::now();
        let mut entries = Vec::new();
        series.for_each(|sid, enc| entries.push((short(crate::series_key::hash(enc)), sid)))?;
        if !entries.is_empty() {
            tracing::info!(
                series = entries.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "loaded the series hash index"
            );
        }
        Ok(Index {
            series,
            by_hash: parking_lot::RwLock::new(HashIndex::from_entries(entries)),
            postings: tree("postings")?,
            postings_lock: parking_lot::Mutex::new(()),
            pending: parking_lot::RwLock::new(Pending::default()),
            exemplars: tree("exemplars")?,
            metadata: tree("metadata")?,
            label_cache: crate::label_cache::LabelCache::new(label_cache_bytes),
            // One shared string per KiB of label cache (~100 bytes each): ~10 % of it.
            interner: crate::intern::Interner::new(label_cache_bytes / 1024),
            values_cache: crate::label_cache::ValuesCache::new(values_cache_bytes),
            db,
        })
    }

    /// One past the highest series id ever registered.
    pub fn next_sid(&self) -> Result<u32> {
        let pending = self
            .pending
            .read()
            .series
            .keys()
            .max()
            .map_or(0, |m| m.saturating_add(1));
        Ok(self.series.next_sid()?.max(pending))
    }

    /// The id of the registered series whose label bytes hash to `hash`.
    /// The registered series with this 128-bit label hash and its encoded labels (so that a
    /// caller can tell a hash collision from a match without reading them again).
    pub fn lookup_hash_with_bytes(&self, hash: u128) -> Result<Option<(u32, Vec<u8>)>> {
        let candidates: Vec<u32> = self.by_hash.read().candidates(short(hash)).collect();
        for sid in candidates {
            if let Some(enc) = self.series_bytes(sid)? {
                if crate::series_key::hash(&enc) == hash {
                    return Ok(Some((sid, enc)));
                }
            }
        }
        Ok(None)
    }

    /// Heap bytes of the in-memory hash index.
    pub fn hash_index_bytes(&self) -> usize {
        self.by_hash.read().heap_bytes()
    }

    pub fn series_bytes(&self, sid: u32) -> Result<Option<Vec<u8>>> {
        if let Some((_, enc)) = self.pending.read().series.get(&sid) {
            return Ok(Some(enc.clone()));
        }
        self.series.get(sid)
    }

    /// The labels of series `sid` (from the label cache, or decoded and cached).
    pub fn labels(&self, sid: u32) -> Result<Option<Labels>> {
        if let Some(l) = self.label_cache.get(sid) {
            return Ok(Some(l));
        }
        let labels = self.series_bytes(sid)?.and_then(|b| {
            let mut table = self.interner.table();
            decode_labels_with(&b, |s| table.get(s))
        });
        if let Some(l) = &labels {
            self.label_cache.insert(sid, l);
        }
        Ok(labels)
    }

    /// Registers series (id, hash, encoded labels) in memory; [`Index::persist`] writes them.
    /// Returns the bytes now pending.
    pub fn register(&self, new: &[(u32, u128, Vec<u8>)]) -> Result<usize> {
        let mut p = self.pending.write();
        let mut by_hash = self.by_hash.write();
        if !new.is_empty() {
            self.values_cache.invalidate();
        }
        for (sid, hash, enc) in new {
            let labels =
                decode_labels(enc).ok_or_else(|| std::io::Error::other("bad label encoding"))?;
            for l in labels.iter() {
                p.postings
                    .entry(l.name.to_string())
                    .or_default()
                    .entry(l.value.to_string())
                    .or_default()
                    .insert(*sid);
            }
            by_hash.insert(short(*hash), *sid);
            p.bytes += pending_cost(enc, labels.len());
            p.series.insert(*sid, (*hash, enc.clone()));
        }
        Ok(p.bytes)
    }

    /// Estimated bytes of series not yet written to sled.
    pub fn pending_bytes(&self) -> usize {
        self.pending.read().bytes
    }

    /// Writes the pending series to sled in one batch per tree.
    pub fn persist(&self) -> Result<()> {
        let snapshot: Vec<(u32, u128, Vec<u8>)> = {
            let p = self.pending.read();
            if p.series.is_empty() {
                return Ok(());
            }
            p.series
                .iter()
                .map(|(sid, (h, enc))| (*sid, *h, enc.clone()))
                .collect()
        };
        let mut add: BTreeMap<Vec<u8>, RoaringBitmap> = BTreeMap::new();
        for (sid, _, enc) in &snapshot {
            if let Some(labels) = decode_labels(enc) {
                for l in labels.iter() {
                    add.entry(posting_key(&l.name, &l.value))
                        .or_default()
                        .insert(*sid);
                }
            }
        }
        let entries: Vec<(u32, &[u8])> = snapshot
            .iter()
            .map(|(sid, _, enc)| (*sid, enc.as_slice()))
            .collect();
        self.series.put(&entries)?;
        self.update_postings(add, |bm, ids| *bm |= ids)?;
        // Drop from pending what was written (more may have been registered meanwhile).
        let mut p = self.pending.write();
        for (sid, _, enc) in &snapshot {
            p.series.remove(sid);
            let n = decode_labels(enc).map_or(0, |l| l.len());
            p.bytes = p.bytes.saturating_sub(pending_cost(enc, n));
            if let Some(labels) = decode_labels(enc) {
                for l in labels.iter() {
                    if let Some(values) = p.postings.get_mut(l.name.as_str()) {
                        if let Some(bm) = values.get_mut(l.value.as_str()) {
                            bm.remove(*sid);
                            if bm.is_empty() {
                                values.remove(l.value.as_str());
                            }
                        }
                        if values.is_empty() {
                            p.postings.remove(l.name.as_str());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Read-modify-write of postings bitmaps, serialised so concurrent writers lose nothing.
    fn update_postings(
        &self,
        changes: BTreeMap<Vec<u8>, RoaringBitmap>,
        f: impl Fn(&mut RoaringBitmap, &RoaringBitmap),
    ) -> Result<()> {
        let _one = self.postings_lock.lock();
        let mut batch = sled::Batch::default();
        for (key, ids) in changes {
            let mut bm = match self.postings.get(&key).map_err(storage)? {
                Some(v) => RoaringBitmap::deserialize_from(v.as_ref())?,
                None => RoaringBitmap::new(),
            };
            f(&mut bm, &ids);
            if bm.is_empty() {
                batch.remove(key);
            } else {
                let mut v = Vec::with_capacity(bm.serialized_size());
                bm.serialize_into(&mut v)?;
                batch.insert(key, v);
            }
        }
        self.postings.apply_batch(batch).map_err(storage)
    }

    /// Removes series from every tree (retention of series with no data left).
    pub fn unregister(&self, sids: &RoaringBitmap) -> Result<u64> {
        self.persist()?;
        let mut n = 0;
        let mut remove: BTreeMap<Vec<u8>, RoaringBitmap> = BTreeMap::new();
        for sid in sids {
            let Some(enc) = self.series_bytes(sid)? else {
                continue;
            };
            if let Some(labels) = decode_labels(&enc) {
                for l in labels.iter() {
                    remove
                        .entry(posting_key(&l.name, &l.value))
                        .or_default()
                        .insert(sid);
                }
            }
            n += 1;
        }
        self.series.remove(sids)?;
        self.update_postings(remove, |bm, ids| *bm -= ids)?;
        self.by_hash.write().remove(sids);
        self.label_cache.remove(sids);
        self.values_cache.invalidate();
        Ok(n)
    }

    /// Every registered series id.
    pub fn all_sids(&self) -> Result<RoaringBitmap> {
        let mut bm = self.series.all_sids()?;
        bm.extend(self.pending.read().series.keys().copied());
        Ok(bm)
    }

    /// Ids of series with label `name` = `value`.
    pub fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap> {
        let mut bm = match self
            .postings
            .get(posting_key(name, value))
            .map_err(storage)?
        {
            Some(v) => RoaringBitmap::deserialize_from(v.as_ref())?,
            None => RoaringBitmap::new(),
        };
        if let Some(p) = self
            .pending
            .read()
            .postings
            .get(name)
            .and_then(|v| v.get(value))
        {
            bm |= p;
        }
        Ok(bm)
    }

    /// True if a series in `within` has label `name`.
    pub fn any_with_name(&self, name: &str, within: &RoaringBitmap) -> Result<bool> {
        let mut found = false;
        self.for_values(name, |_, bm| {
            found = !bm.is_disjoint(within);
            !found
        })?;
        Ok(found)
    }

    /// True if the values of label `name` are in the values cache (and not stale).
    pub fn values_cached(&self, name: &str) -> bool {
        self.values_cache.get(name).is_some()
    }

    /// Values of label `name` held by at least one series in `within` (one pass over the
    /// postings of `name`; sorted when they come from the values cache).
    pub fn values_within(&self, name: &str, within: &RoaringBitmap) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.for_values(name, |value, ids| {
            if !ids.is_disjoint(within) {
                out.push(value.to_owned());
            }
            true
        })?;
        Ok(out)
    }

    /// Calls `f(value, ids)` for every value of label `name` until it returns false: from
    /// the values cache, or from sled and the pending series (and then cached, when the
    /// pass was complete and the name's postings fit).
    fn for_values(
        &self,
        name: &str,
        mut f: impl FnMut(&str, &RoaringBitmap) -> bool,
    ) -> Result<()> {
        if let Some(list) = self.values_cache.get(name) {
            for (value, bm) in list.iter() {
                if !f(value, bm) {
                    break;
                }
            }
            return Ok(());
        }
        let generation = self.values_cache.generation();
        let mut keep = crate::label_cache::ValuesBuilder::new(&self.values_cache);
        let mut prefix = name.as_bytes().to_vec();
        prefix.push(SEP);
        // Values only pending (not yet in sled) come after the persisted ones.
        let mut pending: BTreeMap<String, RoaringBitmap> = self
            .pending
            .read()
            .postings
            .get(name)
            .cloned()
            .unwrap_or_default();
        for kv in self.postings.scan_prefix(&prefix) {
            let (k, v) = kv.map_err(storage)?;
            let value = std::str::from_utf8(&k[prefix.len()..]).unwrap_or("");
            let mut bm = RoaringBitmap::deserialize_from(v.as_ref())?;
            if let Some(p) = pending.remove(value) {
                bm |= p;
            }
            if !f(value, &bm) {
                return Ok(());
            }
            keep.push(value, bm);
        }
        for (value, bm) in pending {
            if !f(&value, &bm) {
                return Ok(());
            }
            keep.push(&value, bm);
        }
        keep.finish(name, generation);
        Ok(())
    }

    /// Calls `f(value)` for every value of label `name`; the ids of the values for which it
    /// returns true are returned.
    pub fn scan_values(
        &self,
        name: &str,
        mut f: impl FnMut(&str) -> bool,
    ) -> Result<RoaringBitmap> {
        let mut out = RoaringBitmap::new();
        self.for_values(name, |v, bm| {
            if f(v) {
                out |= bm;
            }
            true
        })?;
        Ok(out)
    }

    /// Ids of series having label `name` with any value satisfying `m`.
    fn having(&self, m: &Matcher, want_match: bool) -> Result<RoaringBitmap> {
        if m.op == MatchOp::Equal && want_match {
            return self.postings(&m.name, &m.value);
        }
        if m.op == MatchOp::NotEqual && !want_match {
            return self.postings(&m.name, &m.value);
        }
        self.scan_values(&m.name, |v| m.matches(v) == want_match)
    }

    /// Series ids in `universe` that satisfy all matchers.
    pub fn select(&self, matchers: &[Matcher], universe: &RoaringBitmap) -> Result<RoaringBitmap> {
        let mut ordered: Vec<&Matcher> = matchers.iter().collect();
        // Cheapest and most selective first: equality, then other positive, then negative.
        ordered.sort_by_key(|m| match (m.op, m.matches_empty()) {
            (MatchOp::Equal, false) => 0,
            (_, false) => 1,
            _ => 2,
        });
        let mut result = universe.clone();
        for m in ordered {
            if result.is_empty() {
                break;
            }
            if m.matches_empty() {
                result -= self.having(m, false)?;
            } else {
                result &= self.having(m, true)?;
            }
        }
        Ok(result)
    }

    /// Every label name with at least one series (seeking past each name's keys).
    pub fn label_names(&self) -> Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        let mut from: Vec<u8> = Vec::new();
        loop {
            let next = self
                .postings
                .range::<&[u8], _>((Bound::Included(from.as_slice()), Bound::Unbounded))
                .next()
                .transpose()
                .map_err(storage)?;
            let Some((k, _)) = next else { break };
            let Some(i) = k.iter().position(|b| *b == SEP) else {
                break;
            };
            let name = &k[..i];
            out.insert(String::from_utf8_lossy(name).into_owned());
            from = name.to_vec();
            from.extend_from_slice(&[SEP, SEP]);
        }
        out.extend(self.pending.read().postings.keys().cloned());
        Ok(out)
    }

    pub fn put_exemplars(
        &self,
        rows: &[(i32, u32, i64, f64, Vec<u8>)],
        max_per_series: usize,
    ) -> Result<()> {
        for (day, sid, t, v, labels) in rows {
            let mut prefix = Vec::with_capacity(16);
            prefix.extend_from_slice(&(*day as u32 ^ 0x8000_0000).to_be_bytes());
            prefix.extend_from_slice(&sid_key(*sid));
            let mut key = prefix.clone();
            key.extend_from_slice(&(*t as u64 ^ 0x8000_0000_0000_0000).to_be_bytes());
            let mut val = v.to_bits().to_le_bytes().to_vec();
            val.extend_from_slice(labels);
            self.exemplars.insert(key, val).map_err(storage)?;
            // Keep the newest `max_per_series` per series and day.
            let keys: Vec<_> = self
                .exemplars
                .scan_prefix(&prefix)
                .keys()
                .collect::<std::result::Result<_, _>>()
                .map_err(storage)?;
            if keys.len() > max_per_series {
                for k in &keys[..keys.len() - max_per_series] {
                    self.exemplars.remove(k).map_err(storage)?;
                }
            }
        }
        Ok(())
    }

    /// Exemplars (id, t, value, labels) of the given days for ids in `sids`, `start <= t <= end`.
    pub fn exemplars(
        &self,
        days: std::ops::RangeInclusive<i32>,
        sids: &RoaringBitmap,
        start: i64,
        end: i64,
    ) -> Result<Vec<(u32, i64, f64, Labels)>> {
        let mut out = Vec::new();
        for day in days {
            for sid in sids {
                let mut prefix = (day as u32 ^ 0x8000_0000).to_be_bytes().to_vec();
                prefix.extend_from_slice(&sid_key(sid));
                for kv in self.exemplars.scan_prefix(&prefix) {
                    let (k, v) = kv.map_err(storage)?;
                    let Ok(tb) = <[u8; 8]>::try_from(&k[8..]) else {
                        continue;
                    };
                    let t = (u64::from_be_bytes(tb) ^ 0x8000_0000_0000_0000) as i64;
                    if t < start || t > end || v.len() < 8 {
                        continue;
                    }
                    let value =
                        f64::from_bits(u64::from_le_bytes(v[..8].try_into().expect("8 bytes")));
                    out.push((sid, t, value, decode_labels(&v[8..]).unwrap_or_default()));
                }
            }
        }
        Ok(out)
    }

    /// Drops exemplars of days before `day`.
    pub fn drop_exemplars_before(&self, day: i32) -> Result<()> {
        let end = (day as u32 ^ 0x8000_0000).to_be_bytes();
        let keys: Vec<_> = self
            .exemplars
            .range(..end.as_slice())
            .keys()
            .collect::<std::result::Result<_, _>>()
            .map_err(storage)?;
        for k in keys {
            self.exemplars.remove(k).map_err(storage)?;
        }
        Ok(())
    }

    pub fn put_metadata(&self, m: &MetricMetadata) -> Result<()> {
        let v = serde_json::to_vec(m).map_err(std::io::Error::other)?;
        self.metadata
            .insert(m.metric.as_bytes(), v)
            .map_err(storage)?;
        Ok(())
    }

    pub fn metadata(
        &self,
        metric: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<MetricMetadata>> {
        let mut out = Vec::new();
        let iter: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> = match metric {
            Some(m) => Box::new(
                self.metadata
                    .get(m.as_bytes())
                    .transpose()
                    .map(|r| r.map(|v| (sled::IVec::from(m.as_bytes()), v)))
                    .into_iter(),
            ),
            None => Box::new(self.metadata.iter()),
        };
        for kv in iter {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            let (_, v) = kv.map_err(storage)?;
            if let Ok(m) = serde_json::from_slice::<MetricMetadata>(&v) {
                out.push(m);
            }
        }
        Ok(out)
    }

    pub fn flush(&self) -> Result<()> {
        self.db.flush().map(|_| ()).map_err(storage)
    }

    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series_key::{encode_labels, hash};

    fn reg(idx: &Index, sid: u32, pairs: &[(&str, &str)]) {
        let enc = encode_labels(&Labels::from_pairs(pairs.iter().copied()));
        idx.register(&[(sid, hash(&enc), enc)]).unwrap();
    }

    #[test]
    fn matchers_resolve_through_postings() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Index::open(dir.path(), 1 << 20, 1 << 20, 1 << 20).unwrap();
        reg(
            &idx,
            1,
            &[("__name__", "up"), ("job", "api"), ("env", "prod")],
        );
        reg(&idx, 2, &[("__name__", "up"), ("job", "apiserver")]);
        reg(
            &idx,
            3,
            &[("__name__", "up"), ("job", "web"), ("env", "dev")],
        );
        reg(&idx, 4, &[("__name__", "down"), ("job", "api")]);
        let all = idx.all_sids().unwrap();
        let sel = |ms: Vec<Matcher>| idx.select(&ms, &all).unwrap().iter().collect::<Vec<_>>();
        let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
        assert_eq!(sel(vec![Matcher::equal("job", "api")]), vec![1, 4]);
        assert_eq!(
            sel(vec![
                Matcher::equal("__name__", "up"),
                m(MatchOp::RegexMatch, "job", "api.*")
            ]),
            vec![1, 2]
        );
        assert_eq!(
            sel(vec![
                Matcher::equal("__name__", "up"),
                m(MatchOp::NotEqual, "env", "prod")
            ]),
            vec![2, 3]
        );
        assert_eq!(
            sel(vec![m(MatchOp::RegexNoMatch, "job", "api|web")]),
            vec![2]
        );
        assert_eq!(sel(vec![Matcher::equal("env", "")]), vec![2, 4]);
        assert_eq!(sel(vec![m(MatchOp::RegexMatch, "env", ".+")]), vec![1, 3]);
        assert_eq!(
            idx.label_names().unwrap().into_iter().collect::<Vec<_>>(),
            ["__name__", "env", "job"]
        );
        let mut vals = Vec::new();
        idx.scan_values("job", |v| {
            vals.push(v.to_owned());
            false
        })
        .unwrap();
        vals.sort();
        assert_eq!(vals, ["api", "apiserver", "web"]);
        assert_eq!(idx.next_sid().unwrap(), 5);
        let enc = encode_labels(&Labels::from_pairs([("__name__", "down"), ("job", "api")]));
        assert_eq!(
            idx.lookup_hash_with_bytes(hash(&enc)).unwrap(),
            Some((4, enc.clone()))
        );
        let mut gone = RoaringBitmap::new();
        gone.insert(4);
        assert_eq!(idx.unregister(&gone).unwrap(), 1);
        assert_eq!(idx.lookup_hash_with_bytes(hash(&enc)).unwrap(), None);
        assert_eq!(sel(vec![Matcher::equal("job", "api")]), vec![1]);
    }
}

#[cfg(test)]
mod values_cache_tests {
    use super::*;
    use crate::series_key::{encode_labels, hash};

    fn reg(idx: &Index, sid: u32, pod: &str) {
        let enc = encode_labels(&Labels::from_pairs([("__name__", "up"), ("pod", pod)]));
        idx.register(&[(sid, hash(&enc), enc)]).unwrap();
    }

    /// Values come from the cache after the first pass, sorted (pending values included),
    /// and a registration makes the cached list stale.
    #[test]
    fn label_values_cached_sorted_and_refreshed() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Index::open(dir.path(), 1 << 20, 1 << 20, 1 << 20).unwrap();
        reg(&idx, 1, "b");
        reg(&idx, 2, "d");
        idx.persist().unwrap();
        reg(&idx, 3, "a");
        let all = idx.all_sids().unwrap();
        assert!(!idx.values_cached("pod"));
        assert_eq!(idx.values_within("pod", &all).unwrap(), ["b", "d", "a"]);
        assert!(idx.values_cached("pod"));
        assert_eq!(idx.values_within("pod", &all).unwrap(), ["a", "b", "d"]);
        let some = RoaringBitmap::from_iter([2u32, 3]);
        assert_eq!(idx.values_within("pod", &some).unwrap(), ["a", "d"]);
        reg(&idx, 4, "c");
        assert!(!idx.values_cached("pod"));
        let all = idx.all_sids().unwrap();
        let mut v = idx.values_within("pod", &all).unwrap();
        v.sort();
        assert_eq!(v, ["a", "b", "c", "d"]);
        let gone = RoaringBitmap::from_iter([1u32]);
        idx.values_within("pod", &all).unwrap();
        idx.unregister(&gone).unwrap();
        assert_eq!(
            idx.values_within("pod", &idx.all_sids().unwrap()).unwrap(),
            ["a", "c", "d"]
        );
    }
}

#[cfg(test)]
mod size_probe {
    use super::*;
    use crate::series_key::{encode_labels, hash};

    #[test]
    #[ignore = "measurement, run by hand"]
    fn sled_size_for_14k_series() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Index::open(dir.path(), 64 << 20, 0, 0).unwrap();
        let mut sid = 1;
        for batch in 0..8 {
            let mut new = Vec::new();
            for _ in 0..1800 {
                let l = Labels::from_pairs([
                    ("__name__", format!("node_metric_{}", sid % 569)),
                    ("instance", format!("host-{}:9100", sid / 569)),
                    ("job", "node".to_string()),
                    ("cpu", format!("{}", sid % 4)),
                    ("mode", format!("mode{}", sid % 8)),
                    ("batch", format!("{batch}")),
                ]);
                let enc = encode_labels(&l);
                new.push((sid, hash(&enc), enc));
                sid += 1;
            }
            idx.register(&new).unwrap();
        }
        idx.flush().unwrap();
        let du = crate::wal::dir_size(dir.path());
        eprintln!(
            "series {sid} size_on_disk {} dir {du} per series {}",
            idx.size_on_disk(),
            du / sid as u64
        );
    }
}
