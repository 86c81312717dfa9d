//! One decode-step matrix-vector product, Deskmate's kernel against candle's, on random weights
//! of the 1.5B model's shapes. `cargo run --release -p models --example gemv_speed -- [THREADS]`.

use std::time::Instant;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use models::generate::gemv::Gemv;

fn main() {
    let threads = std::env::args()
        .nth(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    models::runtime::set_threads(threads);
    let dev = Device::Cpu;
    for (dtype, n, k) in [
        (GgmlDType::Q4K, 8960usize, 1536usize),
        (GgmlDType::Q6K, 1536, 8960),
        (GgmlDType::Q6K, 151936, 1536),
        (GgmlDType::Q8_0, 4864, 896),
        (GgmlDType::Q8_0, 151936, 896),
    ] {
        let w = Tensor::randn(0f32, 1.0, (n, k), &dev).unwrap();
        let q = QTensor::quantize(&w, dtype).unwrap();
        let g = Gemv::new(&q).expect("AVX2");
        let x = Tensor::randn(0f32, 1.0, (1, 1, k), &dev).unwrap();
        let q = std::sync::Arc::new(q);
        let mm = QMatMul::from_arc(q.clone()).unwrap();
        let iters = (2_000_000_000 / (n * k)).max(3);
        for _ in 0..2 {
            mm.forward(&x).unwrap();
            g.forward(&q, &x).unwrap();
        }
        let mut best = [f64::MAX; 2];
        for _ in 0..iters {
            let t = Instant::now();
            mm.forward(&x).unwrap();
            best[0] = best[0].min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            g.forward(&q, &x).unwrap();
            best[1] = best[1].min(t.elapsed().as_secs_f64());
        }
        let bytes = q.storage_size_in_bytes() as f64;
        println!(
            "{dtype:?} [{n}x{k}]: candle {:.3} ms ({:.1} GB/s), ours {:.3} ms ({:.1} GB/s)",
            best[0] * 1e3,
            bytes / best[0] / 1e9,
            best[1] * 1e3,
            bytes / best[1] / 1e9
        );
    }
}
