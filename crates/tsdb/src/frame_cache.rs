//! A bounded cache of decompressed segment frames with their block headers parsed (FIFO
//! eviction by bytes).

use crate::segment::FrameData;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

type Key = (u64, u32);

pub struct FrameCache {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Arc<FrameData>>,
    order: VecDeque<Key>,
    bytes: usize,
}

impl FrameCache {
    pub fn new(max_bytes: usize) -> Self {
        FrameCache {
            max_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn get_or_load<E>(
        &self,
        key: Key,
        load: impl FnOnce() -> Result<FrameData, E>,
    ) -> Result<Arc<FrameData>, E> {
        if let Some(v) = self.inner.lock().map.get(&key) {
            return Ok(v.clone());
        }
        let v = Arc::new(load()?);
        let size = v.heap_bytes();
        if size > self.max_bytes / 4 {
            return Ok(v);
        }
        let mut g = self.inner.lock();
        if g.map.insert(key, v.clone()).is_none() {
            g.order.push_back(key);
            g.bytes += size;
        }
        while g.bytes > self.max_bytes {
            let Some(old) = g.order.pop_front() else {
                break;
            };
            if let Some(x) = g.map.remove(&old) {
                g.bytes -= x.heap_bytes();
            }
        }
        Ok(v)
    }

    /// Forgets every frame of a segment (after it was merged away or dropped).
    pub fn forget_segment(&self, id: u64) {
        let mut g = self.inner.lock();
        let keys: Vec<Key> = g.map.keys().filter(|k| k.0 == id).copied().collect();
        for k in keys {
            if let Some(x) = g.map.remove(&k) {
                g.bytes -= x.heap_bytes();
            }
        }
        g.order.retain(|k| k.0 != id);
    }

    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.inner.lock().bytes
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
