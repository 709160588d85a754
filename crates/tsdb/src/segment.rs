//! Segment files: the immutable on-disk unit of a time partition.
//!
//! Layout: a magic header, then zstd-compressed *frames* (each up to ~64 KiB of encoded
//! blocks of consecutive series, with a small header of series id, time range and length
//! per block), then a zstd-compressed index (per frame: series id range, offset, time
//! range, sample count; the ids of segments this one replaces after a merge; a roaring
//! bitmap of every series id in the segment), then a fixed footer. Only the index is held
//! in memory (tens of bytes per frame plus the bitmap); frames are read with `pread`.

use crate::codec::block;
use crate::codec::varint::{put_uvarint, put_varint, Reader};
use pharos_model::Sample;
use roaring::RoaringBitmap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"PHSEG001";
const FOOTER_MAGIC: &[u8; 4] = b"PHSE";
const FOOTER_LEN: u64 = 24;
const FRAME_TARGET: usize = 64 << 10;
/// Largest decompressed frame or index accepted when reading (corruption guard).
const MAX_DECODED: usize = 256 << 20;
const ZSTD_LEVEL: i32 = 3;

#[derive(Clone, Debug)]
pub struct FrameMeta {
    pub first_sid: u32,
    pub last_sid: u32,
    pub offset: u64,
    pub clen: u32,
    pub ulen: u32,
    pub min_t: i64,
    pub max_t: i64,
    pub samples: u64,
}

fn corrupt(what: &str, path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corrupt segment {}: {what}", path.display()),
    )
}

pub fn segment_file(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:012}.seg"))
}

/// Parses `000000000042.seg` into 42.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    name.strip_suffix(".seg")?.parse().ok()
}

/// Writes one segment; series must be added in ascending id order.
pub struct SegmentWriter {
    dir: PathBuf,
    id: u64,
    tmp: PathBuf,
    file: io::BufWriter<File>,
    offset: u64,
    frames: Vec<FrameMeta>,
    bitmap: RoaringBitmap,
    replaces: Vec<u64>,
    // The frame being filled.
    headers: Vec<u8>,
    blocks: Vec<u8>,
    n_in_frame: u64,
    prev_sid: u32,
    frame: Option<FrameMeta>,
    scratch: Vec<u8>,
}

impl SegmentWriter {
    pub fn create(dir: &Path, id: u64) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!("{id:012}.tmp"));
        let mut file = io::BufWriter::with_capacity(256 << 10, File::create(&tmp)?);
        file.write_all(MAGIC)?;
        Ok(SegmentWriter {
            dir: dir.to_owned(),
            id,
            tmp,
            file,
            offset: MAGIC.len() as u64,
            frames: Vec::new(),
            bitmap: RoaringBitmap::new(),
            replaces: Vec::new(),
            headers: Vec::new(),
            blocks: Vec::new(),
            n_in_frame: 0,
            prev_sid: 0,
            frame: None,
            scratch: Vec::new(),
        })
    }

    /// Records that this segment supersedes `ids` (they are deleted after it is committed).
    pub fn set_replaces(&mut self, ids: Vec<u64>) {
        self.replaces = ids;
    }

    /// Adds the samples (sorted, unique timestamps, non-empty) of series `sid`.
    pub fn add(&mut self, sid: u32, samples: &[Sample]) -> io::Result<()> {
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            return Ok(());
        };
        debug_assert!(self.frame.is_none() || sid > self.prev_sid);
        self.scratch.clear();
        block::encode(samples, &mut self.scratch);
        let f = self.frame.get_or_insert(FrameMeta {
            first_sid: sid,
            last_sid: sid,
            offset: 0,
            clen: 0,
            ulen: 0,
            min_t: i64::MAX,
            max_t: i64::MIN,
            samples: 0,
        });
        f.last_sid = sid;
        f.min_t = f.min_t.min(first.t);
        f.max_t = f.max_t.max(last.t);
        f.samples += samples.len() as u64;
        let base = if self.n_in_frame == 0 {
            f.first_sid
        } else {
            self.prev_sid
        };
        put_uvarint(&mut self.headers, u64::from(sid - base));
        put_varint(&mut self.headers, first.t);
        put_uvarint(&mut self.headers, last.t.wrapping_sub(first.t) as u64);
        put_uvarint(&mut self.headers, self.scratch.len() as u64);
        self.blocks.extend_from_slice(&self.scratch);
        self.n_in_frame += 1;
        self.prev_sid = sid;
        self.bitmap.insert(sid);
        if self.headers.len() + self.blocks.len() >= FRAME_TARGET {
            self.finish_frame()?;
        }
        Ok(())
    }

    fn finish_frame(&mut self) -> io::Result<()> {
        let Some(mut f) = self.frame.take() else {
            return Ok(());
        };
        let mut payload = Vec::with_capacity(self.headers.len() + self.blocks.len() + 10);
        put_uvarint(&mut payload, self.n_in_frame);
        payload.extend_from_slice(&self.headers);
        payload.extend_from_slice(&self.blocks);
        let compressed = zstd::bulk::compress(&payload, ZSTD_LEVEL)?;
        self.file.write_all(&compressed)?;
        f.offset = self.offset;
        f.clen = compressed.len() as u32;
        f.ulen = payload.len() as u32;
        self.offset += compressed.len() as u64;
        self.frames.push(f);
        self.headers.clear();
        self.blocks.clear();
        self.n_in_frame = 0;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty() && self.frame.is_none()
    }

    /// Discards an unfinished segment.
    pub fn abandon(self) {
        let _ = fs::remove_file(&self.tmp);
    }

    /// Writes the index and footer, fsyncs and atomically renames into place.
    pub fn finish(mut self) -> io::Result<Segment> {
        self.finish_frame()?;
        let mut idx = Vec::new();
        put_uvarint(&mut idx, self.frames.len() as u64);
        for f in &self.frames {
            put_uvarint(&mut idx, u64::from(f.first_sid));
            put_uvarint(&mut idx, u64::from(f.last_sid - f.first_sid));
            put_uvarint(&mut idx, f.offset);
            put_uvarint(&mut idx, u64::from(f.clen));
            put_uvarint(&mut idx, u64::from(f.ulen));
            put_varint(&mut idx, f.min_t);
            put_uvarint(&mut idx, f.max_t.wrapping_sub(f.min_t) as u64);
            put_uvarint(&mut idx, f.samples);
        }
        put_uvarint(&mut idx, self.replaces.len() as u64);
        for r in &self.replaces {
            put_uvarint(&mut idx, *r);
        }
        let mut bm = Vec::with_capacity(self.bitmap.serialized_size());
        self.bitmap.serialize_into(&mut bm)?;
        put_uvarint(&mut idx, bm.len() as u64);
        idx.extend_from_slice(&bm);
        let cidx = zstd::bulk::compress(&idx, ZSTD_LEVEL)?;
        self.file.write_all(&cidx)?;
        let mut footer = Vec::with_capacity(FOOTER_LEN as usize);
        footer.extend_from_slice(&self.offset.to_le_bytes());
        footer.extend_from_slice(&(cidx.len() as u64).to_le_bytes());
        footer.extend_from_slice(&crc32fast::hash(&cidx).to_le_bytes());
        footer.extend_from_slice(FOOTER_MAGIC);
        self.file.write_all(&footer)?;
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        let path = segment_file(&self.dir, self.id);
        fs::rename(&self.tmp, &path)?;
        File::open(&self.dir)?.sync_all()?;
        Segment::open(&path, self.id)
    }
}

/// An open segment: its index in memory, frames read on demand.
pub struct Segment {
    pub id: u64,
    pub path: PathBuf,
    file: File,
    pub frames: Vec<FrameMeta>,
    pub bitmap: RoaringBitmap,
    pub replaces: Vec<u64>,
    pub min_t: i64,
    pub max_t: i64,
    pub samples: u64,
    pub disk_bytes: u64,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Segment({})", self.path.display())
    }
}

impl Segment {
    pub fn open(path: &Path, id: u64) -> io::Result<Segment> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if len < MAGIC.len() as u64 + FOOTER_LEN {
            return Err(corrupt("too short", path));
        }
        let mut footer = [0u8; FOOTER_LEN as usize];
        file.read_exact_at(&mut footer, len - FOOTER_LEN)?;
        if &footer[20..] != FOOTER_MAGIC {
            return Err(corrupt("bad footer magic", path));
        }
        let idx_off = u64::from_le_bytes(footer[..8].try_into().expect("8 bytes"));
        let idx_len = u64::from_le_bytes(footer[8..16].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(footer[16..20].try_into().expect("4 bytes"));
        if idx_off.checked_add(idx_len) != Some(len - FOOTER_LEN) {
            return Err(corrupt("index bounds", path));
        }
        let mut cidx = vec![0u8; idx_len as usize];
        file.read_exact_at(&mut cidx, idx_off)?;
        if crc32fast::hash(&cidx) != crc {
            return Err(corrupt("index checksum", path));
        }
        let idx = crate::codec::unzstd(&cidx, MAX_DECODED)?;
        let parsed = parse_index(&idx, idx_off).ok_or_else(|| corrupt("index", path))?;
        let (frames, replaces, bitmap) = parsed;
        let min_t = frames.iter().map(|f| f.min_t).min().unwrap_or(i64::MAX);
        let max_t = frames.iter().map(|f| f.max_t).max().unwrap_or(i64::MIN);
        let samples = frames.iter().map(|f| f.samples).sum();
        Ok(Segment {
            id,
            path: path.to_owned(),
            file,
            frames,
            bitmap,
            replaces,
            min_t,
            max_t,
            samples,
            disk_bytes: len,
        })
    }

    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.min_t <= end && self.max_t >= start
    }

    /// Reads and decompresses frame `i`.
    pub fn read_frame(&self, i: usize) -> io::Result<Vec<u8>> {
        let f = &self.frames[i];
        let mut c = vec![0u8; f.clen as usize];
        self.file.read_exact_at(&mut c, f.offset)?;
        let out = crate::codec::zstd_decompress(&c, (f.ulen as usize).min(MAX_DECODED))?;
        if out.len() != f.ulen as usize {
            return Err(corrupt("frame length", &self.path));
        }
        Ok(out)
    }

    /// Reads and decompresses frame `i` and parses its block headers.
    pub fn load_frame(&self, i: usize) -> io::Result<FrameData> {
        let bytes = self.read_frame(i)?;
        let blocks = frame_block_spans(&bytes, self.frames[i].first_sid)
            .ok_or_else(|| corrupt("frame block headers", &self.path))?;
        Ok(FrameData { bytes, blocks })
    }

    /// Frames that may hold `sid` and overlap `[start, end]`.
    pub fn frames_for(&self, sid: u32) -> impl Iterator<Item = usize> + '_ {
        let i = self.frames.partition_point(|f| f.last_sid < sid);
        (i..self.frames.len()).take_while(move |&j| self.frames[j].first_sid <= sid)
    }
}

type Index = (Vec<FrameMeta>, Vec<u64>, RoaringBitmap);

fn parse_index(idx: &[u8], data_end: u64) -> Option<Index> {
    let mut r = Reader::new(idx);
    let n = r.uvarint()?;
    if n > idx.len() as u64 {
        return None;
    }
    let mut frames = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let first_sid = u32::try_from(r.uvarint()?).ok()?;
        let last_sid = first_sid.checked_add(u32::try_from(r.uvarint()?).ok()?)?;
        let offset = r.uvarint()?;
        let clen = u32::try_from(r.uvarint()?).ok()?;
        let ulen = u32::try_from(r.uvarint()?).ok()?;
        let min_t = r.varint()?;
        let max_t = min_t.wrapping_add(r.uvarint()? as i64);
        let samples = r.uvarint()?;
        if offset.checked_add(u64::from(clen))? > data_end || ulen as usize > MAX_DECODED {
            return None;
        }
        frames.push(FrameMeta {
            first_sid,
            last_sid,
            offset,
            clen,
            ulen,
            min_t,
            max_t,
            samples,
        });
    }
    let nr = r.uvarint()?;
    if nr > idx.len() as u64 {
        return None;
    }
    let replaces = (0..nr).map(|_| r.uvarint()).collect::<Option<Vec<_>>>()?;
    let bm = r.len_prefixed()?;
    let bitmap = RoaringBitmap::deserialize_from(bm).ok()?;
    Some((frames, replaces, bitmap))
}

/// One block's header inside a decompressed frame.
pub struct BlockRef<'a> {
    pub sid: u32,
    pub min_t: i64,
    pub max_t: i64,
    pub data: &'a [u8],
}

/// Where one block lies inside a decompressed frame (offsets, so it can outlive a borrow).
#[derive(Clone, Debug)]
pub struct BlockSpan {
    pub sid: u32,
    pub min_t: i64,
    pub max_t: i64,
    pub data: std::ops::Range<usize>,
}

/// A decompressed frame with its block headers parsed: what the frame cache holds, so that
/// queries find a series' block by binary search instead of re-parsing the headers.
pub struct FrameData {
    pub bytes: Vec<u8>,
    /// In frame order, i.e. ascending series id.
    pub blocks: Vec<BlockSpan>,
}

impl FrameData {
    /// Bytes held on the heap (for the cache's bound).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.len() + self.blocks.len() * std::mem::size_of::<BlockSpan>()
    }

    /// The blocks of series `sid`, with their encoded bytes.
    pub fn blocks_of(&self, sid: u32) -> impl Iterator<Item = (&BlockSpan, &[u8])> {
        let i = self.blocks.partition_point(|b| b.sid < sid);
        self.blocks[i..]
            .iter()
            .take_while(move |b| b.sid == sid)
            .map(|b| (b, self.bytes.get(b.data.clone()).unwrap_or_default()))
    }
}

/// Splits a decompressed frame into its blocks.
pub fn frame_blocks(frame: &[u8], first_sid: u32) -> Option<Vec<BlockRef<'_>>> {
    let spans = frame_block_spans(frame, first_sid)?;
    let mut out = Vec::with_capacity(spans.len());
    for b in spans {
        out.push(BlockRef {
            sid: b.sid,
            min_t: b.min_t,
            max_t: b.max_t,
            data: frame.get(b.data)?,
        });
    }
    Some(out)
}

/// The block headers of a decompressed frame, in order (ascending series id).
pub fn frame_block_spans(frame: &[u8], first_sid: u32) -> Option<Vec<BlockSpan>> {
    let mut r = Reader::new(frame);
    let n = r.uvarint()?;
    if n > frame.len() as u64 {
        return None;
    }
    let mut heads = Vec::with_capacity(n as usize);
    let mut sid = first_sid;
    for i in 0..n {
        let d = u32::try_from(r.uvarint()?).ok()?;
        sid = if i == 0 {
            first_sid.checked_add(d)?
        } else {
            sid.checked_add(d)?
        };
        let min_t = r.varint()?;
        let max_t = min_t.wrapping_add(r.uvarint()? as i64);
        let len = usize::try_from(r.uvarint()?).ok()?;
        heads.push((sid, min_t, max_t, len));
    }
    let mut pos = r.pos();
    let mut out = Vec::with_capacity(heads.len());
    for (sid, min_t, max_t, len) in heads {
        let end = pos.checked_add(len).filter(|&e| e <= frame.len())?;
        out.push(BlockSpan {
            sid,
            min_t,
            max_t,
            data: pos..end,
        });
        pos = end;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(sid: u32, n: usize) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample {
                t: 1_000_000 + i as i64 * 15_000,
                v: (sid as usize * 1000 + i) as f64,
            })
            .collect()
    }

    #[test]
    fn write_then_read_many_frames() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::create(dir.path(), 5).unwrap();
        w.set_replaces(vec![1, 2]);
        for sid in (1..3000u32).step_by(3) {
            w.add(sid, &samples(sid, 200)).unwrap();
        }
        let seg = w.finish().unwrap();
        assert!(seg.frames.len() > 1, "{} frames", seg.frames.len());
        assert_eq!(seg.replaces, vec![1, 2]);
        assert_eq!(seg.bitmap.len(), 1000);
        let reopened = Segment::open(&segment_file(dir.path(), 5), 5).unwrap();
        assert_eq!(reopened.samples, 200_000);
        for sid in [1u32, 1501, 2998] {
            let fi: Vec<_> = reopened.frames_for(sid).collect();
            assert_eq!(fi.len(), 1);
            let frame = reopened.read_frame(fi[0]).unwrap();
            let blocks = frame_blocks(&frame, reopened.frames[fi[0]].first_sid).unwrap();
            let b = blocks.iter().find(|b| b.sid == sid).unwrap();
            let mut out = Vec::new();
            block::decode(b.data, i64::MIN, i64::MAX, &mut out).unwrap();
            assert_eq!(out, samples(sid, 200));
        }
        assert_eq!(reopened.frames_for(2).count(), 1);
        assert_eq!(reopened.frames_for(5000).count(), 0);
    }

    #[test]
    fn truncated_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::create(dir.path(), 1).unwrap();
        w.add(1, &samples(1, 10)).unwrap();
        let seg = w.finish().unwrap();
        let data = fs::read(&seg.path).unwrap();
        fs::write(&seg.path, &data[..data.len() - 3]).unwrap();
        assert!(Segment::open(&seg.path, 1).is_err());
    }
}
