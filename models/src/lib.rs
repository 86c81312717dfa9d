//! The `models` crate. See ARCHITECTURE.md.
