//! Sample encodings: varints, bit streams, the head's Gorilla chunk, the on-disk block.

pub mod bits;
pub mod block;
pub mod gorilla;
pub mod varint;
