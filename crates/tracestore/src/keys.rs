//! Key layouts of a partition, all big-endian so byte order is time order.
//!
//! - `blocks` (sled tree):  block sequence (8)  →  block start ns (8) · place of the
//!   block in the value log · place of its postings directory
//! - trace keys (sorted runs, [`crate::sorted_keys`]): trace id (16) · block sequence (4)
//!   →  position of the trace's chunk in the block (varint); one trace is one
//!   contiguous key range
//! - index keys (sorted runs): term kind (1) · term length (2) · term · block start ns
//!   (8) · block sequence (8)  →  place in the value log of that block's postings:
//!   (position, start µs delta, longest span duration µs) per trace, so time and
//!   duration filters need no span data
//! - postings directory (value log, one per block): every index key of the block with
//!   its postings' place, so index keys not yet in a run are rebuilt after a crash
//! - `catalog`: catalog entry (services/operations, tag names and values)  →  empty
//! - `deps`:    hour (4) · parent service · 0 · child service  →  call count (8)

/// Term kinds of the secondary index; every term is scoped by service (as Jaeger's badger).
pub const TERM_SERVICE: u8 = b's';
pub const TERM_OPERATION: u8 = b'o';
pub const TERM_ATTRIBUTE: u8 = b'a';

/// The key of a trace's chunk in block `block` (block sequences fit 32 bits: a partition
/// holds far fewer than 4 billion blocks, and the writer refuses more).
pub fn trace_key(trace_id: &[u8; 16], block: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(20);
    k.extend_from_slice(trace_id);
    k.extend_from_slice(&block.to_be_bytes());
    k
}

/// The block sequence encoded in a trace key.
pub fn trace_key_block(key: &[u8]) -> Option<u64> {
    Some(u32::from_be_bytes(key.get(16..20)?.try_into().ok()?).into())
}

/// A block's postings directory: the term prefix and value-log place of each postings
/// record of the block.
pub fn encode_postings_dir(entries: &[(&[u8], (u64, u32))]) -> Vec<u8> {
    use crate::varint::{put_bytes, put_u64};
    let mut v = Vec::with_capacity(entries.len() * 40);
    put_u64(&mut v, entries.len() as u64);
    for (prefix, (offset, len)) in entries {
        put_bytes(&mut v, prefix);
        put_u64(&mut v, *offset);
        put_u64(&mut v, u64::from(*len));
    }
    v
}

/// A directory written by [`encode_postings_dir`].
pub fn decode_postings_dir(v: &[u8]) -> Result<Vec<(Vec<u8>, u64, u32)>, crate::error::StoreError> {
    let mut r = crate::varint::Reader::new(v);
    let n = r.count()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push((r.bytes()?.to_vec(), r.u64()?, r.u32()?));
    }
    Ok(out)
}

/// [`term_prefix`] into a reused buffer.
pub fn term_prefix_into(k: &mut Vec<u8>, kind: u8, parts: &[&str]) {
    k.clear();
    k.push(kind);
    k.extend_from_slice(&[0, 0]);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p.as_bytes());
    }
    let len = (k.len() - 3).min(u16::MAX as usize);
    k.truncate(3 + len);
    k[1..3].copy_from_slice(&(len as u16).to_be_bytes());
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

pub fn index_key(prefix: &[u8], start_ns: u64, block: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 16);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&start_ns.to_be_bytes());
    k.extend_from_slice(&block.to_be_bytes());
    k
}

/// Block start time and block sequence at the end of an index key.
pub fn index_key_tail(key: &[u8]) -> Option<(u64, u64)> {
    let n = key.len();
    if n < 16 {
        return None;
    }
    let start = u64::from_be_bytes(key[n - 16..n - 8].try_into().ok()?);
    let block = u64::from_be_bytes(key[n - 8..].try_into().ok()?);
    Some((start, block))
}

/// Whether postings of a term kind carry span durations (the first term of every search
/// is a service or operation term, and only it filters by duration).
fn postings_have_durations(kind: u8) -> bool {
    kind == TERM_SERVICE || kind == TERM_OPERATION
}

/// Postings of one term in one block: positions as deltas, starts as µs zigzag deltas
/// from the previous one, and (service and operation terms) the longest duration in µs.
pub fn encode_postings(kind: u8, block_start: u64, list: &[(usize, u64, u64)]) -> Vec<u8> {
    use crate::varint::{put_i64, put_u64};
    let mut v = Vec::with_capacity(1 + list.len() * 4);
    put_u64(&mut v, list.len() as u64);
    let (mut prev_pos, mut prev_us) = (0u64, 0i64);
    for &(position, start, dur_us) in list {
        put_u64(&mut v, (position as u64).wrapping_sub(prev_pos));
        let us = (start.saturating_sub(block_start) / 1000) as i64;
        put_i64(&mut v, us.wrapping_sub(prev_us));
        if postings_have_durations(kind) {
            put_u64(&mut v, dur_us);
        }
        prev_pos = position as u64;
        prev_us = us;
    }
    v
}

/// Postings written by [`encode_postings`]: `(position, start ns, longest duration µs)`,
/// the duration `u64::MAX` where the term kind does not keep it.
pub fn decode_postings(
    kind: u8,
    block_start: u64,
    v: &[u8],
) -> Result<Vec<(u32, u64, u64)>, crate::error::StoreError> {
    let mut r = crate::varint::Reader::new(v);
    let n = r.count()?;
    let mut out = Vec::with_capacity(n);
    let (mut pos, mut us) = (0u64, 0i64);
    for _ in 0..n {
        pos = pos.wrapping_add(r.u64()?);
        us = us.wrapping_add(r.i64()?);
        let dur = if postings_have_durations(kind) {
            r.u64()?
        } else {
            u64::MAX
        };
        out.push((
            pos as u32,
            block_start.wrapping_add((us as u64).wrapping_mul(1000)),
            dur,
        ));
    }
    Ok(out)
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
        let a = index_key(&p, 5, 9);
        let b = index_key(&p, 6, 1);
        assert!(a < b);
        assert_eq!(index_key_tail(&b), Some((6, 1)));
        let other = term_prefix(TERM_OPERATION, &["svc", "GET /x"]);
        assert!(!index_key(&other, 1, 0).starts_with(&p));
        let mut buf = Vec::new();
        term_prefix_into(&mut buf, TERM_OPERATION, &["svc", "GET /"]);
        assert_eq!(buf, p);
        assert_eq!(trace_key_block(&trace_key(&[3; 16], 8)), Some(8));
        let dir = encode_postings_dir(&[(&p[..], (10, 20)), (&other[..], (30, 4))]);
        assert_eq!(
            decode_postings_dir(&dir).unwrap(),
            vec![(p.clone(), 10, 20), (other.clone(), 30, 4)]
        );
        assert!(decode_postings_dir(&dir[..dir.len() - 1]).is_err());
    }

    #[test]
    fn postings_round_trip() {
        let list = [
            (0usize, 5_000_000u64, 7u64),
            (3, 2_000_000, 9),
            (200, 9_999_000, 0),
        ];
        for kind in [TERM_SERVICE, TERM_ATTRIBUTE] {
            let back =
                decode_postings(kind, 1_000_000, &encode_postings(kind, 1_000_000, &list)).unwrap();
            let want_dur = |d: u64| if kind == TERM_SERVICE { d } else { u64::MAX };
            let want: Vec<_> = list
                .iter()
                .map(|&(p, s, d)| (p as u32, s, want_dur(d)))
                .collect();
            assert_eq!(back, want);
        }
        assert!(decode_postings(TERM_SERVICE, 0, &[5, 1]).is_err());
    }

    #[test]
    fn deps_keys_round_trip() {
        let k = deps_key(7, "a", "b");
        assert_eq!(parse_deps_key(&k), Some((7, "a".into(), "b".into())));
    }
}
