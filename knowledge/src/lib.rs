//! The knowledge base: regulations, exchange rules, master agreements and confirmations,
//! chunked along their own structure and retrieved by hybrid (lexical + dense) search.
//!
//! # Design
//!
//! - [`document`]: the model. A document version has metadata ([`DocumentMeta`]: id, title,
//!   source, collection, language, classification, content hash, version), a section tree
//!   ([`Section`]) and chunks ([`Chunk`]); every chunk carries its full [`SectionPath`]
//!   (`期货和衍生品法 | 第一章 总则 | 第一条`) and its [`Location`] (pages, character range).
//! - [`decode`]: bytes to text (size limit, binary and empty input rejected, GBK and other
//!   legacy encodings detected with chardetng and decoded with encoding_rs).
//! - [`chunk`]: the pure structured chunker (text in, tree + chunks + problems out): header
//!   blocks and front matter become metadata; tables of contents, page numbers and repeated page
//!   headers/footers are removed; 编/分编/章/节/条, Part/Title/Chapter/Article/Section, Markdown
//!   headings and numbered headings (1 / 1.1 / 1.1.1) nest by a rank table; the article (条,
//!   Article, Section) or numbered paragraph is the retrieval unit, split at 款 / numbered
//!   paragraphs when long; text without structure falls back to paragraph windows. The one
//!   model-dependent step, [`chunk::merge_short_fragments`], merges fragments under 50
//!   characters into the more similar neighbour (embedding cosine, previous if r1 > r2).
//! - [`lexical`]: tantivy 0.27 with a jieba tokenizer, lower-casing and English stemming; it
//!   also stores the chunks and their normalised path labels (exact lookup, prefix filters).
//! - [`vector`]: the [`vector::VectorStore`] trait; [`vector::edge::EdgeStore`] (embedded Qdrant
//!   Edge =0.7.2, on disk) and [`vector::server::ServerStore`] (qdrant-client).
//! - [`manifest`]: the on-disk commit protocol that keeps both indexes agreeing about which
//!   document versions exist (intent file, atomic manifest as the commit point, reconcile at
//!   open).
//! - [`kb`]: [`KnowledgeBase`]: `ingest_bytes` / `ingest_text` → [`IngestReport`], `delete`,
//!   `search` → [`SearchResults`], `lookup_path`; blocking, one writer, concurrent readers that
//!   only ever see committed versions.
//! - [`search`] and [`refs`]: filters, weighted reciprocal rank fusion, and structural
//!   references (`第一章第二条`, `第21条`, `Article 9(2)`, `Section 5(a)(vi)`) answered by exact
//!   path lookup first. Every query carries the caller's [`policies::Clearance`]; both indexes
//!   filter by it and the manifest's classification is checked again on every hit.
//! - [`answer`]: cited answers: retrieval → prompt in the seed's framework (role, goal,
//!   constraints, known content, instruction, output rules, examples) with retrieved text
//!   fenced and screened as data → generator → `[n]` citations mapped to chunks; no evidence,
//!   no generation. Also the faithfulness judge of the evaluation.
//! - [`rerank`]: the optional second stage (off by default): the local generator grades the
//!   top candidates 0–3 with constrained JSON and they are re-ordered by grade.
//! - [`report`]: the stable JSON of `deskmate chunk --json` and `deskmate search --json`.
//!
//! Invariants: no I/O in [`chunk`]; nothing above a caller's clearance leaves [`kb`]; a hit is
//! shown only if its version is the committed one; this crate depends only on `policies` and
//! `models` among ours.
pub mod answer;
pub mod chunk;
pub mod cn;
pub mod decode;
pub mod document;
pub mod error;
pub mod filter;
pub mod injection;
pub mod kb;
pub mod lexical;
pub mod manifest;
mod prompt;
pub mod refs;
pub mod report;
pub mod rerank;
pub mod search;
pub mod vector;

pub use answer::{Answer, AskOptions, AskRequest, Citation};
pub use chunk::{ChunkOptions, Chunked, Format, Problem, SourceText, chunk};
pub use document::{
    Chunk, DocId, DocumentMeta, Language, Location, PathSegment, Section, SectionKind, SectionPath,
    validate_collection,
};
pub use error::{InputError, KnowledgeError};
#[cfg(any(test, feature = "testing"))]
pub use kb::CrashPoint;
pub use kb::{
    ChunkEdit, IngestReport, IngestRequest, IngestStatus, KbConfig, KbLock, KnowledgeBase,
    VectorBackend,
};
pub use rerank::RerankOptions;
pub use search::{
    Filters, FusionMethod, FusionWeights, Hit, Retrievers, Scores, SearchRequest, SearchResults,
};
