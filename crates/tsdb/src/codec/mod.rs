//! Sample encodings: varints, bit streams, the head's Gorilla chunk, the on-disk block.

pub mod bits;
pub mod block;
pub mod gorilla;
pub mod varint;

use std::cell::RefCell;

thread_local! {
    /// One zstd decompression context per thread, reused. `zstd::bulk::decompress` creates
    /// a context per call, and creating one runs `cpuid`, which a virtual machine traps:
    /// on a query reading 4,400 registry blocks and their frames that was ~10 % of the
    /// query's time.
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

/// Decompresses one zstd frame into a new vector of at most `capacity` bytes, with this
/// thread's reused context.
pub fn zstd_decompress(data: &[u8], capacity: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            // Not reentrant; a nested call (none today) gets a context of its own.
            return zstd::bulk::decompress(data, capacity);
        };
        let d = match &mut *slot {
            Some(d) => d,
            empty => empty.insert(zstd::bulk::Decompressor::new()?),
        };
        d.decompress(data, capacity)
    })
}

/// Decompresses one zstd frame into a buffer of exactly its declared size (at most `max`
/// bytes). `zstd::bulk::decompress(data, max)` would reserve `max` bytes up front and keep
/// that capacity in the returned vector.
pub fn unzstd(data: &[u8], max: usize) -> std::io::Result<Vec<u8>> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let size = match zstd::zstd_safe::get_frame_content_size(data) {
        Ok(Some(n)) => usize::try_from(n).map_err(|_| bad("zstd frame too large"))?,
        Ok(None) => max,
        Err(_) => return Err(bad("corrupt zstd frame header")),
    };
    if size > max {
        return Err(bad("zstd frame larger than the limit"));
    }
    zstd_decompress(data, size)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unzstd_sizes_exactly_and_refuses_over_the_limit() {
        let data = vec![7u8; 10_000];
        let c = zstd::bulk::compress(&data, 3).unwrap();
        let out = super::unzstd(&c, 1 << 20).unwrap();
        assert_eq!(out, data);
        assert_eq!(out.capacity(), data.len());
        assert!(super::unzstd(&c, 9_999).is_err());
        assert!(super::unzstd(b"not zstd", 100).is_err());
    }
}
