//! A partition's value log: compressed blocks appended to one file (as badger keeps large
//! values out of its LSM tree), each record a CRC-32 followed by the block. The `blocks`
//! tree maps a block's sequence number to its place here. The writer fsyncs the log before
//! the trees that point into it, so a pointer never outlives a crash without its block;
//! bytes appended by a commit that did not finish are left unreferenced.

use crate::error::StoreError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub const FILE_NAME: &str = "blocks.vlog";
/// Largest record read back (guards against corrupt pointers).
const MAX_RECORD: u32 = 256 << 20;

pub struct ValueLog {
    file: File,
    end: AtomicU64,
    append_lock: Mutex<()>,
}

impl ValueLog {
    pub fn open(dir: &Path) -> Result<ValueLog, StoreError> {
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(dir.join(FILE_NAME))?;
        let end = file.metadata()?.len();
        Ok(ValueLog {
            file,
            end: AtomicU64::new(end),
            append_lock: Mutex::new(()),
        })
    }

    /// Appends one record; returns its offset and length.
    pub fn append(&self, bytes: &[u8]) -> Result<(u64, u32), StoreError> {
        let _one_writer = self.append_lock.lock().expect("vlog lock");
        let mut record = Vec::with_capacity(bytes.len() + 4);
        record.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
        record.extend_from_slice(bytes);
        let offset = self.end.load(Ordering::Acquire);
        (&self.file).write_all(&record)?;
        self.end
            .store(offset + record.len() as u64, Ordering::Release);
        Ok((offset, record.len() as u32))
    }

    /// Appends several records with one write; returns the offset and length of each.
    pub fn append_many(&self, items: &[Vec<u8>]) -> Result<Vec<(u64, u32)>, StoreError> {
        let _one_writer = self.append_lock.lock().expect("vlog lock");
        let mut buf = Vec::with_capacity(items.iter().map(|i| i.len() + 4).sum());
        let start = self.end.load(Ordering::Acquire);
        let mut places = Vec::with_capacity(items.len());
        for bytes in items {
            places.push((start + buf.len() as u64, bytes.len() as u32 + 4));
            buf.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
            buf.extend_from_slice(bytes);
        }
        (&self.file).write_all(&buf)?;
        self.end.store(start + buf.len() as u64, Ordering::Release);
        Ok(places)
    }

    pub fn sync(&self) -> Result<(), StoreError> {
        self.file.sync_data()?;
        Ok(())
    }

    /// The record at `offset`, checked against its CRC.
    pub fn read(&self, offset: u64, len: u32) -> Result<Vec<u8>, StoreError> {
        if !(4..=MAX_RECORD).contains(&len)
            || offset.saturating_add(u64::from(len)) > self.end.load(Ordering::Acquire)
        {
            return Err(StoreError::Corrupt(
                "block pointer beyond the value log".into(),
            ));
        }
        let mut buf = vec![0u8; len as usize];
        self.file.read_exact_at(&mut buf, offset)?;
        let crc = u32::from_le_bytes(buf[..4].try_into().expect("4 bytes"));
        if crc32fast::hash(&buf[4..]) != crc {
            return Err(StoreError::Corrupt("block checksum mismatch".into()));
        }
        buf.drain(..4);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_corruption_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let log = ValueLog::open(dir.path()).unwrap();
        let (a, la) = log.append(b"first block").unwrap();
        let (b, lb) = log.append(b"second").unwrap();
        log.sync().unwrap();
        assert_eq!(log.read(a, la).unwrap(), b"first block");
        assert_eq!(log.read(b, lb).unwrap(), b"second");
        assert!(log.read(b, lb + 100).is_err());
        let many = log.append_many(&[b"x".to_vec(), b"yz".to_vec()]).unwrap();
        assert_eq!(log.read(many[1].0, many[1].1).unwrap(), b"yz");
        drop(log);
        let log = ValueLog::open(dir.path()).unwrap();
        assert_eq!(log.read(b, lb).unwrap(), b"second");
        let f = OpenOptions::new()
            .write(true)
            .open(dir.path().join(FILE_NAME))
            .unwrap();
        f.write_all_at(b"X", a + 5).unwrap();
        assert!(matches!(log.read(a, la), Err(StoreError::Corrupt(_))));
    }
}
