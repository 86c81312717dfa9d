//! The drafting core through its public API: the demo library parses and round-trips through
//! Markdown; drafts of real trades' terms (the Chinese confirmation set's equity options) read
//! back through our own extraction to the same key terms, as text and as text PDFs, in English
//! and Chinese; bad input (a trade lacking a term, a template that names an unknown field, a
//! trade of another product) is refused by name.

mod free_text;
mod library;
mod negotiate;
mod proofread;
mod render;
mod roundtrip;
