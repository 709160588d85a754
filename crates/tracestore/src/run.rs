//! Sorted runs: immutable files of (key, value) entries in key order, the on-disk form
//! of a partition's trace keys and index keys (an SSTable, as LevelDB and badger build
//! them: data blocks of prefix-compressed entries, a sparse index of each block's first
//! key, a bloom filter, a footer).
//!
//! File layout:
//! - `PHR1` (magic);
//! - data blocks of about [`BLOCK_TARGET`] bytes, each framed as length (u32 LE) · CRC-32
//!   (u32 LE) · payload; the payload is the entry count, then per entry the length of the
//!   prefix shared with the previous key (0 for a block's first entry, so each block
//!   decodes alone), the rest of the key and the value (both length-prefixed varints);
//! - the footer, framed the same way: the value-log block sequence the run covers (every
//!   key of blocks below it is in this run or an older one), the entry count, the bloom
//!   prefix length (0: no filter) and filter, and per data block its first key, offset
//!   and length;
//! - trailer: footer offset (u64 LE), footer frame length (u32 LE), `PHR1`.
//!
//! Runs are written to a `.tmp` name, fsynced and renamed, so a crash leaves either a
//! whole run or a temporary file that opening removes. Every read checks the CRC and
//! bounds: a corrupt or truncated run is an error naming the file, never a panic.

use crate::bloom::{self, Bloom};
use crate::error::StoreError;
use crate::varint::{put_bytes, put_u64, Reader};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 4] = b"PHR1";
const TRAILER: u64 = 16;
/// Data block size the writer aims at.
const BLOCK_TARGET: usize = 4096;
/// Largest frame read back (guards against corrupt lengths).
const MAX_FRAME: u32 = 256 << 20;

/// Where a data block is, and its first key.
struct BlockRef {
    first: Vec<u8>,
    offset: u64,
    len: u32,
}

/// One (key, value) entry.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Builds a run file from entries given in strictly increasing key order.
pub struct RunWriter {
    out: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    offset: u64,
    block: Vec<u8>,
    block_entries: u64,
    block_first: Vec<u8>,
    prev: Vec<u8>,
    index: Vec<BlockRef>,
    bloom_prefix: usize,
    hashes: Vec<u64>,
    entries: u64,
}

impl RunWriter {
    /// Starts a run that will be named `path` once finished. `bloom_prefix`: length of
    /// the key prefix the bloom filter holds (0 for none).
    pub fn create(path: &Path, bloom_prefix: usize) -> Result<RunWriter, StoreError> {
        let tmp = path.with_extension("tmp");
        let mut out = BufWriter::new(File::create(&tmp)?);
        out.write_all(MAGIC)?;
        Ok(RunWriter {
            out,
            tmp,
            path: path.to_owned(),
            offset: MAGIC.len() as u64,
            block: Vec::with_capacity(BLOCK_TARGET + 256),
            block_entries: 0,
            block_first: Vec::new(),
            prev: Vec::new(),
            index: Vec::new(),
            bloom_prefix,
            hashes: Vec::new(),
            entries: 0,
        })
    }

    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        if self.entries > 0 && key <= self.prev.as_slice() {
            return Err(StoreError::Corrupt(format!(
                "run {}: keys given out of order",
                self.path.display()
            )));
        }
        let shared = if self.block_entries == 0 {
            self.block_first = key.to_vec();
            0
        } else {
            self.prev
                .iter()
                .zip(key)
                .take_while(|(a, b)| a == b)
                .count()
        };
        if self.bloom_prefix > 0 && key.len() >= self.bloom_prefix {
            let p = &key[..self.bloom_prefix];
            if self.entries == 0 || self.prev.get(..self.bloom_prefix) != Some(p) {
                self.hashes.push(bloom::hash(p));
            }
        }
        put_u64(&mut self.block, shared as u64);
        put_bytes(&mut self.block, &key[shared..]);
        put_bytes(&mut self.block, value);
        self.prev.clear();
        self.prev.extend_from_slice(key);
        self.block_entries += 1;
        self.entries += 1;
        if self.block.len() >= BLOCK_TARGET {
            self.finish_block()?;
        }
        Ok(())
    }

    fn finish_block(&mut self) -> Result<(), StoreError> {
        if self.block_entries == 0 {
            return Ok(());
        }
        let mut payload = Vec::with_capacity(self.block.len() + 4);
        put_u64(&mut payload, self.block_entries);
        payload.extend_from_slice(&self.block);
        let len = self.write_frame(&payload)?;
        self.index.push(BlockRef {
            first: std::mem::take(&mut self.block_first),
            offset: self.offset - u64::from(len),
            len,
        });
        self.block.clear();
        self.block_entries = 0;
        Ok(())
    }

    /// Writes one framed record at the current offset; returns its length.
    fn write_frame(&mut self, payload: &[u8]) -> Result<u32, StoreError> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|&l| l <= MAX_FRAME)
            .ok_or_else(|| StoreError::Corrupt("run frame too large".into()))?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out
            .write_all(&crc32fast::hash(payload).to_le_bytes())?;
        self.out.write_all(payload)?;
        self.offset += 8 + u64::from(len);
        Ok(len + 8)
    }

    /// Writes the footer, fsyncs and renames the file into place; `covered` is the
    /// value-log block sequence below which every key is in this run or an older one.
    pub fn finish(mut self, covered: u64) -> Result<PathBuf, StoreError> {
        self.finish_block()?;
        let mut footer = Vec::with_capacity(64 + self.index.len() * 32);
        put_u64(&mut footer, covered);
        put_u64(&mut footer, self.entries);
        put_u64(&mut footer, self.bloom_prefix as u64);
        if self.bloom_prefix > 0 {
            Bloom::build(&self.hashes).encode(&mut footer);
        }
        put_u64(&mut footer, self.index.len() as u64);
        for b in &self.index {
            put_bytes(&mut footer, &b.first);
            put_u64(&mut footer, b.offset);
            put_u64(&mut footer, u64::from(b.len));
        }
        let footer_offset = self.offset;
        let footer_len = self.write_frame(&footer)?;
        self.out.write_all(&footer_offset.to_le_bytes())?;
        self.out.write_all(&footer_len.to_le_bytes())?;
        self.out.write_all(MAGIC)?;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(self.path)
    }
}

/// An open run: its sparse block index and bloom filter in memory, blocks read on demand.
pub struct Run {
    file: File,
    pub path: PathBuf,
    index: Vec<BlockRef>,
    bloom_prefix: usize,
    bloom: Option<Bloom>,
    /// Value-log block sequence below which every key is in this run or an older one.
    pub covered: u64,
    pub entries: u64,
}

impl Run {
    pub fn open(path: &Path) -> Result<Run, StoreError> {
        let file = File::open(path)?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("run {}: {what}", path.display()));
        let size = file.metadata()?.len();
        if size < MAGIC.len() as u64 + TRAILER {
            return Err(corrupt("truncated (shorter than header and trailer)"));
        }
        let mut trailer = [0u8; TRAILER as usize];
        file.read_exact_at(&mut trailer, size - TRAILER)?;
        if &trailer[12..] != MAGIC {
            return Err(corrupt("truncated or not a run (no trailer)"));
        }
        let footer_offset = u64::from_le_bytes(trailer[..8].try_into().expect("8 bytes"));
        let footer_len = u32::from_le_bytes(trailer[8..12].try_into().expect("4 bytes"));
        if footer_offset.checked_add(u64::from(footer_len)) != Some(size - TRAILER) {
            return Err(corrupt("footer place"));
        }
        let footer = read_frame(&file, footer_offset, footer_len).map_err(|e| corrupt(&e))?;
        let mut r = Reader::new(&footer);
        let parsed = (|| {
            let covered = r.u64()?;
            let entries = r.u64()?;
            let bloom_prefix = r.u64()? as usize;
            let bloom = if bloom_prefix > 0 {
                Some(Bloom::decode(&mut r)?)
            } else {
                None
            };
            let blocks = r.count()?;
            let mut index = Vec::with_capacity(blocks.min(1 << 20));
            let mut end = MAGIC.len() as u64;
            for _ in 0..blocks {
                let first = r.bytes()?.to_vec();
                let offset = r.u64()?;
                let len = r.u32()?;
                if offset != end || index.last().is_some_and(|b: &BlockRef| b.first >= first) {
                    return Err(crate::varint::corrupt("block index"));
                }
                end = offset + u64::from(len);
                index.push(BlockRef { first, offset, len });
            }
            if end != footer_offset {
                return Err(crate::varint::corrupt(
                    "block index does not reach the footer",
                ));
            }
            Ok((covered, entries, bloom_prefix, bloom, index))
        })();
        let (covered, entries, bloom_prefix, bloom, index) =
            parsed.map_err(|e| corrupt(&format!("footer: {e}")))?;
        Ok(Run {
            file,
            path: path.to_owned(),
            index,
            bloom_prefix,
            bloom,
            covered,
            entries,
        })
    }

    /// False when no key of the run starts with `prefix` (a bloom prefix's length).
    pub fn may_contain_prefix(&self, prefix: &[u8]) -> bool {
        match &self.bloom {
            Some(b) if prefix.len() == self.bloom_prefix => b.may_contain(bloom::hash(prefix)),
            _ => true,
        }
    }

    /// Every entry with `lo <= key <= hi`, in key order, appended to `out`.
    pub fn range(&self, lo: &[u8], hi: &[u8], out: &mut Vec<Entry>) -> Result<(), StoreError> {
        let start = self
            .index
            .partition_point(|b| b.first.as_slice() <= lo)
            .saturating_sub(1);
        for i in start..self.index.len() {
            if self.index[i].first.as_slice() > hi {
                break;
            }
            let payload = self.block_payload(i)?;
            let past_hi = scan_block(&payload, lo, hi, out).map_err(|e| {
                StoreError::Corrupt(format!("run {} block {i}: {e}", self.path.display()))
            })?;
            if past_hi {
                break;
            }
        }
        Ok(())
    }

    pub fn block_count(&self) -> usize {
        self.index.len()
    }

    /// The entries of data block `i`, checked against its CRC.
    pub fn block(&self, i: usize) -> Result<Vec<Entry>, StoreError> {
        let payload = self.block_payload(i)?;
        decode_block(&payload)
            .map_err(|e| StoreError::Corrupt(format!("run {} block {i}: {e}", self.path.display())))
    }

    /// The payload of data block `i`, checked against its CRC.
    fn block_payload(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        let corrupt = |what: &str| {
            StoreError::Corrupt(format!("run {} block {i}: {what}", self.path.display()))
        };
        let b = self.index.get(i).ok_or_else(|| corrupt("no such block"))?;
        read_frame(&self.file, b.offset, b.len).map_err(|e| corrupt(&e))
    }
}

/// Appends the entries of a block payload with `lo <= key <= hi` to `out`, decoding
/// keys into one reused buffer; returns whether it met a key past `hi`.
fn scan_block(
    payload: &[u8],
    lo: &[u8],
    hi: &[u8],
    out: &mut Vec<Entry>,
) -> Result<bool, StoreError> {
    let mut r = Reader::new(payload);
    let n = r.count()?;
    let mut key: Vec<u8> = Vec::with_capacity(64);
    for _ in 0..n {
        let shared = r.u64()? as usize;
        if shared > key.len() {
            return Err(crate::varint::corrupt("shared key prefix"));
        }
        key.truncate(shared);
        key.extend_from_slice(r.bytes()?);
        let value = r.bytes()?;
        if key.as_slice() > hi {
            return Ok(true);
        }
        if key.as_slice() >= lo {
            out.push((key.clone(), value.to_vec()));
        }
    }
    Ok(false)
}

fn decode_block(payload: &[u8]) -> Result<Vec<Entry>, StoreError> {
    let mut r = Reader::new(payload);
    let n = r.count()?;
    let mut out: Vec<Entry> = Vec::with_capacity(n);
    let mut prev: &[u8] = &[];
    for _ in 0..n {
        let shared = r.u64()? as usize;
        if shared > prev.len() {
            return Err(crate::varint::corrupt("shared key prefix"));
        }
        let mut key = Vec::with_capacity(shared + 24);
        key.extend_from_slice(&prev[..shared]);
        key.extend_from_slice(r.bytes()?);
        let value = r.bytes()?.to_vec();
        out.push((key, value));
        prev = &out.last().expect("just pushed").0;
    }
    Ok(out)
}

/// The payload of the frame of `len` bytes at `offset`, checked against its CRC.
fn read_frame(file: &File, offset: u64, len: u32) -> Result<Vec<u8>, String> {
    if !(8..=MAX_FRAME).contains(&len) {
        return Err(format!("frame length {len}"));
    }
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, offset)
        .map_err(|e| format!("reading {len} bytes at {offset}: {e}"))?;
    let payload_len = u32::from_le_bytes(buf[..4].try_into().expect("4 bytes"));
    if payload_len != len - 8 {
        return Err("frame length mismatch".into());
    }
    let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
    if crc32fast::hash(&buf[8..]) != crc {
        return Err("checksum mismatch".into());
    }
    buf.drain(..8);
    Ok(buf)
}

/// Merges runs into one sorted stream of distinct keys (for equal keys, the entry of the
/// later run wins), giving each entry to `sink`. Reads one block per run at a time.
pub fn merge(
    runs: &[&Run],
    mut sink: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    struct Cursor<'a> {
        run: &'a Run,
        block: usize,
        entries: std::vec::IntoIter<Entry>,
        head: Option<Entry>,
    }
    impl Cursor<'_> {
        fn advance(&mut self) -> Result<(), StoreError> {
            loop {
                if let Some(e) = self.entries.next() {
                    self.head = Some(e);
                    return Ok(());
                }
                if self.block >= self.run.block_count() {
                    self.head = None;
                    return Ok(());
                }
                self.entries = self.run.block(self.block)?.into_iter();
                self.block += 1;
            }
        }
    }
    let mut cursors = Vec::with_capacity(runs.len());
    for run in runs {
        let mut c = Cursor {
            run,
            block: 0,
            entries: Vec::new().into_iter(),
            head: None,
        };
        c.advance()?;
        cursors.push(c);
    }
    loop {
        // The smallest head key; among equal keys, the last run's.
        let mut best: Option<usize> = None;
        for (i, c) in cursors.iter().enumerate() {
            if let Some((k, _)) = &c.head {
                if best.is_none_or(|b| k <= &cursors[b].head.as_ref().expect("head").0) {
                    best = Some(i);
                }
            }
        }
        let Some(best) = best else { return Ok(()) };
        let (key, value) = cursors[best].head.take().expect("head");
        sink(&key, &value)?;
        for (i, c) in cursors.iter_mut().enumerate() {
            if i == best || c.head.as_ref().is_some_and(|(k, _)| *k == key) {
                c.advance()?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> Vec<u8> {
        let mut k = [0u8; 16].to_vec();
        k[..8].copy_from_slice(&(i / 3).to_be_bytes());
        k.extend_from_slice(&((i % 3) as u32).to_be_bytes());
        k
    }

    fn write(dir: &Path, name: &str, keys: impl Iterator<Item = u64>, covered: u64) -> Run {
        let path = dir.join(name);
        let mut w = RunWriter::create(&path, 16).unwrap();
        for i in keys {
            w.add(&key(i), format!("v{i}").as_bytes()).unwrap();
        }
        Run::open(&w.finish(covered).unwrap()).unwrap()
    }

    #[test]
    fn entries_round_trip_through_blocks_index_and_bloom() {
        let dir = tempfile::tempdir().unwrap();
        let run = write(dir.path(), "a.run", 0..3_000, 42);
        assert!(run.block_count() > 5, "{} blocks", run.block_count());
        assert_eq!((run.entries, run.covered), (3_000, 42));
        assert!(!dir.path().join("a.tmp").exists());
        let mut out = Vec::new();
        run.range(&key(0), &key(2_999), &mut out).unwrap();
        assert_eq!(out.len(), 3_000);
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, (k, v))| *k == key(i as u64) && *v == format!("v{i}").into_bytes()));
        // A prefix lookup: the three keys of one trace id, across a block boundary or not.
        for id in [0u64, 333, 999] {
            let lo = key(id * 3)[..16].to_vec();
            let mut hi = lo.clone();
            hi.extend_from_slice(&[0xff; 4]);
            assert!(run.may_contain_prefix(&lo));
            let mut got = Vec::new();
            run.range(&lo, &hi, &mut got).unwrap();
            assert_eq!(got.len(), 3, "trace {id}");
        }
        let strangers = (1_000u64..2_000)
            .filter(|&id| run.may_contain_prefix(&key(id * 3)[..16]))
            .count();
        assert!(strangers < 50, "{strangers} false positives");
        let mut none = Vec::new();
        run.range(&key(5_000), &key(6_000), &mut none).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn out_of_order_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = RunWriter::create(&dir.path().join("x.run"), 0).unwrap();
        w.add(b"b", b"").unwrap();
        assert!(w.add(b"a", b"").is_err());
        assert!(w.add(b"b", b"").is_err());
    }

    #[test]
    fn corrupt_and_truncated_runs_give_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let run = write(dir.path(), "c.run", 0..2_000, 1);
        let path = run.path.clone();
        let bytes = std::fs::read(&path).unwrap();
        drop(run);
        // A flipped byte inside a data block: open works, reading that block fails.
        let mut flipped = bytes.clone();
        flipped[100] ^= 0x40;
        std::fs::write(&path, &flipped).unwrap();
        let run = Run::open(&path).unwrap();
        let mut out = Vec::new();
        let err = run.range(&key(0), &key(10), &mut out).unwrap_err();
        assert!(
            err.to_string().contains("c.run") && err.to_string().contains("checksum"),
            "{err}"
        );
        // Truncations anywhere, and garbage: open fails cleanly.
        for cut in [0, 3, 19, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let err = Run::open(&path).err().expect("truncated run refused");
            assert!(err.to_string().contains("c.run"), "{err}");
        }
        let mut garbage = bytes.clone();
        let n = garbage.len();
        garbage[n - 20] ^= 0xff; // inside the footer
        std::fs::write(&path, &garbage).unwrap();
        assert!(Run::open(&path).is_err());
        let mut state = 7u64;
        for len in 0..300usize {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .chain(*b"PHR1")
                .collect();
            std::fs::write(&path, &junk).unwrap();
            assert!(Run::open(&path).is_err());
        }
        assert!(decode_block(&[3, 0, 1, b'a', 0, 5]).is_err());
    }

    #[test]
    fn merge_gives_the_sorted_union_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.run", (0..1_000).map(|i| i * 2), 5);
        let b = write(dir.path(), "b.run", (0..1_000).map(|i| i * 3), 9);
        let c = write(dir.path(), "c.run", std::iter::empty(), 9);
        let mut merged = Vec::new();
        merge(&[&a, &b, &c], |k, v| {
            merged.push((k.to_vec(), v.to_vec()));
            Ok(())
        })
        .unwrap();
        let mut want: Vec<u64> = (0..1_000)
            .map(|i| i * 2)
            .chain((0..1_000).map(|i| i * 3))
            .collect();
        want.sort();
        want.dedup();
        assert_eq!(merged.len(), want.len());
        assert!(merged
            .iter()
            .zip(&want)
            .all(|((k, v), &i)| *k == key(i) && *v == format!("v{i}").into_bytes()));
    }
}
