//! Which queries were cheap the last time they ran.
//!
//! A query normally runs on the engine's workers: the request's thread hands it over and
//! is woken when it is done. For a query that takes a few tens of microseconds (one
//! series, a few hundred points) those two thread wake-ups cost more than the evaluation
//! itself. Dashboards repeat the same queries on every refresh, so the time a query took
//! last time predicts its next run well: a query that took less than
//! `query.inline_below` is evaluated on the request's own thread next time.
//!
//! The memo keeps a 64-bit hash of the query's text and shape, never the text, and holds
//! at most [`MAX_ENTRIES`] of them (it starts over when full). A hash collision or a query
//! that suddenly got expensive costs one run on the request's thread, after which its new
//! duration is remembered.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

/// Most queries remembered (16 bytes each plus the map's overhead: well under 1 MiB).
pub const MAX_ENTRIES: usize = 8192;

/// What identifies a query's cost: its text, and for a range query the span and step
/// (a longer range over the same text is a different query). For an instant query the
/// evaluation time does not enter: a dashboard's "now" moves on every refresh.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QueryShape(u64);

impl QueryShape {
    pub fn new(query: &str, span_ms: i64, step_ms: i64) -> Self {
        let mut h = DefaultHasher::new();
        query.hash(&mut h);
        span_ms.hash(&mut h);
        step_ms.hash(&mut h);
        QueryShape(h.finish())
    }
}

/// The memo: query shape → how long its last evaluation took (microseconds).
pub struct CheapQueries {
    below: Duration,
    last: Mutex<HashMap<u64, u32>>,
}

impl CheapQueries {
    /// Remembers durations against `below` (zero: never evaluate on the request's thread).
    pub fn new(below: Duration) -> Self {
        CheapQueries {
            below,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// True if the query's last evaluation took less than the threshold.
    pub fn was_cheap(&self, shape: QueryShape) -> bool {
        if self.below.is_zero() {
            return false;
        }
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.get(&shape.0)
            .is_some_and(|&us| u128::from(us) < self.below.as_micros())
    }

    /// Records how long an evaluation of the query took.
    pub fn record(&self, shape: QueryShape, took: Duration) {
        if self.below.is_zero() {
            return;
        }
        let us = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.len() >= MAX_ENTRIES && !last.contains_key(&shape.0) {
            last.clear();
        }
        last.insert(shape.0, us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_cheap_queries_by_shape() {
        let memo = CheapQueries::new(Duration::from_millis(1));
        let a = QueryShape::new("up", 3_600_000, 60_000);
        let longer = QueryShape::new("up", 7_200_000, 60_000);
        assert!(!memo.was_cheap(a), "never seen");
        memo.record(a, Duration::from_micros(40));
        assert!(memo.was_cheap(a));
        assert!(!memo.was_cheap(longer), "another span is another query");
        memo.record(a, Duration::from_millis(5));
        assert!(!memo.was_cheap(a), "got expensive");
        let off = CheapQueries::new(Duration::ZERO);
        off.record(a, Duration::from_micros(1));
        assert!(!off.was_cheap(a));
    }

    #[test]
    fn holds_at_most_max_entries() {
        let memo = CheapQueries::new(Duration::from_millis(1));
        for i in 0..(MAX_ENTRIES + 10) {
            memo.record(
                QueryShape::new(&i.to_string(), 0, 0),
                Duration::from_micros(1),
            );
        }
        assert!(memo.last.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
