//! A bounded pool of output buffers, reused by size.
//!
//! Fresh multi-megabyte allocations come from the OS as untouched pages, and
//! the first write to each page faults: for the kernels here that costs as
//! much as the arithmetic. Training loops allocate the same sizes every step,
//! so buffers released by Python (when the last array using them dies) are
//! kept here, up to a byte limit, and handed out again already mapped.

use std::collections::{HashMap, VecDeque};
use std::sync::{LazyLock, Mutex};

/// Storage in 8-byte words so any f32/f64/u8 view of it is aligned.
pub type Words = Vec<u64>;

struct Pool {
    free: HashMap<usize, Vec<Words>>,
    /// Sizes (in words) of cached buffers, oldest first: eviction order.
    order: VecDeque<usize>,
    cached_bytes: usize,
    limit_bytes: usize,
}

static POOL: LazyLock<Mutex<Pool>> = LazyLock::new(|| {
    Mutex::new(Pool {
        free: HashMap::new(),
        order: VecDeque::new(),
        cached_bytes: 0,
        limit_bytes: 1 << 30,
    })
});

fn lock() -> std::sync::MutexGuard<'static, Pool> {
    // A panic while holding the lock cannot leave the map inconsistent, so a
    // poisoned lock is still safe to use.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A buffer of at least `bytes` bytes (contents unspecified); None when the
/// machine cannot hold it (the caller reports it; nothing aborts).
pub fn take(bytes: usize) -> Option<Words> {
    let words = bytes.div_ceil(8).max(1);
    let mut pool = lock();
    if let Some(buf) = pool.free.get_mut(&words).and_then(|list| list.pop()) {
        pool.cached_bytes -= words * 8;
        if let Some(at) = pool.order.iter().rposition(|&w| w == words) {
            pool.order.remove(at);
        }
        return Some(buf);
    }
    drop(pool);
    crate::alloc::try_zeroed::<u64>(words)
}

impl Pool {
    /// Drops the oldest cached buffers until `bytes` more fit under the limit.
    fn make_room(&mut self, bytes: usize) {
        while self.cached_bytes + bytes > self.limit_bytes {
            let Some(words) = self.order.pop_front() else {
                break;
            };
            if let Some(list) = self.free.get_mut(&words) {
                if !list.is_empty() {
                    list.remove(0);
                    self.cached_bytes -= words * 8;
                }
            }
        }
    }
}

/// Returns a buffer; the oldest cached ones are dropped to make room, and a
/// buffer larger than the whole limit is dropped itself.
pub fn give(buf: Words) {
    let bytes = buf.len() * 8;
    let mut pool = lock();
    if bytes > pool.limit_bytes {
        return;
    }
    pool.make_room(bytes);
    pool.cached_bytes += bytes;
    pool.order.push_back(buf.len());
    pool.free.entry(buf.len()).or_default().push(buf);
}

/// Sets the most bytes kept for reuse (0 disables reuse) and trims to it.
pub fn set_limit(bytes: usize) {
    let mut pool = lock();
    pool.limit_bytes = bytes;
    pool.make_room(0);
}

/// (bytes cached now, byte limit)
pub fn stats() -> (usize, usize) {
    let pool = lock();
    (pool.cached_bytes, pool.limit_bytes)
}

/// A working buffer of `len` floats from the pool, returned to it on drop.
/// Its contents start unspecified (whatever the last user left): callers
/// write every element before reading it.
pub struct Scratch<T: crate::real::Real> {
    words: Words,
    len: usize,
    _elem: std::marker::PhantomData<T>,
}

impl<T: crate::real::Real> Scratch<T> {
    /// None when the machine cannot hold it.
    pub fn new(len: usize) -> Option<Self> {
        let bytes = len.checked_mul(std::mem::size_of::<T>())?;
        Some(Scratch {
            words: take(bytes)?,
            len,
            _elem: std::marker::PhantomData,
        })
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: the words are 8-byte aligned and hold at least len * size_of::<T>()
        // bytes; T is f32 or f64, for which every bit pattern is a valid value.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<T>(), self.len) }
    }
}

impl<T: crate::real::Real> Drop for Scratch<T> {
    fn drop(&mut self) {
        give(std::mem::take(&mut self.words));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the pool is process-global and tests run on parallel threads.
    #[test]
    fn released_buffers_are_reused_and_limit_is_kept() {
        set_limit(3 * 800);
        for _ in 0..3 {
            give(vec![0u64; 100]);
        }
        give(vec![0u64; 200]); // evicts the two oldest 100-word buffers
        assert_eq!(stats().0, 3 * 800);
        let big = take(1600).unwrap();
        assert_eq!(big.len(), 200);
        set_limit(1 << 30);

        let a = take(1000).unwrap();
        let ptr = a.as_ptr();
        give(a);
        let b = take(1000).unwrap();
        assert_eq!(b.as_ptr(), ptr);
        set_limit(0);
        give(b);
        assert_eq!(stats().0, 0);
        set_limit(1 << 30);
    }
}
