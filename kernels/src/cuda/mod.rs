//! The CUDA backend: `mc.cu` compiled by NVRTC at run time and launched through cudarc with
//! dynamic loading, so builds and tests need no CUDA toolkit and no GPU.
//!
//! Initialisation is guarded three ways: the driver and NVRTC libraries must be loadable
//! (`is_culib_present`), a device must open, and the kernel must compile; cudarc panics rather
//! than erroring when a library is missing, so every call into it at initialisation runs under
//! `catch_unwind`. The outcome (device or reason) is computed once per process.
#![allow(unsafe_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

use cudarc::driver::{CudaContext, CudaFunction, CudaStream, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{CompileOptions, compile_ptx_with_opts};

use crate::math::Stream;
use crate::mc::{McConfig, McOutput, Program};

/// The kernel source, compiled at run time.
pub const MC_SOURCE: &str = include_str!("mc.cu");

/// Most scenarios one GPU pass evaluates (the kernel keeps them in registers/local memory).
pub const MAX_SCENARIOS: usize = 16;

/// An initialised GPU: context, stream and the compiled Monte Carlo kernel.
#[derive(Debug)]
pub struct Gpu {
    stream: Arc<CudaStream>,
    func: CudaFunction,
    name: String,
}

static GPU: OnceLock<Result<Arc<Gpu>, String>> = OnceLock::new();

/// Whether the NVRTC library can be loaded (no GPU needed).
pub fn nvrtc_present() -> bool {
    // SAFETY: `is_culib_present` only tries to dlopen the library and reports success.
    catch_unwind(|| unsafe { cudarc::nvrtc::sys::is_culib_present() }).unwrap_or(false)
}

/// Compiles the kernel sources to PTX with NVRTC (needs only libnvrtc, no GPU).
pub fn compile_kernels() -> Result<String, String> {
    if !nvrtc_present() {
        return Err("libnvrtc not found".into());
    }
    let opts = CompileOptions {
        fmad: Some(false),
        // PTX for a virtual architecture: double-precision atomicAdd needs compute 6.0+; the
        // driver JIT-compiles it for the actual device (Volta and later).
        arch: Some("compute_70"),
        name: Some("mc.cu".into()),
        ..Default::default()
    };
    match catch_unwind(|| compile_ptx_with_opts(MC_SOURCE, opts)) {
        Ok(Ok(ptx)) => Ok(ptx.to_src()),
        Ok(Err(e)) => Err(format!("NVRTC compile error: {e}")),
        Err(_) => Err("NVRTC panicked while compiling".into()),
    }
}

impl Gpu {
    /// The process-wide GPU, initialised on first use, or why it is unusable.
    pub fn get() -> Result<Arc<Gpu>, String> {
        GPU.get_or_init(|| Self::init().map(Arc::new)).clone()
    }

    fn init() -> Result<Self, String> {
        // SAFETY: `is_culib_present` only tries to dlopen the driver library.
        let driver =
            catch_unwind(|| unsafe { cudarc::driver::sys::is_culib_present() }).unwrap_or(false);
        if !driver {
            return Err("libcuda (the NVIDIA driver) not found".into());
        }
        let ctx = match catch_unwind(|| CudaContext::new(0)) {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(format!("no usable CUDA device: {e}")),
            Err(_) => return Err("CUDA initialisation panicked".into()),
        };
        let ptx = compile_kernels()?;
        let module = catch_unwind(AssertUnwindSafe(|| {
            ctx.load_module(cudarc::nvrtc::Ptx::from_src(ptx))
        }))
        .map_err(|_| "module load panicked".to_string())?
        .map_err(|e| format!("module load failed: {e}"))?;
        let func = module
            .load_function("mc_pairs")
            .map_err(|e| format!("kernel not found: {e}"))?;
        let name = ctx.name().unwrap_or_else(|_| "CUDA device 0".into());
        Ok(Self {
            stream: ctx.default_stream(),
            func,
            name,
        })
    }

    /// The device, for reports.
    pub fn describe(&self) -> String {
        format!("CUDA device 0 ({})", self.name)
    }

    /// Runs a batch of programs: all launches are queued, then one synchronisation.
    pub fn run(
        &self,
        jobs: &[(&Program, Stream)],
        cfg: &McConfig,
    ) -> Result<Vec<McOutput>, String> {
        let pairs = cfg.pairs();
        let err = |e: cudarc::driver::DriverError| format!("{e}");
        let mut pending = Vec::with_capacity(jobs.len());
        for (prog, stream) in jobs {
            if prog.n_scen > MAX_SCENARIOS {
                return Err(format!(
                    "{} scenarios in one pass (the kernel takes at most {MAX_SCENARIOS})",
                    prog.n_scen
                ));
            }
            let (u, f) = prog.pack();
            let du = self.stream.clone_htod(&u).map_err(err)?;
            let df = self.stream.clone_htod(&f).map_err(err)?;
            let k = prog.n_scen;
            let acc = self.stream.alloc_zeros::<f64>(k + k * k).map_err(err)?;
            let (key0, key1, contract) = stream.parts();
            let block = 128u32;
            let grid = u32::try_from(pairs.div_ceil(u64::from(block)))
                .map_err(|_| "too many paths for one launch".to_string())?;
            let cfg_l = LaunchConfig {
                grid_dim: (grid, 1, 1),
                block_dim: (block, 1, 1),
                shared_mem_bytes: 0,
            };
            let mut b = self.stream.launch_builder(&self.func);
            b.arg(&df)
                .arg(&du)
                .arg(&pairs)
                .arg(&key0)
                .arg(&key1)
                .arg(&contract);
            let mut acc = acc;
            b.arg(&mut acc);
            // SAFETY: the argument list matches `mc_pairs` in mc.cu (pointer, pointer, u64, u32,
            // u32, u32, pointer), the buffers hold the packed layout the kernel reads, and `acc`
            // has k + k² doubles.
            unsafe { b.launch(cfg_l) }.map_err(err)?;
            pending.push((acc, du, df, k));
        }
        self.stream.synchronize().map_err(err)?;
        pending
            .into_iter()
            .map(|(acc, _, _, k)| {
                let v = self.stream.clone_dtoh(&acc).map_err(err)?;
                Ok(McOutput::from_sums(
                    pairs * 2,
                    pairs as f64,
                    &v[..k],
                    &v[k..],
                ))
            })
            .collect()
    }
}
