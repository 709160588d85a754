//! A cheap hasher for the head's maps, whose keys are series ids (small integers, mixed
//! here by a multiplication) or 128-bit xxh3 hashes (already uniform). SipHash, the std
//! default, costs more than the rest of a map lookup for such keys.

use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        // murmur3's finaliser: every output bit depends on every input bit. (A bare
        // multiplication keeps the low bits of ids that share their low bits — as the ids
        // of one head shard do — in a few buckets.)
        let mut x = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^= x >> 33;
        self.0 = x;
    }

    fn write_u128(&mut self, v: u128) {
        // xxh3 output: the low half is already uniformly distributed.
        self.0 ^= v as u64;
    }
}

pub type FastBuild = BuildHasherDefault<FastHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn ids_of_one_shard_spread_over_low_bits() {
        let b = FastBuild::default();
        // Ids ≡ 7 (mod 32), as in one head shard: the bucket index (low bits) must vary.
        let lows: std::collections::HashSet<u64> = (0u32..1000)
            .map(|i| b.hash_one(i * 32 + 7) & 1023)
            .collect();
        assert!(lows.len() > 500, "{}", lows.len());
    }

    #[test]
    fn sequential_ids_spread_over_high_bits() {
        let b = FastBuild::default();
        let tops: std::collections::HashSet<u64> =
            (0u32..1000).map(|i| b.hash_one(i) >> 57).collect();
        assert!(tops.len() > 100, "{}", tops.len());
    }
}
