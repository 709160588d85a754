//! UI login sessions: random ids mapped to a scope, with expiry, in a bounded table.

use pharos_config::Scope;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bounded session table. When full, expired sessions are dropped first, then the oldest.
pub struct Sessions {
    inner: Mutex<HashMap<String, (Scope, Instant)>>,
    capacity: usize,
    ttl: Duration,
}

impl Sessions {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Sessions {
            inner: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session; returns its id (64 hex characters) for the cookie.
    pub fn create(&self, scope: Scope) -> Option<String> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let id = hex::encode(bytes);
        let now = Instant::now();
        let mut map = self.inner.lock().ok()?;
        if map.len() >= self.capacity {
            map.retain(|_, (_, exp)| *exp > now);
        }
        if map.len() >= self.capacity {
            let oldest = map
                .iter()
                .min_by_key(|(_, (_, exp))| *exp)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        map.insert(id.clone(), (scope, now + self.ttl));
        Some(id)
    }

    /// The scope of a live session.
    pub fn lookup(&self, id: &str) -> Option<Scope> {
        let mut map = self.inner.lock().ok()?;
        match map.get(id) {
            Some((scope, exp)) if *exp > Instant::now() => Some(*scope),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends a session (logout).
    pub fn remove(&self, id: &str) {
        if let Ok(mut map) = self.inner.lock() {
            map.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let s = Sessions::new(2, Duration::from_secs(60));
        let a = s.create(Scope::Read).unwrap();
        let b = s.create(Scope::Admin).unwrap();
        let c = s.create(Scope::Read).unwrap();
        assert_eq!(s.lookup(&c), Some(Scope::Read));
        assert!(s.lookup(&a).is_none() || s.lookup(&b).is_none());
        s.remove(&c);
        assert_eq!(s.lookup(&c), None);
        let short = Sessions::new(2, Duration::from_millis(0));
        let d = short.create(Scope::Read).unwrap();
        assert_eq!(short.lookup(&d), None);
    }
}
