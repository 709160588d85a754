//! A partition's dictionaries: interned strings (attribute keys, span names, short
//! attribute values), resources and instrumentation scopes, each stored once per
//! partition and referenced from span chunks by a small integer.
//!
//! References are varints: `id << 1` for a dictionary entry, `(len << 1) | 1` followed
//! by the bytes for an inline value (too long, too many distinct values, or the
//! dictionary is full), so the dictionaries stay bounded whatever the input.

use crate::error::StoreError;
use crate::varint::{corrupt, put_u64, Reader};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;

/// Strings longer than this are never interned.
const MAX_INTERNED_LEN: usize = 256;
/// Distinct interned values per attribute key; values of keys beyond are stored inline.
const MAX_VALUES_PER_KEY: u32 = 256;

const STRING_TAG: u8 = b's';
const RESOURCE_TAG: u8 = b'r';
const SCOPE_TAG: u8 = b'c';

#[derive(Default)]
pub struct Dict {
    strings: Vec<Arc<str>>,
    string_ids: HashMap<Arc<str>, u32>,
    values_per_key: HashMap<u32, u32>,
    resources: Vec<Arc<Resource>>,
    resource_ids: HashMap<Vec<u8>, u32>,
    scopes: Vec<Arc<InstrumentationScope>>,
    scope_ids: HashMap<Vec<u8>, u32>,
    max_entries: usize,
    /// New entries not yet written to the partition's `dict` tree.
    pending: Vec<(Vec<u8>, Vec<u8>)>,
}

fn entry_key(tag: u8, id: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(5);
    k.push(tag);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

impl Dict {
    /// Loads the dictionary from a partition's `dict` tree.
    pub fn load(tree: &sled::Tree, max_entries: usize) -> Result<Dict, StoreError> {
        let mut d = Dict {
            max_entries,
            ..Dict::default()
        };
        for item in tree.iter() {
            let (k, v) = item?;
            if k.len() != 5 {
                return Err(corrupt("dictionary key"));
            }
            let id = u32::from_be_bytes(k[1..5].try_into().expect("4 bytes")) as usize;
            match k[0] {
                STRING_TAG if id == d.strings.len() => {
                    let s: Arc<str> = Arc::from(
                        std::str::from_utf8(&v).map_err(|_| corrupt("dictionary string"))?,
                    );
                    d.string_ids.insert(s.clone(), id as u32);
                    d.strings.push(s);
                }
                RESOURCE_TAG if id == d.resources.len() => {
                    let r = Resource::decode(&v[..]).map_err(|_| corrupt("dictionary resource"))?;
                    d.resource_ids.insert(v.to_vec(), id as u32);
                    d.resources.push(Arc::new(r));
                }
                SCOPE_TAG if id == d.scopes.len() => {
                    let s = InstrumentationScope::decode(&v[..])
                        .map_err(|_| corrupt("dictionary scope"))?;
                    d.scope_ids.insert(v.to_vec(), id as u32);
                    d.scopes.push(Arc::new(s));
                }
                _ => return Err(corrupt("dictionary entries out of order")),
            }
        }
        Ok(d)
    }

    pub fn len(&self) -> usize {
        self.strings.len() + self.resources.len() + self.scopes.len()
    }

    fn full(&self) -> bool {
        self.len() >= self.max_entries
    }

    pub fn take_pending(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        std::mem::take(&mut self.pending)
    }

    /// The id of `s`, interning it if it is short and there is room.
    fn intern(&mut self, s: &str) -> Option<u32> {
        if let Some(&id) = self.string_ids.get(s) {
            return Some(id);
        }
        if s.len() > MAX_INTERNED_LEN || self.full() {
            return None;
        }
        let id = self.strings.len() as u32;
        let s: Arc<str> = Arc::from(s);
        self.pending
            .push((entry_key(STRING_TAG, id), s.as_bytes().to_vec()));
        self.string_ids.insert(s.clone(), id);
        self.strings.push(s);
        Some(id)
    }

    /// Writes a string that repeats a lot (keys, names, services).
    pub fn put_common(&mut self, out: &mut Vec<u8>, s: &str) {
        match self.intern(s) {
            Some(id) => put_u64(out, u64::from(id) << 1),
            None => put_inline(out, s.as_bytes()),
        }
    }

    /// Writes an attribute's string value: interned while its key has few distinct values.
    pub fn put_value(&mut self, out: &mut Vec<u8>, key: &str, s: &str) {
        if let Some(&id) = self.string_ids.get(s) {
            put_u64(out, u64::from(id) << 1);
            return;
        }
        let key_id = self.string_ids.get(key).copied();
        let allowed =
            key_id.map(|k| self.values_per_key.get(&k).copied().unwrap_or(0) < MAX_VALUES_PER_KEY);
        if allowed == Some(true) {
            if let Some(id) = self.intern(s) {
                *self
                    .values_per_key
                    .entry(key_id.expect("checked"))
                    .or_default() += 1;
                put_u64(out, u64::from(id) << 1);
                return;
            }
        }
        put_inline(out, s.as_bytes());
    }

    pub fn put_resource(&mut self, out: &mut Vec<u8>, r: &Resource) {
        let bytes = r.encode_to_vec();
        if let Some(&id) = self.resource_ids.get(&bytes) {
            put_u64(out, u64::from(id) << 1);
        } else if self.full() {
            put_inline(out, &bytes);
        } else {
            let id = self.resources.len() as u32;
            self.pending
                .push((entry_key(RESOURCE_TAG, id), bytes.clone()));
            self.resources.push(Arc::new(r.clone()));
            self.resource_ids.insert(bytes, id);
            put_u64(out, u64::from(id) << 1);
        }
    }

    pub fn put_scope(&mut self, out: &mut Vec<u8>, s: &InstrumentationScope) {
        let bytes = s.encode_to_vec();
        if let Some(&id) = self.scope_ids.get(&bytes) {
            put_u64(out, u64::from(id) << 1);
        } else if self.full() {
            put_inline(out, &bytes);
        } else {
            let id = self.scopes.len() as u32;
            self.pending.push((entry_key(SCOPE_TAG, id), bytes.clone()));
            self.scopes.push(Arc::new(s.clone()));
            self.scope_ids.insert(bytes, id);
            put_u64(out, u64::from(id) << 1);
        }
    }

    pub fn get_str(&self, r: &mut Reader<'_>) -> Result<String, StoreError> {
        let v = r.u64()?;
        if v & 1 == 1 {
            let b = r.take((v >> 1) as usize)?;
            return String::from_utf8(b.to_vec()).map_err(|_| corrupt("inline string"));
        }
        self.strings
            .get((v >> 1) as usize)
            .map(|s| s.to_string())
            .ok_or_else(|| corrupt("unknown string id"))
    }

    pub fn get_resource(&self, r: &mut Reader<'_>) -> Result<Arc<Resource>, StoreError> {
        let v = r.u64()?;
        if v & 1 == 1 {
            let b = r.take((v >> 1) as usize)?;
            return Resource::decode(b)
                .map(Arc::new)
                .map_err(|_| corrupt("inline resource"));
        }
        self.resources
            .get((v >> 1) as usize)
            .cloned()
            .ok_or_else(|| corrupt("unknown resource id"))
    }

    pub fn get_scope(&self, r: &mut Reader<'_>) -> Result<Arc<InstrumentationScope>, StoreError> {
        let v = r.u64()?;
        if v & 1 == 1 {
            let b = r.take((v >> 1) as usize)?;
            return InstrumentationScope::decode(b)
                .map(Arc::new)
                .map_err(|_| corrupt("inline scope"));
        }
        self.scopes
            .get((v >> 1) as usize)
            .cloned()
            .ok_or_else(|| corrupt("unknown scope id"))
    }
}

fn put_inline(out: &mut Vec<u8>, b: &[u8]) {
    put_u64(out, ((b.len() as u64) << 1) | 1);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_until_full_then_inlines() {
        let mut d = Dict {
            max_entries: 2,
            ..Dict::default()
        };
        let mut out = Vec::new();
        d.put_common(&mut out, "a");
        d.put_common(&mut out, "b");
        d.put_common(&mut out, "c");
        d.put_common(&mut out, "a");
        assert_eq!(d.len(), 2);
        assert_eq!(d.take_pending().len(), 2);
        let mut r = Reader::new(&out);
        for want in ["a", "b", "c", "a"] {
            assert_eq!(d.get_str(&mut r).unwrap(), want);
        }
    }

    #[test]
    fn caps_values_per_key() {
        let mut d = Dict {
            max_entries: 10_000,
            ..Dict::default()
        };
        let mut out = Vec::new();
        d.put_common(&mut out, "user.id");
        for i in 0..1000 {
            d.put_value(&mut out, "user.id", &format!("u{i}"));
        }
        assert_eq!(d.len(), 1 + MAX_VALUES_PER_KEY as usize);
    }

    #[test]
    fn persists_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let tree = db.open_tree("dict").unwrap();
        let mut d = Dict {
            max_entries: 100,
            ..Dict::default()
        };
        let mut out = Vec::new();
        d.put_common(&mut out, "service.name");
        let res = Resource {
            attributes: vec![],
            dropped_attributes_count: 3,
            entity_refs: vec![],
        };
        d.put_resource(&mut out, &res);
        for (k, v) in d.take_pending() {
            tree.insert(k, v).unwrap();
        }
        let back = Dict::load(&tree, 100).unwrap();
        let mut r = Reader::new(&out);
        assert_eq!(back.get_str(&mut r).unwrap(), "service.name");
        assert_eq!(*back.get_resource(&mut r).unwrap(), res);
    }
}
