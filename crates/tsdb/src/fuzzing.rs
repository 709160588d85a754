//! Entry points for the fuzz targets in `crates/tsdb/fuzz` (not part of the API).

/// Runs every on-disk decoder over `data`; returns how many accepted it.
pub fn decode_all(data: &[u8]) -> usize {
    let mut ok = 0;
    let mut out = Vec::new();
    if crate::codec::block::decode(data, i64::MIN, i64::MAX, &mut out).is_ok() {
        ok += 1;
    }
    if let Some(blocks) = crate::segment::frame_blocks(data, 0) {
        ok += 1;
        for b in blocks {
            let _ = crate::codec::block::decode(b.data, b.min_t, b.max_t, &mut out);
        }
    }
    if crate::wal::decode(data).is_some() {
        ok += 1;
    }
    if crate::series_key::decode_labels(data).is_some() {
        ok += 1;
    }
    if crate::registry::parse_block(data) {
        ok += 1;
    }
    ok
}

#[cfg(test)]
mod tests {
    #[test]
    fn garbage_is_rejected_without_panic() {
        for seed in 0u64..2000 {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let data: Vec<u8> = (0..(seed % 97) as usize)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            super::decode_all(&data);
        }
    }
}
