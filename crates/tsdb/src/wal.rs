//! Write-ahead log: numbered segment files of CRC-checked records, with group commit.
//!
//! Writers [`Wal::append`] a record to a shared buffer (cheap, under a short lock) and then
//! [`Wal::sync`] to the returned sequence number: the first waiter becomes the leader,
//! writes everything buffered so far and `fdatasync`s once for all waiters. A request is
//! acknowledged only after its `sync` returns, so every acknowledged sample is on disk.
//!
//! Segments are rotated when the head is flushed; segments older than the rotation point
//! are deleted once the flushed data is durable in the partitions.

use crate::codec::varint::{put_uvarint, put_varint, Reader};
use parking_lot::{Condvar, Mutex};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const REC_SERIES: u8 = 1;
const REC_SAMPLES: u8 = 2;
const REC_EXEMPLAR: u8 = 3;
const REC_METADATA: u8 = 4;
/// Largest record accepted on replay; larger lengths mean a torn or corrupt tail.
const MAX_RECORD: usize = 256 << 20;

/// One decoded WAL record.
#[derive(Debug, PartialEq)]
pub enum Record {
    Series {
        sid: u32,
        labels: Vec<u8>,
    },
    Samples(Vec<(u32, i64, f64)>),
    Exemplar {
        sid: u32,
        t: i64,
        v: f64,
        labels: Vec<u8>,
    },
    Metadata {
        metric: String,
        kind: String,
        help: String,
        unit: String,
    },
}

pub fn encode_series(sid: u32, labels: &[u8], out: &mut Vec<u8>) {
    out.push(REC_SERIES);
    put_uvarint(out, u64::from(sid));
    out.extend_from_slice(labels);
}

/// Encodes samples; timestamps as deltas from the first, which keeps records small.
pub fn encode_samples(samples: &[(u32, i64, f64)], out: &mut Vec<u8>) {
    out.push(REC_SAMPLES);
    put_uvarint(out, samples.len() as u64);
    let base = samples.first().map_or(0, |s| s.1);
    put_varint(out, base);
    for (sid, t, v) in samples {
        put_uvarint(out, u64::from(*sid));
        put_varint(out, t.wrapping_sub(base));
        out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

pub fn encode_exemplar(sid: u32, t: i64, v: f64, labels: &[u8], out: &mut Vec<u8>) {
    out.push(REC_EXEMPLAR);
    put_uvarint(out, u64::from(sid));
    put_varint(out, t);
    out.extend_from_slice(&v.to_bits().to_le_bytes());
    out.extend_from_slice(labels);
}

pub fn encode_metadata(metric: &str, kind: &str, help: &str, unit: &str, out: &mut Vec<u8>) {
    out.push(REC_METADATA);
    for s in [metric, kind, help, unit] {
        put_uvarint(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
}

pub fn decode(payload: &[u8]) -> Option<Record> {
    let (&kind, rest) = payload.split_first()?;
    let mut r = Reader::new(rest);
    match kind {
        REC_SERIES => {
            let sid = u32::try_from(r.uvarint()?).ok()?;
            Some(Record::Series {
                sid,
                labels: rest[r.pos()..].to_vec(),
            })
        }
        REC_SAMPLES => {
            let n = r.uvarint()?;
            if n > rest.len() as u64 {
                return None;
            }
            let base = r.varint()?;
            let mut samples = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let sid = u32::try_from(r.uvarint()?).ok()?;
                let t = base.wrapping_add(r.varint()?);
                let v = f64::from_bits(r.u64_le()?);
                samples.push((sid, t, v));
            }
            Some(Record::Samples(samples))
        }
        REC_EXEMPLAR => {
            let sid = u32::try_from(r.uvarint()?).ok()?;
            let t = r.varint()?;
            let v = f64::from_bits(r.u64_le()?);
            Some(Record::Exemplar {
                sid,
                t,
                v,
                labels: rest[r.pos()..].to_vec(),
            })
        }
        REC_METADATA => {
            let mut s = || -> Option<String> { String::from_utf8(r.len_prefixed()?.to_vec()).ok() };
            Some(Record::Metadata {
                metric: s()?,
                kind: s()?,
                help: s()?,
                unit: s()?,
            })
        }
        _ => None,
    }
}

struct State {
    buf: Vec<u8>,
    appended: u64,
    synced: u64,
    syncing: bool,
    /// Set when a write or fsync failed: every later sync fails, so nothing is acknowledged
    /// that may not be on disk.
    failed: Option<String>,
}

struct Segment {
    id: u64,
    file: File,
    bytes: u64,
}

pub struct Wal {
    dir: PathBuf,
    state: Mutex<State>,
    done: Condvar,
    segment: Mutex<Segment>,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:010}.wal"))
}

/// Ids of the segments in `dir`, ascending.
pub fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut ids = Vec::new();
    for e in fs::read_dir(dir)? {
        let name = e?.file_name();
        let name = name.to_string_lossy();
        if let Some(id) = name
            .strip_suffix(".wal")
            .and_then(|s| s.parse::<u64>().ok())
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

impl Wal {
    /// Opens the WAL directory for appending into a new segment after every existing one.
    pub fn open(dir: &Path) -> io::Result<Wal> {
        fs::create_dir_all(dir)?;
        let next = list_segments(dir)?.last().map_or(1, |l| l + 1);
        let file = create_segment(dir, next)?;
        Ok(Wal {
            dir: dir.to_owned(),
            state: Mutex::new(State {
                buf: Vec::with_capacity(1 << 20),
                appended: 0,
                synced: 0,
                syncing: false,
                failed: None,
            }),
            done: Condvar::new(),
            segment: Mutex::new(Segment {
                id: next,
                file,
                bytes: 0,
            }),
        })
    }

    /// Buffers one record (a payload from the `encode_*` functions); returns its sequence number.
    pub fn append(&self, payload: &[u8]) -> u64 {
        let mut st = self.state.lock();
        st.buf
            .extend_from_slice(&(payload.len() as u32).to_le_bytes());
        st.buf
            .extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        st.buf.extend_from_slice(payload);
        st.appended += 1;
        st.appended
    }

    /// Returns once every record up to `seq` is written and fsynced (group commit).
    pub fn sync(&self, seq: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        loop {
            if let Some(e) = &st.failed {
                return Err(io::Error::other(format!("WAL is failed: {e}")));
            }
            if st.synced >= seq {
                return Ok(());
            }
            if !st.syncing {
                break;
            }
            self.done.wait(&mut st);
        }
        st.syncing = true;
        let target = st.appended;
        let buf = std::mem::take(&mut st.buf);
        drop(st);
        let result = self.write_and_sync(&buf, false).map(|_| ());
        let mut st = self.state.lock();
        st.syncing = false;
        if st.buf.is_empty() {
            let mut buf = buf;
            buf.clear();
            st.buf = buf;
        }
        match &result {
            Ok(()) => st.synced = st.synced.max(target),
            Err(e) => st.failed = Some(e.to_string()),
        }
        self.done.notify_all();
        result
    }

    fn write_and_sync(&self, buf: &[u8], rotate: bool) -> io::Result<u64> {
        let mut seg = self.segment.lock();
        if !buf.is_empty() {
            seg.file.write_all(buf)?;
            seg.file.sync_data()?;
            seg.bytes += buf.len() as u64;
        }
        if rotate {
            let id = seg.id + 1;
            seg.file = create_segment(&self.dir, id)?;
            seg.id = id;
            seg.bytes = 0;
        }
        Ok(seg.id)
    }

    /// Makes everything buffered durable and starts a new segment; returns the new id.
    /// Segments with lower ids hold only records appended before this call.
    pub fn rotate(&self) -> io::Result<u64> {
        let mut st = self.state.lock();
        while st.syncing {
            self.done.wait(&mut st);
        }
        if let Some(e) = &st.failed {
            return Err(io::Error::other(format!("WAL is failed: {e}")));
        }
        st.syncing = true;
        let target = st.appended;
        let buf = std::mem::take(&mut st.buf);
        drop(st);
        let result = self.write_and_sync(&buf, true);
        let mut st = self.state.lock();
        st.syncing = false;
        match &result {
            Ok(_) => st.synced = st.synced.max(target),
            Err(e) => st.failed = Some(e.to_string()),
        }
        self.done.notify_all();
        result
    }

    /// Deletes segments with ids below `id`.
    pub fn truncate_before(&self, id: u64) -> io::Result<()> {
        for old in list_segments(&self.dir)?.into_iter().filter(|s| *s < id) {
            fs::remove_file(segment_path(&self.dir, old))?;
        }
        Ok(())
    }

    /// Bytes in the current segment (buffered included).
    pub fn current_bytes(&self) -> u64 {
        let buffered = self.state.lock().buf.len() as u64;
        self.segment.lock().bytes + buffered
    }

    pub fn disk_bytes(&self) -> u64 {
        dir_size(&self.dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn create_segment(dir: &Path, id: u64) -> io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(segment_path(dir, id))?;
    File::open(dir)?.sync_all()?;
    Ok(f)
}

pub fn dir_size(dir: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Reads the records of one segment in order, calling `f` for each. Stops at the first
/// torn or corrupt record (a crash mid-write leaves at most the unacknowledged tail);
/// returns the number of records read and whether the segment ended cleanly.
pub fn replay_segment(dir: &Path, id: u64, mut f: impl FnMut(Record)) -> io::Result<(u64, bool)> {
    let mut data = Vec::new();
    File::open(segment_path(dir, id))?.read_to_end(&mut data)?;
    let mut pos = 0usize;
    let mut n = 0u64;
    while pos < data.len() {
        let Some(head) = data.get(pos..pos + 8) else {
            return Ok((n, false));
        };
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
        if len > MAX_RECORD {
            return Ok((n, false));
        }
        let Some(payload) = data.get(pos + 8..pos + 8 + len) else {
            return Ok((n, false));
        };
        if crc32fast::hash(payload) != crc {
            return Ok((n, false));
        }
        match decode(payload) {
            Some(rec) => f(rec),
            None => return Ok((n, false)),
        }
        n += 1;
        pos += 8 + len;
    }
    Ok((n, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn group_commit_and_replay() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Arc::new(Wal::open(dir.path()).unwrap());
        let threads: Vec<_> = (0..4u32)
            .map(|i| {
                let wal = wal.clone();
                std::thread::spawn(move || {
                    for j in 0..50i64 {
                        let mut p = Vec::new();
                        encode_samples(&[(i, j, j as f64), (i, j + 1000, 0.5)], &mut p);
                        let seq = wal.append(&p);
                        wal.sync(seq).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut p = Vec::new();
        encode_metadata("up", "gauge", "help", "", &mut p);
        let seq = wal.append(&p);
        let new = wal.rotate().unwrap();
        assert!(wal.state.lock().synced >= seq);
        assert_eq!(new, 2);
        let mut samples = 0;
        let mut meta = 0;
        let (n, clean) = replay_segment(dir.path(), 1, |r| match r {
            Record::Samples(s) => samples += s.len(),
            Record::Metadata { .. } => meta += 1,
            _ => panic!("unexpected record"),
        })
        .unwrap();
        assert!(clean);
        assert_eq!((n, samples, meta), (201, 400, 1));
        wal.truncate_before(new).unwrap();
        assert_eq!(list_segments(dir.path()).unwrap(), vec![2]);
    }

    #[test]
    fn torn_tail_stops_replay_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path()).unwrap();
        let mut p = Vec::new();
        encode_series(7, b"\x08__name__\x02up", &mut p);
        let seq = wal.append(&p);
        wal.sync(seq).unwrap();
        let path = segment_path(dir.path(), 1);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        let mut got = Vec::new();
        let (n, clean) = replay_segment(dir.path(), 1, |r| got.push(r)).unwrap();
        assert_eq!((n, clean), (1, false));
        assert_eq!(
            got,
            vec![Record::Series {
                sid: 7,
                labels: b"\x08__name__\x02up".to_vec()
            }]
        );
    }
}
