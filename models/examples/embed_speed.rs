//! Passages per second of an embedder at several batch sizes, on the same passages, and how
//! far its default engine's vectors are from candle's f32 reference:
//! `cargo run --release -p models --example embed_speed -- [MODEL] [THREADS] [PASSAGES]`.

use std::time::Instant;

use models::{BertEmbedder, EmbedKind, Embedder, ModelStore, Precision};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("multilingual-e5-small", String::as_str);
    models::runtime::set_threads(args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1));
    let count: usize = args.get(3).and_then(|t| t.parse().ok()).unwrap_or(128);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/regulation-zh/经济法/期货和衍生品法(2022-04-20).md"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let ps: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('第') && l.chars().count() > 20)
        .take(count)
        .collect();
    let entry = ModelStore::from_env().get(name).unwrap();
    let reference = BertEmbedder::load_with(&entry, Precision::F32).unwrap();
    let mut e = BertEmbedder::load(&entry).unwrap();
    let tokens: usize = ps
        .iter()
        .map(|p| e.token_ids(p, EmbedKind::Passage).unwrap().0.len())
        .sum();
    println!(
        "{name}: engine {}, {} passages, {:.1} tokens each on average",
        e.engine_name(),
        ps.len(),
        tokens as f64 / ps.len() as f64
    );
    let compare = std::env::var("EMBED_SPEED_NO_REFERENCE").is_err();
    for kind in [EmbedKind::Passage, EmbedKind::Query]
        .into_iter()
        .filter(|_| compare)
    {
        let a = reference.embed(&ps, kind).unwrap();
        let b = e.embed(&ps, kind).unwrap();
        let cos: Vec<f32> = a
            .vectors
            .iter()
            .zip(&b.vectors)
            .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum())
            .collect();
        let min = cos.iter().copied().fold(f32::INFINITY, f32::min);
        let mean = cos.iter().sum::<f32>() / cos.len() as f32;
        println!("{kind:?}: cosine to candle f32: min {min:.5}, mean {mean:.5}");
    }
    for (label, emb) in [("default", &mut e)] {
        emb.embed(&ps[..4], EmbedKind::Passage).unwrap();
        for batch in [1, 8, 32] {
            emb.set_batch_size(batch);
            let t = Instant::now();
            emb.embed(&ps, EmbedKind::Passage).unwrap();
            println!(
                "{label} batch {batch}: {:.1} passages/s",
                ps.len() as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
}
