//! The stable JSON documents of `deskmate chunk FILE --json` and `deskmate search QUERY --json`
//! (evaluation reads them). Field names and meanings do not change within a schema version;
//! additions bump nothing, removals or renames bump the `schema` string.
//!
//! `deskmate.chunk.v1`:
//! `{schema, source, title, language, encoding, pages, metadata: [[key, value]], chunks: [{ordinal,
//! path: [segment…], path_display, labels: [label…], chars, tokens, whole_unit, location:
//! {page_start, page_end, char_start, char_end}, text}], problems: [{line, message}]}`.
//!
//! `deskmate.search.v1`:
//! `{schema, query, k, reference: [label…] | null, took_ms, bm25_ms, dense_ms, reranked_by?,
//! rerank_ms, hits: [{rank,
//! chunk_id, doc_id, version, title, collection, classification, path: [segment…],
//! path_display, location, exact, scores: {bm25, bm25_rank, dense, dense_rank, fused, rerank?}, text}]}`.
//! Scores absent from a retriever's list are `null`; `rerank` (the generator's 0–3 grade) is
//! present only when the optional rerank step ran. Character offsets count Unicode scalar
//! values; pages are 1-based.

use crate::chunk::{Chunked, Problem, token_estimate};
use crate::document::Location;
use crate::search::{Scores, SearchResults};
use serde::{Deserialize, Serialize};

/// The schema name of [`ChunkPreview`].
pub const CHUNK_SCHEMA: &str = "deskmate.chunk.v1";
/// The schema name of [`SearchReport`].
pub const SEARCH_SCHEMA: &str = "deskmate.search.v1";

/// One chunk as previewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkView {
    /// Position in the document, from 0.
    pub ordinal: u32,
    /// Path segments below the title, as displayed (`第一章 总则`, `第一条`).
    pub path: Vec<String>,
    /// The whole path in one line, title first.
    pub path_display: String,
    /// The numbered labels of the path (`第一章`, `第一条`).
    pub labels: Vec<String>,
    /// Length in characters.
    pub chars: usize,
    /// Approximate model tokens.
    pub tokens: usize,
    /// Whether the chunk is a whole article, paragraph or section.
    pub whole_unit: bool,
    /// Where it is in the source.
    pub location: Location,
    /// The text.
    pub text: String,
}

/// `deskmate chunk FILE --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkPreview {
    /// [`CHUNK_SCHEMA`].
    pub schema: String,
    /// The file.
    pub source: String,
    /// The document title.
    pub title: String,
    /// `zh`, `en` or `other`.
    pub language: String,
    /// The encoding the file was decoded from.
    pub encoding: String,
    /// Pages seen.
    pub pages: u32,
    /// Header-block and front-matter entries.
    pub metadata: Vec<(String, String)>,
    /// The chunks.
    pub chunks: Vec<ChunkView>,
    /// What the chunker removed or noticed.
    pub problems: Vec<Problem>,
}

impl ChunkPreview {
    /// The preview of a chunked file.
    pub fn new(source: &str, encoding: &str, chunked: &Chunked) -> ChunkPreview {
        ChunkPreview {
            schema: CHUNK_SCHEMA.to_string(),
            source: source.to_string(),
            title: chunked.title.clone(),
            language: chunked.language.as_str().to_string(),
            encoding: encoding.to_string(),
            pages: chunked.pages,
            metadata: chunked.metadata.clone(),
            chunks: chunked
                .chunks
                .iter()
                .map(|c| ChunkView {
                    ordinal: c.ordinal,
                    path: c.path.segments.iter().map(|s| s.display()).collect(),
                    path_display: c.path.display(&chunked.title),
                    labels: c.path.labels().into_iter().map(str::to_string).collect(),
                    chars: c.char_len(),
                    tokens: token_estimate(&c.text),
                    whole_unit: c.whole_unit,
                    location: c.location,
                    text: c.text.clone(),
                })
                .collect(),
            problems: chunked.problems.clone(),
        }
    }
}

/// One ranked hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HitView {
    /// From 1.
    pub rank: usize,
    /// `{doc}@v{version}#{ordinal}`.
    pub chunk_id: String,
    /// The document id.
    pub doc_id: String,
    /// The document version.
    pub version: u64,
    /// The document title.
    pub title: String,
    /// The collection.
    pub collection: String,
    /// The classification.
    pub classification: String,
    /// Path segments below the title.
    pub path: Vec<String>,
    /// The whole path in one line.
    pub path_display: String,
    /// Where it is in the source.
    pub location: Location,
    /// Whether it answers a structural reference by exact path.
    pub exact: bool,
    /// The scores.
    pub scores: Scores,
    /// The text.
    pub text: String,
}

/// `deskmate search QUERY --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchReport {
    /// [`SEARCH_SCHEMA`].
    pub schema: String,
    /// The query.
    pub query: String,
    /// Hits requested.
    pub k: usize,
    /// The structural reference recognised, as normalised labels.
    pub reference: Option<Vec<String>>,
    /// Wall-clock milliseconds of the whole search.
    pub took_ms: f64,
    /// Milliseconds in BM25.
    pub bm25_ms: f64,
    /// Milliseconds embedding the query and in dense retrieval.
    pub dense_ms: f64,
    /// The generator that re-ordered the hits, when the optional rerank step ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reranked_by: Option<String>,
    /// Milliseconds in the rerank step (0 when it did not run).
    #[serde(default)]
    pub rerank_ms: f64,
    /// Best first.
    pub hits: Vec<HitView>,
}

impl SearchReport {
    /// The report of a search.
    pub fn new(query: &str, k: usize, took_ms: f64, results: &SearchResults) -> SearchReport {
        SearchReport {
            schema: SEARCH_SCHEMA.to_string(),
            query: query.to_string(),
            k,
            reference: results.reference.clone(),
            took_ms,
            bm25_ms: results.bm25_ms,
            dense_ms: results.dense_ms,
            reranked_by: results.reranked_by.clone(),
            rerank_ms: results.rerank_ms,
            hits: results
                .hits
                .iter()
                .enumerate()
                .map(|(i, h)| HitView {
                    rank: i + 1,
                    chunk_id: h.chunk_id.clone(),
                    doc_id: h.doc_id.clone(),
                    version: h.version,
                    title: h.title.clone(),
                    collection: h.collection.clone(),
                    classification: h.classification.clone(),
                    path: h.path.segments.iter().map(|s| s.display()).collect(),
                    path_display: h.path.display(&h.title),
                    location: h.location,
                    exact: h.exact,
                    scores: h.scores,
                    text: h.text.clone(),
                })
                .collect(),
        }
    }
}
