//! Process-wide settings of the inference engine. candle's CPU thread pool is created once per
//! process, on first use, with the size read from `CANDLE_NUM_THREADS` (and rayon's, for f32
//! matmuls, from `RAYON_NUM_THREADS`); so the thread count must
//! be set before any model runs, which [`set_threads`] does.
#![allow(unsafe_code)]

use std::sync::Mutex;

static THREADS: Mutex<Option<usize>> = Mutex::new(None);

/// Sets the number of CPU threads candle uses for every model of this process (1 in tests, so
/// that test binaries running side by side do not fight over cores). Call it at start-up, before the first
/// model runs. Returns the count in force: a later call with another count does not change the
/// pool and returns the first one.
pub fn set_threads(n: usize) -> usize {
    let mut t = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(cur) = *t {
        return cur;
    }
    let n = n.max(1);
    // SAFETY: `set_var` is unsound only when another thread reads or writes the environment at
    // the same time. This runs once, under a lock, at start-up before candle's pool exists; the
    // only reader of this variable is candle, when it creates its pool on the first model run.
    // candle's quantized kernels use CANDLE_NUM_THREADS; its f32 matmuls (gemm, used by the
    // BERT embedders) use a rayon pool sized by RAYON_NUM_THREADS.
    unsafe {
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
    *t = Some(n);
    n
}

/// The thread count set by [`set_threads`], if any.
pub fn threads() -> Option<usize> {
    *THREADS.lock().unwrap_or_else(|p| p.into_inner())
}
