//! Knowledge-base benchmark (`cargo bench -p knowledge`), a small harness:
//!
//! 1. ingestion excluding embedding: decode + chunk, then tantivy indexing and Qdrant Edge
//!    storage, over the shared corpora (15 laws, the ESMA guidelines, the CDM docs); pages/s
//!    and chunks/s. Sources without page breaks count one page per 1,800 characters (a
//!    standard typescript page); the ESMA file has its 327 converter pages.
//! 2. query latency p50/p99 at 10k and 100k chunks (the corpora ingested repeatedly under
//!    different collections): BM25 alone, dense alone, and both in parallel with the default
//!    fusion (RRF, each retriever's first candidates kept), the way `KnowledgeBase::search` runs
//!    them. Query embedding is excluded (the models crate
//!    measures it); dense queries use random unit vectors against random unit vectors of 384
//!    dimensions (multilingual-e5-small's), which costs what real vectors cost: the edge
//!    store's scan below the indexing threshold is data-independent.
//! 3. index size on disk and peak RSS.
//!
//! With the embedder installed (`multilingual-e5-small` by default, `DESKMATE_BENCH_EMBEDDER`
//! names another, `none` skips): ingestion **including** embedding, the product path
//! (`KnowledgeBase::ingest_bytes` over the same corpus), and the hybrid query latency again
//! with the query embedded by the real model inside the timed region (the retrieval a user
//! waits for, generation excluded).
//!
//! `DESKMATE_BENCH_SCALES=10000,100000` chooses the sizes; `DESKMATE_BENCH_OPTIMIZE=1` also
//! builds the HNSW index and measures again.

use knowledge::chunk::{self, ChunkOptions, Format, SourceText};
use knowledge::decode::{DEFAULT_MAX_BYTES, decode};
use knowledge::document::{DocId, DocumentMeta, content_hash, version_key};
use knowledge::filter::{ChunkFilter, readable_classes};
use knowledge::lexical::LexicalIndex;
use knowledge::search::{FusionWeights, fuse, keep_firsts};
use knowledge::vector::edge::EdgeStore;
use knowledge::vector::{VectorPayload, VectorPoint, VectorStore};
use knowledge::{Chunk, Chunked, IngestRequest, KbConfig, KnowledgeBase};
use models::{BertEmbedder, EmbedKind, Embedder, ModelStore};
use policies::{Clearance, DataClass, Role};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const DIM: usize = 384;

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"));
    let mut out = Vec::new();
    let mut dirs = vec![root.join("regulation-zh"), root.join("cdm/docs")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.push(root.join("regulation-en/esma-emir-refit-guidelines/esma74-362-2281_final_report_guidelines_emir_refit.md"));
    out.sort();
    out
}

/// A xorshift generator: deterministic benchmark vectors.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    fn unit(&mut self) -> Vec<f32> {
        let v: Vec<f32> = (0..DIM).map(|_| self.next()).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }
}

fn pages_of(c: &Chunked, chars: usize) -> u32 {
    if c.pages > 1 {
        c.pages
    } else {
        chars.div_ceil(1800) as u32
    }
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e.metadata().unwrap();
            // Sparse pre-allocated files (the WAL) count by blocks actually used.
            total += if m.is_dir() {
                dir_size(&e.path())
            } else {
                std::os::unix::fs::MetadataExt::blocks(&m) * 512
            };
        }
    }
    total
}

fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (get("VmRSS:"), get("VmHWM:"))
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

const QUERIES: [&str; 16] = [
    "期货交易场所的职责是什么",
    "套期保值的定义",
    "衍生品交易的监督管理",
    "第二十一条",
    "期货公司风险处置 撤销",
    "反洗钱 客户尽职调查",
    "外汇管理 资本项目",
    "证券投资基金 基金托管人 职责",
    "商业银行 贷款 基本规则",
    "reporting of valuations delta",
    "intragroup exemption from reporting",
    "UTI generation responsibility",
    "Article 9 EMIR reporting obligation",
    "position level reporting margin update",
    "economic terms payout product qualification",
    "trade state lifecycle event novation",
];

fn main() {
    let files = corpus();
    let options = ChunkOptions::default();
    // 1. Chunking alone, three rounds, the best one reported.
    let mut docs: Vec<(DocumentMeta, Vec<Chunk>, u32)> = Vec::new();
    let mut best = f64::MAX;
    let (mut pages, mut chunks_n, mut bytes_n) = (0u32, 0usize, 0usize);
    for round in 0..3 {
        let t = Instant::now();
        let mut out = Vec::new();
        (pages, chunks_n, bytes_n) = (0, 0, 0);
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            bytes_n += bytes.len();
            let origin = f.display().to_string();
            let d = decode(&bytes, &origin, DEFAULT_MAX_BYTES).unwrap();
            let chars = d.text.chars().count();
            let c = chunk::chunk(
                &SourceText::new(d.text.clone(), Format::from_path(&origin)),
                "doc",
                &options,
            );
            let p = pages_of(&c, chars);
            pages += p;
            chunks_n += c.chunks.len();
            let meta = DocumentMeta {
                id: DocId::derive("bench", &origin),
                title: c.title.clone(),
                source: origin,
                collection: "bench".into(),
                language: c.language,
                classification: DataClass::GENERAL,
                content_hash: content_hash(&d.text),
                version: 1,
                metadata: vec![],
            };
            out.push((meta, c.chunks, p));
        }
        best = best.min(t.elapsed().as_secs_f64());
        if round == 0 {
            docs = out;
        }
    }
    println!(
        "corpus: {} files, {:.1} MB, {pages} pages, {chunks_n} chunks",
        files.len(),
        bytes_n as f64 / 1e6
    );
    println!(
        "chunking (decode + chunk): {:.3} s = {:.0} pages/s, {:.0} chunks/s",
        best,
        pages as f64 / best,
        chunks_n as f64 / best
    );

    // 1b. Ingestion including embedding: the product path.
    let embedder_name =
        std::env::var("DESKMATE_BENCH_EMBEDDER").unwrap_or_else(|_| "multilingual-e5-small".into());
    let embedder: Option<Arc<dyn Embedder>> = if embedder_name == "none" {
        println!("embedding-included figures: skipped (DESKMATE_BENCH_EMBEDDER=none)");
        None
    } else {
        match ModelStore::from_env()
            .get(&embedder_name)
            .map_err(|e| e.to_string())
            .and_then(|entry| BertEmbedder::load(&entry).map_err(|e| e.to_string()))
        {
            Ok(e) => Some(Arc::new(e)),
            Err(e) => {
                println!("embedding-included figures: skipped ({embedder_name}: {e})");
                None
            }
        }
    };
    if let Some(embedder) = &embedder {
        let dir = tempfile::tempdir().unwrap();
        let (kb, _) =
            KnowledgeBase::open(dir.path(), embedder.clone(), KbConfig::default()).unwrap();
        let t = Instant::now();
        let (mut n, mut p) = (0usize, 0u64);
        for (f, (_, _, pages)) in files.iter().zip(&docs) {
            let bytes = std::fs::read(f).unwrap();
            let r = kb
                .ingest_bytes(
                    &IngestRequest {
                        source: f.display().to_string(),
                        collection: "bench".into(),
                        classification: DataClass::GENERAL,
                        doc_id: None,
                        title: None,
                    },
                    &bytes,
                )
                .unwrap();
            n += r.chunks;
            p += u64::from(*pages);
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "ingestion including embedding ({}, KnowledgeBase::ingest_bytes, {} threads): {s:.1} s = {:.1} pages/s, {:.1} chunks/s",
            embedder.id(),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            p as f64 / s,
            n as f64 / s
        );
    }

    let scales: Vec<usize> = std::env::var("DESKMATE_BENCH_SCALES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let optimize = std::env::var("DESKMATE_BENCH_OPTIMIZE").is_ok_and(|v| v == "1");
    for target in scales {
        let dir = tempfile::tempdir().unwrap();
        let lexical = LexicalIndex::open(&dir.path().join("lexical")).unwrap();
        let edge = EdgeStore::open(&dir.path().join("vectors"), DIM).unwrap();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let t = Instant::now();
        let (mut n, mut copy, mut ingested_pages) = (0usize, 0usize, 0u64);
        let mut index_s = 0.0;
        while n < target {
            let collection = format!("copy{copy}");
            for (meta, chunks, p) in &docs {
                let meta = DocumentMeta {
                    collection: collection.clone(),
                    id: DocId::derive(&collection, &meta.source),
                    ..meta.clone()
                };
                let ti = Instant::now();
                lexical.add(&meta, chunks).unwrap();
                let key = version_key(&meta.id, 1);
                let points: Vec<VectorPoint> = chunks
                    .iter()
                    .map(|c| VectorPoint {
                        vector: rng.unit(),
                        payload: VectorPayload {
                            chunk_id: knowledge::document::chunk_id(&meta.id, 1, c.ordinal),
                            doc_id: meta.id.to_string(),
                            version_key: key.clone(),
                            path: c.path.display(&meta.title),
                            collection: collection.clone(),
                            classification: "general".into(),
                            language: meta.language.as_str().into(),
                            path_prefix: vec![],
                        },
                    })
                    .collect();
                for b in points.chunks(256) {
                    edge.upsert(b).unwrap();
                }
                index_s += ti.elapsed().as_secs_f64();
                n += chunks.len();
                ingested_pages += *p as u64;
            }
            copy += 1;
        }
        let ti = Instant::now();
        lexical.commit().unwrap();
        edge.flush().unwrap();
        index_s += ti.elapsed().as_secs_f64();
        let wall = t.elapsed().as_secs_f64();
        println!(
            "\n== {n} chunks ({copy} copies) ==\nindexing excluding embedding (tantivy + qdrant-edge): {:.1} s = {:.0} pages/s, {:.0} chunks/s",
            wall,
            ingested_pages as f64 / index_s,
            n as f64 / index_s
        );
        println!(
            "disk: lexical {:.1} MB, vectors {:.1} MB",
            dir_size(&dir.path().join("lexical")) as f64 / 1e6,
            dir_size(&dir.path().join("vectors")) as f64 / 1e6
        );
        measure(&lexical, &edge, &mut rng, embedder.as_deref());
        if optimize {
            let t = Instant::now();
            edge.optimize().unwrap();
            println!("HNSW optimize: {:.1} s", t.elapsed().as_secs_f64());
            measure(&lexical, &edge, &mut rng, embedder.as_deref());
        }
        let (rss, hwm) = rss_mb();
        println!("RSS now {rss:.0} MB, peak {hwm:.0} MB");
    }
}

/// Hits wanted in the latency measurements; candidates per retriever as the product asks
/// (`KnowledgeBase::search`: k × candidates_per_hit, at least 20).
const K: usize = 5;

fn candidates() -> usize {
    (K * FusionWeights::default().candidates_per_hit).max(20)
}

/// One hybrid query the way `KnowledgeBase::search` runs it: the query vector (from `vector`,
/// which may embed) and dense search on one thread, BM25 on this one, RRF, then the dense-only
/// chunks of the top K fetched. Returns milliseconds.
fn hybrid(
    lexical: &LexicalIndex,
    edge: &EdgeStore,
    filter: &ChunkFilter,
    q: &str,
    vector: impl Fn() -> Vec<f32> + Sync,
) -> f64 {
    let t = Instant::now();
    let (a, b) = std::thread::scope(|s| {
        let d = s.spawn(|| edge.search(&vector(), filter, candidates()).unwrap());
        let a = lexical.search(q, filter, candidates()).unwrap();
        (a, d.join().unwrap())
    });
    let ids_a: Vec<(String, f32)> = a.into_iter().map(|(s, c)| (c.chunk_id, s)).collect();
    let ids_b: Vec<(String, f32)> = b.into_iter().map(|h| (h.chunk_id, h.score)).collect();
    let w = FusionWeights::default();
    let fused = keep_firsts(fuse(&ids_a, &ids_b, w), K, w);
    let missing: Vec<String> = fused
        .into_iter()
        .take(K)
        .map(|f| f.0)
        .filter(|id| !ids_a.iter().any(|(a, _)| a == id))
        .collect();
    lexical.get(&missing).unwrap();
    t.elapsed().as_secs_f64() * 1000.0
}

fn measure(
    lexical: &LexicalIndex,
    edge: &EdgeStore,
    rng: &mut Rng,
    embedder: Option<&dyn Embedder>,
) {
    let filter = ChunkFilter {
        classes: readable_classes(Clearance::of(Role::Trader)),
        ..Default::default()
    };
    let (mut bm, mut de, mut hy, mut full) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let cand = candidates();
    // Warm-up, then 10 rounds of every query.
    for q in QUERIES {
        lexical.search(q, &filter, cand).unwrap();
    }
    for _ in 0..10 {
        for q in QUERIES {
            let v = rng.unit();
            let t = Instant::now();
            lexical.search(q, &filter, cand).unwrap();
            bm.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            edge.search(&v, &filter, cand).unwrap();
            de.push(t.elapsed().as_secs_f64() * 1000.0);
            hy.push(hybrid(lexical, edge, &filter, q, || v.clone()));
        }
    }
    // The same with the query embedded by the real model, inside the timed region.
    if let Some(e) = embedder {
        for q in QUERIES {
            e.embed(&[q], EmbedKind::Query).unwrap();
        }
        for _ in 0..10 {
            for q in QUERIES {
                full.push(hybrid(lexical, edge, &filter, q, || {
                    e.embed(&[q], EmbedKind::Query).unwrap().vectors.remove(0)
                }));
            }
        }
    }
    let full_name = format!(
        "hybrid including query embedding ({})",
        embedder.map_or("-", |e| e.id())
    );
    for (name, v) in [
        ("bm25", &mut bm),
        ("dense", &mut de),
        ("hybrid (parallel + RRF + fetch)", &mut hy),
        (full_name.as_str(), &mut full),
    ] {
        if v.is_empty() {
            continue;
        }
        let p50 = percentile(v, 0.5);
        let p99 = percentile(v, 0.99);
        println!(
            "{name}: p50 {p50:.2} ms, p99 {p99:.2} ms ({} queries)",
            v.len()
        );
    }
}
