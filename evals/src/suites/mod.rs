//! The suites, one module each.

pub mod abstention;
pub mod audit;
pub mod bias;
pub mod bias_content;
pub mod compliance;
mod desk_harness;
pub mod draft_mutations;
pub mod drafting;
pub mod drafting_free;
pub mod extraction;
pub mod injection;
pub mod redteam;
pub mod retrieval;
pub mod rfq;
pub mod validate;
pub mod validate_answers;
pub mod validate_extraction;
pub mod validate_rfq_model;
