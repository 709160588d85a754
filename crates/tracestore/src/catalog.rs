//! The catalog: services with their operations (and span kinds), attribute names and a
//! bounded sample of their values, kept in memory for instant listing and persisted per
//! partition (`catalog` tree) so it is rebuilt on start and shrinks with retention.
//!
//! Entries: `o` service 0 kind 0 operation; `t` scope name; `v` scope name 0 value,
//! where scope is `r` (resource attribute) or `s` (span attribute).

use std::collections::{BTreeMap, BTreeSet};

/// Where an attribute lives, as Tempo's tag scopes name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TagScope {
    Resource,
    Span,
}

impl TagScope {
    fn byte(self) -> u8 {
        match self {
            TagScope::Resource => b'r',
            TagScope::Span => b's',
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            b'r' => Some(TagScope::Resource),
            b's' => Some(TagScope::Span),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TagScope::Resource => "resource",
            TagScope::Span => "span",
        }
    }
}

/// Most values kept per attribute name.
pub const MAX_VALUES_PER_TAG: u32 = 32;
/// Longest value kept in the catalog.
pub const MAX_VALUE_LEN: usize = 128;

#[cfg(test)]
pub fn operation_entry(service: &str, kind: i32, operation: &str) -> Vec<u8> {
    let mut k = Vec::new();
    operation_entry_into(&mut k, service, kind, operation);
    k
}

pub fn operation_entry_into(k: &mut Vec<u8>, service: &str, kind: i32, operation: &str) {
    k.clear();
    k.push(b'o');
    k.extend_from_slice(service.as_bytes());
    k.push(0);
    k.extend_from_slice(kind.to_string().as_bytes());
    k.push(0);
    k.extend_from_slice(operation.as_bytes());
}

#[cfg(test)]
pub fn tag_entry(scope: TagScope, name: &str) -> Vec<u8> {
    let mut k = Vec::new();
    tag_entry_into(&mut k, scope, name);
    k
}

pub fn tag_entry_into(k: &mut Vec<u8>, scope: TagScope, name: &str) {
    k.clear();
    k.push(b't');
    k.push(scope.byte());
    k.extend_from_slice(name.as_bytes());
}

#[cfg(test)]
pub fn value_entry(scope: TagScope, name: &str, value: &str) -> Vec<u8> {
    let mut k = Vec::new();
    value_entry_into(&mut k, scope, name, value);
    k
}

pub fn value_entry_into(k: &mut Vec<u8>, scope: TagScope, name: &str, value: &str) {
    k.clear();
    k.push(b'v');
    k.push(scope.byte());
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(value.as_bytes());
}

/// For a value entry, the bytes that name its tag (scope and name), to count values per tag.
pub fn value_entry_tag(entry: &[u8]) -> Option<&[u8]> {
    if entry.first() != Some(&b'v') {
        return None;
    }
    let sep = entry.iter().skip(2).position(|&b| b == 0)? + 2;
    Some(&entry[1..sep])
}

#[derive(Default, Debug)]
pub struct Catalog {
    services: BTreeMap<String, BTreeSet<(String, i32)>>,
    tags: BTreeMap<(TagScope, String), BTreeSet<String>>,
}

impl Catalog {
    /// Adds a persisted or new entry; unknown entries are ignored.
    pub fn add(&mut self, entry: &[u8]) {
        let Some((&kind, rest)) = entry.split_first() else {
            return;
        };
        let text = String::from_utf8_lossy(rest);
        match kind {
            b'o' => {
                let mut parts = text.splitn(3, '\0');
                let (Some(svc), Some(k), Some(op)) = (parts.next(), parts.next(), parts.next())
                else {
                    return;
                };
                let k = k.parse().unwrap_or(0);
                self.services
                    .entry(svc.to_owned())
                    .or_default()
                    .insert((op.to_owned(), k));
            }
            b't' | b'v' => {
                let Some(scope) = rest.first().copied().and_then(TagScope::from_byte) else {
                    return;
                };
                let body = String::from_utf8_lossy(&rest[1..]);
                if kind == b't' {
                    self.tags.entry((scope, body.into_owned())).or_default();
                } else if let Some((name, value)) = body.split_once('\0') {
                    self.tags
                        .entry((scope, name.to_owned()))
                        .or_default()
                        .insert(value.to_owned());
                }
            }
            _ => {}
        }
    }

    pub fn services(&self) -> Vec<String> {
        self.services.keys().cloned().collect()
    }

    /// Operations of `service` with their span kinds (OTLP enum values), optionally of one kind.
    pub fn operations(&self, service: &str, kind: Option<i32>) -> Vec<(String, i32)> {
        self.services
            .get(service)
            .map(|ops| {
                ops.iter()
                    .filter(|(_, k)| kind.is_none_or(|want| want == *k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn tag_names(&self, scope: Option<TagScope>) -> Vec<(TagScope, String)> {
        self.tags
            .keys()
            .filter(|(s, _)| scope.is_none_or(|want| want == *s))
            .cloned()
            .collect()
    }

    pub fn tag_values(&self, scope: Option<TagScope>, name: &str) -> Vec<String> {
        let mut out = BTreeSet::new();
        for ((s, n), values) in &self.tags {
            if n == name && scope.is_none_or(|want| want == *s) {
                out.extend(values.iter().cloned());
            }
        }
        out.into_iter().collect()
    }

    pub fn tag_count(&self) -> usize {
        self.tags.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_into_lists() {
        let mut c = Catalog::default();
        c.add(&operation_entry("cart", 2, "GET /cart"));
        c.add(&operation_entry("cart", 3, "SELECT"));
        c.add(&tag_entry(TagScope::Span, "http.route"));
        c.add(&value_entry(
            TagScope::Resource,
            "k8s.namespace.name",
            "prod",
        ));
        assert_eq!(c.services(), vec!["cart"]);
        assert_eq!(
            c.operations("cart", Some(2)),
            vec![("GET /cart".to_string(), 2)]
        );
        assert_eq!(c.operations("cart", None).len(), 2);
        assert_eq!(c.tag_values(None, "k8s.namespace.name"), vec!["prod"]);
        assert_eq!(
            c.tag_names(Some(TagScope::Span)),
            vec![(TagScope::Span, "http.route".to_string())]
        );
        let v = value_entry(TagScope::Span, "a", "b");
        assert_eq!(value_entry_tag(&v), Some(&b"sa"[..]));
    }
}
