//! The `kernels` crate. See ARCHITECTURE.md.
