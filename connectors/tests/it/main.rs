//! `connectors`' integration tests, one binary: CDM schema validation, text from documents (PDFs,
//! scans, DOCX, HTML, encodings), hidden injections in uploaded mark-ups, and FpML to CDM against
//! the CDM project's pairs.

mod cdm_schema;
mod common;
mod document;
mod fpml_cdm;
mod hidden_markup;
