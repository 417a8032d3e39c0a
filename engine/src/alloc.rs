//! Allocation that fails with an error instead of aborting the process.
//!
//! Every buffer whose size comes from the input (event records, decompressed
//! packets, kernel outputs, frames) is allocated here or with `try_reserve`,
//! so a request the machine cannot hold becomes a `MemoryError` in Python
//! naming the size, never `memory allocation of N bytes failed` and an abort.

/// Number types whose all-zero bit pattern is the value 0.
pub trait ZeroBits: Copy {}
impl ZeroBits for u8 {}
impl ZeroBits for u32 {}
impl ZeroBits for u64 {}
impl ZeroBits for f32 {}
impl ZeroBits for f64 {}

/// `vec![0; len]`, or None when the allocator refuses. Zeroed pages are mapped
/// lazily, as with `vec![0; len]`.
pub fn try_zeroed<T: ZeroBits>(len: usize) -> Option<Vec<T>> {
    if len == 0 || std::mem::size_of::<T>() == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<T>(len).ok()?;
    // SAFETY: the layout has a non-zero size; a non-null pointer from alloc_zeroed
    // owns `len` zero-initialised elements of T's size and alignment, and all-zero
    // bits are a valid T (ZeroBits), which is what Vec::from_raw_parts requires.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout).cast::<T>();
        if ptr.is_null() {
            return None;
        }
        Some(Vec::from_raw_parts(ptr, len, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_or_refused() {
        assert_eq!(try_zeroed::<f32>(3), Some(vec![0.0; 3]));
        assert_eq!(try_zeroed::<u8>(0), Some(vec![]));
        assert!(try_zeroed::<u64>(usize::MAX / 4).is_none()); // larger than any address space
    }
}
