//! `deskmate search QUERY [--k N] [--collection C] [--json]`: retrieval only, printing the ranked
//! chunks with document, path and scores (BM25, dense, fused). The JSON form is
//! `knowledge::report::SearchReport` (`deskmate.search.v1`).
//!
//! The caller (the binary) opens the knowledge base with the configured embedder and passes
//! the caller's role; this module only parses, searches and prints.

use clap::Args;
use knowledge::report::SearchReport;
use knowledge::{Filters, KnowledgeBase, SearchRequest};
use policies::{Clearance, Role};
use std::time::Instant;

/// Arguments of `deskmate search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The question or keywords.
    pub query: String,
    /// How many hits.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Only these collections (repeatable).
    #[arg(long)]
    pub collection: Vec<String>,
    /// Only these documents (repeatable).
    #[arg(long = "doc")]
    pub doc_ids: Vec<String>,
    /// Only chunks under this path (`第二章/第一节`, `4/4.2`).
    #[arg(long)]
    pub path_prefix: Option<String>,
    /// Print the stable JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command against an open knowledge base as `role`.
pub fn run(args: SearchArgs, kb: &KnowledgeBase, role: Role) -> anyhow::Result<()> {
    let request = SearchRequest {
        query: args.query.clone(),
        k: args.k,
        filters: Filters {
            collections: args.collection,
            doc_ids: args.doc_ids,
            path_prefix: args.path_prefix,
            languages: vec![],
        },
        clearance: Clearance::of(role),
    };
    let t = Instant::now();
    let results = kb.search(&request)?;
    let report = SearchReport::new(
        &args.query,
        args.k,
        t.elapsed().as_secs_f64() * 1000.0,
        &results,
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if let Some(r) = &report.reference {
        println!("structural reference: {}", r.join(" "));
    }
    for h in &report.hits {
        let f = |s: Option<f32>| s.map_or("-".to_string(), |v| format!("{v:.3}"));
        println!(
            "\n{}. {}{}  [fused {:.4} | bm25 {} | dense {}]  p.{} ({})",
            h.rank,
            h.path_display,
            if h.exact { "  (exact path)" } else { "" },
            h.scores.fused,
            f(h.scores.bm25),
            f(h.scores.dense),
            h.location.page_start,
            h.chunk_id
        );
        let preview: String = h.text.chars().take(300).collect();
        println!("{preview}");
    }
    println!("\n{} hits in {:.1} ms", report.hits.len(), report.took_ms);
    Ok(())
}
