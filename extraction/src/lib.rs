//! Upload-and-extract: confirmations (text PDFs, scans, images, DOCX, HTML, text, FpML) to the
//! key terms of `shared/schemas/key-terms.md` and an ISDA CDM 6.30.0 TradeState, with evidence
//! for every value and an ops review before anything is exported.
//!
//! # Pipeline ([`Extractor::extract`], one file)
//! 1. **Read**: FpML messages go to [`fpml`]; everything else to
//!    `connectors::document::extract_text` (text layers, OCR of scans, markup) and is indexed
//!    as a [`text::Sheet`] (one string with a map back to pages, lines and word boxes).
//!    Unreadable input gets its per-file status (`unsupported`, `unreadable`, `too_large`,
//!    `internal`) and the job goes on.
//! 2. **Classify** ([`classify`]): the product family, or `not_a_confirmation`.
//! 3. **Rules** ([`rules`], with [`parse`]): labelled lines, defined terms and prose patterns
//!    propose values for key-term leaves ([`terms::Field`]), each with evidence (page, character
//!    span, word boxes, snippet, method, confidence). The label catalogue is data,
//!    `extraction/data/labels.toml`, checked when it is loaded; the heuristics sit in one module
//!    per field family (parties, dates, amounts, rates, product terms, barrier structures).
//! 4. **Model** ([`model`], optional): for the leaves the family needs and the rules did not
//!    find, the local model answers under a JSON schema with the text that states each one;
//!    our parsers read the value from that text, which must occur in the document.
//! 5. **Check** ([`check`], [`terms`]): each value's type (ISO 4217 codes, real dates,
//!    positive amounts, enumerations); agreeing values merge their evidence, different values
//!    for one leaf become a [`terms::Conflict`] and are left out; cross-checks (date order,
//!    buyer ≠ seller, premium vs notional currency…). Any conflict or failed check makes the
//!    file `needs_review`; nothing is guessed.
//! 6. **CDM** ([`cdm`]): a TradeState from the key terms (equity options and interest rate
//!    swaps with payouts; other families as trades without payout), validated against the
//!    shipped schema and emitted only when valid; terms CDM cannot express go to a documented
//!    extension object beside it. An FpML message's TradeState comes from
//!    `connectors::fpml::fpml_to_cdm`; when it lacks only properties CDM requires that the
//!    message does not give, it is emitted incomplete (`cdm_report.complete: false`, the
//!    properties in `cdm_report.missing_required`, one `cdm_missing` problem each) for the
//!    review to fill in ([`cdm::supply`]).
//!
//! # Review and export (`assistant::extraction_review`)
//! This crate knows nothing of the store, jobs or approvals. `Assistant::extraction_submit`
//! stores uploads by SHA-256 in the data dir and records a job; `Assistant::extraction_run` (run
//! in the background by the server) extracts each file with an [`Extractor`] and writes its
//! result and its approval request (kind `extraction`, role `ops`, four-eyes by configuration)
//! in one transaction. Reviewers correct leaves with `Assistant::extraction_correct` (an
//! approval edit: before/after and the reason are audited, [`Extractor::rebuild`] re-runs the
//! checks and the CDM document, keeping a TradeState mapped from FpML); a correction whose field
//! is `cdm:<JSON pointer>` supplies a required CDM property the TradeState lacks
//! ([`cdm::supply`]); approved results are exported (key terms, CDM, extension) into
//! `extraction_exports` with the source file's SHA-256, the CDM document validated in full.
//!
//! # Rules of the module
//! - The key-terms object holds only values the document states; `other.*` leaves hold stated
//!   terms outside the schema.
//! - The CDM schemas are compiled once per process ([`schemas`]), lazily.
//! - [`synth`] renders documents to text PDFs and degraded scans for tests, the evaluation
//!   suite and the bench; it is not used on user input.

pub mod cdm;
pub mod cdm_read;
pub mod check;
pub mod classify;
pub mod fpml;
pub mod model;
pub mod parse;
pub mod rules;
pub mod schemas;
pub mod score;
pub mod synth;
pub mod terms;
pub mod text;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use connectors::cdm::CdmSchemas;
use connectors::document::{ConnectorError, Format, Input, Limits, PageMethod, extract_text};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use check::Problem;
use terms::{Candidate, Conflict, FieldValue};
use text::{Method, Sheet};

/// What became of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Key terms extracted, every check passed (still reviewed before export).
    Extracted,
    /// Key terms extracted with conflicts or failed checks a person must resolve.
    NeedsReview,
    /// The text names no derivative product, or states almost no terms.
    NotAConfirmation,
    /// Not a format we read.
    Unsupported,
    /// A known format that cannot be read (encrypted, corrupt, truncated, no pages, no text).
    Unreadable,
    /// Over the configured size or page limit.
    TooLarge,
    /// Our side failed (OCR engine missing, a bug); the file may be tried again.
    Internal,
}

impl FileStatus {
    /// Every status, in declaration order.
    pub const ALL: [FileStatus; 7] = [
        FileStatus::Extracted,
        FileStatus::NeedsReview,
        FileStatus::NotAConfirmation,
        FileStatus::Unsupported,
        FileStatus::Unreadable,
        FileStatus::TooLarge,
        FileStatus::Internal,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Extracted => "extracted",
            FileStatus::NeedsReview => "needs_review",
            FileStatus::NotAConfirmation => "not_a_confirmation",
            FileStatus::Unsupported => "unsupported",
            FileStatus::Unreadable => "unreadable",
            FileStatus::TooLarge => "too_large",
            FileStatus::Internal => "internal",
        }
    }

    /// Whether the file produced key terms for review.
    pub fn has_terms(self) -> bool {
        matches!(self, FileStatus::Extracted | FileStatus::NeedsReview)
    }

    fn of_connector(e: &ConnectorError) -> FileStatus {
        match e.status() {
            "unsupported" => FileStatus::Unsupported,
            "too_large" => FileStatus::TooLarge,
            "internal" => FileStatus::Internal,
            _ => FileStatus::Unreadable,
        }
    }
}

impl std::fmt::Display for FileStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`FileStatus::ALL`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown file status {given:?}")]
pub struct UnknownFileStatus {
    /// What was given.
    pub given: String,
}

impl std::str::FromStr for FileStatus {
    type Err = UnknownFileStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FileStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownFileStatus {
                given: s.to_string(),
            })
    }
}

/// Time spent per stage, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Reading the text (including OCR).
    pub read_ms: f64,
    /// Classification, rules and checks.
    pub rules_ms: f64,
    /// The model, when asked.
    pub model_ms: f64,
    /// Building and validating the CDM document.
    pub cdm_ms: f64,
    /// The whole file.
    pub total_ms: f64,
}

/// One page's geometry: the frame its evidence boxes are drawn in (origin at the top left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PageGeometry {
    /// 1-based page number.
    pub page: u32,
    /// How the page was read (`text_layer`: boxes in PDF points; `ocr`: pixels of the image
    /// the page was recognised from).
    pub method: PageMethod,
    /// Width in the page's unit.
    pub width: f32,
    /// Height in the same unit.
    pub height: f32,
}

/// The result for one file: status, key terms, every value with its evidence, conflicts,
/// problems, the CDM document and its extension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileResult {
    /// The file name as given (used only in messages).
    pub name: String,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// The format read, when recognised.
    pub format: Option<Format>,
    /// Pages read.
    pub pages: usize,
    /// Pages read by OCR.
    pub ocr_pages: usize,
    /// Each page with geometry: how it was read and its size in the unit of its evidence
    /// boxes (PDF points for text layers, pixels for OCR), so that a reviewer's screen can
    /// draw the boxes over an image of the page. Empty for formats without geometry.
    pub page_geometry: Vec<PageGeometry>,
    /// What became of it.
    pub status: FileStatus,
    /// Why it could not be read or is not a confirmation.
    pub error: Option<String>,
    /// The product family.
    pub product_type: Option<String>,
    /// The key-terms object (`{}` when none).
    pub key_terms: Value,
    /// Each key-term leaf with its value and evidence, side by side.
    pub fields: Vec<FieldValue>,
    /// Leaves stated with different values (left out of the key terms).
    pub conflicts: Vec<Conflict>,
    /// Values dropped and checks failed.
    pub problems: Vec<Problem>,
    /// What a reviewer should know (OCR'd pages, ambiguous dates, model not available…).
    pub notices: Vec<String>,
    /// The CDM 6.30.0 TradeState (legacy layout), when one could be built: schema-valid, or,
    /// mapped from FpML, valid but for the required properties listed in
    /// `cdm_report.missing_required` (then `cdm_report.complete` is false).
    pub cdm: Option<Value>,
    /// How the CDM document came out.
    pub cdm_report: cdm::CdmReport,
    /// Terms CDM cannot express, beside the CDM document.
    pub extension: Option<Value>,
    /// Time per stage.
    pub timings: Timings,
}

impl FileResult {
    /// An empty result for file `name` with contents `bytes` (status `internal` until set).
    pub fn new(name: &str, bytes: &[u8]) -> FileResult {
        FileResult {
            name: name.to_owned(),
            sha256: hex::encode(Sha256::digest(bytes)),
            bytes: bytes.len() as u64,
            format: None,
            pages: 0,
            ocr_pages: 0,
            page_geometry: Vec::new(),
            status: FileStatus::Internal,
            error: None,
            product_type: None,
            key_terms: Value::Object(Default::default()),
            fields: Vec::new(),
            conflicts: Vec::new(),
            problems: Vec::new(),
            notices: Vec::new(),
            cdm: None,
            cdm_report: cdm::CdmReport::default(),
            extension: None,
            timings: Timings::default(),
        }
    }
}

/// Errors of the extraction layer outside a file's own status.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The CDM schema directory is not configured and none was found (the installation's
    /// fault).
    #[error(
        "no CDM 6.30.0 JSON Schema directory: set extract.cdm_schema_dir (DESKMATE_EXTRACT_CDM_SCHEMA_DIR) to the folder holding cdm-event-common-TradeState.schema.json"
    )]
    NoSchemaDir,
    /// The schema directory cannot be loaded.
    #[error("CDM schemas: {0}")]
    Schemas(#[from] connectors::cdm::CdmError),
}

/// Settings of the extractor, from `[extract]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Document limits (bytes, pages, OCR, dpi, languages, tessdata, pdftoppm).
    pub limits: Limits,
    /// Build and validate CDM documents.
    pub cdm: bool,
    /// The CDM schema directory, once resolved (`None`: not found).
    pub cdm_schema_dir: Option<PathBuf>,
    /// Characters of document text shown to the model.
    pub model_max_chars: usize,
    /// Tokens the model may write.
    pub model_max_tokens: usize,
}

impl Default for Settings {
    /// The defaults of `[extract]`: the documents' default limits, CDM on with the schema
    /// directory found as [`schemas::resolve_dir`] finds it, 6,000 characters and 400 tokens for
    /// the model.
    fn default() -> Self {
        Settings {
            limits: Limits::default(),
            cdm: true,
            cdm_schema_dir: schemas::resolve_dir(None),
            model_max_chars: 6000,
            model_max_tokens: 400,
        }
    }
}

/// The extractor: settings, the optional model, and a lane that runs one file at a time.
pub struct Extractor {
    settings: Settings,
    model: Mutex<Option<Arc<dyn models::Generator>>>,
    lane: Mutex<()>,
}

impl std::fmt::Debug for Extractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extractor")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Extractor {
    /// An extractor with these settings and no model.
    pub fn new(settings: Settings) -> Extractor {
        Extractor {
            settings,
            model: Mutex::new(None),
            lane: Mutex::new(()),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Sets the model asked for the terms the rules do not find.
    pub fn set_model(&self, generator: Arc<dyn models::Generator>) {
        *self.model.lock().unwrap_or_else(|p| p.into_inner()) = Some(generator);
    }

    /// The process-wide CDM schemas of the configured directory (compiled on first use).
    pub fn schemas(&self) -> Result<Arc<CdmSchemas>, ExtractError> {
        let dir = self
            .settings
            .cdm_schema_dir
            .as_deref()
            .ok_or(ExtractError::NoSchemaDir)?;
        schemas::shared(dir)
    }

    /// Extracts one file from disk.
    pub fn extract_path(&self, path: &Path) -> FileResult {
        let name = path.display().to_string();
        match std::fs::metadata(path) {
            Ok(m) if m.len() > self.settings.limits.max_bytes => {
                let mut r = FileResult::new(&name, &[]);
                r.bytes = m.len();
                r.status = FileStatus::TooLarge;
                r.error = Some(format!(
                    "{name}: {} bytes, the limit is {}",
                    m.len(),
                    self.settings.limits.max_bytes
                ));
                r
            }
            _ => match std::fs::read(path) {
                Ok(bytes) => self.extract(&bytes, &name),
                Err(e) => {
                    let mut r = FileResult::new(&name, &[]);
                    r.status = FileStatus::Unreadable;
                    r.error = Some(format!("{name}: cannot read: {e}"));
                    r
                }
            },
        }
    }

    /// Extracts one file's bytes. Never panics: a bug inside becomes status `internal`.
    pub fn extract(&self, bytes: &[u8], name: &str) -> FileResult {
        let _lane = self.lane.lock().unwrap_or_else(|p| p.into_inner());
        self.extract_in_lane(bytes, name)
    }

    /// [`Extractor::extract`] with `model` as the model step for this file alone (`None`: rules
    /// and OCR only), whatever [`Extractor::set_model`] set: for a caller that decides per file
    /// whether a model may serve (the server's model-risk gate).
    pub fn extract_with_model(
        &self,
        bytes: &[u8],
        name: &str,
        model: Option<Arc<dyn models::Generator>>,
    ) -> FileResult {
        let _lane = self.lane.lock().unwrap_or_else(|p| p.into_inner());
        let saved = std::mem::replace(
            &mut *self.model.lock().unwrap_or_else(|p| p.into_inner()),
            model,
        );
        let r = self.extract_in_lane(bytes, name);
        *self.model.lock().unwrap_or_else(|p| p.into_inner()) = saved;
        r
    }

    fn extract_in_lane(&self, bytes: &[u8], name: &str) -> FileResult {
        let t0 = Instant::now();
        let mut r = FileResult::new(name, bytes);
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut r = FileResult::new(name, bytes);
            self.run(bytes, name, &mut r);
            r
        }));
        match outcome {
            Ok(done) => r = done,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic".into());
                tracing::error!(file = name, panic = %msg, "extraction panicked");
                r.status = FileStatus::Internal;
                r.error = Some(format!(
                    "{name}: internal error while extracting (a bug): {msg}"
                ));
            }
        }
        r.timings.total_ms = ms(t0);
        r
    }

    fn run(&self, bytes: &[u8], name: &str, r: &mut FileResult) {
        let t0 = Instant::now();
        if bytes.len() as u64 > self.settings.limits.max_bytes {
            r.status = FileStatus::TooLarge;
            r.error = Some(format!(
                "{name}: {} bytes, the limit is {}",
                bytes.len(),
                self.settings.limits.max_bytes
            ));
            return;
        }
        // FpML is read as XML, not as text.
        if connectors::document::sniff(bytes) == Some(Format::Xml)
            && let Ok(xml) = std::str::from_utf8(bytes)
            && fpml::is_fpml(xml)
        {
            self.run_fpml(xml, r);
            r.timings.read_ms = ms(t0);
            return;
        }
        let doc = match extract_text(Input::Bytes { bytes, name }, &self.settings.limits) {
            Ok(d) => d,
            Err(e) => {
                r.status = FileStatus::of_connector(&e);
                r.error = Some(e.to_string());
                r.timings.read_ms = ms(t0);
                return;
            }
        };
        r.format = Some(doc.format);
        r.pages = doc.pages.len();
        r.page_geometry = doc
            .pages
            .iter()
            .filter(|p| p.width > 0.0 && p.height > 0.0)
            .map(|p| PageGeometry {
                page: p.number,
                method: p.method,
                width: p.width,
                height: p.height,
            })
            .collect();
        r.notices.extend(doc.notices.iter().map(|n| match n.page {
            Some(p) => format!("page {p}: {}", n.message),
            None => n.message.clone(),
        }));
        let sheet = Sheet::new(&doc);
        r.ocr_pages = sheet.ocr_pages();
        r.timings.read_ms = ms(t0);
        if sheet.text.trim().is_empty() {
            r.status = FileStatus::Unreadable;
            r.error = Some(format!(
                "{name}: no text could be read (an image of something other than a document, or a blank page)"
            ));
            return;
        }
        self.run_text(&sheet, r);
    }

    fn run_text(&self, sheet: &Sheet, r: &mut FileResult) {
        let t0 = Instant::now();
        let chinese = cjk::is_mostly_chinese(&sheet.text);
        let class = classify::classify(&sheet.flow, chinese);
        let Some(product) = class.product_type else {
            r.status = FileStatus::NotAConfirmation;
            r.error = class.reason;
            r.timings.rules_ms = ms(t0);
            return;
        };
        let mut out = rules::run(sheet, Some(product), chinese);
        if let Some(span) = class.span {
            out.candidates.push(Candidate {
                field: "product_type".into(),
                value: Value::from(product),
                evidence: sheet.evidence(
                    span,
                    Some(sheet.sentence_at(span.0)),
                    Method::Rule,
                    (0.5 + class.score as f32 / 20.0).min(0.95),
                    format!("product phrases (score {})", class.score),
                ),
            });
        }
        r.notices.extend(out.notices);
        let (mut candidates, mut problems) = check::check_candidates(out.candidates);
        r.timings.rules_ms = ms(t0);
        // The model, for the leaves the family needs that the rules did not find.
        let model = self.model.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let missing: Vec<&str> = model::wanted(product)
            .iter()
            .copied()
            .filter(|l| !candidates.iter().any(|c| c.field == *l))
            .collect();
        if !missing.is_empty() {
            match model {
                Some(g) => {
                    let t1 = Instant::now();
                    let (found, model_problems) =
                        self.ask_model(&*g, product, sheet, &candidates, &missing, chinese);
                    let (ok, bad) = check::check_candidates(found);
                    candidates.extend(ok);
                    problems.extend(bad);
                    // A rejected model answer is reported but does not by itself need review:
                    // the field is simply not extracted.
                    r.notices
                        .extend(model_problems.into_iter().map(|p| p.message));
                    r.timings.model_ms = ms(t1);
                }
                None => r.notices.push(format!(
                    "not found by the rules, and no model is configured to look: {}",
                    missing.join(", ")
                )),
            }
        }
        let t2 = Instant::now();
        let (fields, conflicts) = terms::resolve(candidates);
        problems.extend(check::cross_check(&fields, Some(product)));
        let stated = fields
            .iter()
            .filter(|f| f.field != "product_type" && !f.field.starts_with("other."))
            .count();
        if stated + conflicts.len() < 2 {
            r.status = FileStatus::NotAConfirmation;
            r.error = Some(format!(
                "it mentions a {product} but states fewer than two of its key terms"
            ));
            r.product_type = Some(product.to_owned());
            r.fields = fields;
            r.key_terms = terms::key_terms_object(&r.fields);
            return;
        }
        r.product_type = Some(product.to_owned());
        r.key_terms = terms::key_terms_object(&fields);
        r.fields = fields;
        r.conflicts = conflicts;
        r.problems = problems;
        r.timings.rules_ms += ms(t2);
        self.build_cdm(r);
        r.status = if r.conflicts.is_empty() && r.problems.is_empty() {
            FileStatus::Extracted
        } else {
            FileStatus::NeedsReview
        };
    }

    fn ask_model(
        &self,
        g: &dyn models::Generator,
        product: &str,
        sheet: &Sheet,
        found: &[Candidate],
        missing: &[&str],
        chinese: bool,
    ) -> (Vec<Candidate>, Vec<Problem>) {
        let known: Vec<FieldValue> = found
            .iter()
            .map(|c| FieldValue {
                field: c.field.clone(),
                value: c.value.clone(),
                evidence: Vec::new(),
            })
            .collect();
        let prompt = model::prompt(
            product,
            &known,
            &sheet.text,
            missing,
            self.settings.model_max_chars,
            chinese,
        );
        let schema = model::schema(missing);
        // A confirmation is important data (the class of every extraction job).
        let classes = [policies::DataClass::IMPORTANT];
        match models::generate_json(
            g,
            &prompt,
            &schema,
            self.settings.model_max_tokens,
            &classes,
        ) {
            Ok(answer) => {
                let names = |f: &str| -> Vec<String> {
                    found
                        .iter()
                        .filter(|c| c.field == f)
                        .filter_map(|c| c.value.as_str().map(str::to_owned))
                        .collect()
                };
                let (a, b) = (names("party_a"), names("party_b"));
                model::read_answer(
                    &answer,
                    sheet,
                    missing,
                    (&a, &b),
                    parse::numeric_order(&sheet.text),
                    chinese,
                    g.id(),
                )
            }
            Err(e) => (
                Vec::new(),
                vec![Problem::new(
                    "model",
                    missing,
                    format!("the model could not answer ({e}); those fields were not extracted"),
                )],
            ),
        }
    }

    fn run_fpml(&self, xml: &str, r: &mut FileResult) {
        r.format = Some(Format::Xml);
        r.pages = 1;
        let sheet = Sheet::plain(xml);
        let candidates = match fpml::key_terms(xml, &sheet) {
            Ok(c) => c,
            Err(e) => {
                r.status = FileStatus::Unreadable;
                r.error = Some(format!("{}: {e}", r.name));
                return;
            }
        };
        let (candidates, mut problems) = check::check_candidates(candidates);
        let (fields, conflicts) = terms::resolve(candidates);
        let product = fields
            .iter()
            .find(|f| f.field == "product_type")
            .and_then(|f| f.value.as_str())
            .map(str::to_owned);
        problems.extend(check::cross_check(&fields, product.as_deref()));
        r.product_type = product;
        r.key_terms = terms::key_terms_object(&fields);
        r.fields = fields;
        r.conflicts = conflicts;
        r.problems = problems;
        let t = Instant::now();
        if self.settings.cdm {
            r.cdm_report.source = cdm::CdmSource::Fpml;
            match self.schemas() {
                Ok(s) => match connectors::fpml::fpml_to_cdm(xml, &s) {
                    Ok((state, fpml_problems)) => {
                        r.notices.extend(
                            fpml_problems
                                .into_iter()
                                .map(|p| format!("FpML {}: {}", p.path, p.message)),
                        );
                        match s.validate_trade_state(&state) {
                            Ok(v) => Self::emit_fpml_state(xml, state, &v, r),
                            Err(e) => r.cdm_report.error = Some(e.to_string()),
                        }
                    }
                    Err(e) => r.cdm_report.error = Some(format!("FpML → CDM: {e}")),
                },
                Err(e) => r.cdm_report.error = Some(e.to_string()),
            }
        }
        r.timings.cdm_ms = ms(t);
        r.status = if r.conflicts.is_empty() && r.problems.is_empty() {
            FileStatus::Extracted
        } else {
            FileStatus::NeedsReview
        };
    }

    /// Emits the TradeState mapped from FpML given its schema violations: whole when valid;
    /// incomplete (`complete: false`, each absent required property in
    /// `cdm_report.missing_required` and as a `cdm_missing` problem for the review) when it
    /// breaks the schema only by absent required properties; not at all otherwise.
    fn emit_fpml_state(
        xml: &str,
        state: Value,
        violations: &[connectors::cdm::Violation],
        r: &mut FileResult,
    ) {
        let (missing, other) = cdm::split_missing(violations);
        let report = &mut r.cdm_report;
        report.missing_required = missing
            .into_iter()
            .map(|(pointer, property)| {
                let (in_source, source_element) = fpml::source_carries(xml, &pointer);
                cdm::MissingProperty {
                    pointer,
                    property,
                    in_source,
                    source_element,
                }
            })
            .collect();
        report.missing = report
            .missing_required
            .iter()
            .map(cdm::MissingProperty::sentence)
            .collect();
        if !other.is_empty() {
            report.violations = other.iter().map(ToString::to_string).collect();
            report.error = Some(format!(
                "the TradeState mapped from FpML breaks the CDM {} schema in {} place(s) other \
                 than absent required properties; not emitted",
                cdm::CDM_VERSION,
                other.len()
            ));
            return;
        }
        report.emitted = true;
        report.complete = report.missing_required.is_empty();
        r.problems.extend(cdm_missing_problems(report));
        r.cdm = Some(state);
    }

    /// Builds the CDM document and extension of a result's key terms (when CDM is on).
    fn build_cdm(&self, r: &mut FileResult) {
        if !self.settings.cdm {
            return;
        }
        let t = Instant::now();
        match self.schemas() {
            Ok(s) => {
                let out = cdm::build(&r.key_terms, &s);
                if let Some(e) = &out.report.error
                    && !out.report.violations.is_empty()
                {
                    r.problems.push(Problem::new("cdm", &[], e.clone()));
                }
                r.cdm = out.trade_state;
                r.extension = out.extension;
                r.cdm_report = out.report;
            }
            Err(e) => {
                r.cdm_report.error = Some(e.to_string());
                r.notices.push(e.to_string());
            }
        }
        r.timings.cdm_ms = ms(t);
    }

    /// Re-derives what follows from edited key terms: cross-checks and the CDM document. A
    /// TradeState mapped from FpML is kept as it is (it comes from the message, not from the
    /// key terms), with its report and `cdm_missing` problems.
    pub fn rebuild(&self, r: &mut FileResult) {
        r.key_terms = terms::key_terms_object(&r.fields);
        r.problems
            .retain(|p| p.kind != "cross_check" && p.kind != "cdm");
        r.problems
            .extend(check::cross_check(&r.fields, r.product_type.as_deref()));
        if r.cdm_report.source != cdm::CdmSource::Fpml {
            r.cdm = None;
            r.extension = None;
            r.cdm_report = cdm::CdmReport::default();
            self.build_cdm(r);
        }
        r.status = if r.conflicts.is_empty() && r.problems.is_empty() {
            FileStatus::Extracted
        } else {
            FileStatus::NeedsReview
        };
    }
}

/// One `cdm_missing` problem per required property the emitted TradeState lacks, naming the
/// review field (`cdm:<pointer>`) that supplies it.
pub fn cdm_missing_problems(report: &cdm::CdmReport) -> Vec<Problem> {
    report
        .missing_required
        .iter()
        .map(|m| {
            Problem::new(
                "cdm_missing",
                &[&format!("cdm:{}", m.pointer)],
                m.sentence(),
            )
        })
        .collect()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
