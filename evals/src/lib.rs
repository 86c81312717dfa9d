//! The `evals` crate. See ARCHITECTURE.md.
