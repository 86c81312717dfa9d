//! `deskmate search QUERY [--k N] [--collection C] [--retrievers R] [--rerank] [--json]`: retrieval only, printing
//! the ranked chunks with document, path and scores (BM25, dense, fused, and the rerank grade
//! when the rerank step ran). The JSON form is `knowledge::report::SearchReport`
//! (`deskmate.search.v1`).
//!
//! The search itself is `Assistant::search_documents` (as the operator); this module only
//! holds the arguments and prints.

use clap::Args;
use knowledge::Filters;
use knowledge::report::SearchReport;

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
    /// The first-stage retrievers: hybrid (BM25 and dense fused, the default), bm25 or dense
    /// alone.
    #[arg(long, value_enum, default_value_t = super::choice::Retrievers::Hybrid)]
    pub retrievers: super::choice::Retrievers,
    /// Print the stable JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Re-order the best candidates by the generator's relevance grade (as `[knowledge]
    /// rerank = true` does for every search).
    #[arg(long)]
    pub rerank: bool,
    /// How to reach the running server when it holds the knowledge base.
    #[command(flatten)]
    pub via: super::knowledge::ServerArgs,
}

impl SearchArgs {
    /// The narrowing the arguments ask for.
    pub fn filters(&self) -> Filters {
        Filters {
            collections: self.collection.clone(),
            doc_ids: self.doc_ids.clone(),
            path_prefix: self.path_prefix.clone(),
            languages: vec![],
        }
    }
}

/// Prints a search's report as text, or as its stable JSON with `--json`.
pub fn print(args: &SearchArgs, report: &SearchReport) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    if let Some(r) = &report.reference {
        println!("structural reference: {}", r.join(" "));
    }
    for h in &report.hits {
        let f = |s: Option<f32>| s.map_or("-".to_string(), |v| format!("{v:.3}"));
        let grade = h
            .scores
            .rerank
            .map_or(String::new(), |g| format!(" | rerank grade {g:.0}/3"));
        println!(
            "\n{}. {}{}  [fused {:.4} | bm25 {} | dense {}{grade}]  p.{} ({})",
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
    match &report.reranked_by {
        Some(model) => println!(
            "\n{} hits in {:.1} ms (reranked by {model} in {:.1} ms)",
            report.hits.len(),
            report.took_ms,
            report.rerank_ms
        ),
        None => println!("\n{} hits in {:.1} ms", report.hits.len(), report.took_ms),
    }
    if report.hits.is_empty() {
        let ui = super::ui::Ui::from_env();
        ui.empty(
            (
                "Nothing matched that you may read.",
                "没有匹配且您有权查看的内容。",
            ),
            (
                "Try other words, `--retrievers hybrid` or `dense` (meaning rather than words), or another --collection; `deskmate ingest` adds documents.",
                "可换用其他关键词、`--retrievers hybrid` 或 `dense`（按语义而非字面检索），或换一个 --collection；`deskmate ingest` 可添加文档。",
            ),
        );
    }
    Ok(())
}
