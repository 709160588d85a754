//! `[limits]`: request size, concurrency and timeouts at the HTTP front.

use bytesize::ByteSize;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body as sent (compressed), answered with 413 beyond.
    pub max_body_bytes: ByteSize,
    /// Largest body after decompression (snappy, gzip), answered with 413 beyond.
    pub max_decompressed_bytes: ByteSize,
    /// Requests in flight at once on write endpoints; more get 429 with Retry-After.
    pub ingest_concurrency: usize,
    /// Requests in flight at once on query endpoints; more get 503 with Retry-After.
    pub query_concurrency: usize,
    /// Requests in flight at once on admin endpoints.
    pub admin_concurrency: usize,
    /// How long a request may wait for a concurrency slot before it is refused.
    #[serde(with = "humantime_serde")]
    pub queue_wait: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: ByteSize::mib(16),
            max_decompressed_bytes: ByteSize::mib(64),
            ingest_concurrency: 32,
            query_concurrency: 16,
            admin_concurrency: 4,
            queue_wait: Duration::from_secs(1),
        }
    }
}
