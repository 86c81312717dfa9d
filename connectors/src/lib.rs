//! The outside world's documents, turned into our types.
//!
//! - [`document`]: text from anything (PDF text layers, OCR of scans and images, DOCX, HTML,
//!   XML, plain text in any encoding) as pages of lines of words with boxes, confidences and the
//!   method used per page. Entry point: [`document::extract_text`].
//! - [`cdm`]: the ISDA CDM JSON (legacy 6.x layout) as data: schema validation against the
//!   shipped draft-04 JSON Schemas with errors naming the JSON path, and the builders used to
//!   write TradeStates.
//! - [`fpml`]: deterministic FpML 5.x confirmation → CDM TradeState mapping, and the fact-level
//!   comparison of two CDM documents used by the tests and the evaluation suite.
//!
//! ## Design
//! - Formats are sniffed from bytes, never trusted from file names.
//! - Every failure is a typed error naming the file and whose fault it is, with a per-file status
//!   (`unsupported`, `unreadable`, `too_large`, `internal`); parsers that can panic on hostile
//!   input (`pdf-extract`, `lopdf`) run under `catch_unwind`, and the rasterizer runs in its own
//!   process with a timeout.
//! - OCR rasterizes with poppler's `pdftoppm` (a Debian package, out of process) rather than
//!   pdfium (see `document::ocr` for the measured reasons) and reads with Tesseract
//!   `chi_sim+eng`: Chinese first keeps Chinese words unspaced.
//! - The FpML mapper is written per FpML product element, not per sample file; the comparison
//!   flattens both documents into (path, value) facts with array indices and hashing noise
//!   removed (see [`fpml::compare`]).

pub mod cdm;
pub mod document;
pub mod fpml;
