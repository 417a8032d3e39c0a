//! Run-time selection of the vector extension a kernel loop is compiled for.

/// Runs an `#[inline(always)]` loop compiled for the best vector extension the
/// CPU has (AVX-512, AVX2, or the baseline), chosen at run time. The loops
/// never use FMA, so every version rounds exactly like the reference.
macro_rules! with_cpu_features {
    ($f:ident($($arg:expr),* $(,)?)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2")]
            unsafe fn avx512<R>(run: impl FnOnce() -> R) -> R { run() }
            #[target_feature(enable = "avx2")]
            unsafe fn avx2<R>(run: impl FnOnce() -> R) -> R { run() }
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl") {
                unsafe { avx512(#[inline(always)] || $f($($arg),*)) }
            } else if std::is_x86_feature_detected!("avx2") {
                unsafe { avx2(#[inline(always)] || $f($($arg),*)) }
            } else {
                $f($($arg),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        { $f($($arg),*) }
    }};
}
