//! The knowledge base as a workflow: ingest, list and delete documents, and ask questions
//! with cited answers. The indexes live in `data_dir/knowledge` ([`knowledge::KnowledgeBase`]);
//! the `documents` and `document_versions` tables mirror its manifest for listings, and every
//! ingest, delete and ask writes an audit entry.
//!
//! Rules: a caller needs `documents.write` to ingest or delete and `documents.read` to list or
//! ask; nobody ingests above their own clearance; listings and answers never show a document
//! above the caller's clearance (the knowledge base filters retrieval by it as well).

use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, time};
use crate::{Assistant, Config};
use knowledge::answer::{self, Answer, AskOptions, AskRequest};
use knowledge::{
    DocId, Filters, IngestRequest, IngestStatus, InputError, KbConfig, KnowledgeBase, SourceText,
};
use models::{Embedder, Generator, Models};
use policies::{DataClass, Permission};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::ops::ControlFlow;
use std::sync::Arc;

/// The knowledge base of a data dir with the models it answers with.
pub struct Knowledge {
    kb: Arc<KnowledgeBase>,
    /// Ingests into one collection run one at a time (striped by collection), so that
    /// concurrent identical uploads give one version and the identity checks below see
    /// committed state.
    ingest_locks: [std::sync::Mutex<()>; 16],
    /// The generator, or why it could not be loaded (ingest and search work without it).
    generator: std::result::Result<Arc<dyn Generator>, String>,
    options: AskOptions,
}

impl std::fmt::Debug for Knowledge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Knowledge")
            .field("dir", &self.kb.dir())
            .field(
                "generator",
                &self.generator.as_ref().map(|g| g.id().to_string()),
            )
            .finish_non_exhaustive()
    }
}

/// The knowledge-base settings of `[knowledge]`.
pub fn kb_config(config: &Config) -> KbConfig {
    let k = &config.knowledge;
    KbConfig {
        vector: match k.vector_backend {
            crate::config::VectorStore::Server => knowledge::VectorBackend::Server {
                url: k.qdrant_url.clone(),
                collection: k.qdrant_collection.clone(),
                api_key: (!k.qdrant_api_key.is_empty()).then(|| k.qdrant_api_key.clone()),
            },
            crate::config::VectorStore::Edge => knowledge::VectorBackend::Edge,
        },
        chunk: knowledge::ChunkOptions {
            max_tokens: k.chunk_max_tokens as usize,
            title: None,
        },
        fusion: knowledge::FusionWeights {
            bm25: k.fusion_bm25 as f32,
            dense: k.fusion_dense as f32,
            k: k.fusion_k as f32,
            candidates_per_hit: k.candidates_per_hit as usize,
            method: match k.fusion_method {
                crate::config::FusionMethod::Rrf => knowledge::FusionMethod::Rrf,
                crate::config::FusionMethod::Convex => knowledge::FusionMethod::Convex,
            },
            keep_firsts: k.fusion_keep_firsts as usize,
        },
        max_bytes: usize::try_from(k.max_file_bytes).unwrap_or(usize::MAX),
        embed_batch: k.embed_batch as usize,
        ..KbConfig::default()
    }
}

/// The answer settings of `[knowledge]`.
pub fn ask_options(config: &Config) -> AskOptions {
    let k = &config.knowledge;
    AskOptions {
        k: k.answer_k as usize,
        min_dense: k.answer_min_similarity as f32,
        max_tokens: k.answer_max_tokens as usize,
        max_evidence_chars: k.answer_max_evidence_chars as usize,
        rerank: k.rerank.then(|| knowledge::RerankOptions {
            candidates: k.rerank_candidates as usize,
            ..Default::default()
        }),
        authoritative_collections: k.authoritative_collections.clone(),
        // Set per question by workflows that vouch for their first hits (rule questions).
        quote_first: 0,
        timeout_ms: config.models.chain_timeout_ms,
    }
}

/// Where the knowledge base of `config`'s data dir lives (`data_dir/knowledge`).
pub fn knowledge_dir(config: &Config) -> std::path::PathBuf {
    config.storage.data_dir.join("knowledge")
}

/// The collection of every committed document, read from the knowledge base's manifest alone:
/// no models loaded, no lock taken (what a start-up check needs; empty when there is no
/// knowledge base yet).
pub fn committed_collections(config: &Config) -> Result<Vec<String>> {
    let m = knowledge::manifest::Manifest::load(&knowledge_dir(config))?;
    Ok(m.map(|m| {
        m.documents
            .into_values()
            .map(|d| d.meta.collection)
            .collect()
    })
    .unwrap_or_default())
}

impl Knowledge {
    /// Opens the knowledge base in `data_dir/knowledge` with the given models (holding its
    /// single-writer lock as `holder`).
    pub fn open(
        config: &Config,
        embedder: Arc<dyn Embedder>,
        generator: std::result::Result<Arc<dyn Generator>, String>,
        holder: &str,
    ) -> Result<Knowledge> {
        let dir = knowledge_dir(config);
        let (kb, report) = KnowledgeBase::open_as(&dir, embedder, kb_config(config), holder)?;
        if !report.missing.is_empty() {
            tracing::warn!(missing = ?report.missing, "knowledge base: committed versions missing from an index; re-ingest them");
        }
        Ok(Knowledge {
            kb: Arc::new(kb),
            ingest_locks: std::array::from_fn(|_| std::sync::Mutex::new(())),
            generator,
            options: ask_options(config),
        })
    }

    /// Opens it with the embedder and generator `[knowledge]` names from `models`; an empty
    /// name means the `[models]` default. A generator that cannot be loaded only disables
    /// answers (they fail with the reason).
    pub fn open_with_models(config: &Config, models: &Models, holder: &str) -> Result<Knowledge> {
        let k = &config.knowledge;
        let embedder_name = if k.embedder.trim().is_empty() {
            crate::inference::default_embedder_name(config)
        } else {
            &k.embedder
        };
        let generator_name = if k.generator.trim().is_empty() {
            crate::inference::default_generator_name(config)
        } else {
            &k.generator
        };
        let embedder = models.embedder(embedder_name)?;
        let generator = models
            .generator(generator_name)
            .map_err(|e| format!("generator `{generator_name}`: {e}"));
        Knowledge::open(config, embedder, generator, holder)
    }

    /// Opens it with the assistant's model registry (local or remote models, loaded once per
    /// process).
    pub fn open_for(a: &Assistant, holder: &str) -> Result<Knowledge> {
        Knowledge::open_with_models(&a.config, a.models(), holder)
    }

    /// Turns the rerank step on (or off) for this handle's searches and answers, whatever
    /// `[knowledge] rerank` says.
    pub fn set_rerank(&mut self, rerank: Option<knowledge::RerankOptions>) {
        self.options.rerank = rerank;
    }

    /// The generator, or why it could not be loaded.
    pub fn generator(&self) -> std::result::Result<&Arc<dyn Generator>, &str> {
        self.generator.as_ref().map_err(String::as_str)
    }

    /// The answer settings.
    pub fn options(&self) -> &AskOptions {
        &self.options
    }

    /// The knowledge base itself (search, chunk lookups).
    pub fn kb(&self) -> &Arc<KnowledgeBase> {
        &self.kb
    }
}

/// A document to ingest.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// The file name or path it came from.
    pub source: String,
    /// Its bytes: Markdown or plain text in any common encoding, HTML, PDF (text layer or
    /// scanned), DOCX, or an image.
    pub bytes: Vec<u8>,
    /// The collection.
    pub collection: String,
    /// Its classification.
    pub classification: DataClass,
    /// A title, when the text's own is not wanted.
    pub title: Option<String>,
    /// The id of the document this replaces, when the caller names it; otherwise the document
    /// of the same collection and source name, if the caller may write it (see
    /// [`Assistant::ingest_document`]).
    pub replaces: Option<String>,
    /// Allows the replacement to lower the document's classification (needs
    /// `documents.declassify`; audited as `document.declassify`).
    pub declassify: bool,
}

impl NewDocument {
    /// A new document with no replacement named and no declassification.
    pub fn new(
        source: impl Into<String>,
        bytes: Vec<u8>,
        collection: impl Into<String>,
        classification: DataClass,
    ) -> NewDocument {
        NewDocument {
            source: source.into(),
            bytes,
            collection: collection.into(),
            classification,
            title: None,
            replaces: None,
            declassify: false,
        }
    }
}

/// Whether `to` is a lower classification than `from` in either of its parts.
fn lowers(from: DataClass, to: DataClass) -> bool {
    to.level < from.level || (from.sensitive && !to.sensitive)
}

/// A document as listed: JSON fields `id`, `collection`, `title`, `source`, `language`,
/// `classification`, `content_hash`, `version`, `chunks`, `pages`, `created_by`,
/// `created_at`, `updated_by`, `updated_at`; plus `status` (`added`, `replaced`,
/// `unchanged`) after an ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    /// The document id.
    pub id: String,
    /// Its collection.
    pub collection: String,
    /// Its title.
    pub title: String,
    /// Where it came from.
    pub source: String,
    /// `zh`, `en` or `mixed`.
    pub language: String,
    /// Its classification (in JSON, its text: `important+sensitive`).
    #[serde(with = "crate::store::sql::as_text")]
    pub classification: DataClass,
    /// sha256 of its text.
    pub content_hash: String,
    /// The committed version.
    pub version: u64,
    /// Chunks indexed.
    pub chunks: u64,
    /// Pages seen.
    pub pages: u64,
    /// The format it arrived in: `pdf`, `docx`, `html`, `png`, `jpeg`, `tiff`, `markdown` or
    /// `plain`.
    pub format: String,
    /// Who first ingested it.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// Who last changed it.
    pub updated_by: String,
    /// When.
    pub updated_at: String,
    /// What the last ingest did (`added`, `replaced`, `unchanged`); absent in listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

pub(crate) fn require(actor: &Actor, permission: Permission) -> Result<()> {
    match actor.role {
        Some(role) if !role.allows(permission) => Err(AssistantError::Forbidden(format!(
            "role {role} lacks {}",
            permission.as_str()
        ))),
        _ => Ok(()),
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocumentRecord> {
    Ok(DocumentRecord {
        id: r.get(0)?,
        collection: r.get(1)?,
        title: r.get(2)?,
        source: r.get(3)?,
        language: r.get(4)?,
        classification: crate::store::sql::parsed(r, 5, "documents.classification")?,
        content_hash: r.get(6)?,
        version: r.get::<_, i64>(7)? as u64,
        chunks: r.get::<_, i64>(8)? as u64,
        pages: r.get::<_, i64>(9)? as u64,
        created_by: r.get(10)?,
        created_at: r.get(11)?,
        updated_by: r.get(12)?,
        updated_at: r.get(13)?,
        format: r.get(14)?,
        status: None,
    })
}

/// The format a document arrived in, as the `documents.format` column records it.
fn source_format(source: &str, bytes: &[u8]) -> &'static str {
    use connectors::document::{Format, sniff};
    match sniff(bytes) {
        Some(Format::Pdf) => "pdf",
        Some(Format::Docx) => "docx",
        Some(Format::Html) => "html",
        Some(Format::Png) => "png",
        Some(Format::Jpeg) => "jpeg",
        Some(Format::Tiff) => "tiff",
        _ => match knowledge::Format::from_path(source) {
            knowledge::Format::Markdown => "markdown",
            knowledge::Format::Plain => "plain",
        },
    }
}

const COLUMNS: &str = "id, collection, title, source, language, classification, content_hash, \
    version, chunks, pages, created_by, created_at, updated_by, updated_at, format";

impl Assistant {
    /// Ingests one document into the knowledge base and records it (audited as
    /// `document.ingest`). Unchanged content is a no-op that is still audited.
    pub fn ingest_document(
        &self,
        knowledge: &Knowledge,
        actor: &Actor,
        doc: NewDocument,
    ) -> Result<DocumentRecord> {
        require(actor, Permission::DocumentsWrite)?;
        if !actor.clearance().can_read(doc.classification) {
            return Err(AssistantError::Forbidden(format!(
                "role {} may not create {} data",
                actor.role_name(),
                doc.classification
            )));
        }
        // Data handling (issue #21 item 9): a remote embedder receives every chunk's text at
        // ingest, so a document above what the remote backend may receive is refused.
        if let Some(allowed) = self.remote_embedder_class()
            && !policies::Clearance::of_class(allowed).can_read(doc.classification)
        {
            return Err(AssistantError::Forbidden(format!(
                "the knowledge base embeds with the remote model `{}`, which may receive at most \
                 {allowed} data (`models.remote_max_class`); this document is {}: nothing was \
                 ingested (embed with a local model, or raise the remote class if policy allows)",
                self.config.models.remote_embedder, doc.classification
            )));
        }
        knowledge::validate_collection(&doc.collection)
            .map_err(|e| AssistantError::Knowledge(e.into()))?;
        let kb = knowledge.kb.clone();
        let stripe = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            doc.collection.hash(&mut h);
            (h.finish() % knowledge.ingest_locks.len() as u64) as usize
        };
        let _one_at_a_time = knowledge.ingest_locks[stripe]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (doc_id, declassified_from) = self.ingest_target(&kb, actor, &doc)?;
        let request = IngestRequest {
            source: doc.source.clone(),
            collection: doc.collection.clone(),
            classification: doc.classification,
            doc_id,
            title: doc.title.clone(),
        };
        let report = match self.read_document(&doc.source, &doc.bytes)? {
            Some(source) => kb.ingest_text(&request, &source)?,
            None => kb.ingest_bytes(&request, &doc.bytes)?,
        };
        let entry = kb
            .document(&DocId::new(&report.doc_id).ok_or_else(|| {
                AssistantError::Invalid(format!("bad document id {}", report.doc_id))
            })?)
            .ok_or_else(|| AssistantError::NotFound {
                kind: "document",
                id: report.doc_id.clone(),
            })?;
        let status = match report.status {
            IngestStatus::Added => "added",
            IngestStatus::Replaced { .. } => "replaced",
            IngestStatus::Unchanged => "unchanged",
        };
        let meta = &entry.meta;
        let now = time::fmt(time::now());
        self.store.write(actor, |tx| {
            let class = meta.classification.to_string();
            tx.conn().execute(
                "INSERT INTO documents (id, collection, title, source, language, classification,
                    content_hash, version, chunks, pages, format, created_by, created_at,
                    updated_by, updated_at, deleted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?12, ?13, NULL)
                 ON CONFLICT(id) DO UPDATE SET collection = ?2, title = ?3, source = ?4,
                    language = ?5, classification = ?6, content_hash = ?7, version = ?8,
                    chunks = ?9, pages = ?10, format = ?11, updated_by = ?12, updated_at = ?13,
                    deleted_at = NULL",
                params![
                    meta.id.as_str(),
                    meta.collection,
                    meta.title,
                    meta.source,
                    meta.language.as_str(),
                    class,
                    meta.content_hash,
                    meta.version as i64,
                    entry.chunks as i64,
                    i64::from(entry.pages),
                    source_format(&meta.source, &doc.bytes),
                    actor.user,
                    now,
                ],
            )?;
            tx.conn().execute(
                "INSERT OR IGNORE INTO document_versions (doc_id, version, content_hash,
                    classification, chunks, ingested_by, ingested_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    meta.id.as_str(),
                    meta.version as i64,
                    meta.content_hash,
                    class,
                    entry.chunks as i64,
                    actor.user,
                    now
                ],
            )?;
            if let Some(from) = declassified_from
                && status != "unchanged"
            {
                tx.audit(AuditRecord {
                    action: "document.declassify",
                    object_kind: "document",
                    object_id: meta.id.as_str(),
                    class: from,
                    details: json!({
                        "from": from.to_string(),
                        "to": meta.classification.to_string(),
                        "version": meta.version,
                    }),
                })?;
            }
            tx.audit(AuditRecord {
                action: "document.ingest",
                object_kind: "document",
                object_id: meta.id.as_str(),
                class: meta.classification,
                details: json!({
                    "status": status,
                    "version": meta.version,
                    "source": meta.source,
                    "collection": meta.collection,
                    "content_hash": meta.content_hash,
                    "chunks": entry.chunks,
                    "encoding": report.encoding,
                }),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        let mut rec = self.document(actor, meta.id.as_str())?;
        rec.status = Some(status.into());
        Ok(rec)
    }

    /// Which document an upload writes to, and the classification it lowers when it is an
    /// allowed declassification. `None` as the id means the knowledge base's own choice: the
    /// id derived from collection and source name (and the same content under another name in
    /// the collection reports that document as unchanged).
    ///
    /// A document's identity is not its file name alone: an upload replaces the document of
    /// the same collection and name only when the caller may read and write it; a document
    /// above the caller's clearance is never replaced (nor its existence revealed): the upload
    /// becomes a separate document of the caller's. A replacement may not lower the
    /// classification unless `declassify` is set by a role holding `documents.declassify`.
    fn ingest_target(
        &self,
        kb: &KnowledgeBase,
        actor: &Actor,
        doc: &NewDocument,
    ) -> Result<(Option<DocId>, Option<DataClass>)> {
        let cl = actor.clearance();
        let existing = match &doc.replaces {
            Some(id) => {
                let rec = self.document(actor, id)?;
                if rec.collection != doc.collection {
                    return Err(AssistantError::Invalid(format!(
                        "document {id} is in collection `{}`, not `{}`",
                        rec.collection, doc.collection
                    )));
                }
                let id = DocId::new(id).ok_or_else(|| AssistantError::NotFound {
                    kind: "document",
                    id: id.clone(),
                })?;
                let entry = kb.document(&id).ok_or_else(|| AssistantError::NotFound {
                    kind: "document",
                    id: id.to_string(),
                })?;
                Some((Some(id), entry.meta.classification))
            }
            None => {
                let derived = DocId::derive(&doc.collection, &doc.source);
                match kb.document(&derived) {
                    None => None,
                    Some(e) if cl.can_read(e.meta.classification) => {
                        Some((None, e.meta.classification))
                    }
                    Some(_) => {
                        let own = DocId::derive(
                            &doc.collection,
                            &format!("{}\u{0}{}", doc.source, actor.user),
                        );
                        return match kb.document(&own) {
                            Some(e) if !cl.can_read(e.meta.classification) => {
                                Err(AssistantError::Conflict(format!(
                                    "{}: a document of this name exists in collection `{}` that \
                                     you may not replace; upload it under another name",
                                    doc.source, doc.collection
                                )))
                            }
                            Some(e) => {
                                let from = e.meta.classification;
                                self.check_class_change(actor, &own, from, doc)?;
                                Ok((Some(own), lowers(from, doc.classification).then_some(from)))
                            }
                            None => Ok((Some(own), None)),
                        };
                    }
                }
            }
        };
        match existing {
            None => Ok((None, None)),
            Some((id, from)) => {
                let shown = id
                    .clone()
                    .unwrap_or_else(|| DocId::derive(&doc.collection, &doc.source));
                self.check_class_change(actor, &shown, from, doc)?;
                Ok((id, lowers(from, doc.classification).then_some(from)))
            }
        }
    }

    fn check_class_change(
        &self,
        actor: &Actor,
        id: &DocId,
        from: DataClass,
        doc: &NewDocument,
    ) -> Result<()> {
        if !lowers(from, doc.classification) {
            return Ok(());
        }
        if !doc.declassify {
            return Err(AssistantError::Conflict(format!(
                "document {id} is classified {from}; replacing it as {} would lower its \
                 classification. Upload it as {from}, or declassify it explicitly \
                 (`declassify`, needs {})",
                doc.classification,
                Permission::DocumentsDeclassify.as_str()
            )));
        }
        require(actor, Permission::DocumentsDeclassify)
    }

    /// The text of a document that is not plain text or Markdown: PDFs (text layer, or OCR for
    /// scanned pages), DOCX, HTML and images go through `connectors`, keeping page boundaries
    /// for the chunks' locations. `None` for text, which the knowledge base decodes itself
    /// (encoding detection, Markdown by file name).
    pub fn read_document(&self, name: &str, bytes: &[u8]) -> Result<Option<SourceText>> {
        use connectors::document::{self, ConnectorError, Format};
        match document::sniff(bytes) {
            Some(Format::Pdf | Format::Png | Format::Jpeg | Format::Tiff | Format::Docx)
            | Some(Format::Html) => {}
            _ => return Ok(None),
        }
        let e = &self.config.extract;
        let k = &self.config.knowledge;
        let limits = document::Limits {
            max_bytes: k.max_file_bytes,
            max_pages: e.max_pages,
            ocr: k.ocr,
            ocr_dpi: e.ocr_dpi,
            ocr_languages: e.ocr_languages.clone(),
            tessdata: (!e.tessdata.is_empty()).then(|| std::path::PathBuf::from(&e.tessdata)),
            pdftoppm: std::path::PathBuf::from(&e.pdftoppm),
        };
        let doc = document::extract_text(document::Input::Bytes { bytes, name }, &limits).map_err(
            |err| {
                let origin = name.to_string();
                let input = match err {
                    ConnectorError::TooLarge { actual, limit, .. } => InputError::TooLarge {
                        origin,
                        bytes: usize::try_from(actual).unwrap_or(usize::MAX),
                        limit: usize::try_from(limit).unwrap_or(usize::MAX),
                    },
                    ConnectorError::Internal { .. } => return AssistantError::Connector(err),
                    other => {
                        let text = other.to_string();
                        let reason = text
                            .strip_prefix(&format!("{origin}: "))
                            .unwrap_or(&text)
                            .to_string();
                        InputError::Unreadable { origin, reason }
                    }
                };
                AssistantError::Knowledge(input.into())
            },
        )?;
        let pages: Vec<String> = doc.pages.iter().map(|p| p.text()).collect();
        Ok(Some(SourceText::from_pages(
            &pages,
            knowledge::Format::Plain,
        )))
    }

    /// One document, if the caller may read it.
    pub fn document(&self, actor: &Actor, id: &str) -> Result<DocumentRecord> {
        require(actor, Permission::DocumentsRead)?;
        let rec = self.store.read(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM documents WHERE id = ?1 AND deleted_at IS NULL"),
                [id],
                row,
            )
            .optional()
        })?;
        let not_found = || AssistantError::NotFound {
            kind: "document",
            id: id.to_string(),
        };
        let rec = rec.ok_or_else(not_found)?;
        if !actor.clearance().can_read(rec.classification) {
            return Err(not_found());
        }
        Ok(rec)
    }

    /// A document's chunks (current version, in order), if the caller may read it.
    pub fn document_chunks(
        &self,
        knowledge: &Knowledge,
        actor: &Actor,
        id: &str,
    ) -> Result<(DocumentRecord, Vec<knowledge::lexical::StoredChunk>)> {
        let rec = self.document(actor, id)?;
        let not_found = || AssistantError::NotFound {
            kind: "document",
            id: id.to_string(),
        };
        let doc_id = DocId::new(id).ok_or_else(not_found)?;
        let chunks = knowledge.kb.chunks(&doc_id)?.ok_or_else(not_found)?;
        Ok((rec, chunks))
    }

    /// The documents the caller may read, by collection and title.
    pub fn list_documents(
        &self,
        actor: &Actor,
        collection: Option<&str>,
    ) -> Result<Vec<DocumentRecord>> {
        require(actor, Permission::DocumentsRead)?;
        let all = self.store.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM documents WHERE deleted_at IS NULL
                 AND (?1 IS NULL OR collection = ?1) ORDER BY collection, title, id"
            ))?;
            let rows = stmt.query_map([collection], row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let cl = actor.clearance();
        Ok(all
            .into_iter()
            .filter(|d| cl.can_read(d.classification))
            .collect())
    }

    /// Deletes a document from both indexes (audited as `document.delete`).
    pub fn delete_document(&self, knowledge: &Knowledge, actor: &Actor, id: &str) -> Result<()> {
        require(actor, Permission::DocumentsWrite)?;
        let rec = self.document(actor, id)?;
        let doc_id = DocId::new(id).ok_or_else(|| AssistantError::NotFound {
            kind: "document",
            id: id.to_string(),
        })?;
        knowledge.kb.delete(&doc_id)?;
        let class = rec.classification;
        self.store.write(actor, |tx| {
            tx.conn().execute(
                "UPDATE documents SET deleted_at = ?2, updated_by = ?3, updated_at = ?2
                 WHERE id = ?1",
                params![id, time::fmt(time::now()), actor.user],
            )?;
            tx.audit(AuditRecord {
                action: "document.delete",
                object_kind: "document",
                object_id: id,
                class,
                details: json!({"version": rec.version, "title": rec.title}),
            })?;
            Ok::<_, AssistantError>(())
        })
    }

    /// Corrects or splits one chunk of document `id`'s current version, which must be
    /// `version` (the one the editor saw; another is a conflict), and re-indexes that document
    /// alone as its next version (audited as `document.chunk_revise` with the edit, the
    /// versions and the reason). The caller needs `documents.write` and clearance for the
    /// document.
    pub fn revise_document_chunk(
        &self,
        knowledge: &Knowledge,
        actor: &Actor,
        id: &str,
        version: u64,
        edit: &knowledge::ChunkEdit,
        reason: &str,
    ) -> Result<DocumentRecord> {
        require(actor, Permission::DocumentsWrite)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(AssistantError::InvalidField {
                field: "reason".into(),
                reason: "say why the chunk is changed (1 to 1000 characters)".into(),
            });
        }
        let rec = self.document(actor, id)?;
        if rec.version != version {
            return Err(AssistantError::Conflict(format!(
                "document {id} is at version {}, not {version}: reload it and edit again",
                rec.version
            )));
        }
        let doc_id = DocId::new(id).ok_or_else(|| AssistantError::NotFound {
            kind: "document",
            id: id.to_string(),
        })?;
        let stripe = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            rec.collection.hash(&mut h);
            (h.finish() % knowledge.ingest_locks.len() as u64) as usize
        };
        let _one_at_a_time = knowledge.ingest_locks[stripe]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let report = knowledge.kb.revise_chunk(&doc_id, version, edit)?;
        let entry = knowledge
            .kb
            .document(&doc_id)
            .ok_or_else(|| AssistantError::NotFound {
                kind: "document",
                id: id.to_string(),
            })?;
        let now = time::fmt(time::now());
        let class = rec.classification;
        self.store.write(actor, |tx| {
            tx.conn().execute(
                "UPDATE documents SET content_hash = ?2, version = ?3, chunks = ?4,
                    updated_by = ?5, updated_at = ?6
                 WHERE id = ?1",
                params![
                    id,
                    entry.meta.content_hash,
                    report.version as i64,
                    report.chunks as i64,
                    actor.user,
                    now
                ],
            )?;
            tx.conn().execute(
                "INSERT OR IGNORE INTO document_versions (doc_id, version, content_hash,
                    classification, chunks, ingested_by, ingested_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    report.version as i64,
                    entry.meta.content_hash,
                    class.to_string(),
                    report.chunks as i64,
                    actor.user,
                    now
                ],
            )?;
            tx.audit(AuditRecord {
                action: "document.chunk_revise",
                object_kind: "document",
                object_id: id,
                class,
                details: json!({
                    "edit": edit,
                    "from_version": version,
                    "version": report.version,
                    "chunks": report.chunks,
                    "reason": reason,
                    "embed_ms": report.embed_ms,
                    "index_ms": report.index_ms,
                }),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        self.document(actor, id)
    }

    /// Retrieval only, as the caller: the ranked chunks they may read (hybrid BM25 + dense
    /// unless `retrievers` names one alone, exact structural references first, then the generator's rerank when `[knowledge]
    /// rerank` is on), as `deskmate search --json` prints them.
    pub fn search_documents(
        &self,
        knowledge: &Knowledge,
        actor: &Actor,
        query: &str,
        k: usize,
        retrievers: knowledge::Retrievers,
        filters: Filters,
    ) -> Result<knowledge::report::SearchReport> {
        require(actor, Permission::DocumentsRead)?;
        let q = query.trim();
        if q.is_empty() || q.chars().count() > 2000 {
            return Err(AssistantError::Invalid(
                "query must be 1 to 2000 characters".into(),
            ));
        }
        if !(1..=100).contains(&k) {
            return Err(AssistantError::Invalid(format!(
                "k = {k}: must be between 1 and 100"
            )));
        }
        let t = std::time::Instant::now();
        let rerank = knowledge.options.rerank;
        let mut results = knowledge.kb.search(&knowledge::SearchRequest {
            query: q.to_string(),
            k: rerank.map_or(k, |r| knowledge::rerank::first_stage_k(k, &r)),
            filters,
            clearance: actor.clearance(),
            retrievers,
        })?;
        if let Some(r) = &rerank {
            // Model risk: the first-stage order when the re-ranking chain is off its model or
            // its model fails on this search.
            use crate::model_risk::{CallOutcome, RERANK_CHAIN};
            let gate = self.chain_gate(RERANK_CHAIN)?;
            let t0 = std::time::Instant::now();
            let outcome = if !gate.serves_model {
                results.hits.truncate(k);
                CallOutcome::Rules
            } else {
                let tried = match knowledge.generator.as_ref() {
                    Ok(g) => {
                        knowledge::rerank::rerank_results(g.as_ref(), q, results.clone(), k, r)
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(format!("the generator is not available: {e}")),
                };
                match tried {
                    Ok(r) => {
                        results = r;
                        CallOutcome::Model
                    }
                    Err(_) => {
                        results.hits.truncate(k);
                        CallOutcome::Error
                    }
                }
            };
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            self.store.write(actor, |tx| {
                crate::model_risk::record_call(
                    tx,
                    &crate::model_risk::CallRecord {
                        chain: RERANK_CHAIN,
                        subject: None,
                        outcome,
                        mode: gate.mode,
                        confidence: None,
                        latency_ms: ms,
                        input_chars: q.chars().count(),
                        language: knowledge::document::Language::detect(q).as_str(),
                        product: None,
                        embedding: None,
                    },
                )
            })?;
        }
        Ok(knowledge::report::SearchReport::new(
            q,
            k,
            t.elapsed().as_secs_f64() * 1000.0,
            &results,
        ))
    }

    /// Answers a question from the knowledge base with citations, streaming text to
    /// `on_delta`; audited as `knowledge.ask` (question, found, cited chunk ids, prompt and
    /// output hashes), classified as the most restricted evidence given to the model.
    pub fn ask(
        &self,
        knowledge: &Knowledge,
        actor: &Actor,
        question: &str,
        filters: Filters,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Answer> {
        require(actor, Permission::DocumentsRead)?;
        let q = question.trim();
        if q.is_empty() || q.chars().count() > 2000 {
            return Err(AssistantError::Invalid(
                "question must be 1 to 2000 characters".into(),
            ));
        }
        let request = AskRequest {
            question: q.to_string(),
            filters,
            clearance: actor.clearance(),
        };
        let options = self.gated_options(knowledge)?;
        let (answer, call) = self.answer_gated(
            q,
            knowledge.generator(),
            on_delta,
            &mut |g, d| answer::ask(&knowledge.kb, g, &request, &options, d),
            &mut |d| answer::retrieve_only(&knowledge.kb, &request, &options, d),
        )?;
        let class = answer
            .evidence
            .iter()
            .filter_map(|c| c.classification.parse::<DataClass>().ok())
            .fold(DataClass::GENERAL, |a, b| DataClass {
                level: a.level.max(b.level),
                sensitive: a.sensitive || b.sensitive,
            });
        let object_id = answer.output_sha256.clone();
        let explanation = (!answer.found).then(|| not_found_explanation(q, &answer));
        self.store.write(actor, |tx| {
            tx.audit(AuditRecord {
                action: "knowledge.ask",
                object_kind: "answer",
                object_id: &object_id,
                class,
                details: json!({
                    "question": q,
                    "found": answer.found,
                    "citations": answer.citations.iter().map(|c| &c.chunk_id).collect::<Vec<_>>(),
                    "evidence": answer.evidence.iter().map(|c| &c.chunk_id).collect::<Vec<_>>(),
                    "screened": answer.screened,
                    "model": answer.model,
                    "prompt_sha256": answer.prompt_sha256,
                    "output_sha256": answer.output_sha256,
                    "finish_reason": answer.finish_reason,
                    "explanation": explanation,
                    "model_risk": call.audit(),
                }),
            })?;
            self.record_answer_call(tx, &call, &answer, q, &object_id)?;
            if knowledge.options.rerank.is_some()
                && call.gate.serves_model
                && call.model_error.is_none()
            {
                let mode = self.chain_mode_in(tx, crate::model_risk::RERANK_CHAIN)?;
                crate::model_risk::record_call(
                    tx,
                    &crate::model_risk::CallRecord {
                        chain: crate::model_risk::RERANK_CHAIN,
                        subject: Some(&object_id),
                        outcome: if options.rerank.is_some() {
                            crate::model_risk::CallOutcome::Model
                        } else {
                            crate::model_risk::CallOutcome::Rules
                        },
                        mode,
                        confidence: None,
                        latency_ms: answer.retrieval_ms,
                        input_chars: q.chars().count(),
                        language: answer.language.as_str(),
                        product: None,
                        embedding: None,
                    },
                )?;
            }
            Ok::<_, AssistantError>(())
        })?;
        Ok(answer)
    }
}

/// How one governed answer went (model risk): the gate it met, what it came to, the model's
/// error when it failed and the question fell back, the time taken.
#[derive(Debug, Clone)]
pub(crate) struct AnswerCall {
    pub gate: crate::model_risk::Gate,
    pub outcome: crate::model_risk::CallOutcome,
    pub model_error: Option<String>,
    pub latency_ms: f64,
}

impl AnswerCall {
    /// The facts the answer's audit entry keeps.
    pub fn audit(&self) -> serde_json::Value {
        json!({
            "chain": crate::model_risk::ANSWERS_CHAIN,
            "mode": self.gate.mode,
            "model_served": self.gate.serves_model,
            "model": self.gate.model,
            "outcome": self.outcome,
            "fallback_reason": (!self.gate.serves_model).then_some(&self.gate.reason),
            "model_error": self.model_error,
        })
    }
}

/// The reason label of a chain fallback in the metrics, from the model's error.
pub(crate) fn fallback_reason(error: &str) -> &'static str {
    let e = error.to_lowercase();
    if e.contains("busy") {
        "busy"
    } else if e.contains("did not answer within")
        || e.contains("timed out")
        || e.contains("timeout")
    {
        "timeout"
    } else if e.contains("not available") || e.contains("not installed") {
        "unavailable"
    } else if e.contains("model generation failed") || e.contains("failed") {
        "error"
    } else {
        "rejected"
    }
}

/// A streaming sink for answer text.
type Sink<'a> = &'a mut dyn FnMut(&str) -> ControlFlow<()>;

impl Assistant {
    /// One question through the answers chain's gate (`knowledge.answers`): `model` on the
    /// model when it serves; otherwise `fallback` (the retrieved passages verbatim), or, when
    /// the chain is paused, a reply saying it went to manual handling. A model that fails or
    /// times out before anything was streamed falls back for this question.
    pub(crate) fn answer_gated(
        &self,
        question: &str,
        generator: std::result::Result<&Arc<dyn Generator>, &str>,
        on_delta: Sink<'_>,
        model: &mut dyn FnMut(
            &dyn Generator,
            Sink<'_>,
        ) -> std::result::Result<Answer, knowledge::KnowledgeError>,
        fallback: &mut dyn FnMut(
            Sink<'_>,
        ) -> std::result::Result<Answer, knowledge::KnowledgeError>,
    ) -> Result<(Answer, AnswerCall)> {
        use crate::model_risk::{ANSWERS_CHAIN, CallOutcome, ChainMode};
        let gate = self.chain_gate(ANSWERS_CHAIN)?;
        // After a rollback the approved version's model serves, loaded by its name.
        let rolled_back;
        let generator = match &gate.model {
            Some(m)
                if self
                    .configured_model(ANSWERS_CHAIN)
                    .is_some_and(|(configured, _)| &configured != m) =>
            {
                rolled_back = self.models.generator(m).map_err(|e| e.to_string());
                rolled_back.as_ref().map_err(String::as_str)
            }
            _ => generator,
        };
        let t0 = std::time::Instant::now();
        let sent = std::cell::Cell::new(false);
        let mut forward = |d: &str| {
            sent.set(true);
            on_delta(d)
        };
        let (answer, outcome, model_error) = if gate.mode == ChainMode::Paused {
            let a = paused_answer(question, &gate.reason);
            let _ = forward(&a.text);
            (a, CallOutcome::Rules, None)
        } else if !gate.serves_model {
            (fallback(&mut forward)?, CallOutcome::Rules, None)
        } else {
            let tried = match generator {
                Ok(g) => model(g.as_ref(), &mut forward).map_err(|e| e.to_string()),
                Err(e) => Err(format!("the generator is not available: {e}")),
            };
            match tried {
                Ok(a) => {
                    let outcome = crate::model_risk::CallFeatures::answer_outcome(&a);
                    (a, outcome, None)
                }
                Err(e) if !sent.get() => {
                    tracing::warn!(error = %e, "answers: the model failed; answering from retrieval alone");
                    models::metrics::record_fallback(ANSWERS_CHAIN, fallback_reason(&e));
                    (fallback(&mut forward)?, CallOutcome::Error, Some(e))
                }
                Err(e) => {
                    return Err(AssistantError::Conflict(format!(
                        "the answer model failed mid-answer: {e}"
                    )));
                }
            }
        };
        let latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
        Ok((
            answer,
            AnswerCall {
                gate,
                outcome,
                model_error,
                latency_ms,
            },
        ))
    }

    /// Records one answer of the answers chain for monitoring, in the answer's audit
    /// transaction.
    pub(crate) fn record_answer_call(
        &self,
        tx: &mut crate::store::WriteTx<'_>,
        call: &AnswerCall,
        answer: &Answer,
        question: &str,
        subject: &str,
    ) -> Result<()> {
        let features = crate::model_risk::CallFeatures::of_answer(question, answer, call.outcome);
        crate::model_risk::record_call(
            tx,
            &features.record(
                crate::model_risk::ANSWERS_CHAIN,
                Some(subject),
                call.gate.mode,
                call.latency_ms,
            ),
        )
    }

    /// The most a remote embedder may receive, when the knowledge base embeds remotely.
    fn remote_embedder_class(&self) -> Option<DataClass> {
        let c = &self.config;
        let name = if c.knowledge.embedder.trim().is_empty() {
            crate::inference::default_embedder_name(c)
        } else {
            c.knowledge.embedder.as_str()
        };
        (c.models.backend == crate::config::ModelBackend::Remote
            && !c.models.remote_embedder.is_empty()
            && name == c.models.remote_embedder)
            .then_some(c.models.remote_max_class)
    }

    /// The answer settings as model risk allows them now: without the rerank step when the
    /// re-ranking chain does not serve its model.
    pub(crate) fn gated_options(&self, knowledge: &Knowledge) -> Result<AskOptions> {
        let mut o = knowledge.options.clone();
        if o.rerank.is_some() && !self.chain_serves_model(crate::model_risk::RERANK_CHAIN)? {
            o.rerank = None;
        }
        Ok(o)
    }
}

/// The answer while model risk has the answers chain paused: manual handling, in the
/// question's language; the question is in the audit log (`knowledge.ask`).
fn paused_answer(question: &str, reason: &str) -> Answer {
    let language = answer::answer_language(question);
    let text = match language {
        knowledge::document::Language::Zh => format!(
            "问答功能已由模型风险管理暂停，转为人工处理（原因：{reason}）。您的问题已记入审计日志，请联系法务或合规同事解答。"
        ),
        _ => format!(
            "Answers are paused by model risk for manual handling (reason: {reason}). Your question is recorded in the audit log; please ask the legal or compliance team."
        ),
    };
    Answer {
        question: question.to_string(),
        language,
        found: false,
        output_sha256: crate::inference::sha256_hex(text.as_bytes()),
        text,
        citations: Vec::new(),
        evidence: Vec::new(),
        invalid_citations: Vec::new(),
        attributed: false,
        quoted: false,
        screened: Vec::new(),
        dropped: Vec::new(),
        lead: 0,
        reference: None,
        model: String::new(),
        prompt_sha256: String::new(),
        finish_reason: "paused".into(),
        prompt_tokens: 0,
        completion_tokens: 0,
        query_vector: None,
        retrieval_ms: 0.0,
        generation_ms: 0.0,
    }
}

/// Why a question was answered "not found": what was retrieved, what the check dropped.
fn not_found_explanation(question: &str, a: &Answer) -> policies::explain::Explanation {
    let q: String = question.chars().take(80).collect();
    let (n, dropped) = (a.evidence.len(), a.dropped.len());
    let (zh, en) = if n == 0 {
        (
            format!("未找到依据：对「{q}」的检索没有返回提问者有权阅读且足够相关的段落（0 段）。"),
            format!(
                "not found: the search for \"{q}\" returned no passage the asker may read that is relevant enough (0 passages)."
            ),
        )
    } else {
        (
            format!(
                "未找到依据：对「{q}」检索到 {n} 段，但回答中没有任何句子得到这些段落的支持（删除 {dropped} 句）。"
            ),
            format!(
                "not found: {n} passages were retrieved for \"{q}\", but no sentence of the answer is supported by them ({dropped} sentences dropped)."
            ),
        )
    };
    policies::explain::Explanation::new(
        policies::explain::Decision::AnswerNotFound,
        zh,
        en,
        vec![
            ("question", q.clone()),
            ("passages", n.to_string()),
            ("dropped_sentences", dropped.to_string()),
            (
                "evidence",
                a.evidence
                    .iter()
                    .map(|c| c.chunk_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ],
    )
}
