//! A series' identity: its sorted label pairs encoded to bytes, and the 128-bit hash of them.

use crate::codec::varint::{put_uvarint, Reader};
use pharos_model::{Label, Labels, SharedStr};

/// Encodes sorted label pairs as varint-length-prefixed name and value strings.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, out: &mut Vec<u8>) {
    for (n, v) in pairs {
        put_uvarint(out, n.len() as u64);
        out.extend_from_slice(n.as_bytes());
        put_uvarint(out, v.len() as u64);
        out.extend_from_slice(v.as_bytes());
    }
}

#[cfg(test)]
pub fn encode_labels(labels: &Labels) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.len() * 16);
    encode_pairs(
        labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
        &mut out,
    );
    out
}

/// Decodes what [`encode_pairs`] wrote; `None` if the bytes are not such an encoding.
pub fn decode_labels(buf: &[u8]) -> Option<Labels> {
    decode_labels_with(buf, |s: &str| SharedStr::from(s))
}

/// [`decode_labels`], making each name and value with `string` (e.g. an interner's).
pub fn decode_labels_with(buf: &[u8], mut string: impl FnMut(&str) -> SharedStr) -> Option<Labels> {
    let mut r = Reader::new(buf);
    let mut labels = Vec::new();
    while !r.is_empty() {
        let name = string(std::str::from_utf8(r.len_prefixed()?).ok()?);
        let value = string(std::str::from_utf8(r.len_prefixed()?).ok()?);
        labels.push(Label { name, value });
    }
    if !labels.windows(2).all(|w| w[0].name < w[1].name) {
        return None;
    }
    Some(Labels::from_sorted(labels))
}

/// The series hash used to find a series id from its label bytes.
pub fn hash(encoded: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a\u{e9}")]);
        let enc = encode_labels(&l);
        assert_eq!(decode_labels(&enc), Some(l));
        assert_eq!(decode_labels(&[5, b'a']), None);
    }
}
