//! A bloom filter over key prefixes (the trace id of a trace key), stored in a sorted
//! run's footer so a trace-by-id lookup skips the runs that cannot hold the trace, as
//! LSM tables (LevelDB, badger) keep one filter per table. About 10 bits per key, 7
//! probes: ~1 % false positives.

use crate::error::StoreError;
use crate::varint::{corrupt, put_u64, Reader};

const BITS_PER_KEY: u64 = 10;
const PROBES: u32 = 7;
/// Largest filter accepted when decoding (guards against corrupt data).
const MAX_BITS: u64 = 1 << 34;

pub struct Bloom {
    bits: Vec<u64>,
    nbits: u64,
}

/// A 64-bit hash of `bytes` (splitmix64 finalizer over 8-byte words; trace ids are
/// random already, this keeps made-up ids spread too).
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64 ^ bytes.len() as u64;
    for word in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..word.len()].copy_from_slice(word);
        h = mix(h ^ u64::from_le_bytes(w));
    }
    h
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The bits probed for hash `h` in a filter of `nbits` (double hashing: h1 + i·h2).
fn probes(h: u64, nbits: u64) -> impl Iterator<Item = u64> {
    let (h1, h2) = (h, mix(h) | 1);
    (0..PROBES).map(move |i| h1.wrapping_add(u64::from(i).wrapping_mul(h2)) % nbits)
}

impl Bloom {
    /// A filter holding every hash of `hashes`.
    pub fn build(hashes: &[u64]) -> Bloom {
        let nbits = (hashes.len() as u64 * BITS_PER_KEY).max(64);
        let mut bloom = Bloom {
            bits: vec![0; nbits.div_ceil(64) as usize],
            nbits,
        };
        for &h in hashes {
            for bit in probes(h, nbits) {
                bloom.bits[(bit / 64) as usize] |= 1 << (bit % 64);
            }
        }
        bloom
    }

    /// False when no key with hash `h` was added.
    pub fn may_contain(&self, h: u64) -> bool {
        probes(h, self.nbits).all(|bit| self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.nbits);
        for w in &self.bits {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Bloom, StoreError> {
        let nbits = r.u64()?;
        if !(64..=MAX_BITS).contains(&nbits) {
            return Err(corrupt("bloom filter size"));
        }
        let words = nbits.div_ceil(64) as usize;
        let raw = r.take(words * 8)?;
        let bits = raw
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
            .collect();
        Ok(Bloom { bits, nbits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_and_strangers_mostly_not() {
        let keys: Vec<u64> = (0u64..10_000).map(|i| hash(&i.to_be_bytes())).collect();
        let bloom = Bloom::build(&keys);
        assert!(keys.iter().all(|&h| bloom.may_contain(h)));
        let false_positives = (10_000u64..20_000)
            .filter(|i| bloom.may_contain(hash(&i.to_be_bytes())))
            .count();
        assert!(false_positives < 300, "{false_positives}");
        let mut buf = Vec::new();
        bloom.encode(&mut buf);
        let back = Bloom::decode(&mut Reader::new(&buf)).unwrap();
        assert!(keys.iter().all(|&h| back.may_contain(h)));
        assert!(Bloom::decode(&mut Reader::new(&buf[..buf.len() - 1])).is_err());
        assert!(Bloom::decode(&mut Reader::new(&[1])).is_err());
    }
}
