//! Route handlers, one module per resource. Request and response bodies that only the API uses
//! are defined next to their handlers.

pub mod admin;
pub mod approvals;
pub mod audit;
pub mod compliance;
pub mod documents;
pub mod drafts;
pub mod evals;
pub mod extractions;
pub mod jobs;
pub mod market;
pub mod model_risk;
pub mod openai;
pub mod pricing;
pub mod rfqs;
pub mod system;
pub mod templates;
pub mod wecom;
