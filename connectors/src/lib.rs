//! The outside world's documents, turned into our types.
//!
//! - [`document`]: text from anything (PDF text layers, OCR of scans and images, DOCX, HTML,
//!   XML, plain text in any encoding) as pages of lines of words with boxes, confidences and the
//!   method used per page. Entry point: [`document::extract_text`]`(path | bytes, &Limits) ->
//!   Result<Document, ConnectorError>`.
//! - [`cdm`]: the ISDA CDM JSON (legacy 6.x layout) as data: [`cdm::CdmSchemas`] validates
//!   against the shipped draft-04 JSON Schemas with violations naming the JSON path; small
//!   builders for the legacy layout's wrappers.
//! - [`fpml`]: [`fpml::fpml_to_cdm`]`(xml, &CdmSchemas) -> Result<(Value, Vec<Problem>),
//!   FpmlError>`, the deterministic FpML 5.x confirmation → CDM TradeState mapping, and
//!   [`fpml::compare`], the fact-level comparison of two CDM documents used by the tests and
//!   the evaluation suite.
//! - [`chat`], [`telegram`], [`webhook`]: the RFQ desk's chat channels. [`chat`] holds the
//!   chat-side types ([`chat::InboundMessage`], [`chat::OutboundMessage`], [`chat::SendOutcome`])
//!   and the [`chat::ChatDesk`] trait that `assistant` implements, plus the outbox loop every
//!   connector shares ([`chat::run_outbound`]); connectors never see the desk's types and the
//!   binary wires the two. [`telegram`] is the bot (teloxide, rustls: long polling, @-mentions
//!   in groups, replies to the client's message, at-most-once sends); [`webhook`] POSTs replies
//!   to a chat adapter's callback URL with an idempotency key, retried (the inbound half is
//!   `POST /v1/chat/inbound` in `web`); [`wecom`] is the WeCom (企业微信) intelligent robot:
//!   encrypted callbacks, streaming passive replies, `response_url` and the application API.
//!
//! ## Design
//! - Formats are sniffed from bytes, never trusted from file names.
//! - Every failure is a typed error naming the file and whose fault it is, with a per-file status
//!   (`unsupported`, `unreadable`, `too_large`, `internal`); parsers that can panic on hostile
//!   input (`pdf-extract`, `lopdf`) run under `catch_unwind`, and the rasterizer runs in its own
//!   process with a timeout. Limits (bytes, pages, OCR on/off, dpi, languages) are a
//!   [`document::Limits`] value the caller fills from its configuration.
//! - PDF pages are judged one by one: a page whose text layer makes the parser fail (a
//!   predefined CJK CMap such as `UniGB-UCS2-H`) is read by poppler's `pdftotext -bbox-layout`
//!   (words with boxes); a page whose layer is still empty or garbage is rasterized with
//!   poppler's `pdftoppm -r 300 -gray` and read by Tesseract (`chi_sim+eng`: Chinese first keeps
//!   Chinese words unspaced; a page that comes out mostly Chinese is read again with `chi_sim`
//!   alone, which takes fewer Chinese words for Latin gibberish). Chinese OCR lines are joined
//!   without spaces and repaired for Tesseract's usual confusions (`〔` for `（`, `10; 000` in a
//!   figure, `GNY` for `CNY`). `pdftoppm` rather than pdfium:
//!   a Debian package like Tesseract itself, out of process (a renderer crash is a per-file
//!   error), and it kept a Chinese line that pdfium's raw-frame path lost; see `document::ocr`.
//! - Boxes are top-left-origin, in PDF points for text layers and in pixels for OCR; word
//!   confidences are 0..=1 (1 for text layers and markup).
//! - The FpML mapper is written per FpML product element, never per sample file. Sub-structures
//!   whose names FpML and CDM share are copied under the guidance of the CDM JSON Schema (which
//!   property is an array, a `FieldWithMeta`, a reference, an enum, a number), so the schema, not
//!   hand-written code, decides most of the shape. FpML codes a CDM enum lacks are dropped and
//!   reported as problems; the output never carries an invalid enum.
//! - The CDM schemas are loaded from a directory at run time (`shared/data/cdm/jsonschema-6.30.0`
//!   in development); compiling the TradeState validator takes seconds, so hold one
//!   [`cdm::CdmSchemas`] per process.

pub mod cdm;
pub mod chat;
pub mod document;
pub mod fpml;
pub mod telegram;
pub mod webhook;
pub mod wecom;
