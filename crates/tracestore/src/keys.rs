//! Key layouts of a partition's trees, all big-endian so byte order is time order.
//!
//! - `spans`:   trace id (16) · chunk start ns (8) · first span id (8)  →  span chunk
//! - `index`:   term kind (1) · term length (2) · term · start ns (8) · trace id (16)
//!   →  longest span duration in µs (varint), so duration filters need no span data
//! - `catalog`: catalog entry (services/operations, tag names and values)  →  empty
//! - `deps`:    hour (4) · parent service · 0 · child service  →  call count (8)

/// Term kinds of the secondary index; every term is scoped by service (as Jaeger's badger).
pub const TERM_SERVICE: u8 = b's';
pub const TERM_OPERATION: u8 = b'o';
pub const TERM_ATTRIBUTE: u8 = b'a';

pub fn span_key(trace_id: &[u8; 16], start_ns: u64, span_id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(32);
    k.extend_from_slice(trace_id);
    k.extend_from_slice(&start_ns.to_be_bytes());
    k.extend_from_slice(span_id);
    k
}

/// The start time encoded in a span key.
pub fn span_key_start(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(16..24)?.try_into().ok()?))
}

/// The prefix shared by every index key of one term.
pub fn term_prefix(kind: u8, parts: &[&str]) -> Vec<u8> {
    let mut term = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            term.push(0);
        }
        term.extend_from_slice(p.as_bytes());
    }
    let len = term.len().min(u16::MAX as usize);
    let mut k = Vec::with_capacity(3 + len + 24);
    k.push(kind);
    k.extend_from_slice(&(len as u16).to_be_bytes());
    k.extend_from_slice(&term[..len]);
    k
}

pub fn index_key(prefix: &[u8], start_ns: u64, trace_id: &[u8; 16]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 24);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&start_ns.to_be_bytes());
    k.extend_from_slice(trace_id);
    k
}

/// Start time and trace id at the end of an index key.
pub fn index_key_tail(key: &[u8]) -> Option<(u64, [u8; 16])> {
    let n = key.len();
    if n < 24 {
        return None;
    }
    let start = u64::from_be_bytes(key[n - 24..n - 16].try_into().ok()?);
    let trace: [u8; 16] = key[n - 16..].try_into().ok()?;
    Some((start, trace))
}

pub fn deps_key(hour: u32, parent: &str, child: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(6 + parent.len() + child.len());
    k.extend_from_slice(&hour.to_be_bytes());
    k.extend_from_slice(parent.as_bytes());
    k.push(0);
    k.extend_from_slice(child.as_bytes());
    k
}

pub fn parse_deps_key(key: &[u8]) -> Option<(u32, String, String)> {
    let hour = u32::from_be_bytes(key.get(..4)?.try_into().ok()?);
    let rest = &key[4..];
    let sep = rest.iter().position(|&b| b == 0)?;
    let parent = String::from_utf8(rest[..sep].to_vec()).ok()?;
    let child = String::from_utf8(rest[sep + 1..].to_vec()).ok()?;
    Some((hour, parent, child))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_sort_by_time_within_a_term() {
        let p = term_prefix(TERM_OPERATION, &["svc", "GET /"]);
        let a = index_key(&p, 5, &[9; 16]);
        let b = index_key(&p, 6, &[1; 16]);
        assert!(a < b);
        assert_eq!(index_key_tail(&b), Some((6, [1; 16])));
        let other = term_prefix(TERM_OPERATION, &["svc", "GET /x"]);
        assert!(!index_key(&other, 1, &[0; 16]).starts_with(&p));
    }

    #[test]
    fn deps_keys_round_trip() {
        let k = deps_key(7, "a", "b");
        assert_eq!(parse_deps_key(&k), Some((7, "a".into(), "b".into())));
    }
}
