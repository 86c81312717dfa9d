//! Model benchmarks: for every installed generator, decode tok/s, prefill tok/s (500-token
//! prompt), time to first token (100- and 1,000-token prompts), constrained-JSON masking
//! overhead (a small schema, and the RFQ fallback's shape from `tests/data/rfq_schema.json`)
//! and peak RSS; for every installed embedder, passages/s at batch 1 and 32 on real
//! regulation text from `shared/data`; and, when `llama-cpp-python` is importable, the same
//! decode/prefill measurements with llama.cpp on the same GGUF file and thread count, as ratios.
//!
//! Each model runs in its own child process so that its peak RSS is its own.
//! `cargo bench -p models` runs everything installed; `DESKMATE_BENCH_MODELS=a,b` picks models,
//! `DESKMATE_BENCH_THREADS` sets threads (default 1, as in MODELS.md's measurements under load).

use std::ops::ControlFlow;
use std::process::Command;
use std::time::Instant;

use models::generate::LocalGenerator;
use models::store::{Format, ModelStore, Role};
use models::{
    BertEmbedder, ChatRequest, EmbedKind, Embedder, Generator, GeneratorOptions, ResponseFormat,
};
use serde_json::{Value, json};

fn threads() -> usize {
    std::env::var("DESKMATE_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Paragraphs of the futures and derivatives law, the kind of passage the knowledge base embeds.
fn passages() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/regulation-zh/经济法/期货和衍生品法(2022-04-20).md"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('第') && l.chars().count() > 20)
        .map(str::to_string)
        .take(128)
        .collect()
}

/// A prompt of about `n` tokens for `g`: regulation text, cut by tokens.
fn prompt_ids(g: &LocalGenerator, n: usize) -> Vec<u32> {
    let text = passages().join("\n");
    let mut ids = g.encode(&text).unwrap();
    while ids.len() < n {
        let more = ids.clone();
        ids.extend(more);
    }
    ids.truncate(n);
    ids
}

fn bench_generator(name: &str) -> Value {
    let store = ModelStore::from_env();
    let entry = store.get(name).unwrap();
    let t = Instant::now();
    let g = LocalGenerator::load(&entry, GeneratorOptions::default()).unwrap();
    let load_s = t.elapsed().as_secs_f64();
    let quiet = &mut |_: &str| ControlFlow::Continue(());

    // Warm-up (first-use allocations, thread pool start).
    let mut req = ChatRequest::user("hi");
    req.max_tokens = 4;
    g.generate_ids(&prompt_ids(&g, 16), &req, quiet).unwrap();

    // Decode: greedy, up to 128 new tokens continuing a raw text (no chat template, so the
    // model rarely ends early).
    let mut req = ChatRequest::user("");
    req.max_tokens = 128;
    let ids = g
        .encode("The history of derivatives markets in China began")
        .unwrap();
    let r = g.generate_ids(&ids, &req, quiet).unwrap();
    let decode_tps =
        r.usage.completion_tokens.saturating_sub(1) as f64 / r.timings.decode.as_secs_f64();

    // Prefill: 500 tokens, one new token.
    req.max_tokens = 1;
    let r = g.generate_ids(&prompt_ids(&g, 500), &req, quiet).unwrap();
    let prefill_tps = 500.0 / r.timings.prefill.as_secs_f64();

    // Time to first token for 100 and 1,000 tokens.
    let mut ttft = Vec::new();
    for n in [100, 1000] {
        let t = Instant::now();
        let mut first = None;
        g.generate_ids(&prompt_ids(&g, n), &req, &mut |_| {
            first.get_or_insert(t.elapsed());
            ControlFlow::Continue(())
        })
        .unwrap();
        ttft.push(first.unwrap_or_else(|| t.elapsed()).as_secs_f64());
    }

    // Constrained JSON: the share of decode time spent computing masks.
    let schema = json!({
        "type": "object",
        "properties": {
            "underlying": {"type": "string"},
            "structure": {"enum": ["snowball", "shark_fin", "vanilla", "digital"]},
            "notional": {"type": ["number", "null"]},
            "tenor_months": {"type": "integer"},
            "notes": {"type": "string"}
        },
        "required": ["underlying", "structure", "notional", "tenor_months", "notes"]
    });
    let mut req = ChatRequest::user(
        "Extract the RFQ as JSON and explain it in notes: 中证500 雪球 12个月 敲出103 敲入75 名义本金1000万",
    );
    req.max_tokens = 96;
    req.response_format = ResponseFormat::JsonSchema(schema);
    let t = Instant::now();
    let _ = g.token_table();
    let table_s = t.elapsed().as_secs_f64();
    let r = g.chat(&req).unwrap();
    let steps = r.usage.completion_tokens.max(1) as f64;
    let mask_ms = r.timings.masking.as_secs_f64() * 1e3 / steps;
    let step_ms = r.timings.decode.as_secs_f64() * 1e3 / steps;

    // The same on the RFQ fallback's shape (`{"requests": [...]}`, 17 nullable fields, enums).
    let rfq_schema: Value = serde_json::from_str(include_str!("../tests/data/rfq_schema.json"))
        .expect("tests/data/rfq_schema.json parses");
    let mut req = ChatRequest::user(
        "Turn the RFQ into {\"requests\": [...]} JSON: 中证500 雪球 两年 敲出103 敲入75 名义本金1000万 票息多少",
    );
    req.max_tokens = 160;
    req.response_format = ResponseFormat::JsonSchema(rfq_schema);
    let r = g.chat(&req).unwrap();
    let steps = r.usage.completion_tokens.max(1) as f64;
    let rfq_mask_ms = r.timings.masking.as_secs_f64() * 1e3 / steps;
    let rfq_step_ms = r.timings.decode.as_secs_f64() * 1e3 / steps;

    json!({
        "model": name,
        "quantization": entry.manifest.quantization,
        "threads": threads(),
        "load_s": load_s,
        "decode_tok_s": decode_tps,
        "prefill_tok_s_500": prefill_tps,
        "ttft_s_100": ttft[0],
        "ttft_s_1000": ttft[1],
        "json_mask_ms_per_token": mask_ms,
        "json_step_ms_per_token": step_ms,
        "json_mask_share": mask_ms / step_ms,
        "json_rfq_mask_ms_per_token": rfq_mask_ms,
        "json_rfq_step_ms_per_token": rfq_step_ms,
        "json_rfq_mask_share": rfq_mask_ms / rfq_step_ms,
        "token_table_build_s": table_s,
        "peak_rss_mb": peak_rss_mb(),
    })
}

fn bench_embedder(name: &str) -> Value {
    let store = ModelStore::from_env();
    let entry = store.get(name).unwrap();
    let t = Instant::now();
    let mut e = BertEmbedder::load(&entry).unwrap();
    let load_s = t.elapsed().as_secs_f64();
    let ps = passages();
    let refs: Vec<&str> = ps.iter().map(String::as_str).collect();
    let tokens: usize = refs
        .iter()
        .map(|p| e.token_ids(p, EmbedKind::Passage).unwrap().0.len())
        .sum();
    e.embed(&refs[..8], EmbedKind::Passage).unwrap();
    let mut out = json!({"model": name, "threads": threads(), "load_s": load_s,
        "passages": refs.len(), "mean_tokens": tokens as f64 / refs.len() as f64});
    for batch in [1usize, 8, 32] {
        e.set_batch_size(batch);
        let t = Instant::now();
        e.embed(&refs, EmbedKind::Passage).unwrap();
        out[format!("passages_per_s_batch{batch}")] =
            json!(refs.len() as f64 / t.elapsed().as_secs_f64());
    }
    out["peak_rss_mb"] = json!(peak_rss_mb());
    out
}

/// llama.cpp on the same GGUF file, through `llama-cpp-python`, when it is installed.
fn llama_cpp(path: &std::path::Path) -> Option<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/llama_cpp_compare.py");
    // `.cargo/config.toml` sets OMP_THREAD_LIMIT=1 for Tesseract; llama.cpp is built with
    // OpenMP, so under `cargo bench` that cap silently ran it on one thread whatever `n_threads`
    // said (11.9 instead of 19.8 tok/s decode for the 1.5B model at 2 threads, a flattering 1.22x
    // "ratio"). The comparison must give both sides the same threads.
    let out = Command::new("python3")
        .arg(script)
        .arg(path)
        .arg(threads().to_string())
        .env_remove("OMP_THREAD_LIMIT")
        .env("OMP_NUM_THREADS", threads().to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "llama.cpp comparison skipped: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

fn main() {
    // Child mode: one model per process.
    if let (Ok(kind), Ok(name)) = (
        std::env::var("DESKMATE_BENCH_CHILD_KIND"),
        std::env::var("DESKMATE_BENCH_CHILD_NAME"),
    ) {
        models::runtime::set_threads(threads());
        let v = if kind == "generator" {
            bench_generator(&name)
        } else {
            bench_embedder(&name)
        };
        println!("{v}");
        return;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        // `cargo test --benches` runs benches in test mode: nothing to do.
        return;
    }
    let store = ModelStore::from_env();
    let pick: Option<Vec<String>> = std::env::var("DESKMATE_BENCH_MODELS")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let entries = store.list().unwrap_or_default();
    if entries.is_empty() {
        eprintln!(
            "no models installed in {}: run `deskmate models install --fixtures` (and `default`, `fast`)",
            store.root().display()
        );
    }
    let exe = std::env::current_exe().unwrap();
    println!(
        "machine: {} cores, threads {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        threads()
    );
    for e in entries {
        let m = &e.manifest;
        if pick.as_ref().is_some_and(|p| !p.contains(&m.name)) {
            continue;
        }
        let kind = match m.role {
            Role::Generator => "generator",
            Role::Embedder => "embedder",
        };
        let out = Command::new(&exe)
            .env("DESKMATE_BENCH_CHILD_KIND", kind)
            .env("DESKMATE_BENCH_CHILD_NAME", &m.name)
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!(
                "{}: failed: {}",
                m.name,
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let llama = (m.role == Role::Generator && m.format == Format::Gguf)
            .then(|| llama_cpp(&e.weights()))
            .flatten();
        if let Some(l) = llama {
            for (ours, theirs, ratio) in [
                ("decode_tok_s", "decode_tok_s", "decode_ratio_vs_llama_cpp"),
                (
                    "prefill_tok_s_500",
                    "prefill_tok_s_500",
                    "prefill_ratio_vs_llama_cpp",
                ),
            ] {
                if let (Some(a), Some(b)) = (v[ours].as_f64(), l[theirs].as_f64()) {
                    v[ratio] = json!(a / b);
                }
            }
            v["llama_cpp"] = l;
        }
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
    }
}
