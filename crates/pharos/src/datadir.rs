//! The data directory's layout and its lock.
//!
//! A running server holds an exclusive lock on `<data>/.lock` for its whole life (sled
//! allows one process per database); the CLI uses the lock to tell whether a server owns
//! the directory, and `restore` refuses to touch a locked directory.

use anyhow::Context;
use std::fs::File;
use std::path::{Path, PathBuf};

pub fn metrics_dir(data: &Path) -> PathBuf {
    data.join("metrics")
}

pub fn traces_dir(data: &Path) -> PathBuf {
    data.join("traces")
}

pub fn snapshots_dir(data: &Path) -> PathBuf {
    data.join("snapshots")
}

/// Held while the process owns the data directory; released when dropped or at exit.
pub struct DataLock {
    file: File,
}

impl DataLock {
    /// Records the address the server listens on, for the CLI to find it.
    pub fn record_listen(&self, addr: &str) -> std::io::Result<()> {
        use std::io::{Seek, Write};
        let mut f = &self.file;
        f.set_len(0)?;
        f.seek(std::io::SeekFrom::Start(0))?;
        writeln!(f, "{addr}")
    }
}

/// The address recorded by the server that holds the data directory, if one does.
pub fn running_server_addr(data: &Path) -> Option<String> {
    if !is_locked(data) {
        return None;
    }
    let text = std::fs::read_to_string(data.join(".lock")).ok()?;
    let addr = text.trim();
    (!addr.is_empty()).then(|| addr.to_owned())
}

/// Takes the exclusive lock, or fails if another process holds it.
pub fn lock(data: &Path) -> anyhow::Result<DataLock> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("creating data directory {}", data.display()))?;
    let path = data.join(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DataLock { file }),
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!(
                "data directory {} is in use by another pharos process",
                data.display()
            )
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// True if a process (a running server) holds the data directory's lock.
pub fn is_locked(data: &Path) -> bool {
    let Ok(file) = File::options().write(true).open(data.join(".lock")) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(_) => true,
    }
}
