//! Deskmate's drafting core: confirmations drafted from trade data.
//!
//! - [`template`]: the clause library's unit, a template — a clause tree (section → clause →
//!   sub-clause) in Markdown with TOML front matter, each clause with its preferred wording,
//!   ordered fallback wordings with the firm's position (acceptable / needs approval / never),
//!   tags, notes and an optional `when` condition; variable parts are typed placeholders bound to
//!   key-term leaves or CDM paths, all checked at import.
//! - [`format`]: the deterministic writing of every value (dates, amounts, amounts in words and
//!   in Chinese capitals 大写, percentages, currency names, enumeration words, party roles).
//! - [`draft`]: a template filled from one trade (preferred wordings, or a chosen fallback per
//!   clause, a fallback being a complete alternative wording of its clause); missing values
//!   refuse the draft by name; sub-clauses left out are renumbered so the draft has no gaps.
//! - [`document`]: any confirmation's text read back as sections, aligned with a template's
//!   clauses.
//! - [`negotiate`]: a counterparty's mark-up compared with our draft clause by clause: each
//!   change classed (economic, substantive, cosmetic), matched to the library's fallbacks and
//!   answered by the firm's positions (accept, counter with a fallback, reject) with reason,
//!   impact and talking points; the issues list.
//! - [`diff`]: line diffs (redlines, version history, stale-save refusals).
//! - [`proofread`]: findings on a document (consistency inside it, its terms against the trade
//!   through our extraction, its clauses against the template and the firm's fallback
//!   positions, style), each located by section, clause and byte span.
//! - [`render`]: the final documents, a PDF (fonts embedded as subsets, Chinese included) and a
//!   DOCX set from a draft's text, with one signature page per party; deterministic, so a
//!   final's SHA-256 can be re-created from its version.
//! - [`library`]: the demo library shipped with Deskmate (written for this project, modelled on
//!   the structure of public confirmations; no ISDA form is copied) and the choice of a template
//!   by product type and language.
//!
//! The store, versions, approvals and audit of templates and drafts belong to `assistant`
//! (`assistant::drafts`, `assistant::templates`, `assistant::draft_execution`), as does the
//! model-written free text (`assistant::draft_free`: this crate marks where it goes, `::: free`
//! and [`Draft::free_slots`], and puts it in place, [`Draft::fill_free`]). [`precedents`]: an
//! earlier confirmation read clause by clause against a template.

pub mod diff;
pub mod document;
pub mod draft;
pub mod format;
pub mod library;
pub mod negotiate;
pub mod precedents;
pub mod proofread;
pub mod render;
pub mod template;

pub use draft::{
    Draft, DraftClause, DraftError, FreeSlot, MachineText, Span, Trade, Wording, draft, draft_with,
};
pub use format::Format;
pub use template::{
    Binding, Clause, Condition, Fallback, FreeSpec, Language, Placeholder, Position, Template,
    TemplateError,
};
