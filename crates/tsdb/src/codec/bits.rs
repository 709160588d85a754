//! Bit-level writer and reader (most significant bit first).

#[derive(Clone, Debug, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte (0 = start a new byte).
    free: u8,
}

/// Growth step of the byte buffer. Doubling (Vec's default) leaves a quarter of a head
/// chunk unused on average, over a million series that is tens of MiB.
const GROW: usize = 32;

impl BitWriter {
    pub fn new() -> Self {
        Self::default()
    }

    fn push_byte(&mut self) {
        if self.bytes.len() == self.bytes.capacity() {
            self.bytes.reserve_exact(GROW.max(self.bytes.len() / 8));
        }
        self.bytes.push(0);
    }

    pub fn bit(&mut self, b: bool) {
        if self.free == 0 {
            self.push_byte();
            self.free = 8;
        }
        self.free -= 1;
        if b {
            *self.bytes.last_mut().expect("byte pushed above") |= 1 << self.free;
        }
    }

    /// Writes the low `n` bits of `v` (n ≤ 64).
    pub fn bits(&mut self, v: u64, mut n: u8) {
        debug_assert!(n <= 64);
        while n > 0 {
            if self.free == 0 {
                self.push_byte();
                self.free = 8;
            }
            let take = n.min(self.free);
            let shift = n - take;
            let chunk = ((v >> shift) & ((1u64 << take) - 1)) as u8;
            self.free -= take;
            *self.bytes.last_mut().expect("byte pushed above") |= chunk << self.free;
            n -= take;
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    pub fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
    }
}

pub struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, pos: 0 }
    }

    pub fn bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.pos / 8)?;
        let b = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Some(b)
    }

    pub fn bits(&mut self, n: u8) -> Option<u64> {
        let mut v = 0u64;
        let mut left = n;
        while left > 0 {
            let byte = *self.bytes.get(self.pos / 8)?;
            let offset = (self.pos % 8) as u8;
            let avail = 8 - offset;
            let take = left.min(avail);
            let chunk = (byte >> (avail - take)) & ((1u16 << take) - 1) as u8;
            v = if take == 64 {
                u64::from(chunk)
            } else {
                (v << take) | u64::from(chunk)
            };
            self.pos += take as usize;
            left -= take;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let mut w = BitWriter::new();
        w.bit(true);
        w.bits(0b1011, 4);
        w.bits(u64::MAX, 64);
        w.bits(0, 3);
        w.bits(0x1234_5678, 32);
        let mut r = BitReader::new(w.as_bytes());
        assert_eq!(r.bit(), Some(true));
        assert_eq!(r.bits(4), Some(0b1011));
        assert_eq!(r.bits(64), Some(u64::MAX));
        assert_eq!(r.bits(3), Some(0));
        assert_eq!(r.bits(32), Some(0x1234_5678));
    }
}
