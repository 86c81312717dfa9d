//! `assistant`'s integration tests, one binary (each module was a binary of its own): the
//! approval queue, the audit log on a real SQLite file, the RFQ desk, the documents workflow, the
//! Telegram bot end to end, the extraction jobs with their ops review, the validation of
//! approval payloads at creation and at every edit, and stored statuses (triggers, SQL literals,
//! corrupt values).

mod approvals;
mod audit_log;
mod compat;
mod desk;
mod documents;
mod edit_validation;
mod explain;
mod extraction_review;
mod model_risk;
mod reporting;
mod stored_values;
mod telegram;
