//! Passages per second of an embedder at several batch sizes, on the same passages:
//! `cargo run -p models --example embed_speed -- [MODEL] [THREADS]`.

use std::time::Instant;

use models::{BertEmbedder, EmbedKind, Embedder, ModelStore};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("multilingual-e5-small", String::as_str);
    models::runtime::set_threads(args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1));
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/regulation-zh/经济法/期货和衍生品法(2022-04-20).md"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let ps: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('第') && l.chars().count() > 20)
        .take(64)
        .collect();
    let mut e = BertEmbedder::load(&ModelStore::from_env().get(name).unwrap()).unwrap();
    e.embed(&ps[..4], EmbedKind::Passage).unwrap();
    let same = vec![ps[10]; 64];
    for batch in [1, 8, 32] {
        e.set_batch_size(batch);
        let t = Instant::now();
        e.embed(&same, EmbedKind::Passage).unwrap();
        println!(
            "{name} batch {batch}, one text 64 times: {:.1} passages/s",
            64.0 / t.elapsed().as_secs_f64()
        );
    }
    for batch in [1, 8, 32] {
        e.set_batch_size(batch);
        let t = Instant::now();
        e.embed(&ps, EmbedKind::Passage).unwrap();
        println!(
            "{name} batch {batch}: {:.1} passages/s",
            ps.len() as f64 / t.elapsed().as_secs_f64()
        );
    }
}
