//! Deskmate's drafting core: confirmations drafted from trade data.
//!
//! - [`template`]: the clause library's unit, a template — a clause tree (section → clause →
//!   sub-clause) in Markdown with TOML front matter, each clause with its preferred wording,
//!   ordered fallback wordings with the firm's position (acceptable / needs approval / never),
//!   tags, notes and an optional `when` condition; variable parts are typed placeholders bound to
//!   key-term leaves or CDM paths, all checked at import.
//! - [`format`]: the deterministic writing of every value (dates, amounts, amounts in words and
//!   in Chinese capitals 大写, percentages, currency names, enumeration words, party roles).
//! - [`draft`]: a template filled from one trade; missing values refuse the draft by name.
//! - [`library`]: the demo library shipped with Deskmate (written for this project, modelled on
//!   the structure of public confirmations; no ISDA form is copied) and the choice of a template
//!   by product type and language.
//!
//! The store, versions, approvals and audit of templates and drafts belong to `assistant`
//! (planned, issue #18), as do proofreading, negotiation and the model-written free text.

pub mod draft;
pub mod format;
pub mod library;
pub mod template;

pub use draft::{Draft, DraftClause, DraftError, Span, Trade, Wording, draft};
pub use format::Format;
pub use template::{
    Binding, Clause, Condition, Fallback, Language, Placeholder, Position, Template, TemplateError,
};
