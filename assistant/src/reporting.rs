//! Trade-reporting compliance as a workflow (issue #19): the rule catalogue in the store, trades from any
//! source compared across the reporting regimes, uploaded reports validated, and rule
//! questions answered from the provisions in the knowledge base.
//!
//! - The **catalogue** (`compliance::catalogue`) is kept in the store as numbered versions, each
//!   a full copy of its provisions and JR/T elements; nothing in a version is ever changed. The
//!   first one is loaded from the configured sources (`[compliance] provisions`, `jrt`: the ISDA
//!   DRR provisions and JR/T 0294.3 files of the shared data) the first time it is needed,
//!   audited as `compliance.catalogue_load` by `system`. [`Assistant::compliance_load`] loads a
//!   new full version (a DRR release); [`Assistant::compliance_add`] adds the firm's own
//!   provisions (`firm:` ids: its own regimes' fields, its readings of a rule) as the next
//!   version. The current version is cached in the process.
//! - **Compare** ([`Assistant::compliance_compare`]): a trade as a CDM ReportableEvent or
//!   TradeState, an FpML message, a draft's trade or an approved extraction; the reporting
//!   facts beside it; the regimes that apply (or those asked for); every regime's report and
//!   the field-by-field matrix. Rules in code (`compliance`), never the model. Audited as
//!   `compliance.compare` with the trade's SHA-256.
//! - **Validate** ([`Assistant::compliance_validate`]): a report the firm already has, against
//!   the regime's formats and the trade.
//! - **Rule Q&A** ([`Assistant::compliance_ask`]): the question goes to the knowledge base,
//!   restricted to the rule collections (`regulation-drr`: the DRR provisions, one document per
//!   regime with one section per provision; `regulation-jrt`: JR/T 0294.3; and the collections
//!   of `[compliance] ask_collections`, e.g. the ESMA guidelines and the Chinese laws); every
//!   cited chunk is mapped back to its provision id (`drr:`, `jrt:`, `esma-gl:`, `law:`).
//!   The evidence ([`rule_hits`]) starts with the provision of the field the question names in
//!   each regime it names (`compliance::link`: "the CFTC platform field", "抵押类别"), then
//!   each named regime's best provisions, then the best of all rule collections (rule text
//!   before a regulator's consultation commentary). The answer ([`answer_rule`]) quotes those
//!   field provisions verbatim and cited first (streamed as soon as retrieval is done, well
//!   under a second), then the model's explanation follows sentence by sentence as the answer
//!   check keeps it.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use ::compliance::catalogue::{Catalogue, Provision, SourceKind};
use ::compliance::cdm::{GivenFacts, Trade};
use ::compliance::compare::Comparison;
use ::compliance::elements::{Cell, RunFacts};
use ::compliance::regime::{self, Regime, Role};
use ::compliance::validate::Finding;
use knowledge::{Answer, Filters};
use policies::{DataClass, Permission};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Assistant;
use crate::documents::{Knowledge, NewDocument};
use crate::drafts::{invalid, sha};
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, time};

/// The collection of the DRR provisions in the knowledge base.
pub const DRR_COLLECTION: &str = "regulation-drr";
/// The collection of JR/T 0294.3 in the knowledge base.
pub const JRT_COLLECTION: &str = "regulation-jrt";

/// Where a trade to compare comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradeInput {
    /// A CDM ReportableEvent or TradeState (CDM 6 legacy JSON or DRR's CDM 5 layout).
    Cdm(Value),
    /// An FpML message (read by the extraction pipeline's FpML mapping).
    Fpml(String),
    /// A draft's trade, by draft id.
    Draft(String),
    /// An approved extraction, by its approval id.
    Extraction(String),
}

/// A comparison request.
#[derive(Debug, Clone)]
pub struct CompareRequest {
    /// The trade.
    pub trade: TradeInput,
    /// Reporting facts beside (or instead of) the document's own.
    pub facts: Option<GivenFacts>,
    /// Regime ids to compare; empty: those that apply; `all`: every regime.
    pub regimes: Vec<String>,
    /// The reporting timestamp (default: now, UTC).
    pub reporting_timestamp: Option<String>,
}

/// One catalogue version as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogueVersion {
    /// `v1`, `v2`, …
    pub version: String,
    /// The version it extends (a firm's addition), if any.
    pub parent: Option<String>,
    /// Where it came from (`shared:drr-6.10.0`, `upload`, `firm`).
    pub origin: String,
    /// Why it was loaded.
    pub note: String,
    /// SHA-256 of its provisions.
    pub sha256: String,
    /// Provisions in it.
    pub provisions: usize,
    /// Of which the firm's own.
    pub firm_provisions: usize,
    /// When it was loaded (RFC 3339).
    pub loaded_at: String,
    /// Who loaded it.
    pub loaded_by: String,
}

/// A rule answer: the knowledge base's cited answer, its citations as provisions.
#[derive(Debug, Clone, Serialize)]
pub struct RuleAnswer {
    /// The answer (text with `[n]` markers, evidence, checks).
    pub answer: Answer,
    /// Citation number → provision id (`drr:975`, `esma-gl:4.2.3`, `jrt:5.1.5`,
    /// `law:期货和衍生品法:第三十六条`), for each citation that maps to one.
    pub provisions: Vec<(usize, String)>,
}

/// A validation's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// The regime.
    pub regime: &'static str,
    /// Fields read from the upload.
    pub fields: usize,
    /// Findings, errors first.
    pub findings: Vec<Finding>,
    /// The report the trade gives, for comparison.
    pub expected: BTreeMap<String, Cell>,
}

/// The process-wide cached catalogue.
#[derive(Default)]
pub(crate) struct CatalogueCache(std::sync::RwLock<Option<(String, Arc<Catalogue>)>>);

/// The note a catalogue change must carry (kept with the version and in the audit log).
fn note_given<'a>(note: &'a str, why: &str) -> Result<&'a str> {
    let note = note.trim();
    if note.is_empty() {
        return Err(invalid(
            "note",
            format!("say {why} (kept with the version and in the audit log)"),
        ));
    }
    Ok(note)
}

fn corrupt(message: &str) -> AssistantError {
    AssistantError::Store(crate::store::StoreError::Corrupt {
        table: "compliance_catalogues",
        message: message.to_owned(),
    })
}

fn now_utc() -> String {
    let t = time::now();
    let s = time::fmt(t);
    // `time::fmt` writes RFC 3339 with an offset; reports want `…Z` to the second.
    match s.get(..19) {
        Some(head) => format!("{head}Z"),
        None => s,
    }
}

impl Assistant {
    /// The current catalogue (cached; loaded from the configured sources on first use).
    pub fn compliance_catalogue(&self) -> Result<Arc<Catalogue>> {
        if let Some((_, c)) = self
            .compliance
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            return Ok(c.clone());
        }
        let current = self.current_catalogue_version()?;
        let cat = match current {
            Some(v) => self.catalogue_at(&v)?,
            None => {
                let c = &self.config.compliance;
                let read = |p: &std::path::Path, what: &str| {
                    std::fs::read_to_string(p).map_err(|e| {
                        AssistantError::Conflict(format!(
                            "no rule catalogue is loaded and the {what} file {} cannot be read ({e}): set [compliance] {what} or load one (`deskmate compliance load`, POST /v1/compliance/catalogue)",
                            p.display()
                        ))
                    })
                };
                let (provisions_path, jrt_path) = c.sources();
                let provisions = read(&provisions_path, "provisions")?;
                let jrt = read(&jrt_path, "jrt")?;
                self.store_catalogue(
                    &Actor::system(),
                    &provisions,
                    &jrt,
                    Vec::new(),
                    None,
                    "shared:drr-6.10.0+jrt-0294.3-2024",
                    "first use: the configured sources",
                )?;
                let v = self
                    .current_catalogue_version()?
                    .ok_or_else(|| corrupt("the catalogue just stored is not there"))?;
                self.catalogue_at(&v)?
            }
        };
        let arc = Arc::new(cat);
        *self
            .compliance
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((arc.version.clone(), arc.clone()));
        Ok(arc)
    }

    fn current_catalogue_version(&self) -> Result<Option<String>> {
        Ok(self.store.read(|c| {
            c.query_row(
                "SELECT version FROM compliance_catalogues ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()
        })?)
    }

    fn catalogue_at(&self, version: &str) -> Result<Catalogue> {
        let (jrt, rows): (String, Vec<String>) = self.store.read(|c| {
            let jrt: String = c.query_row(
                "SELECT jrt FROM compliance_catalogues WHERE version = ?1",
                [version],
                |r| r.get(0),
            )?;
            let mut st = c.prepare(
                "SELECT body FROM compliance_provisions WHERE version = ?1 ORDER BY ord",
            )?;
            let rows = st
                .query_map([version], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, rusqlite::Error>((jrt, rows))
        })?;
        let provisions: Vec<Provision> = rows
            .iter()
            .map(|b| {
                serde_json::from_str(b)
                    .map_err(|e| corrupt(&format!("a stored provision does not decode: {e}")))
            })
            .collect::<Result<_>>()?;
        let jrt: Vec<::compliance::catalogue::JrtElement> = serde_json::from_str(&jrt)
            .map_err(|e| corrupt(&format!("the stored JR/T elements do not decode: {e}")))?;
        Catalogue::from_parts(version, provisions, jrt).map_err(|e| corrupt(&e.to_string()))
    }

    /// Stores a catalogue built from sources (plus the firm's provisions of `firm`) as the next
    /// version, audited.
    #[allow(clippy::too_many_arguments)]
    fn store_catalogue(
        &self,
        actor: &Actor,
        provisions_jsonl: &str,
        jrt_json: &str,
        firm: Vec<Provision>,
        parent: Option<&Catalogue>,
        origin: &str,
        note: &str,
    ) -> Result<CatalogueVersion> {
        let mut cat = match parent {
            Some(p) => p.clone(),
            None => Catalogue::from_sources("new", provisions_jsonl, jrt_json)
                .map_err(|e| invalid("provisions", e.to_string()))?,
        };
        if !firm.is_empty() {
            cat.add_provisions("new", firm)
                .map_err(|e| invalid("provisions", e.to_string()))?;
        }
        let bodies: Vec<String> = cat
            .provisions
            .iter()
            .map(|p| serde_json::to_string(p).unwrap_or_default())
            .collect();
        let digest = sha(bodies.join("\n"));
        let jrt = serde_json::to_string(&cat.jrt).unwrap_or_else(|_| "[]".into());
        let firm_count = cat
            .provisions
            .iter()
            .filter(|p| p.kind == SourceKind::Firm)
            .count();
        let parent_version = parent.map(|p| p.version.clone());
        let now = time::fmt(time::now());
        let version = self.store.write(actor, |tx| {
            let seq: i64 = tx.conn().query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM compliance_catalogues", [], |r| r.get(0))?;
            let version = format!("v{seq}");
            let user = tx.actor().user.clone();
            tx.conn().execute(
                "INSERT INTO compliance_catalogues (version, seq, parent, origin, note, sha256, provisions, firm_provisions, jrt, loaded_at, loaded_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![version, seq, parent_version, origin, note, digest, bodies.len() as i64, firm_count as i64, jrt, now, user],
            )?;
            {
                let mut st = tx.conn().prepare("INSERT INTO compliance_provisions (version, ord, id, body) VALUES (?1, ?2, ?3, ?4)")?;
                for (i, (p, b)) in cat.provisions.iter().zip(&bodies).enumerate() {
                    st.execute(params![version, i as i64, p.id, b])?;
                }
            }
            tx.audit(AuditRecord {
                action: "compliance.catalogue_load",
                object_kind: "compliance_catalogue",
                object_id: &version,
                class: DataClass::GENERAL,
                details: json!({
                    "origin": origin,
                    "note": note,
                    "parent": parent_version,
                    "sha256": digest,
                    "provisions": bodies.len(),
                    "firm_provisions": firm_count,
                }),
            })?;
            Ok::<_, AssistantError>(version)
        })?;
        *self
            .compliance
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        self.compliance_versions()?
            .into_iter()
            .find(|v| v.version == version)
            .ok_or_else(|| AssistantError::NotFound {
                kind: "compliance catalogue",
                id: version,
            })
    }

    /// Loads a full new catalogue (a DRR release and the JR/T elements) as the next version.
    pub fn compliance_load(
        &self,
        actor: &Actor,
        provisions_jsonl: &str,
        jrt_json: &str,
        origin: &str,
        note: &str,
    ) -> Result<CatalogueVersion> {
        crate::documents::require(actor, Permission::ComplianceManage)?;
        let note = note_given(note, "why this catalogue is loaded")?;
        if provisions_jsonl.len() > 32 * 1024 * 1024 {
            return Err(invalid("provisions", "at most 32 MiB"));
        }
        self.store_catalogue(
            actor,
            provisions_jsonl,
            jrt_json,
            Vec::new(),
            None,
            origin,
            note,
        )
    }

    /// Adds the firm's own provisions (JSON lines: `id`, `regime`, `field`, `text`, optional
    /// `number`, `name`, `reference`) as the next version of the current catalogue.
    pub fn compliance_add(
        &self,
        actor: &Actor,
        jsonl: &str,
        note: &str,
    ) -> Result<CatalogueVersion> {
        crate::documents::require(actor, Permission::ComplianceManage)?;
        let note = note_given(note, "why these provisions are added")?;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Line {
            id: String,
            regime: String,
            field: String,
            text: String,
            #[serde(default)]
            number: Option<String>,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            reference: Option<String>,
        }
        let mut firm = Vec::new();
        for (i, line) in jsonl
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let at = format!("provisions line {}", i + 1);
            let l: Line = serde_json::from_str(line).map_err(|e| invalid(&at, e.to_string()))?;
            let ok_id = !l.id.is_empty()
                && l.id.len() <= 64
                && l.id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !ok_id {
                return Err(invalid(&at, "id: 1 to 64 letters, digits, '.', '_' or '-'"));
            }
            if l.regime.is_empty()
                || !l
                    .regime
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(invalid(
                    &at,
                    "regime: lower-case letters, digits and '-' (`esma`, `cftc`, or the firm's own, e.g. `sfc-hk`)",
                ));
            }
            if l.field.trim().is_empty() || l.text.trim().is_empty() || l.text.len() > 20_000 {
                return Err(invalid(
                    &at,
                    "field and text are required (text at most 20,000 bytes)",
                ));
            }
            firm.push(Provision {
                id: format!("firm:{}", l.id),
                regime: l.regime,
                report_type: "firm".into(),
                field_key: l.field.trim().to_owned(),
                number: l.number,
                name: l.name,
                kind: SourceKind::Firm,
                body: "firm".into(),
                corpus: "firm".into(),
                reference: l
                    .reference
                    .unwrap_or_else(|| format!("added by {}", actor.user)),
                text: l.text.trim().to_owned(),
            });
        }
        if firm.is_empty() {
            return Err(invalid("provisions", "no provision lines"));
        }
        let current = self.compliance_catalogue()?;
        self.store_catalogue(actor, "", "", firm, Some(&current), "firm", note)
    }

    /// Every catalogue version, newest first.
    pub fn compliance_versions(&self) -> Result<Vec<CatalogueVersion>> {
        Ok(self.store.read(|c| {
            let mut st = c.prepare(
                "SELECT version, parent, origin, note, sha256, provisions, firm_provisions, loaded_at, loaded_by
                 FROM compliance_catalogues ORDER BY seq DESC",
            )?;
            st.query_map([], |r| {
                Ok(CatalogueVersion {
                    version: r.get(0)?,
                    parent: r.get(1)?,
                    origin: r.get(2)?,
                    note: r.get(3)?,
                    sha256: r.get(4)?,
                    provisions: r.get::<_, i64>(5)? as usize,
                    firm_provisions: r.get::<_, i64>(6)? as usize,
                    loaded_at: r.get(7)?,
                    loaded_by: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?)
    }

    /// One provision of the current catalogue.
    pub fn compliance_provision(&self, actor: &Actor, id: &str) -> Result<Provision> {
        crate::documents::require(actor, Permission::ComplianceRead)?;
        self.compliance_catalogue()?
            .provision(id)
            .cloned()
            .ok_or_else(|| AssistantError::NotFound {
                kind: "provision",
                id: id.to_owned(),
            })
    }

    /// The trade of a request, read for reporting.
    fn compliance_trade(
        &self,
        actor: &Actor,
        input: &TradeInput,
        facts: Option<&GivenFacts>,
    ) -> Result<(Trade, String)> {
        let doc = match input {
            TradeInput::Cdm(v) => v.clone(),
            TradeInput::Fpml(xml) => self.trade_from_fpml(xml)?.cdm.ok_or_else(|| {
                invalid(
                    "fpml",
                    "the FpML message gave no CDM TradeState (see the extraction's report)",
                )
            })?,
            TradeInput::Draft(id) => {
                crate::documents::require(actor, Permission::DraftsRead)?;
                let d = self.draft_get(id)?;
                match d.trade.cdm {
                    Some(c) => c,
                    None => {
                        let schemas = self.extractor().schemas()?;
                        extraction::cdm::build(&d.trade.key_terms, &schemas)
                            .trade_state
                            .ok_or_else(|| invalid("draft", "the draft's trade gives no CDM TradeState (its key terms lack what CDM requires)"))?
                    }
                }
            }
            TradeInput::Extraction(id) => {
                crate::documents::require(actor, Permission::ExtractionsRead)?;
                self.extraction_export(actor, id)?.cdm.ok_or_else(|| {
                    invalid(
                        "extraction",
                        "the approved extraction has no complete CDM TradeState",
                    )
                })?
            }
        };
        let digest = sha(serde_json::to_string(&doc).unwrap_or_default());
        let t =
            ::compliance::cdm::read(&doc, facts).map_err(|e| invalid("trade", e.to_string()))?;
        Ok((t, digest))
    }

    /// The regimes of a request: those asked for, or those that apply.
    fn compliance_regimes(t: &Trade, asked: &[String]) -> Result<Vec<(&'static Regime, Role)>> {
        let applicable = regime::applicable(t);
        if asked.iter().any(|r| r == "all") {
            return Ok(regime::regimes()
                .iter()
                .map(|r| {
                    (
                        r,
                        applicable
                            .iter()
                            .find(|(a, _)| a.id == r.id)
                            .map_or(Role::Requested, |(_, role)| *role),
                    )
                })
                .collect());
        }
        if asked.is_empty() {
            if applicable.is_empty() {
                return Err(invalid(
                    "facts",
                    "no regime applies to this trade as far as the reporting facts say (neither counterparty names a regulator it reports to): give facts.reporting_party_regimes, e.g. [{\"body\": \"ESMA\"}], or name the regimes to compare (`all` for every one)",
                ));
            }
            return Ok(applicable);
        }
        asked
            .iter()
            .map(|id| {
                let r = regime::regime(id).ok_or_else(|| {
                    invalid(
                        "regimes",
                        format!(
                            "unknown regime {id:?}; known: {}, all",
                            regime::regimes()
                                .iter()
                                .map(|r| r.id)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
                Ok((
                    r,
                    applicable
                        .iter()
                        .find(|(a, _)| a.id == r.id)
                        .map_or(Role::Requested, |(_, role)| *role),
                ))
            })
            .collect()
    }

    /// Compares the reports of a trade across regimes (see the module doc).
    pub fn compliance_compare(&self, actor: &Actor, req: &CompareRequest) -> Result<Comparison> {
        crate::documents::require(actor, Permission::ComplianceRead)?;
        let catalogue = self.compliance_catalogue()?;
        let (t, digest) = self.compliance_trade(actor, &req.trade, req.facts.as_ref())?;
        let regimes = Self::compliance_regimes(&t, &req.regimes)?;
        let run = RunFacts {
            reporting_timestamp: req.reporting_timestamp.clone().unwrap_or_else(now_utc),
        };
        let e = ::compliance::elements::elements(&t, &run);
        let cmp = ::compliance::compare::compare(&t, &e, &regimes, &catalogue);
        self.store.write(actor, |tx| {
            tx.audit(AuditRecord {
                action: "compliance.compare",
                object_kind: "trade",
                object_id: &digest,
                class: DataClass::IMPORTANT,
                details: json!({
                    "uti": t.uti,
                    "regimes": cmp.columns.iter().map(|c| c.id).collect::<Vec<_>>(),
                    "differences": cmp.differences.len(),
                    "missing": cmp.missing.len(),
                    "catalogue": cmp.catalogue_version,
                }),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        Ok(cmp)
    }

    /// Validates an uploaded report of `regime` against the catalogue and the trade.
    pub fn compliance_validate(
        &self,
        actor: &Actor,
        req: &CompareRequest,
        regime_id: &str,
        report: &[u8],
    ) -> Result<Validation> {
        crate::documents::require(actor, Permission::ComplianceRead)?;
        if report.len() > 4 * 1024 * 1024 {
            return Err(invalid("report", "at most 4 MiB"));
        }
        let r = regime::regime(regime_id).ok_or_else(|| {
            invalid(
                "regime",
                format!(
                    "unknown regime {regime_id:?}; known: {}",
                    regime::regimes()
                        .iter()
                        .map(|r| r.id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let uploaded = ::compliance::validate::read_report(report)
            .map_err(|e| invalid("report", e.to_string()))?;
        let catalogue = self.compliance_catalogue()?;
        let (t, digest) = self.compliance_trade(actor, &req.trade, req.facts.as_ref())?;
        let ts = req
            .reporting_timestamp
            .clone()
            .or_else(|| {
                uploaded
                    .get("reportingTimestamp")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(now_utc);
        let e = ::compliance::elements::elements(
            &t,
            &RunFacts {
                reporting_timestamp: ts,
            },
        );
        let expected = regime::report(r, &t, &e);
        let findings = ::compliance::validate::validate(r, &uploaded, &expected, &catalogue);
        self.store.write(actor, |tx| {
            tx.audit(AuditRecord {
                action: "compliance.validate",
                object_kind: "trade",
                object_id: &digest,
                class: DataClass::IMPORTANT,
                details: json!({
                    "regime": r.id,
                    "report_sha256": sha(report),
                    "errors": findings.iter().filter(|f| f.severity == ::compliance::validate::Severity::Error).count(),
                    "warnings": findings.iter().filter(|f| f.severity == ::compliance::validate::Severity::Warning).count(),
                }),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        Ok(Validation {
            regime: r.id,
            fields: uploaded.len(),
            findings,
            expected,
        })
    }

    /// Puts the rule corpus into the knowledge base: the catalogue's provisions, one document
    /// per regime (`regulation-drr`), and the JR/T elements (`regulation-jrt`). Unchanged
    /// documents are no-ops. Returns the documents ingested or found unchanged.
    pub fn compliance_ingest_corpus(&self, knowledge: &Knowledge, actor: &Actor) -> Result<usize> {
        crate::documents::require(actor, Permission::ComplianceManage)?;
        let cat = self.compliance_catalogue()?;
        let mut n = 0;
        for (regime, title, text) in corpus_documents(&cat) {
            let collection = if regime == "jrt" {
                JRT_COLLECTION
            } else {
                DRR_COLLECTION
            };
            self.ingest_document(
                knowledge,
                actor,
                NewDocument {
                    source: format!("compliance-{regime}.md"),
                    bytes: text.into_bytes(),
                    collection: collection.into(),
                    classification: DataClass::GENERAL,
                    title: Some(title),
                    replaces: None,
                    declassify: false,
                },
            )?;
            n += 1;
        }
        Ok(n)
    }

    /// Answers a rule question from the rule collections, citing provisions (see the module
    /// doc): the evidence is [`rule_hits`]'s, the answer `knowledge`'s cited answer with its
    /// checks; audited as `compliance.ask`.
    pub fn compliance_ask(
        &self,
        knowledge: &Knowledge,
        actor: &Actor,
        question: &str,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<RuleAnswer> {
        crate::documents::require(actor, Permission::ComplianceRead)?;
        crate::documents::require(actor, Permission::DocumentsRead)?;
        let q = question.trim();
        if q.is_empty() || q.chars().count() > 2000 {
            return Err(invalid("question", "1 to 2000 characters"));
        }
        let catalogue = self.compliance_catalogue()?;
        let collections = self.rule_collections();
        let rq = RuleQuestion {
            question: q,
            clearance: actor.clearance(),
            collections: &collections,
        };
        let options = self.gated_options(knowledge)?;
        let (answer, call) = self.answer_gated(
            q,
            knowledge.generator(),
            on_delta,
            &mut |g, d| answer_rule(knowledge.kb(), &catalogue, &rq, g, &options, d),
            &mut |d| {
                let t = std::time::Instant::now();
                let hits = rule_hits(
                    knowledge.kb(),
                    &catalogue,
                    q,
                    rq.clearance,
                    &collections,
                    options.k.max(1),
                )?;
                knowledge::answer::retrieved_from(
                    q,
                    &hits.hits,
                    None,
                    t.elapsed().as_secs_f64() * 1000.0,
                    &options,
                    d,
                )
            },
        )?;
        let provisions: Vec<(usize, String)> = answer
            .citations
            .iter()
            .filter_map(|c| provision_of(c).map(|id| (c.n, id)))
            .collect();
        let object_id = answer.output_sha256.clone();
        self.store.write(actor, |tx| {
            tx.audit(AuditRecord {
                action: "compliance.ask",
                object_kind: "answer",
                object_id: &object_id,
                class: DataClass::GENERAL,
                details: json!({
                    "question": q,
                    "found": answer.found,
                    "provisions": provisions.iter().map(|(_, id)| id).collect::<Vec<_>>(),
                    "evidence": answer.evidence.iter().map(|c| &c.chunk_id).collect::<Vec<_>>(),
                    "model": answer.model,
                    "prompt_sha256": answer.prompt_sha256,
                    "output_sha256": answer.output_sha256,
                    "finish_reason": answer.finish_reason,
                    "model_risk": call.audit(),
                }),
            })?;
            self.record_answer_call(tx, &call, &answer, q, &object_id)?;
            Ok::<_, AssistantError>(())
        })?;
        Ok(RuleAnswer { answer, provisions })
    }

    /// The collections rule questions are answered from.
    pub fn rule_collections(&self) -> Vec<String> {
        let mut collections = vec![DRR_COLLECTION.to_owned(), JRT_COLLECTION.to_owned()];
        for c in &self.config.compliance.ask_collections {
            if !collections.contains(c) {
                collections.push(c.clone());
            }
        }
        collections
    }
}

/// The regimes a question names, by the names compliance staff use for them (English and
/// Chinese): (regime key of the provisions, how it is named).
pub fn regimes_named(question: &str) -> Vec<&'static str> {
    let q = question.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| q.contains(w));
    let uk = has(&["uk emir", "fca", "united kingdom", "英国"]);
    let mut out = Vec::new();
    // EMIR alone is the EU regime; "UK EMIR" is the UK's.
    let eu = has(&["esma", "eu emir", "european", "欧盟", "欧洲"])
        || (q.contains("emir")
            && !q.replace("uk emir", "").replace("uk-emir", "").is_empty()
            && q.replace("uk emir", "").contains("emir"));
    for (key, on) in [
        ("esma", eu),
        ("fca", uk),
        (
            "cftc",
            has(&[
                "cftc",
                "part 43",
                "part 45",
                "美国",
                "united states",
                "u.s.",
            ]),
        ),
        ("asic", has(&["asic", "australia", "澳大利亚", "澳洲"])),
        (
            "mas",
            has(&[
                "mas ",
                "mas'",
                "mas,",
                "mas?",
                "(mas)",
                "singapore",
                "新加坡",
            ]) || q.ends_with("mas"),
        ),
        ("hkma", has(&["hkma", "hong kong", "香港"])),
        ("jfsa", has(&["jfsa", "japan", "日本"])),
        (
            "csa",
            has(&["csa ", "csa'", "csa,", "csa?", "(csa)", "canad", "加拿大"])
                || q.ends_with("csa"),
        ),
    ] {
        if on {
            out.push(key);
        }
    }
    out
}

/// The evidence for a rule question: first, for each regime the question names, the provision
/// of the field it asks about (by the fields' names, [`::compliance::link`]; a Chinese question
/// also names JR/T 0294.3); then the best provisions of each named regime's document (so "does
/// EMIR differ from CFTC?" is answered from both); then the best of all rule collections.
/// Chunks with the same text (a leg-1 and leg-2 twin, the same words in two report types)
/// count once.
pub fn rule_hits(
    kb: &knowledge::KnowledgeBase,
    catalogue: &Catalogue,
    question: &str,
    clearance: policies::Clearance,
    collections: &[String],
    k: usize,
) -> std::result::Result<RuleHits, knowledge::KnowledgeError> {
    let search = |filters: Filters, k: usize| {
        kb.search(&knowledge::SearchRequest {
            query: question.to_owned(),
            k,
            filters,
            clearance,
            retrievers: knowledge::Retrievers::Hybrid,
        })
    };
    let named = regimes_named(question);
    let mut lists: Vec<Vec<knowledge::Hit>> = Vec::new();
    if !named.is_empty() {
        let per = (k / named.len()).max(2);
        for r in &named {
            let doc = knowledge::DocId::derive(DRR_COLLECTION, &format!("compliance-{r}.md"));
            let f = Filters {
                collections: vec![DRR_COLLECTION.to_owned()],
                doc_ids: vec![doc.to_string()],
                ..Filters::default()
            };
            lists.push(search(f, per * 2)?.hits);
        }
    }
    lists.push(
        search(
            Filters {
                collections: collections.to_vec(),
                ..Filters::default()
            },
            k * 2,
        )?
        .hits,
    );
    // Round-robin over the named regimes' lists (their best first), then the general list.
    let mut out: Vec<knowledge::Hit> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut accept = |h: &knowledge::Hit, out: &mut Vec<knowledge::Hit>| -> bool {
        let text: String = h.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if seen.insert(text) {
            out.push(h.clone());
            true
        } else {
            false
        }
    };
    // The linked fields' provisions (regulatory text first), one per named regime.
    let mut linked_regimes: Vec<&str> = named.clone();
    if cjk::is_mostly_chinese(question)
        || question.contains("0294")
        || question.to_ascii_uppercase().contains("JR/T")
    {
        linked_regimes.push("jrt");
    }
    for link in ::compliance::link::fields_named(catalogue, question, &linked_regimes) {
        // The provision whose name matched, or the field's first (regulatory text first).
        let Some(p) = link
            .provision
            .as_deref()
            .and_then(|id| catalogue.provision(id))
            .or_else(|| {
                catalogue
                    .provisions_for(&link.regime, &link.field_key)
                    .into_iter()
                    .next()
            })
        else {
            continue;
        };
        let collection = if link.regime == "jrt" {
            JRT_COLLECTION
        } else {
            DRR_COLLECTION
        };
        let doc = knowledge::DocId::derive(collection, &format!("compliance-{}.md", link.regime));
        if let Some(h) = kb
            .sections(&doc, &[provision_heading(p)], clearance)?
            .first()
        {
            accept(h, &mut out);
        }
    }
    let linked = out.len().min(k);
    let (named_lists, general) = lists.split_at(lists.len() - 1);
    let mut cursors = vec![0usize; named_lists.len()];
    // The named regimes' provisions take all but two places (at least one each); the rest go
    // to the best of every rule collection (the guidelines, JR/T, the laws).
    let per = if named_lists.is_empty() {
        0
    } else {
        (k.saturating_sub(2) / named_lists.len()).max(1)
    };
    for _ in 0..per {
        for (l, cur) in named_lists.iter().zip(cursors.iter_mut()) {
            while *cur < l.len() {
                *cur += 1;
                if accept(&l[*cur - 1], &mut out) {
                    break;
                }
            }
        }
    }
    // Rule text before what a regulator's report says about its consultation (respondents'
    // views, costs and benefits): both stay, the rule first.
    let (rules, commentary): (Vec<&knowledge::Hit>, Vec<&knowledge::Hit>) = general
        .iter()
        .flatten()
        .partition(|h| !is_commentary(&h.path));
    for h in rules.into_iter().chain(commentary) {
        if out.len() >= k {
            break;
        }
        accept(h, &mut out);
    }
    out.truncate(k);
    Ok(RuleHits { hits: out, linked })
}

/// A rule question as [`answer_rule`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct RuleQuestion<'a> {
    /// The question.
    pub question: &'a str,
    /// The asker's clearance.
    pub clearance: policies::Clearance,
    /// The collections it is answered from ([`Assistant::rule_collections`]).
    pub collections: &'a [String],
}

/// A rule question's cited answer: [`rule_hits`]' evidence, the provisions of the fields it
/// names quoted first (streamed at once), then the model's checked sentences as they come
/// ([`knowledge::answer::answer_from`]).
pub fn answer_rule(
    kb: &knowledge::KnowledgeBase,
    catalogue: &Catalogue,
    ask: &RuleQuestion<'_>,
    generator: &dyn models::Generator,
    options: &knowledge::AskOptions,
    on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
) -> std::result::Result<Answer, knowledge::KnowledgeError> {
    let t = std::time::Instant::now();
    let hits = rule_hits(
        kb,
        catalogue,
        ask.question,
        ask.clearance,
        ask.collections,
        options.k.max(1),
    )?;
    let retrieval_ms = t.elapsed().as_secs_f64() * 1000.0;
    let options = knowledge::AskOptions {
        quote_first: hits.linked,
        ..options.clone()
    };
    knowledge::answer::answer_from(
        ask.question,
        &hits.hits,
        None,
        retrieval_ms,
        generator,
        &options,
        on_delta,
    )
}

/// The evidence for a rule question ([`rule_hits`]).
#[derive(Debug, Clone)]
pub struct RuleHits {
    /// Best first.
    pub hits: Vec<knowledge::Hit>,
    /// How many of the first hits are the provisions of the fields the question names
    /// ([`::compliance::link`]); the answer quotes them first.
    pub linked: usize,
}

/// Whether a chunk lies in a part of a regulator's report that comments on the rules rather
/// than states them: the summary of consultation feedback, the cost-benefit analysis, the
/// stakeholder group's advice (ESMA's final reports put the guidelines themselves in an
/// annex), a Chinese standard's drafting notes (编制说明) or consultation (征求意见).
pub fn is_commentary(path: &knowledge::SectionPath) -> bool {
    path.segments.iter().any(|s| {
        let t = s.display().to_lowercase();
        [
            "summary of feedback",
            "feedback statement",
            "feedback received",
            "cost-benefit analysis",
            "stakeholders group",
            "stakeholder group",
            "编制说明",
            "征求意见",
        ]
        .iter()
        .any(|w| t.contains(w))
    })
}

/// The provision a cited chunk is: `drr:N` / `jrt:S` from the section heading, `esma-gl:S`
/// from the deepest numbered heading of the ESMA guidelines, `law:NAME:第N条` for an article of
/// a Chinese law.
pub fn provision_of(c: &knowledge::Citation) -> Option<String> {
    provision_of_path(&c.collection, &c.title, &c.path)
}

/// [`provision_of`] on the parts of a citation.
pub fn provision_of_path(collection: &str, title: &str, path: &str) -> Option<String> {
    // `title | section | sub-section`, as `SectionPath::display` writes it.
    let labels: Vec<&str> = path.split(" | ").skip(1).collect();
    let find = |prefix: &str| -> Option<String> {
        labels.iter().rev().find_map(|l| {
            let l = l.trim();
            let i = l.find(prefix)?;
            let rest = &l[i + prefix.len()..];
            let id: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            (!id.is_empty()).then(|| format!("{prefix}{}", id.trim_end_matches('.')))
        })
    };
    if collection == DRR_COLLECTION {
        return find("drr:").or_else(|| find("firm:"));
    }
    if collection == JRT_COLLECTION {
        return find("jrt:");
    }
    if title.to_ascii_lowercase().contains("emir")
        || title.contains("ESMA")
        || path.contains("ESMA")
    {
        // The deepest label that starts with a section number (`4.3.2 …`).
        return labels.iter().rev().find_map(|l| {
            let num: String = l
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let num = num.trim_end_matches('.');
            (num.contains('.') || (!num.is_empty() && l.trim().len() > num.len()))
                .then(|| format!("esma-gl:{num}"))
        });
    }
    // A Chinese law: its article label (`第三十六条`).
    let article = labels
        .iter()
        .rev()
        .find(|l| l.trim().starts_with('第') && l.trim().ends_with('条'))?;
    let law = title.split(['(', '（']).next().unwrap_or(title).trim();
    let law = law.strip_prefix("中华人民共和国").unwrap_or(law);
    Some(format!("law:{law}:{}", article.trim()))
}

/// A provision's heading in its regime's corpus document: `drr:187 Platform Identifier
/// (platformIdentifier; regulatory text)`; the section label [`rule_hits`] looks it up by.
pub fn provision_heading(p: &Provision) -> String {
    let kind = match p.kind {
        SourceKind::RegulatoryText => "regulatory text",
        SourceKind::IsdaInterpretation => "ISDA working-group interpretation",
        SourceKind::Firm => "the firm's own provision",
    };
    let label = [p.number.as_deref(), p.name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    format!("{} {} ({}; {kind})", p.id, label, p.field_key)
}

/// The corpus documents of a catalogue: (regime key, title, Markdown text).
pub fn corpus_documents(cat: &Catalogue) -> Vec<(String, String, String)> {
    let mut by_regime: BTreeMap<String, Vec<&Provision>> = BTreeMap::new();
    for p in &cat.provisions {
        by_regime.entry(p.regime.clone()).or_default().push(p);
    }
    let mut out = Vec::new();
    for (regime, list) in by_regime {
        let name = match regime.as_str() {
            "cftc" => "CFTC Parts 43 and 45",
            "esma" => "EU EMIR Refit (ESMA)",
            "fca" => "UK EMIR (FCA)",
            "asic" => "ASIC Derivative Transaction Rules (Reporting) 2024",
            "mas" => "MAS reporting of derivatives contracts",
            "hkma" => "HKMA OTC derivatives reporting",
            "jfsa" => "JFSA OTC derivatives reporting",
            "csa" => "CSA (Canada) trade reporting",
            "jrt" => "JR/T 0294.3—2024 金融市场交易报告数据要素指南 第3部分",
            other => other,
        };
        let title = if regime == "jrt" {
            name.to_owned()
        } else {
            format!("{name}: trade-reporting field provisions")
        };
        let mut text = format!("# {title}\n\n");
        for p in list {
            text.push_str(&format!(
                "## {}\n\n{}\n\nSource: {}\n\n",
                provision_heading(p),
                p.text,
                p.reference
            ));
        }
        out.push((regime, title, text));
    }
    out
}
