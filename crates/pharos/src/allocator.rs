//! Keeps the C allocator's resident memory close to what the server actually uses.
//!
//! glibc gives each thread that contends for the heap an arena of its own (up to 8 per
//! core) and keeps memory freed in an arena for reuse by that arena. A large query decoded
//! on one blocking thread and the next one on another thread then each leave their peak
//! resident: on the bench's large profile the RSS climbed from 690 MiB to 1.26 GiB over six
//! queries with no growth in what the stores hold. [`trim_free_heap`], a task that returns
//! free heap to the OS (`malloc_trim`) when more than [`TRIM_ABOVE`] bytes of it sit unused,
//! bounds that.
//!
//! The number of arenas is left to glibc (`MALLOC_ARENA_MAX` in the environment caps it):
//! capping it at 2 in the binary made the `churn` dashboard queries about twice as slow
//! (pharos alone, default profile, 2 rounds each: `cpu_rate_by_namespace` 19.3 vs 9.0 ms,
//! `count(kube_pod_info)` 7.1 vs 3.3 ms), the rayon readers contending for two arenas.

use std::time::Duration;

/// Free heap that triggers a trim.
pub const TRIM_ABOVE: usize = 64 << 20;
/// How often the free heap is checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Bytes of heap that are free but still resident (0 where this cannot be known).
fn free_heap_bytes() -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallinfo2 reads the allocator's own statistics.
    unsafe {
        libc::mallinfo2().fordblks
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    0
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs until cancelled: every [`CHECK_EVERY`], gives free heap back to the OS when more
/// than [`TRIM_ABOVE`] bytes of it are unused.
pub async fn trim_free_heap() {
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        let free = tokio::task::spawn_blocking(free_heap_bytes)
            .await
            .unwrap_or(0);
        if free > TRIM_ABOVE {
            let _ = tokio::task::spawn_blocking(trim).await;
            tracing::debug!(free_bytes = free, "returned free heap to the OS");
        }
    }
}
