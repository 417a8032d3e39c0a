//! The kernels' parallel loops, run on the threads torch computes with.
//!
//! A training step alternates torch ops and engine kernels. torch (Linux
//! wheels) runs its ops on a GNU OpenMP team whose threads keep spinning for a
//! while after each op; a second pool (rayon) started right then gets only
//! part of the cores: on 2 cores a SEW ResNet-18 step took 297 ms with rayon
//! against 186 ms once the OpenMP threads stopped spinning. So when the
//! process has libgomp loaded (found with `dlopen(RTLD_NOLOAD)`: we never load
//! it ourselves), the kernels' tasks run on that same team through
//! `GOMP_parallel`, as many threads as `torch.set_num_threads` asked for;
//! otherwise, and when `SNNRS_PARALLEL=rayon`, on rayon's pool.
//!
//! Tasks are claimed from an atomic counter, so every task runs exactly once
//! on one thread; results of [`sum`] are added in task order, so they do not
//! depend on the thread count or on which thread ran what.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

type GompParallel = unsafe extern "C" fn(extern "C" fn(*mut c_void), *mut c_void, u32, u32);
type GompMaxThreads = unsafe extern "C" fn() -> i32;

struct OpenMp {
    parallel: GompParallel,
    max_threads: GompMaxThreads,
}

fn openmp() -> Option<&'static OpenMp> {
    static FOUND: OnceLock<Option<OpenMp>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            if std::env::var("SNNRS_PARALLEL").is_ok_and(|v| v == "rayon") {
                return None;
            }
            find_openmp()
        })
        .as_ref()
}

#[cfg(all(unix, not(target_os = "macos")))]
fn find_openmp() -> Option<OpenMp> {
    // SAFETY: dlopen with RTLD_NOLOAD only returns a handle to a library already
    // in the process (it loads nothing); the symbols are libgomp's public ABI
    // with the signatures declared above.
    unsafe {
        let handle = libc::dlopen(c"libgomp.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
        if handle.is_null() {
            return None;
        }
        let parallel = libc::dlsym(handle, c"GOMP_parallel".as_ptr());
        let max_threads = libc::dlsym(handle, c"omp_get_max_threads".as_ptr());
        if parallel.is_null() || max_threads.is_null() {
            return None;
        }
        Some(OpenMp {
            parallel: std::mem::transmute::<*mut c_void, GompParallel>(parallel),
            max_threads: std::mem::transmute::<*mut c_void, GompMaxThreads>(max_threads),
        })
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn find_openmp() -> Option<OpenMp> {
    None
}

/// How many threads the loops run on.
pub fn threads() -> usize {
    match openmp() {
        // SAFETY: omp_get_max_threads takes nothing and returns the team size.
        Some(omp) => (unsafe { (omp.max_threads)() }).max(1) as usize,
        None => rayon::current_num_threads().max(1),
    }
}

/// The items, each taken exactly once by whichever thread claims its index.
struct Claims<T, F> {
    items: Vec<UnsafeCell<Option<T>>>,
    next: AtomicUsize,
    work: F,
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
}

// SAFETY: an item is only touched by the one thread that claimed its index
// from `next` (fetch_add hands each index out once); `work` is Sync.
unsafe impl<T: Send, F: Sync> Sync for Claims<T, F> {}

impl<T: Send, F: Fn(usize, T) + Sync> Claims<T, F> {
    fn run(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.items.len() {
                return;
            }
            // SAFETY: index i was claimed by this thread alone (see the Sync impl).
            let Some(item) = (unsafe { (*self.items[i].get()).take() }) else {
                continue;
            };
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| (self.work)(i, item))) {
                // A panic must not unwind through OpenMP's C frames: kept, and
                // raised again on the calling thread once the team is done.
                self.panic
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(p);
            }
        }
    }
}

extern "C" fn run_claims<T: Send, F: Fn(usize, T) + Sync>(data: *mut c_void) {
    // SAFETY: `data` is the `&Claims<T, F>` passed to GOMP_parallel below,
    // alive until GOMP_parallel returns (after every thread has left this).
    let claims = unsafe { &*(data as *const Claims<T, F>) };
    claims.run();
}

/// Runs `work(index, item)` for every item, in parallel.
pub fn for_each_indexed<T: Send, F: Fn(usize, T) + Sync + Send>(items: Vec<T>, work: F) {
    if items.len() <= 1 {
        items.into_iter().enumerate().for_each(|(i, t)| work(i, t));
        return;
    }
    let Some(omp) = openmp() else {
        use rayon::prelude::*;
        items
            .into_par_iter()
            .enumerate()
            .for_each(|(i, t)| work(i, t));
        return;
    };
    let claims = Claims {
        items: items
            .into_iter()
            .map(|t| UnsafeCell::new(Some(t)))
            .collect(),
        next: AtomicUsize::new(0),
        work,
        panic: Mutex::new(None),
    };
    let team = claims.items.len().min(threads()) as u32;
    // SAFETY: GOMP_parallel runs run_claims on `team` threads (the caller among
    // them) and returns after all have finished; `claims` outlives the call.
    unsafe {
        (omp.parallel)(
            run_claims::<T, F>,
            &claims as *const Claims<T, F> as *mut c_void,
            team,
            0,
        )
    };
    if let Some(p) = claims.panic.into_inner().unwrap_or_else(|e| e.into_inner()) {
        resume_unwind(p);
    }
}

/// Runs `work(item)` for every item, in parallel.
pub fn for_each<T: Send, F: Fn(T) + Sync + Send>(items: Vec<T>, work: F) {
    for_each_indexed(items, |_, t| work(t));
}

/// `Σ work(item)`, added in item order (the same result on any number of threads).
pub fn sum<T: Send, F: Fn(T) -> f64 + Sync + Send>(items: Vec<T>, work: F) -> f64 {
    let results: Vec<Mutex<f64>> = (0..items.len()).map(|_| Mutex::new(0.0)).collect();
    for_each_indexed(items, |i, t| {
        let value = work(t);
        *results[i].lock().unwrap_or_else(|e| e.into_inner()) = value;
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_and_sums_in_order() {
        let mut data = vec![0u32; 1000];
        for_each(data.chunks_mut(7).collect(), |chunk: &mut [u32]| {
            chunk.iter_mut().for_each(|v| *v += 1)
        });
        assert!(data.iter().all(|&v| v == 1));
        let total = sum((0..100).collect(), |i: usize| i as f64 * 0.1);
        let ordered: f64 = (0..100).map(|i| i as f64 * 0.1).sum();
        assert_eq!(total.to_bits(), ordered.to_bits());
    }
}
