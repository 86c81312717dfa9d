//! CUDA backend checks (build with `--features cuda`).
//!
//! Both are `#[ignore]`d (CI has neither NVRTC nor a GPU, and reports them as ignored, never as
//! passed); run them with `--ignored`.
//!
//! * `nvrtc_compiles_the_kernels`: needs libnvrtc on the library path; no GPU needed. For
//!   example:
//!   `pip install nvidia-cuda-nvrtc-cu12` then
//!   `LD_LIBRARY_PATH=$(python3 -c 'import nvidia.cuda_nvrtc,os;print(os.path.dirname(nvidia.cuda_nvrtc.__file__))')/lib cargo test -p kernels --features cuda --test it cuda:: -- --ignored`
//! * `gpu_and_cpu_agree_on_every_example`: needs a usable GPU. CPU and GPU draw identical
//!   normals, so values agree to ~1e-10 relative.
#![cfg(feature = "cuda")]

use kernels::cuda::{Gpu, compile_kernels};
use kernels::mc::McConfig;
use kernels::pricing::{EngineKind, PricingRequest, price};
use kernels::{BackendChoice, Market, Product};

const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

#[test]
#[ignore = "needs libnvrtc on LD_LIBRARY_PATH (see the module docs), then --ignored"]
fn nvrtc_compiles_the_kernels() {
    let ptx = compile_kernels().expect("NVRTC compiles mc.cu");
    assert!(
        ptx.contains(".entry mc_pairs") || ptx.contains("mc_pairs"),
        "no mc_pairs entry in the PTX"
    );
}

#[test]
#[ignore = "needs a GPU: run on a GPU machine with --ignored"]
fn gpu_and_cpu_agree_on_every_example() {
    if let Err(why) = Gpu::get() {
        panic!("no usable GPU ({why})");
    }
    let m = Market::from_json(
        "market",
        &std::fs::read_to_string(format!("{EX}/market.json")).unwrap(),
    )
    .unwrap();
    for f in std::fs::read_dir(EX).unwrap() {
        let path = f.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name.starts_with("market") {
            continue;
        }
        let p = Product::from_json(&name, &std::fs::read_to_string(&path).unwrap()).unwrap();
        if p.exercise == kernels::product::Exercise::American {
            continue;
        }
        let q = |backend| PricingRequest {
            engine: EngineKind::Mc,
            greeks: true,
            backend,
            mc: McConfig {
                paths: 100_000,
                ..McConfig::default()
            },
            ..PricingRequest::default()
        };
        let cpu = price(&p, &m, &q(BackendChoice::Cpu)).unwrap();
        let gpu = price(&p, &m, &q(BackendChoice::Cuda)).unwrap();
        assert_eq!(gpu.backend, "cuda");
        eprintln!(
            "{name:28} cpu {:.10} gpu {:.10} se {:.3e}",
            cpu.value, gpu.value, cpu.std_error
        );
        let rel = (cpu.value - gpu.value).abs() / cpu.value.abs().max(1.0);
        assert!(rel < 1e-9, "{name}: cpu {} vs gpu {}", cpu.value, gpu.value);
        assert!((cpu.value - gpu.value).abs() <= 3.0 * cpu.std_error.max(1e-12));
    }
}
