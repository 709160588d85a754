//! The series registry: series id → encoded label set, in sled, 256 series per key.
//!
//! sled costs a few hundred bytes per key on disk, more than a label set, so ids are grouped
//! in blocks of 256 consecutive ids (new ids are allocated sequentially, so a batch of new
//! series touches few blocks), each block zstd-compressed — label sets of neighbouring
//! series share most of their bytes. Decompressed blocks are cached (bounded, FIFO).
//!
//! A decoded block is its decompressed bytes plus, in id order, where each label set
//! starts and ends: two allocations per block. A selection spread over the whole registry
//! (one metric of every host) decodes one block per 256 ids it crosses on every query once
//! the blocks outnumber the cache; with a map of one `Vec` per label set, building and
//! dropping those maps was ~40 % of such a query (1.14 M series, 64 k selected).

use crate::codec::varint::{put_uvarint, Reader};
use parking_lot::Mutex;
use roaring::RoaringBitmap;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::sync::Arc;

const BLOCK_BITS: u32 = 8;
const MAX_BLOCK_BYTES: usize = 64 << 20;

/// A block's label sets by id, as modified on the write path.
type BlockMap = BTreeMap<u32, Vec<u8>>;

/// A decoded block: the decompressed bytes and where each label set is in them.
struct Block {
    raw: Vec<u8>,
    /// `(id, start, end)` of each label set in `raw`, ascending by id.
    spans: Vec<(u32, u32, u32)>,
}

impl Block {
    fn empty() -> Block {
        Block {
            raw: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// Indexes decompressed block bytes: (id varint, length varint, label set)*, ids ascending.
    fn parse(raw: Vec<u8>) -> io::Result<Block> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "corrupt series registry block");
        let mut spans = Vec::new();
        let mut r = Reader::new(&raw);
        while !r.is_empty() {
            let sid = u32::try_from(r.uvarint().ok_or_else(bad)?).map_err(|_| bad())?;
            let len = r.len_prefixed().ok_or_else(bad)?.len();
            let end = r.pos();
            if spans.last().is_some_and(|&(last, _, _)| last >= sid) {
                return Err(bad());
            }
            let span = |n: usize| u32::try_from(n).map_err(|_| bad());
            spans.push((sid, span(end - len)?, span(end)?));
        }
        Ok(Block { raw, spans })
    }

    fn get(&self, sid: u32) -> Option<&[u8]> {
        let i = self.spans.binary_search_by_key(&sid, |s| s.0).ok()?;
        let (_, start, end) = self.spans[i];
        Some(&self.raw[start as usize..end as usize])
    }

    fn iter(&self) -> impl Iterator<Item = (u32, &[u8])> {
        self.spans
            .iter()
            .map(|&(sid, start, end)| (sid, &self.raw[start as usize..end as usize]))
    }

    fn last_id(&self) -> Option<u32> {
        self.spans.last().map(|s| s.0)
    }

    fn to_map(&self) -> BlockMap {
        self.iter().map(|(sid, enc)| (sid, enc.to_vec())).collect()
    }
}

/// Cached blocks and their insertion order (for FIFO eviction).
type Cache = (HashMap<u32, Arc<Block>>, VecDeque<u32>);

pub struct Registry {
    tree: sled::Tree,
    cache: Mutex<Cache>,
    cache_blocks: usize,
    /// Serialises read-modify-write of blocks.
    write: Mutex<()>,
}

fn storage(e: sled::Error) -> io::Error {
    io::Error::other(e)
}

fn block_of(sid: u32) -> u32 {
    sid >> BLOCK_BITS
}

/// A block's uncompressed bytes, with its span table built as they are written.
fn encode(block: &BlockMap) -> Block {
    let mut raw = Vec::new();
    let mut spans = Vec::with_capacity(block.len());
    for (sid, enc) in block {
        put_uvarint(&mut raw, u64::from(*sid));
        put_uvarint(&mut raw, enc.len() as u64);
        let start = raw.len();
        raw.extend_from_slice(enc);
        // Blocks are bounded by MAX_BLOCK_BYTES (64 MiB), well inside u32.
        spans.push((*sid, start as u32, raw.len() as u32));
    }
    Block { raw, spans }
}

fn decode(data: &[u8]) -> io::Result<Block> {
    Block::parse(crate::codec::unzstd(data, MAX_BLOCK_BYTES)?)
}

impl Registry {
    pub fn new(tree: sled::Tree, cache_blocks: usize) -> Self {
        Registry {
            tree,
            cache: Mutex::new((HashMap::new(), VecDeque::new())),
            cache_blocks: cache_blocks.max(4),
            write: Mutex::new(()),
        }
    }

    fn load(&self, b: u32) -> io::Result<Arc<Block>> {
        if let Some(x) = self.cache.lock().0.get(&b) {
            return Ok(x.clone());
        }
        let block = match self.tree.get(b.to_be_bytes()).map_err(storage)? {
            Some(v) => decode(&v)?,
            None => Block::empty(),
        };
        let block = Arc::new(block);
        self.remember(b, block.clone());
        Ok(block)
    }

    fn remember(&self, b: u32, block: Arc<Block>) {
        let mut c = self.cache.lock();
        if c.0.insert(b, block).is_none() {
            c.1.push_back(b);
        }
        while c.1.len() > self.cache_blocks {
            if let Some(old) = c.1.pop_front() {
                c.0.remove(&old);
            }
        }
    }

    pub fn get(&self, sid: u32) -> io::Result<Option<Vec<u8>>> {
        Ok(self.load(block_of(sid))?.get(sid).map(<[u8]>::to_vec))
    }

    fn modify(
        &self,
        sids: impl IntoIterator<Item = u32>,
        mut f: impl FnMut(&mut BlockMap, u32),
    ) -> io::Result<()> {
        let _w = self.write.lock();
        let mut by_block: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for sid in sids {
            by_block.entry(block_of(sid)).or_default().push(sid);
        }
        let mut batch = sled::Batch::default();
        let mut updated = Vec::new();
        for (b, sids) in by_block {
            let mut block = self.load(b)?.to_map();
            for sid in sids {
                f(&mut block, sid);
            }
            let encoded = encode(&block);
            if block.is_empty() {
                batch.remove(&b.to_be_bytes());
            } else {
                batch.insert(&b.to_be_bytes(), zstd::bulk::compress(&encoded.raw, 3)?);
            }
            updated.push((b, Arc::new(encoded)));
        }
        self.tree.apply_batch(batch).map_err(storage)?;
        for (b, block) in updated {
            self.remember(b, block);
        }
        Ok(())
    }

    /// Stores (or overwrites) label sets.
    pub fn put(&self, entries: &[(u32, &[u8])]) -> io::Result<()> {
        let map: HashMap<u32, &[u8]> = entries.iter().copied().collect();
        self.modify(entries.iter().map(|e| e.0), |block, sid| {
            block.insert(sid, map[&sid].to_vec());
        })
    }

    pub fn remove(&self, sids: &RoaringBitmap) -> io::Result<()> {
        self.modify(sids.iter(), |block, sid| {
            block.remove(&sid);
        })
    }

    /// Every registered id (reads every block).
    pub fn all_sids(&self) -> io::Result<RoaringBitmap> {
        let mut bm = RoaringBitmap::new();
        for kv in self.tree.iter() {
            let (_, v) = kv.map_err(storage)?;
            bm.extend(decode(&v)?.spans.iter().map(|s| s.0));
        }
        Ok(bm)
    }

    /// Calls `f(id, label bytes)` for every registered series (reads every block, one at a
    /// time, without caching them).
    pub fn for_each(&self, mut f: impl FnMut(u32, &[u8])) -> io::Result<()> {
        for kv in self.tree.iter() {
            let (_, v) = kv.map_err(storage)?;
            for (sid, enc) in decode(&v)?.iter() {
                f(sid, enc);
            }
        }
        Ok(())
    }

    /// One past the highest registered id (1 when empty).
    pub fn next_sid(&self) -> io::Result<u32> {
        Ok(match self.tree.last().map_err(storage)? {
            Some((_, v)) => decode(&v)?.last_id().map_or(1, |s| s.saturating_add(1)),
            None => 1,
        })
    }
}

/// Whether `raw` parses as an uncompressed registry block, reading every label set (for
/// the storage fuzz target).
pub(crate) fn parse_block(raw: &[u8]) -> bool {
    Block::parse(raw.to_vec()).is_ok_and(|b| b.iter().all(|(sid, enc)| b.get(sid) == Some(enc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_blocks_are_refused() {
        let mut map = BlockMap::new();
        map.insert(3, b"abc".to_vec());
        map.insert(9, b"".to_vec());
        let raw = encode(&map).raw;
        let block = Block::parse(raw.clone()).unwrap();
        assert_eq!(block.get(3), Some(&b"abc"[..]));
        assert_eq!(block.get(9), Some(&b""[..]));
        assert_eq!(block.get(4), None);
        assert_eq!(block.to_map(), map);
        // Truncated inside a label set, and ids out of order.
        assert!(Block::parse(raw[..3].to_vec()).is_err());
        let mut swapped = Vec::new();
        for (sid, enc) in [(9u32, &b"x"[..]), (3, &b"y"[..])] {
            put_uvarint(&mut swapped, u64::from(sid));
            put_uvarint(&mut swapped, enc.len() as u64);
            swapped.extend_from_slice(enc);
        }
        assert!(Block::parse(swapped).is_err());
        assert!(parse_block(&raw) && !parse_block(&[0x80]));
    }

    #[test]
    fn put_get_remove_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let r = Registry::new(db.open_tree("series").unwrap(), 2);
        let labels: Vec<(u32, Vec<u8>)> = (1..1000u32)
            .map(|i| (i, format!("series-{i}").into_bytes()))
            .collect();
        let entries: Vec<(u32, &[u8])> = labels.iter().map(|(s, l)| (*s, l.as_slice())).collect();
        r.put(&entries[..500]).unwrap();
        r.put(&entries[500..]).unwrap();
        assert_eq!(r.get(700).unwrap(), Some(b"series-700".to_vec()));
        assert_eq!(r.get(5000).unwrap(), None);
        assert_eq!(r.next_sid().unwrap(), 1000);
        let mut gone = RoaringBitmap::new();
        gone.insert_range(1..=998);
        r.remove(&gone).unwrap();
        assert_eq!(r.all_sids().unwrap().iter().collect::<Vec<_>>(), vec![999]);
        let fresh = Registry::new(db.open_tree("series").unwrap(), 2);
        assert_eq!(fresh.get(999).unwrap(), Some(b"series-999".to_vec()));
        assert_eq!(fresh.next_sid().unwrap(), 1000);
    }
}
