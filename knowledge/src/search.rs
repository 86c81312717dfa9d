//! Query types and weighted reciprocal rank fusion.
//!
//! A search runs BM25 (tantivy) and dense (vector store) retrieval in parallel, each restricted
//! by the same [`Filters`] and the caller's clearance, and fuses the two rankings:
//! `fused = w_bm25 / (k + rank_bm25) + w_dense / (k + rank_dense)` (ranks from 1; a list that
//! misses the chunk contributes nothing). Structural references are answered first by exact
//! path lookup.

use crate::document::{Language, Location, SectionPath};
use policies::Clearance;
use serde::{Deserialize, Serialize};

/// What a caller may narrow a search to. Empty lists mean "everything".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    /// Collections.
    #[serde(default)]
    pub collections: Vec<String>,
    /// Document ids.
    #[serde(default)]
    pub doc_ids: Vec<String>,
    /// A path prefix as labels separated by `/` or `|` (`第二章/第一节`, `4 | 4.2`).
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Document languages.
    #[serde(default)]
    pub languages: Vec<Language>,
}

/// The weights of reciprocal rank fusion (from config).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FusionWeights {
    /// Weight of the BM25 ranking.
    pub bm25: f32,
    /// Weight of the dense ranking.
    pub dense: f32,
    /// The rank constant k (60 in the original RRF paper, Cormack et al. 2009).
    pub k: f32,
    /// How many candidates each retriever returns, as a multiple of the requested hits.
    pub candidates_per_hit: usize,
}

impl Default for FusionWeights {
    fn default() -> Self {
        FusionWeights {
            bm25: 1.0,
            dense: 1.0,
            k: 60.0,
            candidates_per_hit: 4,
        }
    }
}

/// One search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// The question or keywords.
    pub query: String,
    /// How many hits to return.
    pub k: usize,
    /// Narrowing.
    pub filters: Filters,
    /// The caller's clearance: nothing above it is ever returned.
    pub clearance: Clearance,
}

/// The scores behind a hit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// BM25 score, when the lexical retriever found the chunk.
    pub bm25: Option<f32>,
    /// Its rank there, from 1.
    pub bm25_rank: Option<usize>,
    /// Cosine similarity, when the dense retriever found it.
    pub dense: Option<f32>,
    /// Its rank there, from 1.
    pub dense_rank: Option<usize>,
    /// The fused score (exact-path hits get 1 + the fused score, so they rank first).
    pub fused: f32,
    /// The generator's relevance grade (0 to 3) when the optional rerank step graded the hit
    /// ([`crate::rerank`]); absent from the JSON otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerank: Option<f32>,
}

/// One retrieved chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
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
    /// The structural path.
    pub path: SectionPath,
    /// Where the chunk is in the source.
    pub location: Location,
    /// The chunk's text.
    pub text: String,
    /// The scores.
    pub scores: Scores,
    /// Whether the hit answers a structural reference by exact path.
    pub exact: bool,
}

/// The ranked hits of a search and how they were found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    /// Best first.
    pub hits: Vec<Hit>,
    /// The structural reference recognised in the query, as normalised labels.
    pub reference: Option<Vec<String>>,
    /// Milliseconds spent in BM25 retrieval.
    pub bm25_ms: f64,
    /// Milliseconds spent embedding the query and in dense retrieval.
    pub dense_ms: f64,
    /// The generator that re-ordered the hits, when the optional rerank step ran.
    pub reranked_by: Option<String>,
    /// Milliseconds spent reranking.
    pub rerank_ms: f64,
}

/// Weighted reciprocal rank fusion of two rankings of ids; returns (id, fused, rank in a,
/// rank in b) best first, ties broken by id for determinism.
pub fn rrf(
    a: &[String],
    b: &[String],
    w: FusionWeights,
) -> Vec<(String, f32, Option<usize>, Option<usize>)> {
    use std::collections::HashMap;
    let mut acc: HashMap<&str, (f32, Option<usize>, Option<usize>)> = HashMap::new();
    for (i, id) in a.iter().enumerate() {
        let e = acc.entry(id.as_str()).or_default();
        if e.1.is_none() {
            e.0 += w.bm25 / (w.k + (i + 1) as f32);
            e.1 = Some(i + 1);
        }
    }
    for (i, id) in b.iter().enumerate() {
        let e = acc.entry(id.as_str()).or_default();
        if e.2.is_none() {
            e.0 += w.dense / (w.k + (i + 1) as f32);
            e.2 = Some(i + 1);
        }
    }
    let mut out: Vec<_> = acc
        .into_iter()
        .map(|(id, (s, ra, rb))| (id.to_string(), s, ra, rb))
        .collect();
    out.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    out
}

/// Normalises a user path prefix (`第二章 | 第一节`, `4/4.2`) to the label-key form.
pub fn path_prefix_key(prefix: &str) -> String {
    prefix
        .split(['/', '|', '>'])
        .map(crate::cn::normalize_label)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_weights_and_ranks() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let w = FusionWeights::default();
        let out = rrf(&ids(&["a", "b", "c"]), &ids(&["b", "d"]), w);
        assert_eq!(out[0].0, "b", "in both lists");
        // b: 1/62 + 1/61.
        assert!((out[0].1 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert_eq!((out[0].2, out[0].3), (Some(2), Some(1)));
        let dense_only = rrf(&ids(&["a"]), &ids(&["d"]), FusionWeights { bm25: 0.0, ..w });
        assert_eq!(dense_only[0].0, "d");
    }

    #[test]
    fn prefixes() {
        assert_eq!(path_prefix_key("第二章 | 第一节"), "第2章/第1节");
        assert_eq!(path_prefix_key("4/4.2"), "4/4.2");
    }
}
