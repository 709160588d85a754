//! A bounded cache of decompressed segment frames with their block headers parsed (FIFO
//! eviction by bytes).

use crate::fifo::Fifo;
use crate::segment::FrameData;
use parking_lot::Mutex;
use std::collections::hash_map::RandomState;
use std::sync::Arc;

type Key = (u64, u32);

pub struct FrameCache {
    max_bytes: usize,
    inner: Mutex<Fifo<Key, Arc<FrameData>, RandomState>>,
}

impl FrameCache {
    pub fn new(max_bytes: usize) -> Self {
        FrameCache {
            max_bytes,
            inner: Mutex::new(Fifo::new(max_bytes)),
        }
    }

    pub fn get_or_load<E>(
        &self,
        key: Key,
        load: impl FnOnce() -> Result<FrameData, E>,
    ) -> Result<Arc<FrameData>, E> {
        if let Some(v) = self.inner.lock().get(&key) {
            return Ok(v.clone());
        }
        let v = Arc::new(load()?);
        let size = v.heap_bytes();
        if size <= self.max_bytes / 4 {
            self.inner.lock().insert(key, v.clone(), size);
        }
        Ok(v)
    }

    /// Forgets every frame of a segment (after it was merged away or dropped).
    pub fn forget_segment(&self, id: u64) {
        self.inner.lock().retain(|k| k.0 != id);
    }

    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.inner.lock().bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_bound() {
        let c = FrameCache::new(1000);
        for i in 0..20u32 {
            let v = c
                .get_or_load::<()>((1, i), || {
                    Ok(FrameData {
                        bytes: vec![0u8; 200],
                        blocks: Vec::new(),
                    })
                })
                .unwrap();
            assert_eq!(v.heap_bytes(), 200);
        }
        assert!(c.bytes() <= 1000);
        c.forget_segment(1);
        assert_eq!(c.bytes(), 0);
    }
}
