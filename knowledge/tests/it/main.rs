//! `knowledge`'s integration tests, one binary: the chunker on real documents, the lexical and
//! vector indexes, and the knowledge base's ingest, search, delete and crash safety.

mod chunker;
mod compat;
mod indexes;
mod kb;
