//! The `assistant` crate. See ARCHITECTURE.md.

pub mod rfq;
