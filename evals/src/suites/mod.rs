//! The suites, one module each.

pub mod audit;
pub mod extraction;
pub mod retrieval;
pub mod rfq;
