//! The head's in-memory chunk: Gorilla compression (delta-of-delta timestamps with
//! Prometheus's bucket sizes, XOR'd float values), appended one sample at a time.

use super::bits::{BitReader, BitWriter};
use pharos_model::Sample;

/// An append-only compressed run of samples with strictly increasing timestamps.
#[derive(Clone, Debug, Default)]
pub struct GorillaChunk {
    w: BitWriter,
    count: u32,
    first_t: i64,
    last_t: i64,
    last_delta: i64,
    last_v: u64,
    leading: u8,
    trailing: u8,
}

impl GorillaChunk {
    pub fn new() -> Self {
        GorillaChunk {
            leading: 0xff,
            ..Default::default()
        }
    }

    pub fn len(&self) -> u32 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.w.capacity()
    }

    pub fn shrink(&mut self) {
        self.w.shrink_to_fit();
    }

    /// Appends a sample; the caller guarantees `t > last_t()` unless the chunk is empty.
    pub fn push(&mut self, t: i64, v: f64) {
        let vb = v.to_bits();
        match self.count {
            0 => {
                self.w.bits(t as u64, 64);
                self.w.bits(vb, 64);
                self.first_t = t;
            }
            1 => {
                let delta = t.wrapping_sub(self.last_t);
                put_dod(&mut self.w, delta);
                self.last_delta = delta;
                self.put_value(vb);
            }
            _ => {
                let delta = t.wrapping_sub(self.last_t);
                put_dod(&mut self.w, delta.wrapping_sub(self.last_delta));
                self.last_delta = delta;
                self.put_value(vb);
            }
        }
        self.last_t = t;
        self.last_v = vb;
        self.count += 1;
    }

    fn put_value(&mut self, vb: u64) {
        let x = vb ^ self.last_v;
        if x == 0 {
            self.w.bit(false);
            return;
        }
        self.w.bit(true);
        let lead = (x.leading_zeros() as u8).min(31);
        let trail = x.trailing_zeros() as u8;
        if self.leading != 0xff && lead >= self.leading && trail >= self.trailing {
            self.w.bit(false);
            self.w
                .bits(x >> self.trailing, 64 - self.leading - self.trailing);
        } else {
            self.leading = lead;
            self.trailing = trail;
            let sig = 64 - lead - trail;
            self.w.bit(true);
            self.w.bits(u64::from(lead), 5);
            // 64 significant bits are written as 0 (6 bits cannot hold 64).
            self.w.bits(u64::from(sig) & 0x3f, 6);
            self.w.bits(x >> trail, sig);
        }
    }

    /// Decodes every sample.
    pub fn samples(&self) -> Vec<Sample> {
        let mut out = Vec::with_capacity(self.count as usize);
        decode_into(self.w.as_bytes(), self.count, &mut out);
        out
    }

    /// Decodes the samples with `start <= t <= end`, stopping past `end`.
    pub fn samples_in(&self, start: i64, end: i64, out: &mut Vec<Sample>) {
        if self.count == 0 || self.last_t < start || self.first_t > end {
            return;
        }
        let mut all = Vec::with_capacity(self.count as usize);
        decode_into(self.w.as_bytes(), self.count, &mut all);
        out.extend(all.into_iter().filter(|s| s.t >= start && s.t <= end));
    }
}

fn put_dod(w: &mut BitWriter, dod: i64) {
    match dod {
        0 => w.bit(false),
        -8191..=8192 => {
            w.bits(0b10, 2);
            w.bits(dod as u64, 14);
        }
        -65535..=65536 => {
            w.bits(0b110, 3);
            w.bits(dod as u64, 17);
        }
        -524_287..=524_288 => {
            w.bits(0b1110, 4);
            w.bits(dod as u64, 20);
        }
        _ => {
            w.bits(0b1111, 4);
            w.bits(dod as u64, 64);
        }
    }
}

fn sign_extend(v: u64, bits: u8) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn read_dod(r: &mut BitReader) -> Option<i64> {
    if !r.bit()? {
        return Some(0);
    }
    if !r.bit()? {
        return Some(sign_extend(r.bits(14)?, 14));
    }
    if !r.bit()? {
        return Some(sign_extend(r.bits(17)?, 17));
    }
    if !r.bit()? {
        return Some(sign_extend(r.bits(20)?, 20));
    }
    Some(r.bits(64)? as i64)
}

fn decode_into(bytes: &[u8], count: u32, out: &mut Vec<Sample>) {
    let mut r = BitReader::new(bytes);
    let (mut t, mut vb, mut delta) = (0i64, 0u64, 0i64);
    let (mut leading, mut trailing) = (0u8, 0u8);
    for i in 0..count {
        let ok = (|| -> Option<()> {
            if i == 0 {
                t = r.bits(64)? as i64;
                vb = r.bits(64)?;
                return Some(());
            }
            if i == 1 {
                delta = read_dod(&mut r)?;
            } else {
                delta = delta.wrapping_add(read_dod(&mut r)?);
            }
            t = t.wrapping_add(delta);
            if r.bit()? {
                if r.bit()? {
                    leading = r.bits(5)? as u8;
                    let mut sig = r.bits(6)? as u8;
                    if sig == 0 {
                        sig = 64;
                    }
                    trailing = 64 - leading - sig;
                }
                let sig = 64 - leading - trailing;
                vb ^= r.bits(sig)? << trailing;
            }
            Some(())
        })();
        if ok.is_none() {
            // Only reachable on corrupted memory; the chunk is written by this module.
            return;
        }
        out.push(Sample {
            t,
            v: f64::from_bits(vb),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_irregular_series() {
        let mut c = GorillaChunk::new();
        let mut expect = Vec::new();
        let mut t = 1_700_000_000_000i64;
        let values = [
            0.0,
            1.5,
            1.5,
            f64::NAN,
            -3.25e10,
            f64::INFINITY,
            1e-300,
            42.0,
            42.0,
            -0.0,
        ];
        for (i, v) in values.iter().cycle().take(500).enumerate() {
            t += 15_000 + (i as i64 % 7) * 13 - if i % 50 == 0 { 14_000 } else { 0 }
                + if i == 300 { 10_000_000_000 } else { 0 };
            c.push(t, *v);
            expect.push((t, v.to_bits()));
        }
        let got: Vec<_> = c.samples().iter().map(|s| (s.t, s.v.to_bits())).collect();
        assert_eq!(got, expect);
        let mut part = Vec::new();
        c.samples_in(expect[10].0, expect[20].0, &mut part);
        assert_eq!(part.len(), 11);
    }
}
