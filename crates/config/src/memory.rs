//! `[memory]`: the one budget the whole server must stay inside.

use bytesize::ByteSize;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    /// Total resident memory budget for the process. Caches are sized from it.
    pub budget: ByteSize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            budget: ByteSize::mib(768),
        }
    }
}
