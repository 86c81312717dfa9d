//! Retrieval: [`KnowledgeBase::search`] answers a structural reference (`第二十一条`,
//! `Article 9(2)`) by exact path lookup first, ranking the documents by how strongly the rest
//! of the question names their titles ([`super::affinity`]), then runs BM25 and dense retrieval
//! in parallel and fuses them ([`crate::search::fuse`]: weighted RRF or a convex combination of
//! normalised scores, as configured).
//! [`KnowledgeBase::lookup_path`] is the exact lookup on its own. Every hit is filtered by the
//! caller's clearance and shown only if its version is the committed one.

use super::affinity::title_affinity;
use super::{KnowledgeBase, ms};
use crate::error::KnowledgeError;
use crate::filter::{ChunkFilter, readable_classes};
use crate::lexical::StoredChunk;
use crate::manifest::Manifest;
use crate::refs;
use crate::search::{
    Filters, Hit, Scores, SearchRequest, SearchResults, fuse, keep_firsts, path_prefix_key,
};
use crate::vector::VectorHit;
use models::EmbedKind;
use policies::Clearance;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

impl KnowledgeBase {
    fn chunk_filter(&self, filters: &Filters, clearance: Clearance) -> ChunkFilter {
        ChunkFilter {
            collections: filters.collections.clone(),
            doc_ids: filters.doc_ids.clone(),
            languages: filters.languages.clone(),
            path_prefix: filters
                .path_prefix
                .as_deref()
                .map(path_prefix_key)
                .filter(|p| !p.is_empty()),
            classes: readable_classes(clearance),
        }
    }

    /// Whether a stored chunk is in the committed version and readable by the clearance (the
    /// manifest's classification is authoritative).
    fn visible(
        &self,
        manifest: &Manifest,
        doc_id: &str,
        version: u64,
        clearance: Clearance,
    ) -> bool {
        manifest
            .documents
            .get(doc_id)
            .is_some_and(|e| e.meta.version == version && clearance.can_read(e.meta.classification))
    }

    fn to_hit(c: StoredChunk, scores: Scores, exact: bool) -> Hit {
        Hit {
            chunk_id: c.chunk_id,
            doc_id: c.doc_id,
            version: c.version,
            title: c.title,
            collection: c.collection,
            classification: c.classification,
            path: c.path,
            location: c.location,
            text: c.text,
            scores,
            exact,
        }
    }

    /// Exact path lookup: the chunks whose paths carry all of `labels` (normalised, e.g.
    /// `["第1章", "第2条"]`), in document order. Labels finer than an article (款, `(a)`) are
    /// dropped one by one from the end when nothing carries them.
    pub fn lookup_path(
        &self,
        labels: &[String],
        filters: &Filters,
        clearance: Clearance,
        limit: usize,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        let _shared = self.gate.read().unwrap();
        let manifest = self.snapshot();
        self.lookup_path_in(&manifest, labels, filters, clearance, limit)
    }

    /// The chunks of one committed document under the sections headed exactly `headings` (a
    /// segment of the chunk's path reads as the heading, e.g. an unnumbered Markdown heading),
    /// in the order of `headings`, each heading's chunks in document order; nothing when the
    /// document is not committed or above `clearance`. For callers that know a document's
    /// structure (the compliance corpus's one section per provision); the hits are not
    /// structural (`exact` is false) and carry no retrieval scores.
    pub fn sections(
        &self,
        doc: &crate::document::DocId,
        headings: &[String],
        clearance: Clearance,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        let _shared = self.gate.read().unwrap();
        let manifest = self.snapshot();
        let Some(entry) = manifest.documents.get(doc.as_str()) else {
            return Ok(Vec::new());
        };
        if !clearance.can_read(entry.meta.classification) {
            return Ok(Vec::new());
        }
        let key = crate::document::version_key(doc, entry.meta.version);
        let chunks = self.lexical.chunks_of(&key, entry.chunks.max(1) + 16)?;
        let mut out = Vec::new();
        for h in headings {
            for c in chunks
                .iter()
                .filter(|c| c.path.segments.iter().any(|s| s.display() == *h))
            {
                out.push(Self::to_hit(c.clone(), Scores::default(), false));
            }
        }
        Ok(out)
    }

    /// The committed state now.
    fn snapshot(&self) -> Arc<Manifest> {
        self.manifest.read().unwrap().clone()
    }

    /// [`KnowledgeBase::lookup_path`] against a snapshot (the caller holds the gate).
    fn lookup_path_in(
        &self,
        manifest: &Manifest,
        labels: &[String],
        filters: &Filters,
        clearance: Clearance,
        limit: usize,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        let filter = self.chunk_filter(filters, clearance);
        let mut labels: Vec<String> = labels
            .iter()
            .map(|l| crate::cn::normalize_label(l))
            .collect();
        loop {
            let found = self
                .lexical
                .lookup(&labels, &filter, limit.max(1) * 4 + 64)?;
            let hits: Vec<Hit> = found
                .into_iter()
                .filter(|c| self.visible(manifest, &c.doc_id, c.version, clearance))
                .map(|c| {
                    Self::to_hit(
                        c,
                        Scores {
                            fused: 1.0,
                            ..Default::default()
                        },
                        true,
                    )
                })
                .collect();
            let finer = labels
                .last()
                .is_some_and(|l| l.ends_with('款') || l.ends_with('项') || l.starts_with('('));
            if !hits.is_empty() || labels.len() <= 1 || !finer {
                return Ok(hits);
            }
            labels.pop();
        }
    }

    /// Hybrid search: a structural reference is answered by exact path lookup first, then BM25
    /// and dense retrieval run in parallel and are fused by weighted RRF (or one of them alone,
    /// as [`SearchRequest::retrievers`] says). Nothing above the request's clearance is returned.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, KnowledgeError> {
        let k = request.k.max(1);
        // One snapshot for the whole search, and the gate held so that nothing it names is
        // removed from the indexes meanwhile.
        let _shared = self.gate.read().unwrap();
        let manifest = self.snapshot();
        let filter = self.chunk_filter(&request.filters, request.clearance);
        let reference = refs::parse(&request.query);
        let mut hits: Vec<Hit> = Vec::new();
        if let Some(r) = &reference {
            let mut exact =
                self.lookup_path_in(&manifest, &r.labels, &request.filters, request.clearance, k)?;
            // Several documents have a 第二十一条: rank the ones whose title the rest of the
            // question names first, then keep document order.
            let mut affinity: HashMap<String, i64> = HashMap::new();
            for h in &exact {
                affinity
                    .entry(h.doc_id.clone())
                    .or_insert_with(|| title_affinity(&h.title, &r.rest));
            }
            let best = affinity.values().copied().max().unwrap_or(0);
            if best > 0 {
                exact.retain(|h| affinity[&h.doc_id] == best);
            }
            exact.truncate(k);
            hits = exact;
        }

        let candidates = (k * self.config.fusion.candidates_per_hit).max(20);
        type Dense = (Vec<VectorHit>, f64, Option<Vec<f32>>);
        let (bm25, dense, bm25_ms, dense_ms, query_vector) = std::thread::scope(|s| {
            let dense = s.spawn(|| -> Result<Dense, KnowledgeError> {
                if !request.retrievers.dense() {
                    return Ok((Vec::new(), 0.0, None));
                }
                let t = Instant::now();
                let e = self
                    .embedder
                    .embed(&[request.query.as_str()], EmbedKind::Query)?;
                let v = e.vectors.into_iter().next().unwrap_or_default();
                let hits = self.vectors.search(&v, &filter, candidates)?;
                Ok((hits, ms(t), Some(v)))
            });
            let t = Instant::now();
            let bm25 = if request.retrievers.lexical() {
                self.lexical.search(&request.query, &filter, candidates)
            } else {
                Ok(Vec::new())
            };
            let bm25_ms = ms(t);
            let dense = dense.join().unwrap_or_else(|_| {
                Err(KnowledgeError::Vector {
                    store: self.vectors.describe(),
                    reason: "dense retrieval panicked".into(),
                })
            });
            (
                bm25,
                dense
                    .as_ref()
                    .map(|d| d.0.clone())
                    .map_err(|e| e.to_string()),
                bm25_ms,
                dense.as_ref().map(|d| d.1).unwrap_or(0.0),
                dense.ok().and_then(|d| d.2),
            )
        });
        let bm25 = bm25?;
        let dense = dense.map_err(|reason| KnowledgeError::Vector {
            store: self.vectors.describe(),
            reason,
        })?;

        let mut stored: HashMap<String, (f32, StoredChunk)> = HashMap::new();
        let mut bm25_ranked = Vec::new();
        for (score, c) in bm25 {
            if self.visible(&manifest, &c.doc_id, c.version, request.clearance) {
                bm25_ranked.push((c.chunk_id.clone(), score));
                stored.insert(c.chunk_id.clone(), (score, c));
            }
        }
        let mut dense_ranked = Vec::new();
        let mut dense_scores = HashMap::new();
        for h in &dense {
            let Some((doc, version)) = parse_version_key(&h.version_key) else {
                continue;
            };
            let committed = manifest
                .documents
                .get(doc)
                .is_some_and(|e| e.meta.version == version);
            if committed {
                dense_ranked.push((h.chunk_id.clone(), h.score));
                dense_scores.insert(h.chunk_id.clone(), h.score);
            }
        }
        let missing: Vec<String> = dense_ranked
            .iter()
            .map(|(id, _)| id)
            .filter(|id| !stored.contains_key(*id))
            .cloned()
            .collect();
        let mut dense_only: HashMap<String, StoredChunk> = HashMap::new();
        for c in self.lexical.get(&missing)? {
            dense_only.insert(c.chunk_id.clone(), c);
        }
        let already: BTreeSet<String> = hits.iter().map(|h| h.chunk_id.clone()).collect();
        let fused = keep_firsts(
            fuse(&bm25_ranked, &dense_ranked, self.config.fusion),
            k.saturating_sub(hits.len()),
            self.config.fusion,
        );
        for (id, fused, rb, rd) in fused {
            if hits.len() >= k {
                break;
            }
            let chunk = match stored.get(&id) {
                Some((_, c)) => c.clone(),
                None => match dense_only.get(&id) {
                    Some(c) => c.clone(),
                    None => continue,
                },
            };
            if !self.visible(&manifest, &chunk.doc_id, chunk.version, request.clearance) {
                continue;
            }
            let scores = Scores {
                bm25: stored.get(&id).map(|s| s.0),
                bm25_rank: rb,
                dense: dense_scores.get(&id).copied(),
                dense_rank: rd,
                fused,
                rerank: None,
            };
            if already.contains(&id) {
                if let Some(h) = hits.iter_mut().find(|h| h.chunk_id == id) {
                    h.scores = Scores {
                        fused: 1.0 + fused,
                        ..scores
                    };
                }
                continue;
            }
            hits.push(Self::to_hit(chunk, scores, false));
        }
        Ok(SearchResults {
            hits,
            reference: reference.map(|r| r.labels),
            bm25_ms,
            dense_ms,
            reranked_by: None,
            rerank_ms: 0.0,
            query_vector,
        })
    }
}

fn parse_version_key(key: &str) -> Option<(&str, u64)> {
    let (doc, v) = key.rsplit_once("@v")?;
    Some((doc, v.parse().ok()?))
}
