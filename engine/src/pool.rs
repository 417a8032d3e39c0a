//! A bounded pool of output buffers, reused by size.
//!
//! Fresh multi-megabyte allocations come from the OS as untouched pages, and
//! the first write to each page faults: for the kernels here that costs as
//! much as the arithmetic. Training loops allocate the same sizes every step,
//! so buffers released by Python (when the last array using them dies) are
//! kept here, up to a byte limit, and handed out again already mapped.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// Storage in 8-byte words so any f32/f64/u8 view of it is aligned.
pub type Words = Vec<u64>;

struct Pool {
    free: HashMap<usize, Vec<Words>>,
    cached_bytes: usize,
    limit_bytes: usize,
}

static POOL: LazyLock<Mutex<Pool>> = LazyLock::new(|| {
    Mutex::new(Pool {
        free: HashMap::new(),
        cached_bytes: 0,
        limit_bytes: 1 << 30,
    })
});

fn lock() -> std::sync::MutexGuard<'static, Pool> {
    // A panic while holding the lock cannot leave the map inconsistent, so a
    // poisoned lock is still safe to use.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A buffer of at least `bytes` bytes (contents unspecified).
pub fn take(bytes: usize) -> Words {
    let words = bytes.div_ceil(8).max(1);
    let mut pool = lock();
    if let Some(buf) = pool.free.get_mut(&words).and_then(|list| list.pop()) {
        pool.cached_bytes -= words * 8;
        return buf;
    }
    drop(pool);
    vec![0u64; words]
}

/// Returns a buffer; it is dropped instead if the pool is full.
pub fn give(buf: Words) {
    let bytes = buf.len() * 8;
    let mut pool = lock();
    if pool.cached_bytes + bytes > pool.limit_bytes {
        return;
    }
    pool.cached_bytes += bytes;
    pool.free.entry(buf.len()).or_default().push(buf);
}

/// Sets the most bytes kept for reuse (0 disables reuse) and trims to it.
pub fn set_limit(bytes: usize) {
    let mut pool = lock();
    pool.limit_bytes = bytes;
    if pool.cached_bytes > bytes {
        pool.free.clear();
        pool.cached_bytes = 0;
    }
}

/// (bytes cached now, byte limit)
pub fn stats() -> (usize, usize) {
    let pool = lock();
    (pool.cached_bytes, pool.limit_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_buffers_are_reused_and_limit_is_kept() {
        let a = take(1000);
        let ptr = a.as_ptr();
        give(a);
        let b = take(1000);
        assert_eq!(b.as_ptr(), ptr);
        set_limit(0);
        give(b);
        assert_eq!(stats().0, 0);
        set_limit(1 << 30);
    }
}
