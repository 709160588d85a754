//! Service dependencies from parent/child spans across services, found at write time.
//!
//! Spans of one trace arrive from different services in different requests, children
//! usually first. A bounded window of recent spans (span → service) and of children
//! waiting for their parent (parent → child services) links them; each link between two
//! different services counts one call in the hour of the child's start.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

/// Counted calls: `(hour, parent service, child service) → calls`.
pub type Edges = HashMap<(u32, String, String), u64>;

pub struct DependencyTracker {
    services: Vec<String>,
    service_ids: HashMap<String, u32>,
    recent: HashMap<u64, u32>,
    waiting: HashMap<u64, Vec<(u32, u32)>>,
    order: VecDeque<(u64, bool)>,
    capacity: usize,
}

fn span_hash(trace_id: &[u8], span_id: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    trace_id.hash(&mut h);
    span_id.hash(&mut h);
    h.finish()
}

impl DependencyTracker {
    pub fn new(capacity: usize) -> Self {
        DependencyTracker {
            services: Vec::new(),
            service_ids: HashMap::new(),
            recent: HashMap::new(),
            waiting: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    fn service_id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.service_ids.get(s) {
            return id;
        }
        let id = self.services.len() as u32;
        self.services.push(s.to_owned());
        self.service_ids.insert(s.to_owned(), id);
        id
    }

    fn remember(&mut self, key: u64, is_waiting: bool) {
        self.order.push_back((key, is_waiting));
        while self.order.len() > self.capacity {
            let Some((old, w)) = self.order.pop_front() else {
                break;
            };
            if w {
                self.waiting.remove(&old);
            } else {
                self.recent.remove(&old);
            }
        }
    }

    /// Records one span; adds the calls it completes to `edges`.
    pub fn observe(
        &mut self,
        trace_id: &[u8],
        span_id: &[u8],
        parent_id: &[u8],
        service: &str,
        start_ns: u64,
        edges: &mut Edges,
    ) {
        let me = self.service_id(service);
        let hour = (start_ns / 3_600_000_000_000) as u32;
        let key = span_hash(trace_id, span_id);
        if !parent_id.is_empty() {
            let parent_key = span_hash(trace_id, parent_id);
            match self.recent.get(&parent_key) {
                Some(&parent) => {
                    if parent != me {
                        *edges
                            .entry((
                                hour,
                                self.services[parent as usize].clone(),
                                service.to_owned(),
                            ))
                            .or_default() += 1;
                    }
                }
                None => {
                    let fresh = !self.waiting.contains_key(&parent_key);
                    self.waiting.entry(parent_key).or_default().push((me, hour));
                    if fresh {
                        self.remember(parent_key, true);
                    }
                }
            }
        }
        if let Some(children) = self.waiting.remove(&key) {
            for (child, child_hour) in children {
                if child != me {
                    *edges
                        .entry((
                            child_hour,
                            service.to_owned(),
                            self.services[child as usize].clone(),
                        ))
                        .or_default() += 1;
                }
            }
        }
        if self.recent.insert(key, me).is_none() {
            self.remember(key, false);
        }
        if self.services.len() > 100_000 {
            // Pathological service churn: start over rather than grow without bound.
            *self = DependencyTracker::new(self.capacity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_parent_and_child_in_either_order() {
        let mut t = DependencyTracker::new(100);
        let mut e = Edges::new();
        t.observe(b"t1", b"child", b"root", "db-svc", 0, &mut e);
        t.observe(b"t1", b"root", b"", "frontend", 0, &mut e);
        t.observe(b"t1", b"child2", b"root", "cart", 0, &mut e);
        t.observe(b"t1", b"child3", b"root", "frontend", 0, &mut e);
        assert_eq!(e.get(&(0, "frontend".into(), "db-svc".into())), Some(&1));
        assert_eq!(e.get(&(0, "frontend".into(), "cart".into())), Some(&1));
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn window_is_bounded() {
        let mut t = DependencyTracker::new(10);
        let mut e = Edges::new();
        for i in 0..1000u32 {
            t.observe(
                b"t",
                &i.to_be_bytes(),
                &(i + 5000).to_be_bytes(),
                "a",
                0,
                &mut e,
            );
        }
        assert!(t.recent.len() + t.waiting.len() <= 10);
    }
}
