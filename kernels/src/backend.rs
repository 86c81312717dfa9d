//! Run-time choice of the Monte Carlo backend: CPU always, CUDA when built with the `cuda`
//! feature and a driver, a device and NVRTC are usable. Without the feature, `crate::cuda` is
//! its twin (`dummy_cuda.rs`), whose `Gpu::get` says why, so this file has no `#[cfg]`.
//!
//! The choice and its reason are reported in every result (`backend`, `backend_reason`). With
//! `auto`, any GPU failure (no driver, no device, compile error, out of memory, launch error)
//! falls back to the CPU and says why; with `cuda` it is an error carrying that reason.

use serde::{Deserialize, Serialize};

use crate::error::{PricingError, Result};
use crate::math::Stream;
use crate::mc::{McConfig, McOutput, Program, Sampler, cpu};

/// The backend a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// GPU when usable, else CPU.
    #[default]
    Auto,
    /// CPU only.
    Cpu,
    /// GPU or an error.
    Cuda,
}

impl std::str::FromStr for BackendChoice {
    type Err = PricingError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            _ => Err(PricingError::field(
                "backend",
                format!("`{s}` is not one of auto, cpu, cuda"),
            )),
        }
    }
}

/// The backend in use, with the reason it was chosen.
#[derive(Debug, Clone)]
pub struct Backend {
    choice: BackendChoice,
    gpu: Option<std::sync::Arc<crate::cuda::Gpu>>,
    /// `cpu` or `cuda`.
    pub name: &'static str,
    /// Why.
    pub reason: String,
}

impl Backend {
    /// Resolves a choice at run time.
    pub fn select(choice: BackendChoice) -> Result<Self> {
        let cpu = |reason: String| Self {
            choice,
            gpu: None,
            name: "cpu",
            reason,
        };
        match choice {
            BackendChoice::Cpu => Ok(cpu("cpu requested".into())),
            BackendChoice::Auto | BackendChoice::Cuda => match crate::cuda::Gpu::get() {
                Ok(g) => Ok(Self {
                    choice,
                    reason: format!(
                        "{}: {}",
                        if choice == BackendChoice::Auto {
                            "auto"
                        } else {
                            "cuda requested"
                        },
                        g.describe()
                    ),
                    gpu: Some(g),
                    name: "cuda",
                }),
                Err(e) if choice == BackendChoice::Auto => {
                    Ok(cpu(format!("auto: CUDA unusable ({e}); using CPU")))
                }
                Err(e) => Err(PricingError::Backend {
                    backend: "cuda",
                    reason: e,
                }),
            },
        }
    }

    /// Runs a batch of Monte Carlo programs, one random stream each.
    pub fn run_mc(&mut self, jobs: &[(&Program, Stream)], cfg: &McConfig) -> Result<Vec<McOutput>> {
        if cfg.sampler == Sampler::SobolBridge
            && let Some((p, _)) = jobs
                .iter()
                .find(|(p, _)| p.n_steps > crate::mc::sobol::MAX_DIMS)
        {
            return Err(PricingError::field(
                "mc.sampler",
                format!(
                    "sobol_bridge has direction numbers for at most {} time steps; this timeline has {} (use the philox sampler or fewer steps)",
                    crate::mc::sobol::MAX_DIMS,
                    p.n_steps
                ),
            ));
        }
        if let Some(g) = self.gpu.clone() {
            if cfg.sampler == Sampler::Philox {
                match g.run(jobs, cfg) {
                    Ok(out) => return Ok(out),
                    Err(e) if self.choice == BackendChoice::Auto => {
                        self.name = "cpu";
                        self.reason = format!("auto: CUDA run failed ({e}); fell back to CPU");
                        self.gpu = None;
                    }
                    Err(e) => {
                        return Err(PricingError::Backend {
                            backend: "cuda",
                            reason: e,
                        });
                    }
                }
            } else if self.choice == BackendChoice::Cuda {
                return Err(PricingError::Backend {
                    backend: "cuda",
                    reason: "the sobol_bridge sampler runs on CPU only".into(),
                });
            } else {
                self.name = "cpu";
                self.reason = "auto: the sobol_bridge sampler runs on CPU only".into();
            }
        }
        if jobs.len() == 1 {
            return Ok(vec![cpu::run(jobs[0].0, jobs[0].1, cfg)]);
        }
        use rayon::prelude::*;
        Ok(jobs.par_iter().map(|(p, s)| cpu::run(p, *s, cfg)).collect())
    }
}
