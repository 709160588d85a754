//! Blocks: the span chunks of up to a few hundred traces written in one group commit,
//! sorted by start time and compressed together with zstd (compression across traces is
//! what makes span storage small). The trace key (`spans` tree) and the index postings
//! point into a block by its sequence number and the trace's position in it.
//!
//! Layout before zstd: trace count; per trace its id (16 bytes), start (zigzag delta
//! from the block's start) and chunk length; then the chunks one after another.

use crate::error::StoreError;
use crate::varint::{corrupt, put_i64, put_u64, Reader};

/// Most traces in one block.
pub const MAX_TRACES: usize = 256;
/// Most uncompressed chunk bytes in one block.
pub const MAX_RAW_BYTES: usize = 256 << 10;
/// Longest time between the first and the last trace start of a block, so a time-bounded
/// index scan can start this much before its window.
pub const MAX_SPAN_NS: u64 = 600_000_000_000;
/// Largest block accepted when decoding (guards against corrupt data).
const MAX_DECODED: usize = 64 << 20;

pub struct BlockBuilder {
    pub start_ns: u64,
    header: Vec<u8>,
    body: Vec<u8>,
    pub traces: usize,
}

impl BlockBuilder {
    pub fn new(start_ns: u64) -> Self {
        BlockBuilder {
            start_ns,
            header: Vec::new(),
            body: Vec::new(),
            traces: 0,
        }
    }

    /// Whether a trace starting at `start_ns` still fits.
    pub fn has_room(&self, start_ns: u64) -> bool {
        self.traces < MAX_TRACES
            && self.body.len() < MAX_RAW_BYTES
            && start_ns.saturating_sub(self.start_ns) <= MAX_SPAN_NS
    }

    /// Appends one trace's chunk; returns its position in the block.
    pub fn push(&mut self, trace_id: &[u8; 16], start_ns: u64, chunk: &[u8]) -> usize {
        self.header.extend_from_slice(trace_id);
        put_i64(
            &mut self.header,
            start_ns.wrapping_sub(self.start_ns) as i64,
        );
        put_u64(&mut self.header, chunk.len() as u64);
        self.body.extend_from_slice(chunk);
        self.traces += 1;
        self.traces - 1
    }

    pub fn finish(self, zstd: &mut Option<zstd::bulk::Compressor<'static>>) -> Vec<u8> {
        let mut raw = Vec::with_capacity(self.header.len() + self.body.len() + 8);
        put_u64(&mut raw, self.traces as u64);
        raw.extend_from_slice(&self.header);
        raw.extend_from_slice(&self.body);
        let mut out = Vec::with_capacity(raw.len() / 4 + 16);
        if let Some(z) = zstd.as_mut().and_then(|c| c.compress(&raw).ok()) {
            out.push(1);
            put_u64(&mut out, raw.len() as u64);
            out.extend_from_slice(&z);
        } else {
            out.push(0);
            out.extend_from_slice(&raw);
        }
        out
    }
}

/// One trace's entry in a decoded block.
pub struct BlockTrace {
    pub trace_id: [u8; 16],
    pub start_ns: u64,
    range: std::ops::Range<usize>,
}

pub struct Block {
    raw: Vec<u8>,
    pub traces: Vec<BlockTrace>,
}

impl Block {
    pub fn decode(value: &[u8], block_start_ns: u64) -> Result<Block, StoreError> {
        let (&format, rest) = value.split_first().ok_or_else(|| corrupt("empty block"))?;
        let raw = match format {
            0 => rest.to_vec(),
            1 => {
                let mut r = Reader::new(rest);
                let n = r.u64()? as usize;
                if n > MAX_DECODED {
                    return Err(corrupt("block too large"));
                }
                zstd::bulk::decompress(r.rest(), n).map_err(|_| corrupt("block zstd"))?
            }
            _ => return Err(corrupt("block format")),
        };
        let mut r = Reader::new(&raw);
        let n = r.count()?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let id: [u8; 16] = r.take(16)?.try_into().expect("16 bytes");
            let start = block_start_ns.wrapping_add(r.i64()? as u64);
            let len = r.u64()? as usize;
            entries.push((id, start, len));
        }
        let mut pos = raw.len() - r.rest().len();
        let mut traces = Vec::with_capacity(n);
        for (trace_id, start_ns, len) in entries {
            let end = pos
                .checked_add(len)
                .filter(|&e| e <= raw.len())
                .ok_or_else(|| corrupt("block chunk length"))?;
            traces.push(BlockTrace {
                trace_id,
                start_ns,
                range: pos..end,
            });
            pos = end;
        }
        Ok(Block { raw, traces })
    }

    pub fn chunk(&self, i: usize) -> Option<(&BlockTrace, &[u8])> {
        let t = self.traces.get(i)?;
        Some((t, &self.raw[t.range.clone()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_reject_corruption() {
        let mut b = BlockBuilder::new(1_000);
        assert_eq!(b.push(&[1; 16], 1_000, b"first"), 0);
        assert_eq!(b.push(&[2; 16], 5_000, b"second chunk"), 1);
        assert!(!b.has_room(1_000 + MAX_SPAN_NS + 1));
        let mut z = zstd::bulk::Compressor::new(3).ok();
        let bytes = b.finish(&mut z);
        let d = Block::decode(&bytes, 1_000).unwrap();
        let (t, c) = d.chunk(1).unwrap();
        assert_eq!(
            (t.trace_id, t.start_ns, c),
            ([2; 16], 5_000, &b"second chunk"[..])
        );
        assert!(d.chunk(2).is_none());
        assert!(Block::decode(&bytes[..bytes.len() / 2], 1_000).is_err());
        assert!(Block::decode(&[9, 1, 2], 0).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for len in 0..2_000usize {
            let bytes: Vec<u8> = (0..len % 300)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = crate::fuzz_decode_block(&bytes);
            let mut raw = vec![0u8];
            raw.extend_from_slice(&bytes);
            let _ = crate::fuzz_decode_block(&raw);
        }
    }
}
