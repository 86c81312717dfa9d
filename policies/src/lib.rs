//! Governance rules for Deskmate, as plain data and pure functions.
//!
//! This crate is the bottom of the dependency graph (beside `kernels`): it knows nothing of
//! HTTP, SQL, models or documents. It says *who may do what* ([`role`]), *who may see what*
//! ([`classification`]), *how the audit chain is hashed and verified* ([`audit`]) and *which
//! approval transitions are allowed* ([`approval`]). Storage and transport live in higher crates,
//! which call these functions so that every layer applies the same rules.

pub mod approval;
pub mod audit;
pub mod classification;
pub mod currency;
pub mod explain;
pub mod limits;
pub mod monitoring;
pub mod redact;
pub mod role;
pub mod validation;

pub use approval::{ApprovalDecision, ApprovalState, ApprovalView, Denial, Transition};
pub use audit::{AuditAnchor, AuditEntry, ChainBreak, ChainBreakKind, ChainVerifier};
pub use classification::{Clearance, DataClass, Level};
pub use role::{Permission, Principal, Role};
