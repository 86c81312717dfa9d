//! The compliance core against ISDA DRR's expected reports.

mod drr;
mod link;
mod validate;
