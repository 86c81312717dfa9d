//! The knowledge base: regulations, exchange rules, master agreements and confirmations,
//! chunked along their own structure and retrieved by hybrid (lexical + dense) search.
//!
//! # Design
//!
//! - [`document`]: the model. A document version has metadata ([`DocumentMeta`]), a section
//!   tree ([`Section`]) and chunks ([`Chunk`]); every chunk carries its full [`SectionPath`]
//!   (`期货和衍生品法 | 第一章 总则 | 第一条`) and its [`Location`] (pages, character range).
//! - [`decode`]: bytes to text (size limit, binary and empty input rejected, GBK and other
//!   legacy encodings detected and decoded).
//! - [`chunk`]: the pure structured chunker (text in, tree + chunks + problems out) and the one
//!   model-dependent step, merging fragments under 50 characters by embedding cosine.
pub mod chunk;
pub mod cn;
pub mod decode;
pub mod document;
pub mod error;
pub mod filter;
pub mod kb;
pub mod lexical;
pub mod manifest;
pub mod refs;
pub mod report;
pub mod search;
pub mod vector;

pub use chunk::{ChunkOptions, Chunked, Format, Problem, SourceText, chunk};
pub use document::{
    Chunk, DocId, DocumentMeta, Language, Location, PathSegment, Section, SectionKind, SectionPath,
};
pub use error::{InputError, KnowledgeError};
pub use kb::{
    CrashPoint, IngestReport, IngestRequest, IngestStatus, KbConfig, KnowledgeBase, VectorBackend,
};
pub use search::{Filters, FusionWeights, Hit, Scores, SearchRequest, SearchResults};
