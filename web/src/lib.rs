//! The `web` crate. See ARCHITECTURE.md.
