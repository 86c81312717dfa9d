//! The `assistant` crate. See ARCHITECTURE.md.
