//! The suites, one module each.

pub mod audit;
pub mod retrieval;
pub mod rfq;
