//! Model risk: the inventory of model-backed chains and their versions, the approval that puts a
//! version into production, each chain's mode, live monitoring with drift, alerts, and the
//! automatic switch to the rule fallback (issue #21 items 1, 3 and 4).
//!
//! - **Inventory** ([`CHAINS`], [`Assistant::model_inventory`]): every chain with its owner,
//!   intended use, limits, inputs, outputs and fallback, the model it is configured with (name and
//!   weights SHA-256 from the model store's manifest), its versions and their approvals.
//! - **Versions** ([`Assistant::model_risk_sync`], run when the assistant opens): a configured
//!   model or weights not yet in the inventory become a new `proposed` version of the chain, with
//!   a `model_change` approval for the model-risk role, four-eyes. Until that approval is
//!   approved, the chain runs on its fallback: a new model or version serves production traffic
//!   only after a model-risk approval ([`Assistant::chain_serves_model`]).
//! - **Modes** (`chain_modes`): `model` (the approved version serves), `fallback` (the rule path,
//!   unknowns to a human) or `paused` (manual handling). A switch away from the model is
//!   immediate ([`Assistant::set_chain_mode`], by the model-risk role, or by a monitoring rule);
//!   back to the model only by a `model_change` approval ([`Assistant::request_restore`]).
//! - **Monitoring** (`chain_calls`, one row per production call, written in the call's own
//!   transaction): [`Assistant::monitor`] computes each figure of `policies::monitoring::RULES`
//!   over its window, drift as the population stability index against the chain's baseline
//!   (the cases of its latest passed validation run, recorded with the report by
//!   [`Assistant::record_validation`] through the same [`CallFeatures`] functions as production
//!   calls; the chain's own earlier calls until there is one); a
//!   figure over its threshold opens one alert (`model_alerts`, audited as `model.alert`) and, by
//!   the rule's action, switches the chain to its fallback or pauses it (audited as
//!   `model.mode`). Nothing in flight is dropped: a request already past the gate finishes on the
//!   path it started on, and the next one takes the new mode.
//!
//! The gate ([`Assistant::chain_gate`]) and the monitoring are wired for the RFQ parser's model
//! fallback (`rfq.parse`: rules only), cited answers (`knowledge.answers`: the retrieved passages
//! verbatim, without generation), re-ranking (`knowledge.rerank`: the first-stage order) and
//! drafting's bespoke passages (`drafting.free_text`: left to the lawyer). A model that fails or
//! times out on one request falls back the same way for that request. The extraction model step
//! runs only in the `deskmate extract` command and pricing has no model: both are in the
//! inventory, not gated.

use crate::Assistant;
use crate::approvals::payload::Edit;
use crate::approvals::{ApprovalKind, NewApproval};
use crate::error::{AssistantError, Result};
use crate::store::sql::text_enum;
use crate::store::{Actor, AuditRecord, WriteTx, time};
use ::time::OffsetDateTime;
use policies::monitoring::{self, Action, RULES};
use policies::{ApprovalState, DataClass, Permission, Role};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};

text_enum! {
    /// How a chain runs (`chain_modes.mode`).
    pub enum ChainMode in "chain_modes.mode" as "chain mode" {
        /// The approved model version serves.
        Model = "model",
        /// The rule fallback serves; what the rules cannot do goes to a person.
        Fallback = "fallback",
        /// Manual handling only.
        Paused = "paused",
    }
}

text_enum! {
    /// Where a version of a chain stands (`model_versions.status`).
    pub enum VersionStatus in "model_versions.status" as "model version status" {
        /// Registered, waiting for the model-risk approval.
        Proposed = "proposed",
        /// Approved for production.
        Approved = "approved",
        /// Rejected by model risk.
        Rejected = "rejected",
        /// Replaced by a later approved version.
        Retired = "retired",
    }
}

text_enum! {
    /// An alert's life cycle (`model_alerts.state`).
    pub enum AlertState in "model_alerts.state" as "alert state" {
        /// Raised, nobody has looked.
        Open = "open",
        /// Someone is on it.
        Acknowledged = "acknowledged",
        /// Closed, with a note.
        Resolved = "resolved",
    }
}

text_enum! {
    /// What one production call of a chain came to (`chain_calls.outcome`).
    pub enum CallOutcome in "chain_calls.outcome" as "call outcome" {
        /// The rules alone.
        Rules = "rules",
        /// The model's answer was used.
        Model = "model",
        /// The model was asked and its answer rejected or it failed: the rules stood.
        ModelRejected = "model_rejected",
        /// The call failed.
        Error = "error",
    }
}

/// The RFQ parser's model fallback.
pub const RFQ_CHAIN: &str = "rfq.parse";
/// Cited answers from the knowledge base.
pub const ANSWERS_CHAIN: &str = "knowledge.answers";
/// Re-ranking of search hits.
pub const RERANK_CHAIN: &str = "knowledge.rerank";
/// Bespoke passages of drafts.
pub const DRAFT_CHAIN: &str = "drafting.free_text";
/// The key-term extraction's model step.
pub const EXTRACTION_CHAIN: &str = "extraction.model";

/// How the inventory names the weights of a configured model that is not installed.
pub const NOT_INSTALLED: &str = "not installed";

/// Whether a chain's model may serve a call now, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gate {
    /// The chain's mode.
    pub mode: ChainMode,
    /// Whether the model serves: mode `model`, and an approved version whose weights are
    /// installed (the configured model, or an earlier version after a rollback).
    pub serves_model: bool,
    /// The model that serves (the approved version's), when one does.
    pub model: Option<String>,
    /// Why the model does not serve (empty when it does), in English.
    pub reason: String,
}

/// Each chain's configured (model, weights), by chain id, once worked out.
pub(crate) type ConfiguredModels =
    std::sync::OnceLock<Vec<(&'static str, Option<(String, String)>)>>;

/// One chain of the inventory.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ChainInfo {
    /// Its id.
    pub id: &'static str,
    /// What it is.
    pub name: &'static str,
    /// The owning team.
    pub owner: &'static str,
    /// What it is for.
    pub intended_use: &'static str,
    /// Where it must not be relied on.
    pub limits: &'static str,
    /// What goes in.
    pub inputs: &'static str,
    /// What comes out.
    pub outputs: &'static str,
    /// What runs when the model does not.
    pub fallback: &'static str,
    /// Whether its gate and monitoring are wired.
    pub governed: bool,
}

/// The chains.
pub const CHAINS: &[ChainInfo] = &[
    ChainInfo {
        id: RFQ_CHAIN,
        name: "RFQ parser, model fallback",
        owner: "trading desk",
        intended_use: "parse chat requests for quote the rule parser is unsure of",
        limits: "answers are validated against the lexicon; every quote still waits for a trader",
        inputs: "one chat message (Chinese or English), the parse schema",
        outputs: "a canonical RFQ parse (JSON)",
        fallback: "the rule parser alone; what it cannot read is flagged for a trader",
        governed: true,
    },
    ChainInfo {
        id: EXTRACTION_CHAIN,
        name: "Key-term extraction, model step",
        owner: "operations",
        intended_use: "key terms of confirmations the rules do not find",
        limits: "every extraction goes to a four-eyes ops review; uploads ask the model \
                 (`extract.model`) only while its version is approved and the chain is on its \
                 model, and only for terms the rules did not find",
        inputs: "a confirmation's text, the fields still missing",
        outputs: "key terms with evidence spans",
        fallback: "rules and OCR only; everything to review",
        governed: true,
    },
    ChainInfo {
        id: ANSWERS_CHAIN,
        name: "Cited answers",
        owner: "legal and compliance",
        intended_use: "answers from the firm's documents with citations",
        limits: "sentences the evidence does not support are dropped; no advice",
        inputs: "a question, retrieved passages within the asker's clearance",
        outputs: "a cited answer or not found",
        fallback: "the retrieved passages without generation",
        governed: true,
    },
    ChainInfo {
        id: RERANK_CHAIN,
        name: "Retrieval re-ranking",
        owner: "legal and compliance",
        intended_use: "re-order search hits by a relevance grade",
        limits: "grades only; hits the model may not see keep their place",
        inputs: "a query and a passage",
        outputs: "a grade 0-3",
        fallback: "the first-stage (BM25 + dense) order",
        governed: true,
    },
    ChainInfo {
        id: DRAFT_CHAIN,
        name: "Drafting, bespoke passages",
        owner: "legal",
        intended_use: "passages for features no template clause covers",
        limits: "every number is checked against the trade; legal approves every draft",
        inputs: "the trade, the feature's facts, precedent wording",
        outputs: "one passage",
        fallback: "the template clauses only; the feature is left to the lawyer",
        governed: true,
    },
    ChainInfo {
        id: "pricing",
        name: "Pricing engines",
        owner: "trading desk and risk",
        intended_use: "prices and Greeks of the desk's structures",
        limits: "products and markets as validated (`deskmate eval validate pricing`)",
        inputs: "a product, a market",
        outputs: "value, standard error, Greeks",
        fallback: "none: the desk stops quoting the structure",
        governed: false,
    },
];

/// A version of a chain.
#[derive(Debug, Clone, Serialize)]
pub struct ModelVersion {
    /// Its id.
    pub id: String,
    /// The chain.
    pub chain: String,
    /// 1, 2, … per chain.
    pub version: i64,
    /// The model.
    pub model: String,
    /// The weights' SHA-256 (or how a remote model is identified).
    pub weights_sha256: String,
    /// Where it stands.
    pub status: VersionStatus,
    /// The approval that decides it.
    pub approval_id: Option<String>,
    /// When it was registered.
    pub created_at: String,
    /// When it was approved or rejected.
    pub decided_at: Option<String>,
}

/// One chain as the dashboard shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryEntry {
    /// What the chain is.
    pub chain: ChainInfo,
    /// The model it is configured with now, if any.
    pub configured: Option<(String, String)>,
    /// Its versions, newest first.
    pub versions: Vec<ModelVersion>,
    /// Its mode and why.
    pub mode: ChainMode,
    /// Why the mode is what it is.
    pub mode_reason: String,
    /// Whether the model serves production traffic now.
    pub serves_model: bool,
}

/// An alert raised by a monitoring rule.
#[derive(Debug, Clone, Serialize)]
pub struct ModelAlert {
    /// Its id.
    pub id: String,
    /// The chain.
    pub chain: String,
    /// The figure.
    pub metric: String,
    /// The window, in seconds.
    pub window_secs: i64,
    /// The figure's value.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// What crossing it did (`alert`, `fallback`, `pause`).
    pub action: String,
    /// Where it stands.
    pub state: AlertState,
    /// When it was raised.
    pub opened_at: String,
    /// Last change.
    pub updated_at: String,
    /// Who last changed it.
    pub updated_by: Option<String>,
    /// The note of the last change.
    pub note: Option<String>,
}

/// A figure of a chain now, against its threshold.
#[derive(Debug, Clone, Serialize)]
pub struct MetricNow {
    /// The rule.
    pub rule: monitoring::Rule,
    /// Calls in the window.
    pub calls: usize,
    /// The value (`None`: too few calls, or no baseline for drift).
    pub value: Option<f64>,
    /// Whether it is over its threshold.
    pub breached: bool,
    /// What a drift figure compares the window with (the validation baseline is named even
    /// while the window has too few calls; `None` for other figures, or without a baseline).
    pub baseline: Option<Baseline>,
}

/// One production call, as recorded.
#[derive(Debug, Clone)]
pub struct CallRecord<'a> {
    /// The chain.
    pub chain: &'a str,
    /// The request it served (an RFQ id).
    pub subject: Option<&'a str>,
    /// What it came to.
    pub outcome: CallOutcome,
    /// The mode it ran in.
    pub mode: ChainMode,
    /// Its confidence, if any.
    pub confidence: Option<f64>,
    /// Its latency.
    pub latency_ms: f64,
    /// Input length in characters.
    pub input_chars: usize,
    /// `zh`, `en` or `other`.
    pub language: &'a str,
    /// The product (structure), if any.
    pub product: Option<&'a str>,
    /// The input's embedding, when the chain computed one (the question of an answer): its
    /// centroid's drift is watched.
    pub embedding: Option<&'a [f32]>,
}

/// What the monitoring reads of one call of a chain: a production call's, or one case of a
/// validation run's (the drift figures' validation baseline). The same functions compute both,
/// so that production is compared with the validation on equal terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallFeatures {
    /// What it came to.
    pub outcome: CallOutcome,
    /// Its confidence, if any.
    pub confidence: Option<f64>,
    /// Input length in characters.
    pub input_chars: usize,
    /// `zh`, `en` or `other`.
    pub language: String,
    /// The product (structure), if any.
    pub product: Option<String>,
    /// The input's embedding, when the chain computes one (not in reports: it is long).
    #[serde(skip)]
    pub embedding: Option<Vec<f32>>,
}

impl CallFeatures {
    /// One parse of `text` by the RFQ chain: `model` when the model's answer was used,
    /// `model_rejected` when it was asked and its answer rejected or it failed, else `rules`;
    /// the parse's confidence, language and first structure.
    pub fn of_rfq(text: &str, o: &rfq::ParseOutcome) -> CallFeatures {
        let outcome = if o.path == rfq::ParsePath::Model {
            CallOutcome::Model
        } else if o
            .problems
            .iter()
            .any(|p| matches!(p, rfq::Problem::ModelRejected { .. }))
        {
            CallOutcome::ModelRejected
        } else {
            CallOutcome::Rules
        };
        CallFeatures {
            outcome,
            confidence: Some(f64::from(o.confidence)),
            input_chars: text.chars().count(),
            language: match o.language {
                rfq::Language::Zh => "zh",
                rfq::Language::En => "en",
            }
            .into(),
            product: o
                .parse
                .requests
                .first()
                .and_then(|r| r.structure)
                .map(|s| s.as_str().to_owned()),
            embedding: None,
        }
    }

    /// One file's extraction: `error` when nothing could be read from a confirmation,
    /// `model_rejected` when the model step's answer was refused, `model` when it supplied a
    /// term, else `rules`; the mean of the terms' evidence confidences, the length and
    /// language of the evidence, the product.
    pub fn of_extraction(r: &extraction::FileResult) -> CallFeatures {
        let evidence: Vec<&extraction::text::Evidence> =
            r.fields.iter().filter_map(|f| f.evidence.first()).collect();
        let confidence = (!evidence.is_empty()).then(|| {
            evidence
                .iter()
                .map(|e| f64::from(e.confidence))
                .sum::<f64>()
                / evidence.len() as f64
        });
        let text: String = evidence.iter().map(|e| e.snippet.as_str()).collect();
        let outcome =
            if !r.status.has_terms() && r.status != extraction::FileStatus::NotAConfirmation {
                CallOutcome::Error
            } else if r.problems.iter().any(|p| p.kind == "model") {
                CallOutcome::ModelRejected
            } else if evidence
                .iter()
                .any(|e| e.method == extraction::text::Method::Model)
            {
                CallOutcome::Model
            } else {
                CallOutcome::Rules
            };
        CallFeatures {
            outcome,
            confidence,
            input_chars: text.chars().count(),
            language: if cjk::is_mostly_chinese(&text) {
                "zh"
            } else {
                "en"
            }
            .into(),
            product: r.product_type.clone(),
            embedding: None,
        }
    }

    /// One answer of the answers chain to `question` that came to `outcome`: the faithfulness
    /// of a generated answer that was found (not of a quoted or refused one), the question's
    /// length and language and its embedding.
    pub fn of_answer(
        question: &str,
        answer: &knowledge::answer::Answer,
        outcome: CallOutcome,
    ) -> CallFeatures {
        CallFeatures {
            outcome,
            confidence: (outcome == CallOutcome::Model && answer.found && !answer.quoted)
                .then(|| knowledge::answer::faithfulness(answer).ratio()),
            input_chars: question.chars().count(),
            language: answer.language.as_str().to_owned(),
            product: None,
            embedding: answer.query_vector.clone(),
        }
    }

    /// What the answers chain's model path came to with `answer`: `model` when it answered
    /// or said the documents do not say, `model_rejected` when its answer failed the evidence
    /// check.
    pub fn answer_outcome(answer: &knowledge::answer::Answer) -> CallOutcome {
        if answer.found || answer.finish_reason == "not_found" {
            CallOutcome::Model
        } else {
            CallOutcome::ModelRejected
        }
    }

    /// The production record of a call with these features.
    pub fn record<'a>(
        &'a self,
        chain: &'a str,
        subject: Option<&'a str>,
        mode: ChainMode,
        latency_ms: f64,
    ) -> CallRecord<'a> {
        CallRecord {
            chain,
            subject,
            outcome: self.outcome,
            mode,
            confidence: self.confidence,
            latency_ms,
            input_chars: self.input_chars,
            language: &self.language,
            product: self.product.as_deref(),
            embedding: self.embedding.as_deref(),
        }
    }
}

/// What a drift figure compared the window with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Baseline {
    /// The cases of the chain's latest passed validation run.
    Validation {
        /// The suite.
        suite: String,
        /// Its report's SHA-256 (as in the audit log's `eval.report`).
        report_sha256: String,
        /// The cases (with an embedding, for the centroid figure).
        cases: usize,
    },
    /// The chain's own production calls in the days before the window (no validation run has
    /// recorded a baseline yet).
    Production {
        /// The calls (with an embedding, for the centroid figure).
        calls: usize,
    },
}

/// The payload of a `model_change` approval.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePayload {
    /// `approve_version` or `restore`.
    pub action: String,
    /// The chain.
    pub chain: String,
    /// The version (for `approve_version`).
    #[serde(default)]
    pub version_id: Option<String>,
    /// Why, as the requester wrote it.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Checks a `model_change` payload (at creation; it is never edited).
pub(crate) fn check_payload(payload: Value, edit: Option<&Edit<'_>>) -> Result<Value> {
    if edit.is_some() {
        return Err(AssistantError::Invalid(
            "a model change is approved or rejected as asked, never edited".into(),
        ));
    }
    let p: ChangePayload = serde_json::from_value(payload.clone())
        .map_err(|e| AssistantError::field("payload", e.to_string()))?;
    if !CHAINS.iter().any(|c| c.id == p.chain) {
        return Err(AssistantError::field(
            "payload.chain",
            format!("unknown chain {:?}", p.chain),
        ));
    }
    match (p.action.as_str(), &p.version_id) {
        ("approve_version", Some(_)) | ("restore", None) => Ok(payload),
        ("approve_version", None) => Err(AssistantError::field(
            "payload.version_id",
            "required to approve a version",
        )),
        (a, _) => Err(AssistantError::field(
            "payload.action",
            format!("must be approve_version or restore, not {a:?}"),
        )),
    }
}

/// Applies a decided `model_change` approval in the decision's transaction.
pub(crate) fn decided(
    tx: &mut WriteTx<'_>,
    payload: &Value,
    state: ApprovalState,
    by: &str,
    requested_at: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let p: ChangePayload = serde_json::from_value(payload.clone())
        .map_err(|e| AssistantError::field("payload", e.to_string()))?;
    let stamp = time::fmt(now);
    match (p.action.as_str(), state) {
        ("approve_version", ApprovalState::Approved) => {
            let missing = missing_evidence(tx.conn(), &p.chain, requested_at)?;
            if !missing.is_empty() {
                return Err(AssistantError::Conflict(format!(
                    "version {} of {} cannot be approved before its evidence: {} (run them on \
                     /model-risk or with `deskmate eval`, then approve again)",
                    p.version_id.as_deref().unwrap_or("?"),
                    p.chain,
                    missing.join("; ")
                )));
            }
            let id = p.version_id.unwrap_or_default();
            tx.conn().execute(
                "UPDATE model_versions SET status = ?1 WHERE chain = ?2 AND status = ?3",
                params![VersionStatus::Retired, p.chain, VersionStatus::Approved],
            )?;
            tx.conn().execute(
                "UPDATE model_versions SET status = ?1, decided_at = ?2 WHERE id = ?3",
                params![VersionStatus::Approved, stamp, id],
            )?;
            set_mode_in(
                tx,
                &p.chain,
                ChainMode::Model,
                &format!("version {id} approved by {by}"),
            )?;
        }
        ("approve_version", ApprovalState::Rejected) => {
            tx.conn().execute(
                "UPDATE model_versions SET status = ?1, decided_at = ?2 WHERE id = ?3",
                params![
                    VersionStatus::Rejected,
                    stamp,
                    p.version_id.unwrap_or_default()
                ],
            )?;
        }
        ("restore", ApprovalState::Approved) => {
            set_mode_in(
                tx,
                &p.chain,
                ChainMode::Model,
                &format!("restored to its approved model, approved by {by}"),
            )?;
        }
        _ => {}
    }
    Ok(())
}

/// The evidence a version of `chain` still lacks for an approval asked for at `requested_at`
/// ([`policies::validation::approval_evidence`]): one sentence per suite whose latest report
/// recorded in the audit log since then is missing or failed; empty when all is there.
pub fn missing_evidence(
    c: &rusqlite::Connection,
    chain: &str,
    requested_at: &str,
) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for suite in policies::validation::approval_evidence(chain) {
        let latest: Option<(String, String)> = c
            .query_row(
                "SELECT time, details FROM audit_log WHERE action = 'eval.report'
                 AND object_kind = 'evaluation' AND object_id = ?1 AND time > ?2
                 ORDER BY seq DESC LIMIT 1",
                params![suite, requested_at],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match latest {
            None => missing.push(format!("{suite} has not run since the request")),
            Some((at, details)) => {
                let passed = serde_json::from_str::<Value>(&details)
                    .ok()
                    .and_then(|d| d["passed"].as_bool())
                    .unwrap_or(false);
                if !passed {
                    missing.push(format!("{suite} failed its thresholds at {at}"));
                }
            }
        }
    }
    Ok(missing)
}

fn set_mode_in(tx: &mut WriteTx<'_>, chain: &str, mode: ChainMode, reason: &str) -> Result<()> {
    let by = tx.actor().user.clone();
    let before: Option<ChainMode> = tx
        .conn()
        .query_row(
            "SELECT mode FROM chain_modes WHERE chain = ?1",
            [chain],
            |r| r.get(0),
        )
        .optional()?;
    tx.conn().execute(
        "INSERT INTO chain_modes (chain, mode, reason, changed_at, changed_by)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (chain) DO UPDATE SET mode = excluded.mode, reason = excluded.reason,
             changed_at = excluded.changed_at, changed_by = excluded.changed_by",
        params![chain, mode, reason, time::fmt(time::now()), by],
    )?;
    tx.audit(AuditRecord {
        action: "model.mode",
        object_kind: "chain",
        object_id: chain,
        class: DataClass::IMPORTANT,
        details: json!({"from": before, "to": mode, "reason": reason}),
    })?;
    Ok(())
}

pub(crate) fn mode_of(
    c: &rusqlite::Connection,
    chain: &str,
) -> rusqlite::Result<(ChainMode, String)> {
    Ok(c.query_row(
        "SELECT mode, reason FROM chain_modes WHERE chain = ?1",
        [chain],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .unwrap_or((ChainMode::Model, "no change recorded".into())))
}

fn require_model_risk(actor: &Actor) -> Result<()> {
    match actor.role {
        None => Ok(()),
        Some(Role::ModelRisk | Role::Admin) => Ok(()),
        Some(r) => Err(AssistantError::Forbidden(format!(
            "role {r} may not manage model risk (model_risk or admin only)"
        ))),
    }
}

fn require_read(actor: &Actor) -> Result<()> {
    match actor.role {
        None => Ok(()),
        Some(r) if r.allows(Permission::EvalsRead) || r == Role::Admin => Ok(()),
        Some(r) => Err(AssistantError::Forbidden(format!(
            "role {r} may not read the model-risk dashboard"
        ))),
    }
}

const VERSION_COLUMNS: &str =
    "id, chain, version, model, weights_sha256, status, approval_id, created_at, decided_at";

fn version_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ModelVersion> {
    Ok(ModelVersion {
        id: r.get(0)?,
        chain: r.get(1)?,
        version: r.get(2)?,
        model: r.get(3)?,
        weights_sha256: r.get(4)?,
        status: r.get(5)?,
        approval_id: r.get(6)?,
        created_at: r.get(7)?,
        decided_at: r.get(8)?,
    })
}

const ALERT_COLUMNS: &str = "id, chain, metric, window_secs, value, threshold, action, state, \
    opened_at, updated_at, updated_by, note";

fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ModelAlert> {
    Ok(ModelAlert {
        id: r.get(0)?,
        chain: r.get(1)?,
        metric: r.get(2)?,
        window_secs: r.get(3)?,
        value: r.get(4)?,
        threshold: r.get(5)?,
        action: r.get(6)?,
        state: r.get(7)?,
        opened_at: r.get(8)?,
        updated_at: r.get(9)?,
        updated_by: r.get(10)?,
        note: r.get(11)?,
    })
}

/// Records one production call of a chain, in the call's own transaction (every chain's call
/// site does; the monitoring reads these rows).
pub fn record_call(tx: &mut WriteTx<'_>, c: &CallRecord<'_>) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO chain_calls (chain, time, subject, outcome, mode, confidence, latency_ms,
             input_chars, language, product, embedding)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            c.chain,
            time::fmt(time::now()),
            c.subject,
            c.outcome,
            c.mode,
            c.confidence,
            c.latency_ms,
            c.input_chars as i64,
            c.language,
            c.product,
            c.embedding.map(vector_bytes),
        ],
    )?;
    Ok(())
}

/// Records `cases` (a passed validation run of `suite`, report `report_sha256`) as `chain`'s
/// drift baseline, audited as `model.baseline` with the cases' language and outcome mix.
pub(crate) fn record_baseline(
    tx: &mut WriteTx<'_>,
    chain: &str,
    suite: &str,
    report_sha256: &str,
    cases: &[CallFeatures],
) -> Result<()> {
    known_chain(chain)?;
    if cases.is_empty() {
        return Ok(());
    }
    let now = time::fmt(time::now());
    let mut languages = std::collections::BTreeMap::<&str, usize>::new();
    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
    for f in cases {
        tx.conn().execute(
            "INSERT INTO validation_baselines (chain, suite, report_sha256, recorded_at, outcome,
                 confidence, input_chars, language, product, embedding)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                chain,
                suite,
                report_sha256,
                now,
                f.outcome,
                f.confidence,
                f.input_chars as i64,
                f.language,
                f.product,
                f.embedding.as_deref().map(vector_bytes),
            ],
        )?;
        *languages.entry(f.language.as_str()).or_default() += 1;
        *outcomes.entry(f.outcome.as_str()).or_default() += 1;
    }
    tx.audit(AuditRecord {
        action: "model.baseline",
        object_kind: "model_chain",
        object_id: chain,
        class: DataClass::IMPORTANT,
        details: json!({
            "suite": suite, "report_sha256": report_sha256, "cases": cases.len(),
            "languages": languages, "outcomes": outcomes,
        }),
    })?;
    Ok(())
}

/// Marks the calls that served `subject` as changed by a person (a trader's edit of the quote).
pub(crate) fn mark_human_changed(tx: &mut WriteTx<'_>, subject: &str) -> Result<()> {
    tx.conn().execute(
        "UPDATE chain_calls SET human_changed = 1 WHERE subject = ?1",
        [subject],
    )?;
    Ok(())
}

impl Assistant {
    /// The model a chain is configured with: (name, weights SHA-256 or remote identity). Worked
    /// out once per process (the configuration and the manifests it names are read at start;
    /// the inbound path asks for every message).
    pub fn configured_model(&self, chain: &str) -> Option<(String, String)> {
        self.configured_models
            .get_or_init(|| CHAINS.iter().map(|c| (c.id, self.identify(c.id))).collect())
            .iter()
            .find(|(id, _)| *id == chain)
            .and_then(|(_, m)| m.clone())
    }

    fn identify(&self, chain: &str) -> Option<(String, String)> {
        let c = &self.config;
        let default = || crate::inference::default_generator_name(c).to_string();
        let name = match chain {
            RFQ_CHAIN if c.rfq.model_fallback => default(),
            EXTRACTION_CHAIN if !c.extract.model.trim().is_empty() => c.extract.model.clone(),
            // Answers and rerank run on the knowledge base's generator.
            ANSWERS_CHAIN | RERANK_CHAIN if !c.knowledge.generator.trim().is_empty() => {
                if chain == RERANK_CHAIN && !c.knowledge.rerank {
                    return None;
                }
                c.knowledge.generator.clone()
            }
            ANSWERS_CHAIN | DRAFT_CHAIN => default(),
            RERANK_CHAIN if c.knowledge.rerank => default(),
            "pricing" => {
                return Some((
                    format!("kernels {}", env!("CARGO_PKG_VERSION")),
                    "built in (no weights)".into(),
                ));
            }
            _ => return None,
        };
        let weights = match self.models.entry(&name) {
            Ok(e) => e.manifest.sha256,
            Err(_) if c.models.backend == crate::config::ModelBackend::Remote => {
                format!("remote {} (not verifiable here)", c.models.remote_base_url)
            }
            Err(_) => NOT_INSTALLED.into(),
        };
        Some((name, weights))
    }

    /// Registers the configured model of each governed chain as a new version when it is not in
    /// the inventory yet, with its `model_change` approval (see the module doc). Idempotent.
    pub fn model_risk_sync(&self) -> Result<()> {
        for chain in CHAINS.iter().filter(|c| c.governed) {
            let Some((model, weights)) = self.configured_model(chain.id) else {
                continue;
            };
            // A model whose weights are not installed has nothing to approve yet (the chain runs
            // on its fallback); it is registered at the first start after it is installed. The
            // RFQ fallback is switched on explicitly (`rfq.model_fallback`), so its version
            // waits for approval from the start.
            if weights == NOT_INSTALLED && chain.id != RFQ_CHAIN {
                continue;
            }
            let known: bool = self.store.read(|c| {
                c.query_row(
                    "SELECT 1 FROM model_versions WHERE chain = ?1 AND model = ?2
                       AND weights_sha256 = ?3",
                    params![chain.id, model, weights],
                    |_| Ok(true),
                )
                .optional()
                .map(|o| o.unwrap_or(false))
            })?;
            if known {
                continue;
            }
            let system = Actor::system();
            self.store.write(&system, |tx| {
                let n: i64 = tx.conn().query_row(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE chain = ?1",
                    [chain.id],
                    |r| r.get(0),
                )?;
                let id = format!("mv_{}", uuid::Uuid::new_v4().simple());
                tx.conn().execute(
                    "INSERT INTO model_versions (id, chain, version, model, weights_sha256,
                         status, created_at, created_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        id,
                        chain.id,
                        n,
                        model,
                        weights,
                        VersionStatus::Proposed,
                        time::fmt(time::now()),
                        system.user
                    ],
                )?;
                let approval = model_change_in(
                    self,
                    tx,
                    format!("{} version {n}: {model} into production", chain.name),
                    json!({
                        "action": "approve_version", "chain": chain.id, "version_id": id,
                        "reason": format!("model {model}, weights {weights}"),
                    }),
                    Some(::time::Duration::days(30)),
                    Some(format!("model_version/{id}")),
                )?;
                tx.conn().execute(
                    "UPDATE model_versions SET approval_id = ?1 WHERE id = ?2",
                    params![approval, id],
                )?;
                tx.audit(AuditRecord {
                    action: "model.version",
                    object_kind: "chain",
                    object_id: chain.id,
                    class: DataClass::IMPORTANT,
                    details: json!({
                        "version_id": id, "version": n, "model": model,
                        "weights_sha256": weights, "approval_id": approval,
                    }),
                })?;
                Ok::<_, AssistantError>(())
            })?;
        }
        Ok(())
    }

    /// Whether `chain` may use its model now: its mode is `model` and the configured model is
    /// an approved version.
    pub fn chain_serves_model(&self, chain: &str) -> Result<bool> {
        Ok(self.chain_gate(chain)?.serves_model)
    }

    /// The gate of `chain` now (every governed chain's call site asks before using its model):
    /// the chain's approved version serves in mode `model` when its weights are the configured
    /// model's, or, after a rollback ([`Assistant::rollback_chain`]) or while a newer configured
    /// version waits for approval, when that version's model is still installed with the same
    /// weights.
    pub fn chain_gate(&self, chain: &str) -> Result<Gate> {
        let configured = self.configured_model(chain);
        let (mode, why, approved, configured_status) = self.store.read(|c| {
            let (mode, why) = mode_of(c, chain)?;
            let approved: Option<(i64, String, String)> = c
                .query_row(
                    "SELECT version, model, weights_sha256 FROM model_versions
                     WHERE chain = ?1 AND status = ?2 ORDER BY version DESC LIMIT 1",
                    params![chain, VersionStatus::Approved],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let status: Option<VersionStatus> = match &configured {
                Some((model, weights)) => c
                    .query_row(
                        "SELECT status FROM model_versions WHERE chain = ?1 AND model = ?2
                           AND weights_sha256 = ?3 ORDER BY version DESC LIMIT 1",
                        params![chain, model, weights],
                        |r| r.get(0),
                    )
                    .optional()?,
                None => None,
            };
            Ok::<_, rusqlite::Error>((mode, why, approved, status))
        })?;
        let gate = |serves_model: bool, model: Option<String>, reason: String| Gate {
            mode,
            serves_model,
            model,
            reason,
        };
        if mode != ChainMode::Model {
            return Ok(gate(
                false,
                None,
                format!("the chain is in {mode} mode: {why}"),
            ));
        }
        let Some((model, weights)) = configured else {
            return Ok(gate(
                false,
                None,
                "no model is configured for the chain".into(),
            ));
        };
        if let Some((v, m, w)) = approved {
            if m == model && w == weights {
                return Ok(gate(true, Some(m), String::new()));
            }
            // An earlier approved version: it serves when its weights are still installed.
            if self.models.entry(&m).is_ok_and(|e| e.manifest.sha256 == w) {
                return Ok(gate(true, Some(m), String::new()));
            }
            if configured_status != Some(VersionStatus::Proposed) {
                return Ok(gate(
                    false,
                    None,
                    format!(
                        "the approved version {v} ({m}) is not installed with its approved weights"
                    ),
                ));
            }
        }
        Ok(match configured_status {
            Some(s) => gate(
                false,
                None,
                format!("model {model} is {s}, not approved by model risk"),
            ),
            None if weights == NOT_INSTALLED => {
                gate(false, None, format!("model {model} is not installed"))
            }
            None => gate(
                false,
                None,
                format!("model {model} is not in the model inventory yet"),
            ),
        })
    }

    /// Rolls `chain` back to its previous approved version at once (model-risk role): the
    /// approved version is retired, the newest earlier one that was approved serves again (when
    /// its weights are still installed; else the chain runs on its fallback, see
    /// [`Assistant::chain_gate`]). Audited as `model.rollback`. Going forward again is a new
    /// four-eyes approval of the later version ([`Assistant::request_version_approval`]).
    /// Returns the version now approved.
    pub fn rollback_chain(&self, actor: &Actor, chain: &str, reason: &str) -> Result<ModelVersion> {
        require_model_risk(actor)?;
        known_chain(chain)?;
        let reason = checked_reason(reason)?;
        self.store.write(actor, |tx| {
            let current: Option<ModelVersion> = tx
                .conn()
                .query_row(
                    &format!(
                        "SELECT {VERSION_COLUMNS} FROM model_versions WHERE chain = ?1
                           AND status = ?2 ORDER BY version DESC LIMIT 1"
                    ),
                    params![chain, VersionStatus::Approved],
                    version_row,
                )
                .optional()?;
            let Some(current) = current else {
                return Err(AssistantError::Conflict(format!(
                    "chain {chain} has no approved version to roll back from"
                )));
            };
            // The previous approved version: retired (replaced) and decided at approval.
            let previous: Option<ModelVersion> = tx
                .conn()
                .query_row(
                    &format!(
                        "SELECT {VERSION_COLUMNS} FROM model_versions WHERE chain = ?1
                           AND status = ?2 AND version < ?3 AND decided_at IS NOT NULL
                         ORDER BY version DESC LIMIT 1"
                    ),
                    params![chain, VersionStatus::Retired, current.version],
                    version_row,
                )
                .optional()?;
            let Some(previous) = previous else {
                return Err(AssistantError::Conflict(format!(
                    "chain {chain} has no earlier approved version; switch it to its fallback instead"
                )));
            };
            tx.conn().execute(
                "UPDATE model_versions SET status = ?1 WHERE id = ?2",
                params![VersionStatus::Retired, current.id],
            )?;
            tx.conn().execute(
                "UPDATE model_versions SET status = ?1 WHERE id = ?2",
                params![VersionStatus::Approved, previous.id],
            )?;
            tx.audit(AuditRecord {
                action: "model.rollback",
                object_kind: "chain",
                object_id: chain,
                class: DataClass::IMPORTANT,
                details: json!({
                    "from_version": current.version, "from_model": current.model,
                    "to_version": previous.version, "to_model": previous.model,
                    "to_weights_sha256": previous.weights_sha256, "reason": reason,
                }),
            })?;
            Ok(tx.conn().query_row(
                &format!("SELECT {VERSION_COLUMNS} FROM model_versions WHERE id = ?1"),
                [&previous.id],
                version_row,
            )?)
        })
    }

    /// Asks for `version_id` of `chain` (a retired or rejected one, e.g. after a rollback) to
    /// serve again: a four-eyes `model_change` approval for another model-risk user. Returns the
    /// approval id.
    pub fn request_version_approval(
        &self,
        actor: &Actor,
        chain: &str,
        version_id: &str,
        reason: &str,
    ) -> Result<String> {
        require_model_risk(actor)?;
        let info = known_chain(chain)?;
        let v: Option<ModelVersion> = self.store.read(|c| {
            c.query_row(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM model_versions WHERE id = ?1 AND chain = ?2"
                ),
                params![version_id, chain],
                version_row,
            )
            .optional()
        })?;
        let Some(v) = v else {
            return Err(AssistantError::NotFound {
                kind: "model version",
                id: version_id.into(),
            });
        };
        if v.status == VersionStatus::Approved {
            return Err(AssistantError::Conflict(format!(
                "version {} of {chain} is approved already",
                v.version
            )));
        }
        self.store.write(actor, |tx| {
            model_change_in(
                self,
                tx,
                format!(
                    "{} version {}: {} into production",
                    info.name, v.version, v.model
                ),
                json!({
                    "action": "approve_version", "chain": chain, "version_id": v.id,
                    "reason": reason,
                }),
                Some(::time::Duration::days(30)),
                None,
            )
        })
    }

    /// The mode of `chain` inside a write transaction.
    pub(crate) fn chain_mode_in(&self, tx: &mut WriteTx<'_>, chain: &str) -> Result<ChainMode> {
        Ok(mode_of(tx.conn(), chain)?.0)
    }

    /// The mode of `chain` now.
    pub fn chain_mode(&self, chain: &str) -> Result<ChainMode> {
        Ok(self.store.read(|c| mode_of(c, chain))?.0)
    }

    /// Switches `chain` to its fallback or pauses it, at once (model-risk role). Back to the
    /// model only through [`Assistant::request_restore`].
    pub fn set_chain_mode(
        &self,
        actor: &Actor,
        chain: &str,
        mode: ChainMode,
        reason: &str,
    ) -> Result<()> {
        require_model_risk(actor)?;
        known_chain(chain)?;
        if mode == ChainMode::Model {
            return Err(AssistantError::Conflict(
                "a chain goes back to its model only by a model-risk approval: request a restore"
                    .into(),
            ));
        }
        let reason = checked_reason(reason)?;
        self.store
            .write(actor, |tx| set_mode_in(tx, chain, mode, reason))
    }

    /// Asks for `chain` to go back to its approved model: a `model_change` approval for another
    /// model-risk user (four-eyes). Returns the approval id.
    pub fn request_restore(&self, actor: &Actor, chain: &str, reason: &str) -> Result<String> {
        require_model_risk(actor)?;
        let info = known_chain(chain)?;
        if self.chain_mode(chain)? == ChainMode::Model {
            return Err(AssistantError::Conflict(format!(
                "chain {chain} already runs on its model"
            )));
        }
        self.store.write(actor, |tx| {
            model_change_in(
                self,
                tx,
                format!("{}: back to its approved model", info.name),
                json!({"action": "restore", "chain": chain, "reason": reason}),
                None,
                None,
            )
        })
    }

    /// What a pending `model_change` approval still lacks before it may be approved (see
    /// [`missing_evidence`]): empty when nothing, or when it is not a version approval.
    pub fn approval_missing_evidence(
        &self,
        actor: &Actor,
        approval: &crate::approvals::Approval,
    ) -> Result<Vec<String>> {
        require_read(actor)?;
        if approval.payload["action"] != "approve_version" {
            return Ok(Vec::new());
        }
        let chain = approval.payload["chain"].as_str().unwrap_or_default();
        self.store
            .read(|c| missing_evidence(c, chain, &approval.created_at))
    }

    /// Ops corrections of extracted key terms by field over the `days` days before `at`: the
    /// confirmations extracted in that time, and per field how many of them a reviewer
    /// corrected, most corrected first (the dashboard's table; the monitoring watches the
    /// highest share, `field_correction_rate`).
    pub fn field_corrections(
        &self,
        actor: &Actor,
        at: OffsetDateTime,
        days: i64,
    ) -> Result<(usize, Vec<(String, usize)>)> {
        require_read(actor)?;
        let from = time::fmt(at - ::time::Duration::days(days));
        let to = time::fmt(at);
        Ok(self.store.read(|c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM chain_calls WHERE chain = ?1 AND time > ?2 AND time <= ?3",
                params![EXTRACTION_CHAIN, from, to],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare(
                "SELECT field, COUNT(DISTINCT subject) AS k FROM field_corrections
                 WHERE chain = ?1 AND time > ?2 AND time <= ?3
                 GROUP BY field ORDER BY k DESC, field",
            )?;
            let rows = stmt
                .query_map(params![EXTRACTION_CHAIN, from, to], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, rusqlite::Error>((n as usize, rows))
        })?)
    }

    /// The inventory (model-risk dashboard).
    pub fn model_inventory(&self, actor: &Actor) -> Result<Vec<InventoryEntry>> {
        require_read(actor)?;
        let mut out = Vec::new();
        for chain in CHAINS {
            let (versions, (mode, reason)) = self.store.read(|c| {
                let mut stmt = c.prepare(&format!(
                    "SELECT {VERSION_COLUMNS} FROM model_versions WHERE chain = ?1
                     ORDER BY version DESC"
                ))?;
                let v = stmt
                    .query_map([chain.id], version_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok::<_, rusqlite::Error>((v, mode_of(c, chain.id)?))
            })?;
            let serves_model = chain.governed && self.chain_serves_model(chain.id)?;
            out.push(InventoryEntry {
                chain: *chain,
                configured: self.configured_model(chain.id),
                versions,
                mode,
                mode_reason: reason,
                serves_model,
            });
        }
        Ok(out)
    }

    /// Alerts, open and acknowledged first, newest first.
    pub fn model_alerts(&self, actor: &Actor, include_resolved: bool) -> Result<Vec<ModelAlert>> {
        require_read(actor)?;
        Ok(self.store.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {ALERT_COLUMNS} FROM model_alerts WHERE (?1 OR state <> ?2)
                 ORDER BY state = ?2, opened_at DESC LIMIT 500"
            ))?;
            stmt.query_map(params![include_resolved, AlertState::Resolved], alert_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?)
    }

    /// Acknowledges or resolves an alert, with a note (model-risk role).
    pub fn update_alert(
        &self,
        actor: &Actor,
        id: &str,
        state: AlertState,
        note: &str,
    ) -> Result<ModelAlert> {
        require_model_risk(actor)?;
        if state == AlertState::Open {
            return Err(AssistantError::field("state", "acknowledged or resolved"));
        }
        let note = note.trim();
        if note.chars().count() > 1000 || (state == AlertState::Resolved && note.is_empty()) {
            return Err(AssistantError::field(
                "note",
                "a resolution needs a note of 1 to 1000 characters",
            ));
        }
        self.store.write(actor, |tx| {
            let n = tx.conn().execute(
                "UPDATE model_alerts SET state = ?1, note = ?2, updated_at = ?3, updated_by = ?4
                 WHERE id = ?5 AND state <> ?6",
                params![
                    state,
                    note,
                    time::fmt(time::now()),
                    actor.user,
                    id,
                    AlertState::Resolved
                ],
            )?;
            if n == 0 {
                return Err(AssistantError::NotFound {
                    kind: "open alert",
                    id: id.into(),
                });
            }
            tx.audit(AuditRecord {
                action: "model.alert_update",
                object_kind: "model_alert",
                object_id: id,
                class: DataClass::IMPORTANT,
                details: json!({"state": state, "note": note}),
            })?;
            Ok(tx.conn().query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM model_alerts WHERE id = ?1"),
                [id],
                alert_row,
            )?)
        })
    }

    /// Every watched figure of every chain now (`at`), against its threshold.
    pub fn chain_metrics(&self, at: OffsetDateTime) -> Result<Vec<MetricNow>> {
        let mut out = Vec::new();
        for rule in RULES {
            out.push(self.store.read(|c| metric_now(c, rule, at))?);
        }
        Ok(out)
    }

    /// Computes every watched figure at `at`; each one over its threshold opens an alert (one per
    /// chain and figure while it is not resolved) and applies its rule's action. Returns the
    /// alerts opened now.
    pub fn monitor(&self, at: OffsetDateTime) -> Result<Vec<ModelAlert>> {
        let mut opened = Vec::new();
        for m in self.chain_metrics(at)? {
            let (Some(value), true) = (m.value, m.breached) else {
                continue;
            };
            let rule = m.rule;
            let system = Actor::system();
            let alert = self.store.write(&system, |tx| {
                let existing: Option<String> = tx
                    .conn()
                    .query_row(
                        "SELECT id FROM model_alerts WHERE chain = ?1 AND metric = ?2
                           AND state <> ?3",
                        params![rule.chain, rule.metric, AlertState::Resolved],
                        |r| r.get(0),
                    )
                    .optional()?;
                if existing.is_some() {
                    return Ok::<_, AssistantError>(None);
                }
                let id = format!("alr_{}", uuid::Uuid::new_v4().simple());
                let stamp = time::fmt(time::now());
                tx.conn().execute(
                    "INSERT INTO model_alerts (id, chain, metric, window_secs, value, threshold,
                         action, state, opened_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                    params![
                        id,
                        rule.chain,
                        rule.metric,
                        rule.window_secs as i64,
                        value,
                        rule.max,
                        rule.action.as_str(),
                        AlertState::Open,
                        stamp
                    ],
                )?;
                tx.audit(AuditRecord {
                    action: "model.alert",
                    object_kind: "chain",
                    object_id: rule.chain,
                    class: DataClass::IMPORTANT,
                    details: json!({
                        "alert_id": id, "metric": rule.metric, "value": value,
                        "threshold": rule.max, "window_secs": rule.window_secs,
                        "calls": m.calls, "action": rule.action.as_str(),
                        "baseline": m.baseline,
                        "reason_en": format!(
                            "{} of {} is {value:.3} over the last {} s, above {}",
                            rule.metric, rule.chain, rule.window_secs, rule.max
                        ),
                        "reason_zh": format!(
                            "{} 的 {} 在最近 {} 秒为 {value:.3}，超过阈值 {}",
                            rule.chain, rule.metric, rule.window_secs, rule.max
                        ),
                    }),
                })?;
                let mr = &self.config.model_risk;
                if !mr.alert_channel.trim().is_empty() {
                    let text = format!(
                        "【模型风险告警 / Model-risk alert】（系统自动发送 / machine-generated）\n\
                         {chain}：{metric} 在最近 {w} 秒为 {value:.3}，超过阈值 {max}；处置：{action}。\n\
                         {chain}: {metric} is {value:.3} over the last {w} s, above {max}; \
                         action: {action}. Alert {id} on /model-risk.",
                        chain = rule.chain,
                        metric = rule.metric,
                        w = rule.window_secs,
                        max = rule.max,
                        action = rule.action.as_str(),
                    );
                    crate::desk::queue_notice(
                        tx,
                        mr.alert_channel.trim(),
                        mr.alert_chat_id.trim(),
                        &format!("model-alert:{id}"),
                        &text,
                    )?;
                }
                let (mode, _) = mode_of(tx.conn(), rule.chain)?;
                let target = match rule.action {
                    Action::Alert => None,
                    Action::Fallback => Some(ChainMode::Fallback),
                    Action::Pause => Some(ChainMode::Paused),
                };
                if let Some(t) =
                    target.filter(|t| mode == ChainMode::Model || *t == ChainMode::Paused)
                    && t != mode
                {
                    set_mode_in(
                        tx,
                        rule.chain,
                        t,
                        &format!(
                            "alert {id}: {} {value:.3} above {} over {} s",
                            rule.metric, rule.max, rule.window_secs
                        ),
                    )?;
                }
                Ok(Some(tx.conn().query_row(
                    &format!("SELECT {ALERT_COLUMNS} FROM model_alerts WHERE id = ?1"),
                    [&id],
                    alert_row,
                )?))
            })?;
            opened.extend(alert);
        }
        Ok(opened)
    }
}

fn known_chain(chain: &str) -> Result<&'static ChainInfo> {
    CHAINS
        .iter()
        .find(|c| c.id == chain)
        .ok_or_else(|| AssistantError::NotFound {
            kind: "chain",
            id: chain.into(),
        })
}

/// A model-risk user's reason for a switch: 1 to 500 characters, trimmed.
fn checked_reason(reason: &str) -> Result<&str> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AssistantError::field("reason", "1 to 500 characters"));
    }
    Ok(reason)
}

/// Creates a `model_change` approval for the model-risk role, four-eyes, in `tx`.
fn model_change_in(
    a: &Assistant,
    tx: &mut WriteTx<'_>,
    title: String,
    payload: Value,
    expires_in: Option<::time::Duration>,
    idempotency_key: Option<String>,
) -> Result<String> {
    a.create_approval_in(
        tx,
        NewApproval {
            kind: ApprovalKind::ModelChange,
            title,
            payload,
            required_role: Role::ModelRisk,
            four_eyes: true,
            expires_in,
            class: DataClass::IMPORTANT,
            supersedes: None,
            idempotency_key,
        },
    )
}

/// A vector as stored (`chain_calls.embedding`): little-endian `f32`s.
fn vector_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The stored vectors of `chain`'s calls in (`from`, `to`] that have one: see [`mean_vector`].
fn centroid(
    c: &rusqlite::Connection,
    chain: &str,
    from: &str,
    to: &str,
) -> rusqlite::Result<(Vec<f64>, usize, f64)> {
    let mut stmt = c.prepare(
        "SELECT embedding FROM chain_calls
         WHERE chain = ?1 AND time > ?2 AND time <= ?3 AND embedding IS NOT NULL",
    )?;
    let rows = stmt.query_map(params![chain, from, to], |r| r.get::<_, Vec<u8>>(0))?;
    mean_vector(rows)
}

/// The vectors of the validation baseline `report_sha256` of `chain`: see [`mean_vector`].
fn baseline_centroid(
    c: &rusqlite::Connection,
    chain: &str,
    report_sha256: &str,
) -> rusqlite::Result<(Vec<f64>, usize, f64)> {
    let mut stmt = c.prepare(
        "SELECT embedding FROM validation_baselines
         WHERE chain = ?1 AND report_sha256 = ?2 AND embedding IS NOT NULL",
    )?;
    let rows = stmt.query_map(params![chain, report_sha256], |r| r.get::<_, Vec<u8>>(0))?;
    mean_vector(rows)
}

/// Stored vectors' mean, how many, and the mean of their squared norms; vectors of another
/// length than the first are left out.
fn mean_vector(
    rows: impl Iterator<Item = rusqlite::Result<Vec<u8>>>,
) -> rusqlite::Result<(Vec<f64>, usize, f64)> {
    let mut sum: Vec<f64> = Vec::new();
    let (mut n, mut sq) = (0usize, 0.0f64);
    for bytes in rows {
        let bytes = bytes?;
        if bytes.len() % 4 != 0 || bytes.is_empty() {
            continue;
        }
        if sum.is_empty() {
            sum = vec![0.0; bytes.len() / 4];
        } else if sum.len() != bytes.len() / 4 {
            continue;
        }
        for (s, b) in sum.iter_mut().zip(bytes.chunks_exact(4)) {
            let x = f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            *s += x;
            sq += x * x;
        }
        n += 1;
    }
    for s in &mut sum {
        *s /= n.max(1) as f64;
    }
    Ok((sum, n, sq / n.max(1) as f64))
}

/// The chain's latest validation baseline: (suite, report SHA-256, cases).
fn latest_baseline(
    c: &rusqlite::Connection,
    chain: &str,
) -> rusqlite::Result<Option<(String, String, usize)>> {
    let latest: Option<(String, String)> = c
        .query_row(
            "SELECT suite, report_sha256 FROM validation_baselines WHERE chain = ?1
             ORDER BY id DESC LIMIT 1",
            [chain],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((suite, sha)) = latest else {
        return Ok(None);
    };
    let n: i64 = c.query_row(
        "SELECT COUNT(*) FROM validation_baselines WHERE chain = ?1 AND report_sha256 = ?2",
        params![chain, sha],
        |r| r.get(0),
    )?;
    Ok(Some((suite, sha, n as usize)))
}

/// The cases of validation baseline `report_sha256` of `chain`, as the figures read calls.
fn baseline_rows(
    c: &rusqlite::Connection,
    chain: &str,
    report_sha256: &str,
) -> rusqlite::Result<Vec<CallRow>> {
    let mut stmt = c.prepare(
        "SELECT outcome, confidence, 0, input_chars, language, product
         FROM validation_baselines WHERE chain = ?1 AND report_sha256 = ?2",
    )?;
    stmt.query_map(params![chain, report_sha256], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })?
    .collect()
}

/// A recorded call as the figures read it: outcome, confidence, changed by a person, input
/// length, language, product.
type CallRow = (String, Option<f64>, i64, i64, String, Option<String>);

fn call_rows(
    c: &rusqlite::Connection,
    chain: &str,
    from: &str,
    to: &str,
) -> rusqlite::Result<Vec<CallRow>> {
    let mut stmt = c.prepare(
        "SELECT outcome, confidence, human_changed, input_chars, language, product
         FROM chain_calls WHERE chain = ?1 AND time > ?2 AND time <= ?3",
    )?;
    stmt.query_map(params![chain, from, to], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })?
    .collect()
}

/// The drift index of `metric` (a `psi_*` figure) of the window's calls against the baseline's.
fn drift(metric: &str, base: &[CallRow], window: &[CallRow]) -> Option<f64> {
    let categories = |rows: &[CallRow], f: &dyn Fn(&CallRow) -> String| -> Vec<String> {
        rows.iter().map(f).collect()
    };
    let categorical = |f: &dyn Fn(&CallRow) -> String| {
        let (b, w) = (categories(base, f), categories(window, f));
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        let (eb, ew) = monitoring::category_shares(&b, &w);
        monitoring::psi(&eb, &ew)
    };
    let numeric = |f: &dyn Fn(&CallRow) -> Option<f64>, edges: &[f64]| {
        let b: Vec<f64> = base.iter().filter_map(f).collect();
        let w: Vec<f64> = window.iter().filter_map(f).collect();
        (b.len() >= monitoring::MIN_BASELINE_CALLS && !w.is_empty()).then(|| {
            monitoring::psi(
                &monitoring::shares(&b, edges),
                &monitoring::shares(&w, edges),
            )
        })
    };
    match metric {
        "psi_length" => numeric(&|r| Some(r.3 as f64), &monitoring::LENGTH_EDGES),
        "psi_confidence" => numeric(&|r| r.1, &monitoring::CONFIDENCE_EDGES),
        "psi_language" => Some(categorical(&|r| r.4.clone())),
        "psi_product" => Some(categorical(&|r| {
            r.5.clone().unwrap_or_else(|| "none".into())
        })),
        "psi_outcome" => Some(categorical(&|r| r.0.clone())),
        _ => None,
    }
}

/// One figure of a rule at `at`.
fn metric_now(
    c: &rusqlite::Connection,
    rule: &monitoring::Rule,
    at: OffsetDateTime,
) -> std::result::Result<MetricNow, AssistantError> {
    let from = time::fmt(at - ::time::Duration::seconds(rule.window_secs as i64));
    let to = time::fmt(at);
    let rows = call_rows(c, rule.chain, &from, &to)?;
    let n = rows.len();
    let validation = if rule.metric.starts_with("psi_") || rule.metric == "centroid_shift" {
        latest_baseline(c, rule.chain)?
    } else {
        None
    };
    // Named even while the window has too few calls: the reader sees what production will be
    // compared with.
    let mut baseline = match &validation {
        Some((suite, sha, n)) if *n >= monitoring::MIN_BASELINE_CALLS => {
            Some(Baseline::Validation {
                suite: suite.clone(),
                report_sha256: sha.clone(),
                cases: *n,
            })
        }
        _ => None,
    };
    let share = |f: &dyn Fn(&CallRow) -> bool| {
        rows.iter().filter(|r| f(r)).count() as f64 / n.max(1) as f64
    };
    let value = if n < rule.min_calls {
        None
    } else {
        match rule.metric {
            "model_rejected_rate" => Some(share(&|r| r.0 == CallOutcome::ModelRejected.as_str())),
            "model_rate" => Some(share(&|r| r.0 == CallOutcome::Model.as_str())),
            "error_rate" => Some(share(&|r| r.0 == CallOutcome::Error.as_str())),
            "low_confidence_rate" => Some(share(&|r| r.1.is_some_and(|x| x < 0.5))),
            "trader_edit_rate" | "correction_rate" => Some(share(&|r| r.2 != 0)),
            "human_change_rate" => {
                // Among the calls whose model output was used (the others had nothing of the
                // model's for a person to change).
                let used: Vec<&CallRow> = rows
                    .iter()
                    .filter(|r| r.0 == CallOutcome::Model.as_str())
                    .collect();
                (used.len() >= rule.min_calls)
                    .then(|| used.iter().filter(|r| r.2 != 0).count() as f64 / used.len() as f64)
            }
            "field_correction_rate" => {
                let most: Option<i64> = c
                    .query_row(
                        "SELECT COUNT(DISTINCT subject) AS n FROM field_corrections
                         WHERE chain = ?1 AND time > ?2 AND time <= ?3
                         GROUP BY field ORDER BY n DESC LIMIT 1",
                        params![rule.chain, from, to],
                        |r| r.get(0),
                    )
                    .optional()?;
                Some(most.unwrap_or(0) as f64 / n.max(1) as f64)
            }
            "centroid_shift" => {
                // How far the mean input embedding of the window moved from the baseline's, in
                // units of the baseline's own spread (the root mean squared distance of its
                // vectors from their mean): about 1/√n for a window of n calls like the
                // baseline, about 1 or more when what comes in is about something else. The
                // spread makes the figure comparable across embedders. The baseline is the
                // latest passed validation run's questions when it has enough with a vector,
                // else the chain's production calls before the window.
                let (w, nw, _) = centroid(c, rule.chain, &from, &to)?;
                let validated = match &validation {
                    Some((suite, sha, _)) => {
                        let (b, nb, b_sq) = baseline_centroid(c, rule.chain, sha)?;
                        (nb >= monitoring::MIN_BASELINE_CALLS).then(|| {
                            (
                                (b, nb, b_sq),
                                Baseline::Validation {
                                    suite: suite.clone(),
                                    report_sha256: sha.clone(),
                                    cases: nb,
                                },
                            )
                        })
                    }
                    None => None,
                };
                let ((b, nb, b_sq), source) = match validated {
                    Some(v) => v,
                    None => {
                        let base_from = time::fmt(
                            at - ::time::Duration::seconds(
                                (rule.window_secs + monitoring::BASELINE_SECS) as i64,
                            ),
                        );
                        let p = centroid(c, rule.chain, &base_from, &from)?;
                        let calls = p.1;
                        (p, Baseline::Production { calls })
                    }
                };
                let ok = nb >= monitoring::MIN_BASELINE_CALLS
                    && nw >= rule.min_calls
                    && b.len() == w.len();
                if ok {
                    baseline = Some(source);
                }
                ok.then(|| monitoring::centroid_shift(&b, b_sq, &w))
            }
            m if m.starts_with("psi_") => {
                // Against the latest passed validation run's cases when there are enough, else
                // against the chain's production calls in the days before the window.
                let (base, source) = match &validation {
                    Some((suite, sha, n)) if *n >= monitoring::MIN_BASELINE_CALLS => (
                        baseline_rows(c, rule.chain, sha)?,
                        Baseline::Validation {
                            suite: suite.clone(),
                            report_sha256: sha.clone(),
                            cases: *n,
                        },
                    ),
                    _ => {
                        let base_from = time::fmt(
                            at - ::time::Duration::seconds(
                                (rule.window_secs + monitoring::BASELINE_SECS) as i64,
                            ),
                        );
                        let rows = call_rows(c, rule.chain, &base_from, &from)?;
                        let calls = rows.len();
                        (rows, Baseline::Production { calls })
                    }
                };
                if base.len() < monitoring::MIN_BASELINE_CALLS {
                    None
                } else {
                    let v = drift(m, &base, &rows);
                    if v.is_some() {
                        baseline = Some(source);
                    }
                    v
                }
            }
            _ => None,
        }
    };
    Ok(MetricNow {
        rule: *rule,
        calls: n,
        breached: value.is_some_and(|v| v > rule.max),
        value,
        baseline,
    })
}
