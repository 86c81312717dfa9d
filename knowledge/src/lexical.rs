//! The lexical index: tantivy with a jieba-based tokenizer (Chinese word segmentation; English
//! words pass through whole) followed by lower-casing and English stemming. It also stores each
//! chunk (text, path, location) so that hits need no second store, and the structural labels
//! that exact-path lookup and path-prefix filters use.
//!
//! Fields: `text`, `path_text` and `title` (tokenized, BM25); `chunk_id`, `doc_id`,
//! `version_key`, `collection`, `classification`, `language`, `labels` (every normalised path
//! label), `path_prefix` (every prefix of the label key) as raw terms; `stored` (JSON).

use crate::document::{
    Chunk, DocumentMeta, Language, Location, SectionPath, chunk_id, version_key,
};
use crate::error::KnowledgeError;
use crate::filter::ChunkFilter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    Language as StemLanguage, LowerCaser, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// The name the analyzer is registered under.
pub const TOKENIZER: &str = "deskmate_mixed";

/// Jieba segmentation with punctuation and whitespace tokens dropped.
#[derive(Clone, Default)]
pub struct MixedTokenizer {
    inner: tantivy_jieba::JiebaTokenizer,
}

/// The token stream of [`MixedTokenizer`].
pub struct MixedTokenStream<'a> {
    inner: tantivy_jieba::JiebaTokenStream<'a>,
}

impl TokenStream for MixedTokenStream<'_> {
    fn advance(&mut self) -> bool {
        while self.inner.advance() {
            if self.inner.token().text.chars().any(char::is_alphanumeric) {
                return true;
            }
        }
        false
    }
    fn token(&self) -> &Token {
        self.inner.token()
    }
    fn token_mut(&mut self) -> &mut Token {
        self.inner.token_mut()
    }
}

impl Tokenizer for MixedTokenizer {
    type TokenStream<'a> = MixedTokenStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> MixedTokenStream<'a> {
        MixedTokenStream {
            inner: self.inner.token_stream(text),
        }
    }
}

/// The analyzer used for indexing and for queries: jieba, lower-case, English stemming.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(MixedTokenizer::default())
        .filter(LowerCaser)
        .filter(Stemmer::new(StemLanguage::English))
        .build()
}

/// The analyzed terms of a text, in order (duplicates kept).
pub fn analyze(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[derive(Clone, Copy)]
struct Fields {
    text: Field,
    path_text: Field,
    title: Field,
    chunk_id: Field,
    doc_id: Field,
    version_key: Field,
    collection: Field,
    classification: Field,
    language: Field,
    labels: Field,
    path_prefix: Field,
    stored: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text_opts = TextOptions::default().set_indexing_options(indexing);
    let fields = Fields {
        text: b.add_text_field("text", text_opts.clone()),
        path_text: b.add_text_field("path_text", text_opts.clone()),
        title: b.add_text_field("title", text_opts),
        chunk_id: b.add_text_field("chunk_id", STRING | STORED),
        doc_id: b.add_text_field("doc_id", STRING | STORED),
        version_key: b.add_text_field("version_key", STRING | STORED),
        collection: b.add_text_field("collection", STRING),
        classification: b.add_text_field("classification", STRING),
        language: b.add_text_field("language", STRING),
        labels: b.add_text_field("labels", STRING),
        path_prefix: b.add_text_field("path_prefix", STRING),
        stored: b.add_text_field("stored", STORED),
    };
    (b.build(), fields)
}

/// A chunk as stored in the index: everything a hit shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredChunk {
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
    /// The classification (`general`, `core+sensitive` …).
    pub classification: String,
    /// The document language.
    pub language: Language,
    /// The structural path.
    pub path: SectionPath,
    /// The text.
    pub text: String,
    /// Where it is in the source.
    pub location: Location,
    /// The position in the document.
    pub ordinal: u32,
    /// Whether it is a whole retrieval unit.
    pub whole_unit: bool,
}

/// The tantivy index.
pub struct LexicalIndex {
    path: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

fn err(path: &Path, e: impl std::fmt::Display) -> KnowledgeError {
    KnowledgeError::Lexical {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

impl LexicalIndex {
    /// Opens the index in `dir`, creating it when absent.
    pub fn open(dir: &Path) -> Result<LexicalIndex, KnowledgeError> {
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(|e| err(dir, e))?;
        let index = Index::open_or_create(directory, schema).map_err(|e| err(dir, e))?;
        index.tokenizers().register(TOKENIZER, analyzer());
        // One indexing thread: the target machine has two cores, shared with queries.
        let writer = index
            .writer_with_num_threads(1, 64 * 1024 * 1024)
            .map_err(|e| err(dir, e))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| err(dir, e))?;
        Ok(LexicalIndex {
            path: dir.to_path_buf(),
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    /// Adds the chunks of one document version (visible after [`LexicalIndex::commit`]).
    pub fn add(&self, meta: &DocumentMeta, chunks: &[Chunk]) -> Result<(), KnowledgeError> {
        let f = self.fields;
        let writer = self.writer.lock().unwrap();
        let vkey = version_key(&meta.id, meta.version);
        for c in chunks {
            let mut doc = TantivyDocument::default();
            let id = chunk_id(&meta.id, meta.version, c.ordinal);
            doc.add_text(f.text, &c.text);
            doc.add_text(f.path_text, c.path.display(""));
            doc.add_text(f.title, &meta.title);
            doc.add_text(f.chunk_id, &id);
            doc.add_text(f.doc_id, meta.id.as_str());
            doc.add_text(f.version_key, &vkey);
            doc.add_text(f.collection, &meta.collection);
            doc.add_text(f.classification, meta.classification.to_string());
            doc.add_text(f.language, meta.language.as_str());
            for label in c.path.segments.iter().filter(|s| !s.label.is_empty()) {
                doc.add_text(f.labels, crate::cn::normalize_label(&label.label));
            }
            let key = c.path.label_key();
            let parts: Vec<&str> = key.split('/').filter(|p| !p.is_empty()).collect();
            for n in 1..=parts.len() {
                doc.add_text(f.path_prefix, parts[..n].join("/"));
            }
            let stored = StoredChunk {
                chunk_id: id,
                doc_id: meta.id.as_str().to_string(),
                version: meta.version,
                title: meta.title.clone(),
                collection: meta.collection.clone(),
                classification: meta.classification.to_string(),
                language: meta.language,
                path: c.path.clone(),
                text: c.text.clone(),
                location: c.location,
                ordinal: c.ordinal,
                whole_unit: c.whole_unit,
            };
            doc.add_text(
                f.stored,
                serde_json::to_string(&stored).map_err(|e| err(&self.path, e))?,
            );
            writer.add_document(doc).map_err(|e| err(&self.path, e))?;
        }
        Ok(())
    }

    /// Deletes every chunk of one document version (`{doc}@v{n}`), effective at commit.
    pub fn delete_version(&self, key: &str) {
        let writer = self.writer.lock().unwrap();
        writer.delete_term(Term::from_field_text(self.fields.version_key, key));
    }

    /// Makes the pending additions and deletions durable and visible.
    pub fn commit(&self) -> Result<(), KnowledgeError> {
        let mut writer = self.writer.lock().unwrap();
        writer.commit().map_err(|e| err(&self.path, e))?;
        drop(writer);
        self.reader.reload().map_err(|e| err(&self.path, e))
    }

    /// Drops pending, uncommitted changes (what a crash would lose anyway).
    pub fn rollback(&self) -> Result<(), KnowledgeError> {
        let mut writer = self.writer.lock().unwrap();
        writer
            .rollback()
            .map_err(|e| err(&self.path, e))
            .map(|_| ())
    }

    /// Every document version present in the committed index.
    pub fn version_keys(&self) -> Result<BTreeSet<String>, KnowledgeError> {
        let searcher = self.reader.searcher();
        let mut out = BTreeSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment
                .inverted_index(self.fields.version_key)
                .map_err(|e| err(&self.path, e))?;
            let mut terms = inverted.terms().stream().map_err(|e| err(&self.path, e))?;
            while let Some((term, info)) = terms.next() {
                // A term whose documents are all deleted still sits in the dictionary until
                // segments merge: count live postings.
                let _ = info;
                let key = String::from_utf8_lossy(term).to_string();
                let q = TermQuery::new(
                    Term::from_field_text(self.fields.version_key, &key),
                    IndexRecordOption::Basic,
                );
                if searcher
                    .search(&q, &tantivy::collector::Count)
                    .map_err(|e| err(&self.path, e))?
                    > 0
                {
                    out.insert(key);
                }
            }
        }
        Ok(out)
    }

    /// The number of live chunks.
    pub fn num_chunks(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn filter_clauses(&self, filter: &ChunkFilter) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.fields;
        let any_of = |field: Field, values: &[String]| -> Box<dyn Query> {
            let subs: Vec<(Occur, Box<dyn Query>)> = values
                .iter()
                .map(|v| {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(
                            Term::from_field_text(field, v),
                            IndexRecordOption::Basic,
                        )) as Box<dyn Query>,
                    )
                })
                .collect();
            Box::new(BooleanQuery::new(subs))
        };
        let mut clauses = vec![(Occur::Must, any_of(f.classification, &filter.classes))];
        if !filter.collections.is_empty() {
            clauses.push((Occur::Must, any_of(f.collection, &filter.collections)));
        }
        if !filter.doc_ids.is_empty() {
            clauses.push((Occur::Must, any_of(f.doc_id, &filter.doc_ids)));
        }
        if !filter.languages.is_empty() {
            let langs: Vec<String> = filter
                .languages
                .iter()
                .map(|l| l.as_str().to_string())
                .collect();
            clauses.push((Occur::Must, any_of(f.language, &langs)));
        }
        if let Some(p) = &filter.path_prefix {
            clauses.push((Occur::Must, any_of(f.path_prefix, std::slice::from_ref(p))));
        }
        clauses
    }

    fn run(
        &self,
        query: &dyn Query,
        limit: usize,
    ) -> Result<Vec<(f32, StoredChunk)>, KnowledgeError> {
        let searcher = self.reader.searcher();
        let top = searcher
            .search(query, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(|e| err(&self.path, e))?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(|e| err(&self.path, e))?;
            let json = doc
                .get_first(self.fields.stored)
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let stored: StoredChunk = serde_json::from_str(json).map_err(|e| err(&self.path, e))?;
            out.push((score, stored));
        }
        Ok(out)
    }

    /// BM25 over text (weight 1), path (0.5) and title (0.3), restricted by `filter`.
    pub fn search(
        &self,
        query: &str,
        filter: &ChunkFilter,
        limit: usize,
    ) -> Result<Vec<(f32, StoredChunk)>, KnowledgeError> {
        let mut terms = analyze(query);
        terms.sort();
        terms.dedup();
        if terms.is_empty() || filter.classes.is_empty() {
            return Ok(Vec::new());
        }
        let f = self.fields;
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in &terms {
            for (field, boost) in [(f.text, 1.0f32), (f.path_text, 0.5), (f.title, 0.3)] {
                let q = TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqs,
                );
                should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        }
        let mut clauses = self.filter_clauses(filter);
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(should))));
        self.run(&BooleanQuery::new(clauses), limit)
    }

    /// The chunks whose paths carry every one of `labels` (normalised), restricted by
    /// `filter`, in document order.
    pub fn lookup(
        &self,
        labels: &[String],
        filter: &ChunkFilter,
        limit: usize,
    ) -> Result<Vec<StoredChunk>, KnowledgeError> {
        if labels.is_empty() || filter.classes.is_empty() {
            return Ok(Vec::new());
        }
        let mut clauses = self.filter_clauses(filter);
        for l in labels {
            let q = TermQuery::new(
                Term::from_field_text(self.fields.labels, l),
                IndexRecordOption::Basic,
            );
            clauses.push((Occur::Must, Box::new(q)));
        }
        let mut hits: Vec<StoredChunk> = self
            .run(&BooleanQuery::new(clauses), limit)?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        hits.sort_by(|a, b| {
            (&a.doc_id, a.version, a.ordinal).cmp(&(&b.doc_id, b.version, b.ordinal))
        });
        Ok(hits)
    }

    /// The stored chunks with these ids (any order; unknown ids are skipped).
    pub fn get(&self, chunk_ids: &[String]) -> Result<Vec<StoredChunk>, KnowledgeError> {
        if chunk_ids.is_empty() {
            return Ok(Vec::new());
        }
        let subs: Vec<(Occur, Box<dyn Query>)> = chunk_ids
            .iter()
            .map(|id| {
                let q = TermQuery::new(
                    Term::from_field_text(self.fields.chunk_id, id),
                    IndexRecordOption::Basic,
                );
                (Occur::Should, Box::new(q) as Box<dyn Query>)
            })
            .collect();
        Ok(self
            .run(&BooleanQuery::new(subs), chunk_ids.len())?
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }

    /// The chunks of one document version in order (for previews and tests).
    pub fn chunks_of(
        &self,
        version_key: &str,
        limit: usize,
    ) -> Result<Vec<StoredChunk>, KnowledgeError> {
        let q = TermQuery::new(
            Term::from_field_text(self.fields.version_key, version_key),
            IndexRecordOption::Basic,
        );
        let mut hits: Vec<StoredChunk> = self.run(&q, limit)?.into_iter().map(|(_, c)| c).collect();
        hits.sort_by_key(|c| c.ordinal);
        Ok(hits)
    }

    /// The index directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tantivy index (for statistics).
    pub fn index(&self) -> &Index {
        &self.index
    }
}
