//! The `connectors` crate. See ARCHITECTURE.md.
