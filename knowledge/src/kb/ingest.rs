//! Ingestion: [`KnowledgeBase::ingest_bytes`] and [`KnowledgeBase::ingest_text`] decode, chunk,
//! merge short fragments and embed a document, then commit the new version to both indexes by
//! the protocol of [`crate::manifest`]: intent → vectors → lexical index → manifest (the commit
//! point) → removal of the superseded version. A crash at any step leaves what
//! [`KnowledgeBase::open`] reconciles.

#[cfg(any(test, feature = "testing"))]
use super::config::CrashPoint;
use super::{IngestReport, IngestRequest, IngestStatus, KnowledgeBase, ms};
use crate::chunk::{self, ChunkOptions, Format, Problem, SourceText, merge_short_fragments};
use crate::decode;
use crate::document::{DocId, DocumentMeta, content_hash, version_key};
use crate::error::{InputError, KnowledgeError};
use crate::manifest::{Intent, Manifest, ManifestEntry};
use crate::vector::{VectorPayload, VectorPoint};
use models::EmbedKind;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What [`KnowledgeBase::commit_version`] committed.
pub(super) struct Committed {
    /// The new version.
    pub version: u64,
    /// The version it superseded.
    pub previous: Option<u64>,
    /// Milliseconds embedding.
    pub embed_ms: f64,
    /// Milliseconds writing both indexes and the manifest.
    pub index_ms: f64,
}

impl KnowledgeBase {
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
        crate::document::validate_collection(&request.collection)?;
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
        let merge_ms = ms(t);
        let meta = DocumentMeta {
            id: id.clone(),
            title: chunked.title.clone(),
            source: request.source.clone(),
            collection: request.collection.clone(),
            language: chunked.language,
            classification: request.classification,
            content_hash: hash,
            version: 0,
            metadata: chunked.metadata.clone(),
        };
        let done = self.commit_version(meta, &chunked.chunks, chunked.pages, None)?;
        Ok(IngestReport {
            doc_id: id.to_string(),
            version: done.version,
            status: match done.previous {
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
            embed_ms: merge_ms + done.embed_ms,
            index_ms: done.index_ms,
        })
    }

    /// Embeds `chunks` and commits them as the next version of `meta.id` (its `version` is
    /// set here) by the protocol of [`crate::manifest`], then removes the superseded version.
    /// With `expected`, the commit is refused unless the current version is that one (an
    /// edit made on a version that has moved on). Shared by ingestion and chunk revision.
    pub(super) fn commit_version(
        &self,
        mut meta: DocumentMeta,
        chunks: &[crate::document::Chunk],
        pages: u32,
        expected: Option<u64>,
    ) -> Result<Committed, KnowledgeError> {
        let id = meta.id.clone();
        let t = Instant::now();
        let texts: Vec<String> = chunks.iter().map(|c| c.indexed_text(&meta.title)).collect();
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
        if let Some(want) = expected
            && previous != Some(want)
        {
            return Err(InputError::Invalid {
                field: "version",
                reason: match previous {
                    Some(p) => format!("{id} is at version {p}, not {want}: reload it"),
                    None => format!("{id} is no longer in the knowledge base"),
                },
            }
            .into());
        }
        let version = previous.map_or(1, |v| v + 1);
        meta.version = version;
        let new_key = version_key(&id, version);
        let old_key = previous.map(|v| version_key(&id, v));
        let intent = Intent {
            doc_id: id.to_string(),
            add: Some(new_key.clone()),
            remove: old_key.clone(),
        };
        intent.save(&self.dir)?;
        #[cfg(any(test, feature = "testing"))]
        self.crash(CrashPoint::AfterIntent)?;

        let prefixes = |c: &crate::document::Chunk| {
            let key = c.path.label_key();
            let parts: Vec<&str> = key.split('/').filter(|p| !p.is_empty()).collect();
            (1..=parts.len())
                .map(|n| parts[..n].join("/"))
                .collect::<Vec<_>>()
        };
        let points: Vec<VectorPoint> = chunks
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
        #[cfg(any(test, feature = "testing"))]
        self.crash(CrashPoint::AfterVectors)?;

        if let Err(e) = self
            .lexical
            .add(&meta, chunks)
            .and_then(|_| self.lexical.commit())
        {
            let _ = self.lexical.rollback();
            return Err(e);
        }
        #[cfg(any(test, feature = "testing"))]
        self.crash(CrashPoint::AfterLexical)?;

        // The commit point.
        {
            let mut m = self.manifest.write().unwrap();
            let mut next = Manifest::clone(&m);
            next.documents.insert(
                id.to_string(),
                ManifestEntry {
                    meta,
                    chunks: chunks.len(),
                    pages,
                },
            );
            next.save(&self.dir)?;
            *m = Arc::new(next);
        }
        #[cfg(any(test, feature = "testing"))]
        self.crash(CrashPoint::AfterManifest)?;

        if let Some(old) = &old_key {
            let _exclusive = self.gate.write().unwrap();
            self.lexical.delete_version(old);
            self.lexical.commit()?;
            self.vectors.delete_version(old)?;
            self.vectors.flush()?;
        }
        Intent::clear(&self.dir)?;
        self.maybe_optimize(chunks.len())?;
        Ok(Committed {
            version,
            previous,
            embed_ms,
            index_ms: ms(t),
        })
    }

    /// Stops the ingestion at `at` as if the process died there, when [`super::KbConfig`]'s
    /// `crash_at` asks for it (crash-recovery tests only): the error is an I/O error on the
    /// data directory saying `simulated crash at {at:?}`.
    #[cfg(any(test, feature = "testing"))]
    fn crash(&self, at: CrashPoint) -> Result<(), KnowledgeError> {
        if self.config.crash_at == Some(at) {
            // What a dying process leaves: uncommitted lexical changes are lost.
            let _ = self.lexical.rollback();
            return Err(KnowledgeError::Io {
                path: self.dir.clone(),
                source: std::io::Error::other(format!("simulated crash at {at:?}")),
            });
        }
        Ok(())
    }
}
