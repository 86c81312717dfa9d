//! [`KnowledgeBase`]: documents in, hits out. It owns the lexical index, the vector store, the
//! manifest and the embedder, ingests and deletes document versions atomically across both
//! indexes (see [`crate::manifest`] for the protocol), reconciles them at open, and searches
//! with clearance enforcement.
//!
//! Every method blocks (tantivy, Qdrant Edge and the embedder all do): call it from
//! `spawn_blocking` in async code. Ingestion and deletion are serialised by one writer lock;
//! searches run concurrently with them and never see a partial document, because a hit is
//! shown only when its version is the one the manifest has committed.

use crate::chunk::{self, ChunkOptions, Format, Problem, SourceText, merge_short_fragments};
use crate::decode::{self, DEFAULT_MAX_BYTES};
use crate::document::{DocId, DocumentMeta, content_hash, version_key};
use crate::error::{InputError, KnowledgeError};
use crate::filter::{ChunkFilter, readable_classes};
use crate::lexical::{LexicalIndex, StoredChunk};
use crate::manifest::{FORMAT, Intent, Manifest, ManifestEntry};
use crate::refs;
use crate::search::Filters;
use crate::search::{
    FusionWeights, Hit, Scores, SearchRequest, SearchResults, path_prefix_key, rrf,
};
use crate::vector::edge::EdgeStore;
use crate::vector::server::ServerStore;
use crate::vector::{VectorPayload, VectorPoint, VectorStore};
use models::{EmbedKind, Embedder};
use policies::{Clearance, DataClass};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// Where dense vectors live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VectorBackend {
    /// Embedded Qdrant Edge in `<dir>/vectors` (the default).
    Edge,
    /// A Qdrant server or cluster (gRPC URL) and a collection name.
    Server {
        /// `http://host:6334`.
        url: String,
        /// The collection.
        collection: String,
    },
}

/// A step of the ingestion protocol, for crash-recovery tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CrashPoint {
    /// After the intent is written, before either index changes.
    AfterIntent,
    /// After the vectors are stored, before the lexical index changes.
    AfterVectors,
    /// After both indexes hold the new version, before the manifest commits it.
    AfterLexical,
    /// After the manifest commit, before the old version is deleted.
    AfterManifest,
}

/// Knowledge-base settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbConfig {
    /// Where vectors live.
    pub vector: VectorBackend,
    /// Chunker settings.
    pub chunk: ChunkOptions,
    /// Fusion weights.
    pub fusion: FusionWeights,
    /// The largest input file accepted, in bytes.
    pub max_bytes: usize,
    /// Texts per embedding call.
    pub embed_batch: usize,
    /// Build the embedded store's vector index (HNSW) once this many points were added since
    /// it was last built (0: never). Below Qdrant's indexing threshold a search scans every
    /// vector: at 100k chunks that alone is ~16 ms a query on 2 cores, against ~2 ms with the
    /// index (`cargo bench -p knowledge`). The ingest that crosses the line pays for the build
    /// (about a minute at 100k points on 2 cores).
    #[serde(default = "default_optimize_every")]
    pub optimize_every: usize,
    /// Stop ingestion at this step as if the process died (tests only).
    #[serde(skip)]
    pub crash_at: Option<CrashPoint>,
}

fn default_optimize_every() -> usize {
    20_000
}

impl Default for KbConfig {
    fn default() -> Self {
        KbConfig {
            vector: VectorBackend::Edge,
            chunk: ChunkOptions::default(),
            fusion: FusionWeights::default(),
            max_bytes: DEFAULT_MAX_BYTES,
            embed_batch: 16,
            optimize_every: default_optimize_every(),
            crash_at: None,
        }
    }
}

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

/// The lock file inside the knowledge-base directory.
pub const LOCK_FILE: &str = "kb.lock";

/// The single-writer lock of a knowledge-base directory: an exclusive advisory lock on
/// [`LOCK_FILE`], whose content names the holder. Released when dropped (or when the process
/// dies).
#[derive(Debug)]
pub struct KbLock {
    _file: std::fs::File,
}

impl KbLock {
    /// Takes the lock for `holder` (`server`, `deskmate ingest`), or says who holds it.
    pub fn acquire(dir: &Path, holder: &str) -> Result<KbLock, KnowledgeError> {
        use std::io::{Read, Seek, Write};
        let path = dir.join(LOCK_FILE);
        let io = |source| KnowledgeError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if let Err(e) = file.try_lock() {
            if let std::fs::TryLockError::Error(source) = e {
                return Err(io(source));
            }
            let mut who = String::new();
            let _ = file.read_to_string(&mut who);
            return Err(KnowledgeError::Locked {
                path: dir.to_path_buf(),
                holder: if who.trim().is_empty() {
                    "another process".into()
                } else {
                    who.trim().to_string()
                },
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{holder}, pid {}", std::process::id()).map_err(io)?;
        Ok(KbLock { _file: file })
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
    /// Points added to the embedded store since its index was last built (at open: all of
    /// them, as the index state is not recorded).
    unindexed: std::sync::atomic::AtomicUsize,
    config: KbConfig,
}

/// An [`EdgeStore`] shared between the knowledge base and its optimiser.
struct SharedEdge(Arc<EdgeStore>);

impl VectorStore for SharedEdge {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn upsert(&self, points: &[VectorPoint]) -> Result<(), KnowledgeError> {
        self.0.upsert(points)
    }
    fn delete_version(&self, key: &str) -> Result<(), KnowledgeError> {
        self.0.delete_version(key)
    }
    fn search(
        &self,
        v: &[f32],
        f: &ChunkFilter,
        limit: usize,
    ) -> Result<Vec<crate::vector::VectorHit>, KnowledgeError> {
        self.0.search(v, f, limit)
    }
    fn version_keys(&self) -> Result<BTreeSet<String>, KnowledgeError> {
        self.0.version_keys()
    }
    fn count(&self) -> Result<usize, KnowledgeError> {
        self.0.count()
    }
    fn flush(&self) -> Result<(), KnowledgeError> {
        self.0.flush()
    }
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
        let (vectors, edge): (Box<dyn VectorStore>, Option<Arc<EdgeStore>>) = match &config.vector {
            VectorBackend::Edge => {
                let e = Arc::new(EdgeStore::open(&dir.join("vectors"), dim)?);
                (
                    Box::new(SharedEdge(e.clone())) as Box<dyn VectorStore>,
                    Some(e),
                )
            }
            VectorBackend::Server { url, collection } => (
                Box::new(ServerStore::open(url, collection, dim)?) as Box<dyn VectorStore>,
                None,
            ),
        };
        // Points added since the index was last built, as recorded at the last write; a base
        // without the record (written before it existed) counts every point.
        let unindexed = match &edge {
            Some(e) => match read_unindexed(dir) {
                Some(n) => n.min(e.count()?),
                None => e.count()?,
            },
            None => 0,
        };
        let kb = KnowledgeBase {
            unindexed: std::sync::atomic::AtomicUsize::new(unindexed),
            _lock: lock,
            dir: dir.to_path_buf(),
            lexical,
            vectors,
            edge,
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

    /// Decodes bytes (size limit, encoding detection) and ingests them.
    pub fn ingest_bytes(
        &self,
        request: &IngestRequest,
        bytes: &[u8],
    ) -> Result<IngestReport, KnowledgeError> {
        let t = Instant::now();
        let decoded = decode::decode(bytes, &request.source, self.config.max_bytes)?;
        let source = SourceText::new(decoded.text, Format::from_path(&request.source));
        let mut report = self.ingest_text(request, &source)?;
        report.encoding = decoded.encoding.to_string();
        report.problems.extend(
            decoded
                .problems
                .into_iter()
                .map(|message| Problem { line: 0, message }),
        );
        report.chunk_ms += ms(t) - report.chunk_ms - report.embed_ms - report.index_ms;
        Ok(report)
    }

    /// Ingests extracted text: chunk, merge fragments, embed, then commit the version to both
    /// indexes atomically. Unchanged content is a no-op.
    pub fn ingest_text(
        &self,
        request: &IngestRequest,
        source: &SourceText,
    ) -> Result<IngestReport, KnowledgeError> {
        if request.collection.is_empty() || request.collection.len() > 100 {
            return Err(InputError::Invalid {
                field: "collection",
                reason: "must be 1 to 100 characters".into(),
            }
            .into());
        }
        if source.text.trim().is_empty() {
            return Err(InputError::Empty {
                origin: request.source.clone(),
            }
            .into());
        }
        let t = Instant::now();
        let id = request
            .doc_id
            .clone()
            .unwrap_or_else(|| DocId::derive(&request.collection, &request.source));
        let fallback = Path::new(&request.source)
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let options = ChunkOptions {
            title: request.title.clone(),
            ..self.config.chunk.clone()
        };
        let mut chunked = chunk::chunk(source, &fallback, &options);
        let hash = content_hash(&source.text);
        let chunk_ms = ms(t);

        // The same content already committed in the collection under another source (a
        // duplicate upload) is a no-op too, reported against the document that holds it.
        if request.doc_id.is_none() {
            let manifest = self.manifest.read().unwrap();
            if !manifest.documents.contains_key(id.as_str())
                && let Some(e) = manifest.documents.values().find(|e| {
                    e.meta.content_hash == hash
                        && e.meta.collection == request.collection
                        && e.meta.classification == request.classification
                })
            {
                return Ok(IngestReport {
                    doc_id: e.meta.id.to_string(),
                    version: e.meta.version,
                    status: IngestStatus::Unchanged,
                    title: e.meta.title.clone(),
                    chunks: e.chunks,
                    pages: e.pages,
                    merged: 0,
                    encoding: String::new(),
                    problems: chunked.problems,
                    chunk_ms,
                    embed_ms: 0.0,
                    index_ms: 0.0,
                });
            }
        }
        // Unchanged content (and metadata) is a no-op.
        if let Some(e) = self.manifest.read().unwrap().documents.get(id.as_str())
            && e.meta.content_hash == hash
            && e.meta.classification == request.classification
            && e.meta.collection == request.collection
            && e.meta.title == chunked.title
        {
            return Ok(IngestReport {
                doc_id: id.to_string(),
                version: e.meta.version,
                status: IngestStatus::Unchanged,
                title: chunked.title,
                chunks: e.chunks,
                pages: e.pages,
                merged: 0,
                encoding: String::new(),
                problems: chunked.problems,
                chunk_ms,
                embed_ms: 0.0,
                index_ms: 0.0,
            });
        }
        if chunked.chunks.is_empty() {
            return Err(InputError::Empty {
                origin: request.source.clone(),
            }
            .into());
        }
        let t = Instant::now();
        let merge = merge_short_fragments(&mut chunked.chunks, self.embedder.as_ref())?;
        let texts: Vec<String> = chunked
            .chunks
            .iter()
            .map(|c| c.indexed_text(&chunked.title))
            .collect();
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.config.embed_batch.max(1)) {
            let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
            let e = self.embedder.embed(&refs, EmbedKind::Passage)?;
            vectors.extend(e.vectors);
        }
        let embed_ms = ms(t);

        let t = Instant::now();
        let _w = self.writer.lock().unwrap();
        let previous = self
            .manifest
            .read()
            .unwrap()
            .documents
            .get(id.as_str())
            .map(|e| e.meta.version);
        let version = previous.map_or(1, |v| v + 1);
        let meta = DocumentMeta {
            id: id.clone(),
            title: chunked.title.clone(),
            source: request.source.clone(),
            collection: request.collection.clone(),
            language: chunked.language,
            classification: request.classification,
            content_hash: hash,
            version,
            metadata: chunked.metadata.clone(),
        };
        let new_key = version_key(&id, version);
        let old_key = previous.map(|v| version_key(&id, v));
        let intent = Intent {
            doc_id: id.to_string(),
            add: Some(new_key.clone()),
            remove: old_key.clone(),
        };
        intent.save(&self.dir)?;
        self.crash(CrashPoint::AfterIntent)?;

        let prefixes = |c: &crate::document::Chunk| {
            let key = c.path.label_key();
            let parts: Vec<&str> = key.split('/').filter(|p| !p.is_empty()).collect();
            (1..=parts.len())
                .map(|n| parts[..n].join("/"))
                .collect::<Vec<_>>()
        };
        let points: Vec<VectorPoint> = chunked
            .chunks
            .iter()
            .zip(vectors)
            .map(|(c, vector)| VectorPoint {
                vector,
                payload: VectorPayload {
                    chunk_id: crate::document::chunk_id(&id, version, c.ordinal),
                    doc_id: id.to_string(),
                    version_key: new_key.clone(),
                    path: c.path.display(&meta.title),
                    collection: meta.collection.clone(),
                    classification: meta.classification.to_string(),
                    language: meta.language.as_str().to_string(),
                    path_prefix: prefixes(c),
                },
            })
            .collect();
        for batch in points.chunks(256) {
            self.vectors.upsert(batch)?;
        }
        self.vectors.flush()?;
        self.crash(CrashPoint::AfterVectors)?;

        if let Err(e) = self
            .lexical
            .add(&meta, &chunked.chunks)
            .and_then(|_| self.lexical.commit())
        {
            let _ = self.lexical.rollback();
            return Err(e);
        }
        self.crash(CrashPoint::AfterLexical)?;

        // The commit point.
        {
            let mut m = self.manifest.write().unwrap();
            let mut next = Manifest::clone(&m);
            next.documents.insert(
                id.to_string(),
                ManifestEntry {
                    meta: meta.clone(),
                    chunks: chunked.chunks.len(),
                    pages: chunked.pages,
                },
            );
            next.save(&self.dir)?;
            *m = Arc::new(next);
        }
        self.crash(CrashPoint::AfterManifest)?;

        if let Some(old) = &old_key {
            let _exclusive = self.gate.write().unwrap();
            self.lexical.delete_version(old);
            self.lexical.commit()?;
            self.vectors.delete_version(old)?;
            self.vectors.flush()?;
        }
        Intent::clear(&self.dir)?;
        self.maybe_optimize(chunked.chunks.len())?;
        Ok(IngestReport {
            doc_id: id.to_string(),
            version,
            status: match previous {
                Some(p) => IngestStatus::Replaced { previous: p },
                None => IngestStatus::Added,
            },
            title: chunked.title,
            chunks: chunked.chunks.len(),
            pages: chunked.pages,
            merged: merge.merged,
            encoding: String::new(),
            problems: chunked.problems,
            chunk_ms,
            embed_ms,
            index_ms: ms(t),
        })
    }

    fn crash(&self, at: CrashPoint) -> Result<(), KnowledgeError> {
        if self.config.crash_at == Some(at) {
            // What a dying process leaves: uncommitted lexical changes are lost.
            let _ = self.lexical.rollback();
            return Err(KnowledgeError::SimulatedCrash(at));
        }
        Ok(())
    }

    /// Deletes a document from both indexes; `false` when there was no such document.
    pub fn delete(&self, id: &DocId) -> Result<bool, KnowledgeError> {
        let _w = self.writer.lock().unwrap();
        let Some(entry) = self
            .manifest
            .read()
            .unwrap()
            .documents
            .get(id.as_str())
            .cloned()
        else {
            return Ok(false);
        };
        let key = version_key(id, entry.meta.version);
        Intent {
            doc_id: id.to_string(),
            add: None,
            remove: Some(key.clone()),
        }
        .save(&self.dir)?;
        {
            let mut m = self.manifest.write().unwrap();
            let mut next = Manifest::clone(&m);
            next.documents.remove(id.as_str());
            next.save(&self.dir)?;
            *m = Arc::new(next);
        }
        let _exclusive = self.gate.write().unwrap();
        self.lexical.delete_version(&key);
        self.lexical.commit()?;
        self.vectors.delete_version(&key)?;
        self.vectors.flush()?;
        Intent::clear(&self.dir)?;
        Ok(true)
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
            write_unindexed(&self.dir, 0);
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
            write_unindexed(&self.dir, 0);
            tracing::info!(points = n, ms = ms(t), "knowledge base: vector index built");
        } else {
            write_unindexed(&self.dir, n);
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
    /// and dense retrieval run in parallel and are fused by weighted RRF. Nothing above the
    /// request's clearance is returned.
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
        let (bm25, dense, bm25_ms, dense_ms) = std::thread::scope(|s| {
            let dense = s.spawn(
                || -> Result<(Vec<crate::vector::VectorHit>, f64), KnowledgeError> {
                    let t = Instant::now();
                    let e = self
                        .embedder
                        .embed(&[request.query.as_str()], EmbedKind::Query)?;
                    let v = e.vectors.into_iter().next().unwrap_or_default();
                    let hits = self.vectors.search(&v, &filter, candidates)?;
                    Ok((hits, ms(t)))
                },
            );
            let t = Instant::now();
            let bm25 = self.lexical.search(&request.query, &filter, candidates);
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
                dense.map(|d| d.1).unwrap_or(0.0),
            )
        });
        let bm25 = bm25?;
        let dense = dense.map_err(|reason| KnowledgeError::Vector {
            store: self.vectors.describe(),
            reason,
        })?;

        let mut stored: HashMap<String, (f32, StoredChunk)> = HashMap::new();
        let mut bm25_ids = Vec::new();
        for (score, c) in bm25 {
            if self.visible(&manifest, &c.doc_id, c.version, request.clearance) {
                bm25_ids.push(c.chunk_id.clone());
                stored.insert(c.chunk_id.clone(), (score, c));
            }
        }
        let mut dense_ids = Vec::new();
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
                dense_ids.push(h.chunk_id.clone());
                dense_scores.insert(h.chunk_id.clone(), h.score);
            }
        }
        let missing: Vec<String> = dense_ids
            .iter()
            .filter(|id| !stored.contains_key(*id))
            .cloned()
            .collect();
        let mut dense_only: HashMap<String, StoredChunk> = HashMap::new();
        for c in self.lexical.get(&missing)? {
            dense_only.insert(c.chunk_id.clone(), c);
        }
        let already: BTreeSet<String> = hits.iter().map(|h| h.chunk_id.clone()).collect();
        for (id, fused, rb, rd) in rrf(&bm25_ids, &dense_ids, self.config.fusion) {
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
        })
    }
}

fn parse_version_key(key: &str) -> Option<(&str, u64)> {
    let (doc, v) = key.rsplit_once("@v")?;
    Some((doc, v.parse().ok()?))
}

/// How strongly a question names a document: shared character bigrams (CJK) or words (other
/// scripts) between its title, less the common prefix 中华人民共和国, and the question.
fn title_affinity(title: &str, question: &str) -> i64 {
    let title = title.trim_start_matches("中华人民共和国");
    let chars: Vec<char> = title
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let q: String = question
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    // Title bigrams with an ideograph in them (so `（二）` counts: 规定 and 规定（二） are two
    // documents), each counted once: the ones the question has raise the affinity, the ones it
    // lacks lower it a little, so the title the question spells out completely wins a tie.
    let (mut matched, mut unmatched) = (0i64, 0i64);
    let mut seen = BTreeSet::new();
    for w in chars.windows(2) {
        if cjk::is_cjk(w[0]) || cjk::is_cjk(w[1]) {
            let bigram: String = w.iter().collect();
            if seen.insert(bigram.clone()) {
                if q.contains(&bigram) {
                    matched += 1;
                } else {
                    unmatched += 1;
                }
            }
        }
    }
    for word in title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && w.is_ascii())
    {
        if q.contains(&word.to_lowercase()) {
            matched += 1;
        } else {
            unmatched += 1;
        }
    }
    if matched == 0 {
        0
    } else {
        matched * 1000 - unmatched
    }
}

/// The file recording how many points the embedded vector store holds beyond its last built
/// index, so that a restart does not count every point as new and rebuild the whole index on
/// the next ingest (about a minute at 100k points on 2 cores).
const UNINDEXED_FILE: &str = "vectors-unindexed";

fn read_unindexed(dir: &Path) -> Option<usize> {
    std::fs::read_to_string(dir.join(UNINDEXED_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Records `n` (write to a temporary file, then rename). A failure only means a later restart
/// counts too many points as unindexed, so it is logged, not raised.
fn write_unindexed(dir: &Path, n: usize) {
    let tmp = dir.join(format!("{UNINDEXED_FILE}.tmp"));
    let done = std::fs::write(&tmp, n.to_string())
        .and_then(|()| std::fs::rename(&tmp, dir.join(UNINDEXED_FILE)));
    if let Err(e) = done {
        tracing::warn!(error = %e, "knowledge base: cannot record the unindexed point count");
    }
}

#[cfg(test)]
mod affinity_tests {
    use super::title_affinity;

    #[test]
    fn the_title_the_question_spells_out_wins() {
        let one = "最高人民法院关于审理期货纠纷案件若干问题的规定";
        let two = "最高人民法院关于审理期货纠纷案件若干问题的规定（二）";
        let q2 = "《最高人民法院关于审理期货纠纷案件若干问题的规定（二）》说了什么？";
        let q1 = "《最高人民法院关于审理期货纠纷案件若干问题的规定》说了什么？";
        assert!(title_affinity(two, q2) > title_affinity(one, q2));
        assert!(title_affinity(one, q1) > title_affinity(two, q1));
        assert_eq!(title_affinity("期货和衍生品法", "EMIR Article 9"), 0);
        assert!(title_affinity("期货和衍生品法", "期货和衍生品法说了什么") > 0);
    }
}
