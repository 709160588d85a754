//! Little helpers to write and read the compact binary encodings (LEB128 varints,
//! zigzag, length-prefixed bytes) with bounds checks on every read.

use crate::error::StoreError;

pub fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, ((v << 1) ^ (v >> 63)) as u64);
}

pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u64(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A cursor over an encoded buffer; every read fails cleanly at the end of input.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos.min(self.buf.len())..]
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn u8(&mut self) -> Result<u8, StoreError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| corrupt("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn u64(&mut self) -> Result<u64, StoreError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }

    pub fn u32(&mut self) -> Result<u32, StoreError> {
        u32::try_from(self.u64()?).map_err(|_| corrupt("value does not fit 32 bits"))
    }

    pub fn i64(&mut self) -> Result<i64, StoreError> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    pub fn len(&mut self) -> Result<usize, StoreError> {
        let n = self.u64()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(corrupt("length beyond end of buffer"));
        }
        Ok(n as usize)
    }

    /// A count of items that each take at least one byte.
    pub fn count(&mut self) -> Result<usize, StoreError> {
        self.len()
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if n > self.buf.len() - self.pos {
            return Err(corrupt("slice beyond end of buffer"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let n = self.len()?;
        self.take(n)
    }

    pub fn f64(&mut self) -> Result<f64, StoreError> {
        let b = self.take(8)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
}

pub fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_truncation() {
        let mut out = Vec::new();
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            put_u64(&mut out, v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            put_i64(&mut out, v);
        }
        put_bytes(&mut out, b"abc");
        let mut r = Reader::new(&out);
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(r.u64().unwrap(), v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert_eq!(r.bytes().unwrap(), b"abc");
        assert!(r.is_empty());
        assert!(r.u8().is_err());
        let mut r = Reader::new(&[5, b'a']);
        assert!(r.bytes().is_err());
    }
}
