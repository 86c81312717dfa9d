//! [`KnowledgeBase`]: documents in, hits out. It owns the lexical index, the vector store, the
//! manifest and the embedder, ingests and deletes document versions atomically across both
//! indexes (see [`crate::manifest`] for the protocol), reconciles them at open, and searches
//! with clearance enforcement.
//!
//! Every method blocks (tantivy, Qdrant Edge and the embedder all do): call it from
//! `spawn_blocking` in async code. Ingestion and deletion are serialised by one writer lock;
//! searches run concurrently with them and never see a partial document, because a hit is
//! shown only when its version is the one the manifest has committed.
//!
//! One job per module: `config` ([`KbConfig`], [`VectorBackend`]), `lock` ([`KbLock`]),
//! `vectors` (the vector store's adapter and the count of points waiting for its index),
//! `ingest` (the commit protocol), `revise` (a chunk corrected or split, committed as the
//! next version by the same protocol), `delete`, `search` (exact lookup, hybrid fusion) and
//! `affinity` (ranking exact hits by the titles a question names). This module holds
//! [`KnowledgeBase`] and the types of its API ([`IngestRequest`], [`IngestReport`], …):
//! opening, reconciling, the accessors and the vector-index upkeep. Imports point one way:
//! this module uses only `config`, `lock` and `vectors`; `ingest`, `revise`, `delete` and
//! `search` add methods to [`KnowledgeBase`] and use this module; `revise` commits through
//! `ingest`'s `commit_version`, and no other two of them import each other.

mod affinity;
mod config;
mod delete;
mod ingest;
mod lock;
mod revise;
mod search;
mod vectors;

#[cfg(any(test, feature = "testing"))]
pub use config::CrashPoint;
pub use config::{KbConfig, VectorBackend};
pub use lock::{KbLock, LOCK_FILE};
pub use revise::{ChunkEdit, MAX_CHUNK_CHARS};

use crate::chunk::Problem;
use crate::document::DocId;
use crate::error::KnowledgeError;
use crate::lexical::LexicalIndex;
use crate::manifest::{FORMAT, Intent, Manifest, ManifestEntry};
use crate::vector::VectorStore;
use crate::vector::edge::EdgeStore;
use models::Embedder;
use policies::DataClass;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// What to ingest, besides the content.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestRequest {
    /// Where the content came from (file path or URL); also derives the id when none is given.
    pub source: String,
    /// The collection.
    pub collection: String,
    /// The classification.
    pub classification: DataClass,
    /// The document id; derived from collection and source when `None`.
    pub doc_id: Option<DocId>,
    /// The title; found in the text when `None`.
    pub title: Option<String>,
}

/// What an ingestion did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum IngestStatus {
    /// A new document.
    Added,
    /// A new version replaced an older one.
    Replaced {
        /// The version replaced.
        previous: u64,
    },
    /// The same content was already committed: nothing changed.
    Unchanged,
}

/// The outcome of one ingestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    /// The document.
    pub doc_id: String,
    /// The committed version.
    pub version: u64,
    /// What happened.
    pub status: IngestStatus,
    /// The title used.
    pub title: String,
    /// Chunks indexed.
    pub chunks: usize,
    /// Pages seen.
    pub pages: u32,
    /// Fragments merged by similarity.
    pub merged: usize,
    /// The encoding the bytes were decoded from (empty for text input).
    pub encoding: String,
    /// What the decoder and chunker noticed.
    pub problems: Vec<Problem>,
    /// Milliseconds decoding and chunking.
    pub chunk_ms: f64,
    /// Milliseconds embedding (merge comparisons and passages).
    pub embed_ms: f64,
    /// Milliseconds writing both indexes and the manifest.
    pub index_ms: f64,
}

/// What opening reconciled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// The intent a crash left behind, if any.
    pub intent: Option<Intent>,
    /// Versions removed from the lexical index because the manifest does not name them.
    pub removed_lexical: Vec<String>,
    /// Versions removed from the vector store for the same reason.
    pub removed_vectors: Vec<String>,
    /// Committed versions missing from an index (data loss: re-ingest them).
    pub missing: Vec<String>,
}

/// The document versions each part holds (for checks and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consistency {
    /// Committed in the manifest.
    pub manifest: BTreeSet<String>,
    /// Present in the lexical index.
    pub lexical: BTreeSet<String>,
    /// Present in the vector store.
    pub vectors: BTreeSet<String>,
}

impl Consistency {
    /// Whether all three agree.
    pub fn agrees(&self) -> bool {
        self.manifest == self.lexical && self.manifest == self.vectors
    }
}

/// The knowledge base in one data directory.
pub struct KnowledgeBase {
    _lock: KbLock,
    dir: PathBuf,
    lexical: LexicalIndex,
    vectors: Box<dyn VectorStore>,
    edge: Option<Arc<EdgeStore>>,
    embedder: Arc<dyn Embedder>,
    /// The committed state; searches take a snapshot (an `Arc`) and filter every hit by it.
    manifest: RwLock<Arc<Manifest>>,
    /// Searches hold it shared for their whole run; removing a superseded version from the
    /// indexes holds it exclusively, so a search never loses the version its snapshot names
    /// half-way (no partial or mixed document is ever returned).
    gate: RwLock<()>,
    writer: Mutex<()>,
    /// Points added to the embedded store since its index was last built (at open: as
    /// recorded in the data directory, or all of them when nothing was recorded).
    unindexed: std::sync::atomic::AtomicUsize,
    config: KbConfig,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

impl KnowledgeBase {
    /// Opens (or creates) the knowledge base in `dir` and reconciles its indexes. The process
    /// holds the directory's single-writer lock ([`KbLock`]) until the knowledge base is
    /// dropped; `holder` says who it is in the lock file (`server`, `deskmate ingest`).
    pub fn open(
        dir: &Path,
        embedder: Arc<dyn Embedder>,
        config: KbConfig,
    ) -> Result<(KnowledgeBase, ReconcileReport), KnowledgeError> {
        Self::open_as(dir, embedder, config, "deskmate")
    }

    /// [`KnowledgeBase::open`] naming the lock holder.
    pub fn open_as(
        dir: &Path,
        embedder: Arc<dyn Embedder>,
        config: KbConfig,
        holder: &str,
    ) -> Result<(KnowledgeBase, ReconcileReport), KnowledgeError> {
        std::fs::create_dir_all(dir).map_err(|source| KnowledgeError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let lock = KbLock::acquire(dir, holder)?;
        let dim = embedder.dim();
        let manifest = match Manifest::load(dir)? {
            Some(m) => {
                if m.embedder != embedder.id() || m.dim != dim {
                    return Err(KnowledgeError::EmbedderMismatch {
                        path: dir.to_path_buf(),
                        found: format!("{} ({} dimensions)", m.embedder, m.dim),
                        expected: format!("{} ({dim} dimensions)", embedder.id()),
                    });
                }
                m
            }
            None => {
                let m = Manifest {
                    format: FORMAT,
                    embedder: embedder.id().to_string(),
                    dim,
                    documents: Default::default(),
                };
                m.save(dir)?;
                m
            }
        };
        let lexical = LexicalIndex::open(&dir.join("lexical"))?;
        let opened = vectors::open(dir, &config.vector, dim)?;
        let kb = KnowledgeBase {
            unindexed: std::sync::atomic::AtomicUsize::new(opened.unindexed),
            _lock: lock,
            dir: dir.to_path_buf(),
            lexical,
            vectors: opened.store,
            edge: opened.edge,
            embedder,
            manifest: RwLock::new(Arc::new(manifest)),
            gate: RwLock::new(()),
            writer: Mutex::new(()),
            config,
        };
        let report = kb.reconcile()?;
        Ok((kb, report))
    }

    /// Resolves a leftover intent and removes every version the manifest does not name.
    fn reconcile(&self) -> Result<ReconcileReport, KnowledgeError> {
        let _w = self.writer.lock().unwrap();
        let mut report = ReconcileReport {
            intent: Intent::load(&self.dir)?,
            ..Default::default()
        };
        let committed = self.manifest.read().unwrap().version_keys();
        let lexical = self.lexical.version_keys()?;
        let vectors = self.vectors.version_keys()?;
        for key in lexical.difference(&committed) {
            self.lexical.delete_version(key);
            report.removed_lexical.push(key.clone());
        }
        if !report.removed_lexical.is_empty() {
            self.lexical.commit()?;
        }
        for key in vectors.difference(&committed) {
            self.vectors.delete_version(key)?;
            report.removed_vectors.push(key.clone());
        }
        self.vectors.flush()?;
        for key in &committed {
            if !lexical.contains(key) || !vectors.contains(key) {
                report.missing.push(key.clone());
            }
        }
        Intent::clear(&self.dir)?;
        Ok(report)
    }

    /// The committed documents.
    pub fn documents(&self) -> Vec<ManifestEntry> {
        self.manifest
            .read()
            .unwrap()
            .documents
            .values()
            .cloned()
            .collect()
    }

    /// One committed document.
    pub fn document(&self, id: &DocId) -> Option<ManifestEntry> {
        self.manifest
            .read()
            .unwrap()
            .documents
            .get(id.as_str())
            .cloned()
    }

    /// The chunks of a committed document's current version, in order (`None` when the
    /// document is not committed). The caller checks clearance.
    pub fn chunks(
        &self,
        id: &DocId,
    ) -> Result<Option<Vec<crate::lexical::StoredChunk>>, KnowledgeError> {
        let Some(entry) = self.document(id) else {
            return Ok(None);
        };
        let key = crate::document::version_key(id, entry.meta.version);
        Ok(Some(
            self.lexical.chunks_of(&key, entry.chunks.max(1) + 16)?,
        ))
    }

    /// Which versions the manifest and each index hold.
    pub fn consistency(&self) -> Result<Consistency, KnowledgeError> {
        let _w = self.writer.lock().unwrap();
        Ok(Consistency {
            manifest: self.manifest.read().unwrap().version_keys(),
            lexical: self.lexical.version_keys()?,
            vectors: self.vectors.version_keys()?,
        })
    }

    /// The number of chunks in the lexical index and of points in the vector store.
    pub fn counts(&self) -> Result<(u64, usize), KnowledgeError> {
        Ok((self.lexical.num_chunks(), self.vectors.count()?))
    }

    /// Builds the vector index (HNSW) of the embedded store; a no-op for a server.
    pub fn optimize(&self) -> Result<(), KnowledgeError> {
        let _w = self.writer.lock().unwrap();
        if let Some(e) = &self.edge {
            e.optimize()?;
            self.unindexed
                .store(0, std::sync::atomic::Ordering::Relaxed);
            vectors::write_unindexed(&self.dir, 0);
        }
        Ok(())
    }

    /// Points added to the embedded store since its vector index was last built.
    pub fn unindexed_points(&self) -> usize {
        self.unindexed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts `added` points and builds the index once [`KbConfig::optimize_every`] is
    /// reached (the caller holds the writer lock).
    fn maybe_optimize(&self, added: usize) -> Result<(), KnowledgeError> {
        use std::sync::atomic::Ordering;
        let Some(e) = &self.edge else {
            return Ok(());
        };
        let n = self.unindexed.fetch_add(added, Ordering::Relaxed) + added;
        if self.config.optimize_every > 0 && n >= self.config.optimize_every {
            let t = Instant::now();
            e.optimize()?;
            self.unindexed.store(0, Ordering::Relaxed);
            vectors::write_unindexed(&self.dir, 0);
            tracing::info!(points = n, ms = ms(t), "knowledge base: vector index built");
        } else {
            vectors::write_unindexed(&self.dir, n);
        }
        Ok(())
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The embedder.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }
}
