//! Where a decode step's time goes: the whole step versus only its quantized matrix-vector
//! products. `cargo run --release -p models --example decode_profile -- MODEL [THREADS]`.

use std::ops::ControlFlow;
use std::time::Instant;

use models::generate::LocalGenerator;
use models::{ChatRequest, GeneratorOptions, ModelStore};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("smollm2-135m-instruct", String::as_str);
    let threads = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1);
    models::runtime::set_threads(threads);
    let entry = ModelStore::from_env().get(name).unwrap();
    let g = LocalGenerator::load(&entry, GeneratorOptions::default()).unwrap();
    let ids = g
        .encode("The history of derivatives markets in China began")
        .unwrap();
    let mut req = ChatRequest::user("");
    req.max_tokens = 8;
    g.generate_ids(&ids, &req, &mut |_| ControlFlow::Continue(()))
        .unwrap();
    req.max_tokens = 64;
    let t = Instant::now();
    let r = g
        .generate_ids(&ids, &req, &mut |_| ControlFlow::Continue(()))
        .unwrap();
    let n = r.usage.completion_tokens;
    println!(
        "{name}: {n} tokens, decode {:.1} tok/s ({:.2} ms/token), total {:.2}s",
        (n - 1) as f64 / r.timings.decode.as_secs_f64(),
        r.timings.decode.as_secs_f64() * 1e3 / (n - 1) as f64,
        t.elapsed().as_secs_f64()
    );
    let ours = g.matmul_only_ms(32, false);
    let candle = g.matmul_only_ms(32, true);
    println!("matmuls only: {ours:.2} ms/token (candle's kernels alone: {candle:.2} ms/token)");
}
