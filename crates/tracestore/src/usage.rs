//! Spans and bytes per service: counted per partition at write time (spans exactly, and
//! the encoded chunk bytes each service's spans took), persisted in the partition's
//! `meta` tree so they survive restart, and dropped with the partition by retention.

use crate::error::StoreError;
use std::collections::HashMap;

/// Spans and on-disk bytes of one service, as [`crate::TraceStore::service_usage`] reports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ServiceUsage {
    pub service: String,
    pub spans: u64,
    pub bytes: u64,
}

/// Prefix of a partition's `meta` keys holding one service's counts.
const KEY_PREFIX: &[u8] = b"svc\0";

/// What one partition stores of one service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceCounts {
    pub spans: u64,
    /// Uncompressed encoded chunk bytes of the service's spans (a trace's chunk is divided
    /// among its services by span count).
    pub encoded_bytes: u64,
}

/// Per-service counts of one partition.
#[derive(Debug, Default)]
pub struct PartitionUsage {
    by_service: HashMap<String, ServiceCounts>,
}

impl PartitionUsage {
    /// Counts persisted in a partition's `meta` tree.
    pub fn load(meta: &sled::Tree) -> Result<PartitionUsage, StoreError> {
        let mut by_service = HashMap::new();
        for item in meta.scan_prefix(KEY_PREFIX) {
            let (k, v) = item?;
            let service = String::from_utf8_lossy(&k[KEY_PREFIX.len()..]).into_owned();
            let counts = decode(&v).ok_or_else(|| {
                StoreError::Corrupt(format!("service usage of {service:?} in meta"))
            })?;
            by_service.insert(service, counts);
        }
        Ok(PartitionUsage { by_service })
    }

    /// Adds one commit's counts and persists the services it touched.
    pub fn add(
        &mut self,
        meta: &sled::Tree,
        commit: &HashMap<&str, ServiceCounts>,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (&service, add) in commit {
            let c = self.by_service.entry(service.to_owned()).or_default();
            c.spans += add.spans;
            c.encoded_bytes += add.encoded_bytes;
            let mut key = KEY_PREFIX.to_vec();
            key.extend_from_slice(service.as_bytes());
            batch.insert(key, encode(c).to_vec());
        }
        meta.apply_batch(batch)?;
        Ok(())
    }

    /// Each service's spans and its share of `disk_bytes`, in proportion to its encoded
    /// chunk bytes.
    pub fn apportion(&self, disk_bytes: u64) -> impl Iterator<Item = ServiceUsage> + '_ {
        let total: u128 = self
            .by_service
            .values()
            .map(|c| u128::from(c.encoded_bytes))
            .sum();
        self.by_service
            .iter()
            .map(move |(service, c)| ServiceUsage {
                service: service.clone(),
                spans: c.spans,
                bytes: (u128::from(disk_bytes) * u128::from(c.encoded_bytes))
                    .checked_div(total)
                    .unwrap_or(0) as u64,
            })
    }
}

/// Adds one trace's spans to a commit's per-service counts: `services` holds the service
/// of each span, `chunk_bytes` the trace's encoded chunk, divided by span count.
pub fn count_trace<'a>(
    commit: &mut HashMap<&'a str, ServiceCounts>,
    services: impl Iterator<Item = &'a str>,
    span_count: usize,
    chunk_bytes: usize,
) {
    let share = chunk_bytes as u64 / span_count.max(1) as u64;
    let mut rest = chunk_bytes as u64 - share * span_count as u64;
    for service in services {
        let c = commit.entry(service).or_default();
        c.spans += 1;
        // The remainder of the division goes to the first spans, so bytes add up exactly.
        let extra = u64::from(rest > 0);
        rest -= extra;
        c.encoded_bytes += share + extra;
    }
}

/// Sums per-service usage over partitions, biggest first (then by name).
pub fn merge(parts: impl Iterator<Item = ServiceUsage>) -> Vec<ServiceUsage> {
    let mut sums: HashMap<String, (u64, u64)> = HashMap::new();
    for u in parts {
        let e = sums.entry(u.service).or_default();
        e.0 += u.spans;
        e.1 += u.bytes;
    }
    let mut out: Vec<ServiceUsage> = sums
        .into_iter()
        .map(|(service, (spans, bytes))| ServiceUsage {
            service,
            spans,
            bytes,
        })
        .collect();
    out.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| a.service.cmp(&b.service))
    });
    out
}

fn encode(c: &ServiceCounts) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&c.spans.to_be_bytes());
    v[8..].copy_from_slice(&c.encoded_bytes.to_be_bytes());
    v
}

fn decode(v: &[u8]) -> Option<ServiceCounts> {
    Some(ServiceCounts {
        spans: u64::from_be_bytes(v.get(..8)?.try_into().ok()?),
        encoded_bytes: u64::from_be_bytes(v.get(8..16)?.try_into().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_persist_apportion_and_merge() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let meta = db.open_tree("meta").unwrap();
        let mut commit = HashMap::new();
        count_trace(&mut commit, ["a", "a", "b"].into_iter(), 3, 301);
        count_trace(&mut commit, ["b"].into_iter(), 1, 99);
        assert_eq!(commit["a"].spans, 2);
        assert_eq!(commit["a"].encoded_bytes + commit["b"].encoded_bytes, 400);
        let mut usage = PartitionUsage::load(&meta).unwrap();
        usage.add(&meta, &commit).unwrap();
        let reloaded = PartitionUsage::load(&meta).unwrap();
        assert_eq!(reloaded.by_service, usage.by_service);
        let merged = merge(reloaded.apportion(1000).chain(usage.apportion(0)));
        let want = |service: &str, spans, bytes| ServiceUsage {
            service: service.into(),
            spans,
            bytes,
        };
        assert_eq!(merged, vec![want("a", 4, 502), want("b", 4, 497)]);
        meta.insert(b"svc\0bad", &[1u8][..]).unwrap();
        assert!(matches!(
            PartitionUsage::load(&meta),
            Err(StoreError::Corrupt(_))
        ));
    }
}
