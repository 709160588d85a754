//! One time partition: a directory holding the spans that started in `[start_ns,
//! end_ns)`: the value log (span blocks, postings), the trace keys and index keys as
//! sorted runs, and a small sled database (block places, dictionary, catalog,
//! dependency counts, service usage). Retention deletes the whole directory, which
//! returns its disk to the OS.

use crate::block::Block;
use crate::chunk::{self, DecodedGroup};
use crate::dict::Dict;
use crate::error::StoreError;
use crate::keys;
use crate::sorted_keys::SortedKeys;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, RwLock};

pub struct Partition {
    pub start_ns: u64,
    pub end_ns: u64,
    pub dir: PathBuf,
    pub db: sled::Db,
    /// Trace id · block → position of the trace's chunk in the block.
    pub traces: SortedKeys,
    /// Block sequence → (block start, place in the value log, place of its postings
    /// directory).
    pub blocks: sled::Tree,
    pub vlog: crate::vlog::ValueLog,
    /// Term · block start · block → place of the block's postings of the term.
    pub index: SortedKeys,
    /// Sequence number of the next block written.
    pub next_block: AtomicU64,
    pub dict_tree: sled::Tree,
    pub catalog: sled::Tree,
    pub deps: sled::Tree,
    pub meta: sled::Tree,
    pub dict: RwLock<Dict>,
    /// Catalog entries already persisted in this partition, and values counted per tag.
    pub catalog_state: Mutex<CatalogState>,
    /// Spans and encoded bytes per service (persisted in `meta`).
    pub usage: Mutex<crate::usage::PartitionUsage>,
}

/// A `blocks` tree value: block start, value-log offset and record length of the block
/// and of its postings directory.
pub fn block_pointer(start_ns: u64, block: (u64, u32), postings_dir: (u64, u32)) -> Vec<u8> {
    let mut v = Vec::with_capacity(32);
    v.extend_from_slice(&start_ns.to_be_bytes());
    v.extend_from_slice(&block.0.to_be_bytes());
    v.extend_from_slice(&block.1.to_be_bytes());
    v.extend_from_slice(&postings_dir.0.to_be_bytes());
    v.extend_from_slice(&postings_dir.1.to_be_bytes());
    v
}

/// An `index` tree value: where the postings are in the value log.
pub fn vlog_pointer(offset: u64, len: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(12);
    v.extend_from_slice(&offset.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v
}

fn parse_vlog_pointer(v: &[u8]) -> Option<(u64, u32)> {
    Some((
        u64::from_be_bytes(v.get(..8)?.try_into().ok()?),
        u32::from_be_bytes(v.get(8..12)?.try_into().ok()?),
    ))
}

/// A parsed `blocks` tree value.
struct BlockPointer {
    start_ns: u64,
    block: (u64, u32),
    /// Absent in blocks written before postings directories existed.
    postings_dir: Option<(u64, u32)>,
}

fn parse_block_pointer(v: &[u8]) -> Option<BlockPointer> {
    let dir = match v.len() {
        20 => None,
        32 => parse_vlog_pointer(&v[20..]),
        _ => return None,
    };
    Some(BlockPointer {
        start_ns: u64::from_be_bytes(v.get(..8)?.try_into().ok()?),
        block: parse_vlog_pointer(&v[8..20])?,
        postings_dir: dir,
    })
}

/// A trace id with the spans of one of its chunks.
pub type TraceChunk = ([u8; 16], Vec<DecodedGroup>);

/// One trace in the postings of an index term.
#[derive(Clone, Copy, Debug)]
pub struct Posting {
    pub partition: u64,
    pub block: u64,
    pub position: u32,
    pub start_ns: u64,
    pub dur_us: u64,
}

#[derive(Default)]
pub struct CatalogState {
    pub keys: HashSet<Vec<u8>>,
    pub values_per_tag: HashMap<Vec<u8>, u32>,
}

const DIR_PREFIX: &str = "p-";
pub const SPAN_COUNT_KEY: &[u8] = b"spans";

impl Partition {
    pub fn dir_name(start_ns: u64, end_ns: u64) -> String {
        format!(
            "{DIR_PREFIX}{}-{}",
            start_ns / 1_000_000_000,
            end_ns / 1_000_000_000
        )
    }

    /// The time range named by a partition directory, if it is one.
    pub fn parse_dir_name(name: &str) -> Option<(u64, u64)> {
        let rest = name.strip_prefix(DIR_PREFIX)?;
        let (a, b) = rest.split_once('-')?;
        let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
        (a < b).then_some((a * 1_000_000_000, b * 1_000_000_000))
    }

    pub fn open(
        root: &Path,
        start_ns: u64,
        end_ns: u64,
        cache_bytes: u64,
        max_dict: usize,
    ) -> Result<Partition, StoreError> {
        let dir = root.join(Self::dir_name(start_ns, end_ns));
        let config = sled::Config::new()
            .path(&dir)
            .cache_capacity(cache_bytes)
            .mode(sled::Mode::LowSpace)
            .flush_every_ms(None); // every group commit flushes; no background flusher thread per partition
        let db = open_waiting_for_lock(&config)?;
        let blocks = db.open_tree("blocks")?;
        let vlog = crate::vlog::ValueLog::open(&dir)?;
        let next_block = match blocks.last()? {
            Some((k, _)) => {
                u64::from_be_bytes(
                    k.as_ref()
                        .try_into()
                        .map_err(|_| StoreError::Corrupt("block key".into()))?,
                ) + 1
            }
            None => 0,
        };
        let traces = SortedKeys::open(&dir, "traces", 16)?;
        let index = SortedKeys::open(&dir, "index", 0)?;
        migrate_sled_keys(&db, &index, next_block)?;
        let dict_tree = db.open_tree("dict")?;
        let catalog = db.open_tree("catalog")?;
        let deps = db.open_tree("deps")?;
        let meta = db.open_tree("meta")?;
        let dict = Dict::load(&dict_tree, max_dict)?;
        let usage = crate::usage::PartitionUsage::load(&meta)?;
        let mut state = CatalogState::default();
        for item in catalog.iter() {
            let (k, _) = item?;
            if let Some(tag) = crate::catalog::value_entry_tag(&k) {
                *state.values_per_tag.entry(tag.to_vec()).or_default() += 1;
            }
            state.keys.insert(k.to_vec());
        }
        let p = Partition {
            start_ns,
            end_ns,
            dir,
            db,
            traces,
            blocks,
            vlog,
            index,
            next_block: AtomicU64::new(next_block),
            dict_tree,
            catalog,
            deps,
            meta,
            dict: RwLock::new(dict),
            catalog_state: Mutex::new(state),
            usage: Mutex::new(usage),
        };
        p.replay_keys()?;
        Ok(p)
    }

    /// Puts back into the key buffers the keys of the blocks written since the last
    /// runs (lost with the process if it did not close cleanly): trace keys from the
    /// block headers, index keys from the postings directories.
    fn replay_keys(&self) -> Result<(), StoreError> {
        let (traces_from, index_from) = (self.traces.covered(), self.index.covered());
        let mut trace_entries = Vec::new();
        let mut index_entries = Vec::new();
        for item in self
            .blocks
            .range(traces_from.min(index_from).to_be_bytes()..)
        {
            let (k, v) = item?;
            let seq = u64::from_be_bytes(
                k.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("block key".into()))?,
            );
            let ptr = parse_block_pointer(&v)
                .ok_or_else(|| StoreError::Corrupt("block pointer".into()))?;
            let replayed = (|| {
                if seq >= traces_from {
                    let block =
                        Block::decode(&self.vlog.read(ptr.block.0, ptr.block.1)?, ptr.start_ns)?;
                    let seq32 = block_seq32(seq)?;
                    for (position, t) in block.traces.iter().enumerate() {
                        trace_entries.push((
                            keys::trace_key(&t.trace_id, seq32),
                            varint_bytes(position as u64),
                        ));
                    }
                }
                if let (true, Some((offset, len))) = (seq >= index_from, ptr.postings_dir) {
                    for (prefix, p_offset, p_len) in
                        keys::decode_postings_dir(&self.vlog.read(offset, len)?)?
                    {
                        index_entries.push((
                            keys::index_key(&prefix, ptr.start_ns, seq),
                            vlog_pointer(p_offset, p_len),
                        ));
                    }
                }
                Ok::<(), StoreError>(())
            })();
            if let Err(e) = replayed {
                tracing::warn!(partition = %self.dir.display(), block = seq, error = %e, "skipping unreadable block while rebuilding keys");
            }
        }
        if !trace_entries.is_empty() || !index_entries.is_empty() {
            tracing::info!(partition = %self.dir.display(), trace_keys = trace_entries.len(), index_keys = index_entries.len(), "rebuilt keys of blocks written since the last key runs");
        }
        self.traces.insert(trace_entries);
        self.index.insert(index_entries);
        Ok(())
    }

    /// Bytes held by this partition's key buffers (estimated).
    pub fn key_buffer_bytes(&self) -> usize {
        self.traces.buffer_bytes() + self.index.buffer_bytes()
    }

    /// Writes the key buffers to runs. Only after the blocks they point to are durable
    /// (the writer calls it after a commit's flush).
    pub fn flush_keys(&self) -> Result<(), StoreError> {
        let covered = self.next_block.load(std::sync::atomic::Ordering::Acquire);
        for keys in [&self.traces, &self.index] {
            keys.flush(covered)?;
        }
        Ok(())
    }

    /// The most runs of one kind.
    pub fn max_run_count(&self) -> usize {
        self.traces.run_count().max(self.index.run_count())
    }

    /// Merges runs until each kind has at most `max_runs`.
    pub fn merge_runs(&self, max_runs: usize) -> Result<(), StoreError> {
        for keys in [&self.traces, &self.index] {
            // Each merge removes at least one run; the bound is only a guard.
            for _ in 0..1_000 {
                if !keys.merge_if_over(max_runs)? {
                    break;
                }
            }
        }
        Ok(())
    }

    pub fn overlaps(&self, start_ns: u64, end_ns: u64) -> bool {
        self.start_ns <= end_ns && start_ns < self.end_ns
    }

    /// A stored block, decoded.
    pub fn block(&self, seq: u64) -> Result<Option<Block>, StoreError> {
        let Some(v) = self.blocks.get(seq.to_be_bytes())? else {
            return Ok(None);
        };
        let Some(ptr) = parse_block_pointer(&v) else {
            return Err(StoreError::Corrupt("block pointer".into()));
        };
        Block::decode(&self.vlog.read(ptr.block.0, ptr.block.1)?, ptr.start_ns).map(Some)
    }

    /// The chunk of a trace at `position` in block `seq`, decoded.
    pub fn decode_chunk(
        &self,
        block: &Block,
        position: usize,
    ) -> Result<Option<TraceChunk>, StoreError> {
        let Some((t, bytes)) = block.chunk(position) else {
            return Ok(None);
        };
        let dict = self.dict.read().expect("dict lock");
        Ok(Some((
            t.trace_id,
            chunk::decode(&dict, &t.trace_id, t.start_ns, bytes)?,
        )))
    }

    /// Every chunk of `trace_id` stored here, decoded.
    pub fn read_trace(&self, trace_id: &[u8; 16]) -> Result<Vec<DecodedGroup>, StoreError> {
        let mut out = Vec::new();
        let mut hi = trace_id.to_vec();
        hi.extend_from_slice(&[0xff; 4]);
        for (k, v) in self.traces.range(trace_id, &hi, Some(trace_id))? {
            let Some(seq) = keys::trace_key_block(&k) else {
                continue;
            };
            let position = crate::varint::Reader::new(&v).u64()? as usize;
            let decoded = self.block(seq).and_then(|b| match b {
                Some(b) => self.decode_chunk(&b, position),
                None => Ok(None),
            });
            match decoded {
                Ok(Some((id, groups))) if id == *trace_id => out.extend(groups),
                Ok(_) => {
                    tracing::warn!(partition = %self.dir.display(), block = seq, "span key points to a missing chunk")
                }
                Err(e) => {
                    tracing::warn!(partition = %self.dir.display(), error = %e, "skipping unreadable span chunk")
                }
            }
        }
        Ok(out)
    }

    /// Postings of one term whose trace starts in `[start_ns, end_ns]`, newest blocks
    /// first, at most `cap` of them.
    pub fn scan_term(
        &self,
        prefix: &[u8],
        start_ns: u64,
        end_ns: u64,
        cap: usize,
        out: &mut Vec<Posting>,
    ) -> Result<(), StoreError> {
        let lo = keys::index_key(
            prefix,
            start_ns.saturating_sub(crate::block::MAX_SPAN_NS),
            0,
        );
        let hi = keys::index_key(prefix, end_ns, u64::MAX);
        for (k, v) in self.index.range(&lo, &hi, None)?.into_iter().rev() {
            if out.len() >= cap {
                break;
            }
            let Some((block_start, block)) = keys::index_key_tail(&k) else {
                continue;
            };
            let (offset, len) = parse_vlog_pointer(&v)
                .ok_or_else(|| StoreError::Corrupt("postings pointer".into()))?;
            let postings = self.vlog.read(offset, len)?;
            for (position, start, dur_us) in
                keys::decode_postings(prefix[0], block_start, &postings)?
            {
                // Starts are kept in µs (rounded down): allow that much slack at the low end.
                if start.saturating_add(1000) >= start_ns && start <= end_ns {
                    out.push(Posting {
                        partition: self.start_ns,
                        block,
                        position,
                        start_ns: start,
                        dur_us,
                    });
                }
            }
        }
        Ok(())
    }

    /// Dependency counts of hours in `[from_hour, to_hour]`.
    pub fn read_deps(
        &self,
        from_hour: u32,
        to_hour: u32,
        into: &mut HashMap<(String, String), u64>,
    ) -> Result<(), StoreError> {
        let lo = from_hour.to_be_bytes();
        let hi = (to_hour as u64 + 1).min(u32::MAX as u64) as u32;
        for item in self.deps.range(lo..hi.to_be_bytes()) {
            let (k, v) = item?;
            let Some((_, parent, child)) = keys::parse_deps_key(&k) else {
                continue;
            };
            let n = v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0);
            *into.entry((parent, child)).or_default() += n;
        }
        Ok(())
    }

    pub fn span_count(&self) -> u64 {
        self.meta
            .get(SPAN_COUNT_KEY)
            .ok()
            .flatten()
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0)
    }

    /// Bytes of this partition's files on disk.
    pub fn disk_bytes(&self) -> u64 {
        dir_size(&self.dir)
    }
}

/// A block sequence as trace keys hold it (32 bits).
pub fn block_seq32(seq: u64) -> Result<u32, StoreError> {
    u32::try_from(seq)
        .map_err(|_| StoreError::Corrupt("more than 2^32 blocks in a partition".into()))
}

pub fn varint_bytes(v: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(2);
    crate::varint::put_u64(&mut out, v);
    out
}

/// Moves the keys of a partition written before sorted runs out of sled: the old `index`
/// tree (already in run order) becomes an index run covering every block; the old
/// `spans` tree is dropped, as trace keys are rebuilt from the blocks.
fn migrate_sled_keys(db: &sled::Db, index: &SortedKeys, next_block: u64) -> Result<(), StoreError> {
    let names = db.tree_names();
    if !names
        .iter()
        .any(|n| n.as_ref() == b"spans" || n.as_ref() == b"index")
    {
        return Ok(());
    }
    let old_index = db.open_tree("index")?;
    if index.covered() == 0 {
        for item in old_index.iter() {
            let (k, v) = item?;
            index.insert([(k.to_vec(), v.to_vec())]);
        }
        index.flush(next_block)?;
    }
    db.drop_tree("index")?;
    db.drop_tree("spans")?;
    db.flush()?;
    tracing::info!("moved a partition's trace and index keys from sled to sorted runs");
    Ok(())
}

/// Total size of the files under `dir` (allocated blocks, so sparse files count as they use).
pub fn dir_size(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    let mut visited = 0usize;
    while let Some(d) = stack.pop() {
        visited += 1;
        if visited > 100_000 {
            break;
        }
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                stack.push(e.path());
            } else {
                total += md.blocks() * 512;
            }
        }
    }
    total
}

/// Opens a sled database, waiting (up to 5 s) while the file lock of a handle that was
/// just closed in this process is still held: sled releases it only when its last internal
/// reference is dropped, which can trail `close()` by a moment.
fn open_waiting_for_lock(config: &sled::Config) -> Result<sled::Db, sled::Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_names_round_trip() {
        let name = Partition::dir_name(86_400_000_000_000, 172_800_000_000_000);
        assert_eq!(name, "p-86400-172800");
        assert_eq!(
            Partition::parse_dir_name(&name),
            Some((86_400_000_000_000, 172_800_000_000_000))
        );
        assert_eq!(Partition::parse_dir_name("p-5-5"), None);
        assert_eq!(Partition::parse_dir_name("other"), None);
    }

    #[test]
    fn partitions_with_keys_in_sled_are_converted_on_open() {
        use crate::{TraceQuery, TraceStore};
        let root = tempfile::tempdir().unwrap();
        let config = pharos_config::Config::default();
        let hour_ago = crate::store::now_ns() - 3_600_000_000_000;
        let (id, front, cart) = crate::sample::trace_requests(10, hour_ago);
        let store = TraceStore::open(root.path(), &config).unwrap();
        store.write_blocking(front).unwrap();
        store.write_blocking(cart).unwrap();
        store.close().unwrap();
        drop(store);
        // Back to the layout before sorted runs: index keys in a sled tree, trace keys in
        // another, no run files.
        let dir = std::fs::read_dir(root.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let (start, end) = Partition::parse_dir_name(&name).unwrap();
        {
            let p = Partition::open(root.path(), start, end, 1 << 20, 1_000).unwrap();
            let old_index = p.db.open_tree("index").unwrap();
            for (k, v) in p.index.range(&[], &[0xff; 256], None).unwrap() {
                old_index.insert(k, v).unwrap();
            }
            p.db.open_tree("spans")
                .unwrap()
                .insert(b"old", b"key")
                .unwrap();
            // Old block pointers had no postings directory.
            for item in p.blocks.iter() {
                let (k, v) = item.unwrap();
                p.blocks.insert(k, &v[..20]).unwrap();
            }
            p.db.flush().unwrap();
        }
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "run") {
                std::fs::remove_file(path).unwrap();
            }
        }
        let store = TraceStore::open(root.path(), &config).unwrap();
        assert_eq!(store.trace(&id, None).unwrap().unwrap().span_count(), 7);
        let q = TraceQuery {
            service: Some("cart".into()),
            tags: vec![("error".into(), "true".into())],
            start_ns: 0,
            end_ns: u64::MAX,
            limit: 10,
            ..TraceQuery::default()
        };
        assert_eq!(store.search(&q).unwrap().len(), 1, "seed 10 fails");
        let parts = store.partitions.read().unwrap();
        let names = parts.values().next().unwrap().db.tree_names();
        assert!(!names
            .iter()
            .any(|n| n.as_ref() == b"index" || n.as_ref() == b"spans"));
        drop(parts);
        store.close().unwrap();
    }
}
