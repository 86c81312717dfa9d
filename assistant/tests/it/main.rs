//! `assistant`'s integration tests, one binary (each module was a binary of its own): the
//! approval queue, the audit log on a real SQLite file, the RFQ desk, the documents workflow, the
//! Telegram bot end to end, and the extraction jobs with their ops review.

mod approvals;
mod audit_log;
mod compat;
mod desk;
mod documents;
mod extraction_review;
mod telegram;
