//! The `knowledge` crate. See ARCHITECTURE.md.
