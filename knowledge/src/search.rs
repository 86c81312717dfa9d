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

/// How the BM25 and dense rankings are fused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FusionMethod {
    /// Weighted reciprocal rank fusion: `w_bm25 / (k + rank_bm25) + w_dense / (k + rank_dense)`.
    #[default]
    Rrf,
    /// A convex combination of the retrievers' own scores, each min-max normalised over its
    /// candidates: `w_bm25 · n_bm25 + w_dense · n_dense` (Bruch, Gai and Ingber, "An Analysis of
    /// Fusion Functions for Hybrid Retrieval", 2023). A chunk one retriever ranks far above
    /// the rest keeps its lead, where RRF would flatten it to its rank.
    Convex,
}

impl FusionMethod {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            FusionMethod::Rrf => "rrf",
            FusionMethod::Convex => "convex",
        }
    }
}

/// The weights of the fusion (from config).
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
    /// The fusion function (the rank constant `k` is used by RRF only).
    #[serde(default)]
    pub method: FusionMethod,
    /// Each retriever's first this many candidates are always among the hits returned (when
    /// the caller asks for at least twice as many), in fused order: a chunk one retriever ranks
    /// first is more often relevant than the last of the fused hits, which it replaces.
    #[serde(default)]
    pub keep_firsts: usize,
}

impl Default for FusionWeights {
    fn default() -> Self {
        FusionWeights {
            bm25: 1.0,
            dense: 1.0,
            k: 60.0,
            candidates_per_hit: 8,
            method: FusionMethod::Rrf,
            keep_firsts: 2,
        }
    }
}

/// Which first-stage retrievers a search runs. Exact path lookup of a structural reference
/// comes first in every case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retrievers {
    /// BM25 and dense retrieval, fused by weighted RRF (the default).
    #[default]
    Hybrid,
    /// BM25 alone (tantivy); no query embedding is computed.
    Bm25,
    /// Dense retrieval alone (the embedder and the vector store).
    Dense,
}

impl Retrievers {
    /// Every choice, in display order.
    pub const ALL: [Retrievers; 3] = [Retrievers::Bm25, Retrievers::Dense, Retrievers::Hybrid];

    /// The name used in configuration, the API and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Retrievers::Hybrid => "hybrid",
            Retrievers::Bm25 => "bm25",
            Retrievers::Dense => "dense",
        }
    }

    /// Whether the lexical (BM25) retriever runs.
    pub fn lexical(self) -> bool {
        matches!(self, Retrievers::Hybrid | Retrievers::Bm25)
    }

    /// Whether the dense retriever runs.
    pub fn dense(self) -> bool {
        matches!(self, Retrievers::Hybrid | Retrievers::Dense)
    }
}

impl std::fmt::Display for Retrievers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Retrievers {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Retrievers::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| format!("retrievers `{s}`: expected one of hybrid, bm25, dense"))
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
    /// The first-stage retrievers (hybrid unless a caller asks for one of them alone).
    pub retrievers: Retrievers,
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
    /// The query's embedding, when dense retrieval ran (the monitoring's drift of questions).
    pub query_vector: Option<Vec<f32>>,
}

/// Fuses two scored rankings (BM25, dense; best first) by `w.method`; returns (id, fused, rank
/// in a, rank in b) best first, ties broken by id for determinism.
pub fn fuse(a: &[(String, f32)], b: &[(String, f32)], w: FusionWeights) -> Fused {
    match w.method {
        FusionMethod::Rrf => rrf_of(
            a.iter().map(|x| x.0.as_str()),
            b.iter().map(|x| x.0.as_str()),
            w,
        ),
        FusionMethod::Convex => convex(a, b, w),
    }
}

/// The fused ranking with each retriever's first `w.keep_firsts` candidates moved into the
/// first `k` places (replacing the last of the others there, order otherwise kept); nothing
/// moves when `k` is less than twice the number kept.
pub fn keep_firsts(fused: Fused, k: usize, w: FusionWeights) -> Fused {
    let n = w.keep_firsts;
    if n == 0 || k < 2 * n || fused.len() <= k {
        return fused;
    }
    let kept = |x: &(String, f32, Option<usize>, Option<usize>)| {
        x.2.is_some_and(|r| r <= n) || x.3.is_some_and(|r| r <= n)
    };
    // Each kept one beyond the first k takes the place of the last unkept one within them.
    let mut in_head: Vec<bool> = (0..fused.len()).map(|i| i < k).collect();
    let mut room = (0..k).rev().filter(|&i| !kept(&fused[i]));
    for i in (k..fused.len()).filter(|&i| kept(&fused[i])) {
        let Some(j) = room.next() else { break };
        in_head[i] = true;
        in_head[j] = false;
    }
    // The ranking is sorted, so both parts keep the fused order.
    let (head, tail): (Vec<_>, Vec<_>) = fused.into_iter().zip(in_head).partition(|x| x.1);
    head.into_iter().chain(tail).map(|(x, _)| x).collect()
}

/// Min-max normalised scores of one ranking (all 1 when its scores are equal).
fn normalised(list: &[(String, f32)]) -> Vec<f32> {
    let lo = list.iter().map(|x| x.1).fold(f32::INFINITY, f32::min);
    let hi = list.iter().map(|x| x.1).fold(f32::NEG_INFINITY, f32::max);
    list.iter()
        .map(|(_, s)| {
            if hi - lo > 1e-9 {
                (s - lo) / (hi - lo)
            } else {
                1.0
            }
        })
        .collect()
}

/// The convex combination of min-max normalised scores ([`FusionMethod::Convex`]).
fn convex(a: &[(String, f32)], b: &[(String, f32)], w: FusionWeights) -> Fused {
    combine(
        a.iter()
            .zip(normalised(a))
            .map(|((id, _), n)| (id.as_str(), w.bm25 * n)),
        b.iter()
            .zip(normalised(b))
            .map(|((id, _), n)| (id.as_str(), w.dense * n)),
    )
}

/// A fused ranking: (id, fused score, rank in a, rank in b), best first.
pub type Fused = Vec<(String, f32, Option<usize>, Option<usize>)>;

/// Sums each id's contributions from two rankings (given best first; a repeated id counts at
/// its first place only) and sorts best first, ties broken by id for determinism.
fn combine<'a>(
    a: impl Iterator<Item = (&'a str, f32)>,
    b: impl Iterator<Item = (&'a str, f32)>,
) -> Fused {
    use std::collections::HashMap;
    let mut acc: HashMap<&str, (f32, Option<usize>, Option<usize>)> = HashMap::new();
    for (i, (id, x)) in a.enumerate() {
        let e = acc.entry(id).or_default();
        if e.1.is_none() {
            e.0 += x;
            e.1 = Some(i + 1);
        }
    }
    for (i, (id, x)) in b.enumerate() {
        let e = acc.entry(id).or_default();
        if e.2.is_none() {
            e.0 += x;
            e.2 = Some(i + 1);
        }
    }
    let mut out: Fused = acc
        .into_iter()
        .map(|(id, (s, ra, rb))| (id.to_string(), s, ra, rb))
        .collect();
    out.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    out
}

/// Weighted reciprocal rank fusion of two rankings of ids; returns (id, fused, rank in a,
/// rank in b) best first, ties broken by id for determinism.
pub fn rrf(a: &[String], b: &[String], w: FusionWeights) -> Fused {
    rrf_of(
        a.iter().map(String::as_str),
        b.iter().map(String::as_str),
        w,
    )
}

/// [`rrf`] over any two rankings of ids.
fn rrf_of<'a>(
    a: impl Iterator<Item = &'a str>,
    b: impl Iterator<Item = &'a str>,
    w: FusionWeights,
) -> Fused {
    let at = |weight: f32| move |(i, id): (usize, &'a str)| (id, weight / (w.k + (i + 1) as f32));
    combine(
        a.enumerate().map(at(w.bm25)),
        b.enumerate().map(at(w.dense)),
    )
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
    fn convex_fusion_keeps_a_strong_lead() {
        let s = |v: &[(&str, f32)]| -> Vec<(String, f32)> {
            v.iter().map(|(i, x)| (i.to_string(), *x)).collect()
        };
        let w = FusionWeights {
            method: FusionMethod::Convex,
            ..FusionWeights::default()
        };
        // BM25 finds `a` far above the rest (normalised 1, 2/24, 1/24, 0); dense ranks `c`,
        // `b`, `d` (1, 5/6, 4/6, 0).
        let bm25 = s(&[("a", 30.0), ("b", 8.0), ("c", 7.0), ("x", 6.0)]);
        let dense = s(&[("c", 0.86), ("b", 0.85), ("d", 0.84), ("y", 0.80)]);
        let out = fuse(&bm25, &dense, w);
        let order: Vec<&str> = out.iter().take(4).map(|x| x.0.as_str()).collect();
        assert_eq!(order, ["c", "a", "b", "d"], "{out:?}");
        assert!((out[1].1 - 1.0).abs() < 1e-6 && out[1].2 == Some(1) && out[1].3.is_none());
        assert!((out[2].1 - (2.0 / 24.0 + 5.0 / 6.0)).abs() < 1e-6);
        // RRF flattens `a`'s lead to its rank: `b`, found weakly by both, comes before it.
        let rrf_order: Vec<String> = fuse(&bm25, &dense, FusionWeights::default())
            .into_iter()
            .take(3)
            .map(|x| x.0)
            .collect();
        assert_eq!(rrf_order, ["c", "b", "a"]);
        // Equal scores normalise to 1, not NaN.
        let flat = fuse(&s(&[("a", 2.0), ("b", 2.0)]), &[], w);
        assert!(flat.iter().all(|x| x.1 == 1.0));
    }

    #[test]
    fn each_retrievers_first_is_kept_among_the_hits() {
        let s =
            |v: &[&str]| -> Vec<(String, f32)> { v.iter().map(|i| (i.to_string(), 1.0)).collect() };
        // `z` is BM25's first but nothing else finds it; both find b, c, d, e, f.
        let bm25 = s(&["z", "b", "c", "d", "e", "f"]);
        let dense = s(&["b", "c", "d", "e", "f", "y"]);
        let w = FusionWeights::default();
        let plain: Vec<String> = fuse(&bm25, &dense, w).into_iter().map(|x| x.0).collect();
        assert!(!plain[..5].contains(&"z".to_string()), "{plain:?}");
        let kept = keep_firsts(
            fuse(&bm25, &dense, w),
            5,
            FusionWeights {
                keep_firsts: 1,
                ..w
            },
        );
        let ids: Vec<&str> = kept.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(ids.len(), 7);
        assert!(ids[..5].contains(&"z"), "{ids:?}");
        // `b` is dense's first and stays; the fused order is kept otherwise.
        assert_eq!(&ids[..4], &["b", "c", "d", "e"]);
        assert_eq!(ids[4], "z");
        // Nothing moves when k is small.
        let small = keep_firsts(
            fuse(&bm25, &dense, w),
            1,
            FusionWeights {
                keep_firsts: 1,
                ..w
            },
        );
        assert_eq!(small[0].0, "b");
    }

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
