//! LEB128 varints and zigzag for signed integers.

/// Appends `v` as an unsigned LEB128 varint.
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded as a varint.
pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, zigzag(v));
}

pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A cursor over a byte slice that reads varints and fixed-width values; every read is
/// bounds-checked and returns `None` on truncated or overlong input.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn uvarint(&mut self) -> Option<u64> {
        // Fast path: most deltas of regular series fit in one byte.
        let first = *self.buf.get(self.pos)?;
        if first < 0x80 {
            self.pos += 1;
            return Some(u64::from(first));
        }
        self.uvarint_multi_byte()
    }

    fn uvarint_multi_byte(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    pub fn varint(&mut self) -> Option<i64> {
        self.uvarint().map(unzigzag)
    }

    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub fn u64_le(&mut self) -> Option<u64> {
        let s = self.bytes(8)?;
        Some(u64::from_le_bytes(s.try_into().ok()?))
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// A varint length followed by that many bytes.
    pub fn len_prefixed(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.uvarint()?).ok()?;
        self.bytes(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_extremes() {
        let values = [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX];
        let mut buf = Vec::new();
        for v in values {
            put_varint(&mut buf, v);
        }
        put_uvarint(&mut buf, u64::MAX);
        let mut r = Reader::new(&buf);
        for v in values {
            assert_eq!(r.varint(), Some(v));
        }
        assert_eq!(r.uvarint(), Some(u64::MAX));
        assert!(r.is_empty());
        assert_eq!(r.uvarint(), None);
    }

    #[test]
    fn truncated_and_overlong_input_is_none() {
        assert_eq!(Reader::new(&[0x80]).uvarint(), None);
        assert_eq!(Reader::new(&[0xff; 11]).uvarint(), None);
        assert_eq!(Reader::new(&[1, 2]).bytes(3), None);
    }
}
