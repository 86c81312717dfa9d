//! The CUDA backend's twin for builds without the `cuda` feature, in the style of candle's
//! `dummy_cuda_backend`: the same names as [`crate::cuda`] built with the feature (`Gpu`,
//! `nvrtc_present`, `compile_kernels`, `MAX_SCENARIOS`), each saying that this build has no
//! CUDA support, so the code that uses the backend (`backend.rs`) has no `#[cfg]` of its own
//! and both builds take the same paths.

use std::sync::Arc;

use crate::math::Stream;
use crate::mc::{McConfig, McOutput, Program};

/// Most scenarios one GPU pass evaluates (as in the real backend).
pub const MAX_SCENARIOS: usize = 16;

/// Why nothing here works.
pub const NO_CUDA: &str = "this build has no CUDA support (rebuild with `--features cuda`)";

/// Never constructed: [`Gpu::get`] always says why there is no GPU.
#[derive(Debug)]
pub struct Gpu {
    _never: std::convert::Infallible,
}

/// Always `false`: this build never loads NVRTC.
pub fn nvrtc_present() -> bool {
    false
}

/// Always the reason this build cannot compile kernels.
pub fn compile_kernels() -> Result<String, String> {
    Err(NO_CUDA.into())
}

impl Gpu {
    /// Always the reason there is no GPU in this build.
    pub fn get() -> Result<Arc<Gpu>, String> {
        Err(NO_CUDA.into())
    }

    /// Unreachable: no `Gpu` exists in this build.
    pub fn describe(&self) -> String {
        match self._never {}
    }

    /// Unreachable: no `Gpu` exists in this build.
    pub fn run(
        &self,
        _jobs: &[(&Program, Stream)],
        _cfg: &McConfig,
    ) -> Result<Vec<McOutput>, String> {
        match self._never {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_entry_point_says_why() {
        assert_eq!(super::Gpu::get().unwrap_err(), super::NO_CUDA);
        assert_eq!(super::compile_kernels().unwrap_err(), super::NO_CUDA);
        assert!(!super::nvrtc_present());
    }
}
