//! Dense vectors behind one trait, [`VectorStore`], with two backends: [`edge::EdgeStore`]
//! (the embedded Qdrant Edge engine, on disk, the default) and [`server::ServerStore`] (a
//! Qdrant server or cluster through `qdrant-client`).
//!
//! The trait is blocking, like Qdrant Edge itself: call it from `spawn_blocking` in async code.
//! Every point carries its chunk id, document id, version key, path, collection,
//! classification, language and path prefixes as payload; every query carries a
//! [`ChunkFilter`] with the caller's readable classifications.

pub mod edge;
pub mod server;

use crate::error::KnowledgeError;
use crate::filter::ChunkFilter;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// The payload of one point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorPayload {
    /// `{doc}@v{version}#{ordinal}`.
    pub chunk_id: String,
    /// The document id.
    pub doc_id: String,
    /// `{doc}@v{version}`.
    pub version_key: String,
    /// The display path.
    pub path: String,
    /// The collection.
    pub collection: String,
    /// The classification string (`general`, `core+sensitive` …).
    pub classification: String,
    /// The document language (`zh`, `en`, `other`).
    pub language: String,
    /// Every prefix of the normalised label key, for path-prefix filters.
    pub path_prefix: Vec<String>,
}

/// One point to store.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorPoint {
    /// The vector (L2-normalised by the embedder).
    pub vector: Vec<f32>,
    /// Its payload.
    pub payload: VectorPayload,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorHit {
    /// Cosine similarity.
    pub score: f32,
    /// The chunk.
    pub chunk_id: String,
    /// Its document version.
    pub version_key: String,
}

/// A dense vector index.
pub trait VectorStore: Send + Sync {
    /// Names the store in messages (a directory or a URL and collection).
    fn describe(&self) -> String;
    /// Inserts or replaces points (by chunk id).
    fn upsert(&self, points: &[VectorPoint]) -> Result<(), KnowledgeError>;
    /// Deletes every point of one document version.
    fn delete_version(&self, version_key: &str) -> Result<(), KnowledgeError>;
    /// The `limit` nearest points that pass `filter`, best first.
    fn search(
        &self,
        vector: &[f32],
        filter: &ChunkFilter,
        limit: usize,
    ) -> Result<Vec<VectorHit>, KnowledgeError>;
    /// Every document version that has points.
    fn version_keys(&self) -> Result<BTreeSet<String>, KnowledgeError>;
    /// The number of points.
    fn count(&self) -> Result<usize, KnowledgeError>;
    /// Makes every change so far durable.
    fn flush(&self) -> Result<(), KnowledgeError>;
}

/// The numeric point id of a chunk: the first 8 bytes of sha256(chunk id). Collisions need
/// about 4·10⁹ chunks to become likely.
pub fn point_id(chunk_id: &str) -> u64 {
    let d = Sha256::digest(chunk_id.as_bytes());
    u64::from_be_bytes(d[..8].try_into().unwrap())
}

/// The payload keys that filters use (indexed as keywords in both backends).
pub const FILTER_KEYS: [&str; 6] = [
    "doc_id",
    "version_key",
    "collection",
    "classification",
    "language",
    "path_prefix",
];

/// The filter as (key, allowed values) conditions, all of which must hold.
pub(crate) fn filter_conditions(filter: &ChunkFilter) -> Vec<(&'static str, Vec<String>)> {
    let mut out = vec![("classification", filter.classes.clone())];
    if !filter.collections.is_empty() {
        out.push(("collection", filter.collections.clone()));
    }
    if !filter.doc_ids.is_empty() {
        out.push(("doc_id", filter.doc_ids.clone()));
    }
    if !filter.languages.is_empty() {
        out.push((
            "language",
            filter
                .languages
                .iter()
                .map(|l| l.as_str().to_string())
                .collect(),
        ));
    }
    if let Some(p) = &filter.path_prefix {
        out.push(("path_prefix", vec![p.clone()]));
    }
    out
}
