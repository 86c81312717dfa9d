//! Evaluation suites and their reports, for the model-risk team.
//!
//! A [`Suite`] measures one feature on real data and returns [`Metric`]s (each with an optional
//! threshold) and per-case results. [`run_suite`] adds run metadata (git commit, model ids,
//! machine) and [`report::write`] writes `report.json` and a self-contained `report.html`.
//! Suites register in one place, [`suites`]; `deskmate eval SUITE` and the API call them by name.

pub mod report;
pub mod suites;

use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// What a suite may use.
#[derive(Debug, Clone, Default)]
pub struct EvalContext {
    /// A data directory given with `--data` (each suite documents what it expects there);
    /// suites fall back to the shared data set when it is `None`.
    pub data: Option<PathBuf>,
    /// Model ids in use, recorded in the report.
    pub model_ids: Vec<String>,
    /// The production models, for suites that validate a chain as it serves (the answers
    /// validation); `None`: the fixture models (or those the `DESKMATE_EVAL_*` variables name).
    pub production: Option<Production>,
    /// The RFQ chain's model with the deployment's settings (the RFQ model validation); `None`:
    /// the fixture generator (or the one `DESKMATE_EVAL_GENERATOR` names).
    pub rfq_model: Option<suites::validate_rfq_model::RfqModel>,
    /// The caller's progress display, told of each case by the suites that run their cases in
    /// a loop of their own (`extraction`, `drafting-free-text`, `validate-rfq-model`,
    /// `validate-answers`).
    pub on_progress: OnProgress,
}

/// A progress hook: called with (cases done, cases in all). The default does nothing.
#[derive(Clone, Default)]
pub struct OnProgress(Option<std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>>);

impl OnProgress {
    /// A hook that calls `f`.
    pub fn new(f: impl Fn(usize, usize) + Send + Sync + 'static) -> Self {
        Self(Some(std::sync::Arc::new(f)))
    }

    /// Reports that `done` of `total` cases are done.
    pub fn report(&self, done: usize, total: usize) {
        if let Some(f) = &self.0 {
            f(done, total);
        }
    }
}

impl std::fmt::Debug for OnProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "OnProgress(hook)"
        } else {
            "OnProgress(none)"
        })
    }
}

/// The models and settings a deployment's chains serve with (see [`production_context`]).
#[derive(Clone)]
pub struct Production {
    /// The answering chain's generator (local or remote).
    pub generator: std::sync::Arc<dyn models::Generator>,
    /// The knowledge base's embedder.
    pub embedder: std::sync::Arc<dyn models::Embedder>,
    /// The embedder's name.
    pub embedder_name: String,
    /// The answer settings of `[knowledge]`.
    pub ask: knowledge::AskOptions,
}

impl std::fmt::Debug for Production {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Production")
            .field("generator", &self.generator.id())
            .field("embedder", &self.embedder_name)
            .field("ask", &self.ask)
            .finish()
    }
}

/// The context of a validation run for `a`'s deployment: its configured answering model and
/// embedder (through its model registry, local or remote) and its answer settings. Models that
/// cannot be loaded leave the fixture models in place and say why in the second value.
pub fn production_context(a: &assistant::Assistant) -> (EvalContext, Option<String>) {
    let c = &a.config;
    let generator = a
        .configured_model(assistant::model_risk::ANSWERS_CHAIN)
        .map(|(name, _)| name)
        .unwrap_or_else(|| assistant::inference::default_generator_name(c).to_owned());
    let embedder_name = if c.knowledge.embedder.trim().is_empty() {
        assistant::inference::default_embedder_name(c).to_owned()
    } else {
        c.knowledge.embedder.clone()
    };
    let loaded = a
        .models()
        .generator(&generator)
        .map_err(|e| format!("generator {generator}: {e}"))
        .and_then(|g| {
            a.models()
                .embedder(&embedder_name)
                .map(|e| (g, e))
                .map_err(|e| format!("embedder {embedder_name}: {e}"))
        });
    match loaded {
        Ok((generator, embedder)) => (
            EvalContext {
                model_ids: vec![generator.id().to_owned(), embedder_name.clone()],
                production: Some(Production {
                    generator,
                    embedder,
                    embedder_name,
                    ask: assistant::documents::ask_options(c),
                }),
                ..EvalContext::default()
            },
            None,
        ),
        Err(why) => (EvalContext::default(), Some(why)),
    }
}

/// The context suite `name` runs with for `a`'s deployment: [`production_context`] for the
/// suites that validate a chain as it serves (`validate-answers`, and `bias-content` for its
/// questions), the RFQ chain's model and settings for `validate-rfq-model`, the default
/// otherwise.
pub fn context_for(a: &assistant::Assistant, name: &str) -> EvalContext {
    if name == "validate-rfq-model" {
        let m = suites::validate_rfq_model::RfqModel::of(a);
        return EvalContext {
            model_ids: vec![m.name.clone()],
            rfq_model: Some(m),
            ..EvalContext::default()
        };
    }
    if matches!(name, "validate-answers" | "bias-content") {
        let (ctx, why) = production_context(a);
        if let Some(why) = why {
            tracing::warn!(suite = name, %why, "validating on the fixture models");
        }
        ctx
    } else {
        EvalContext::default()
    }
}

/// Runs suite `name` for `a`'s deployment, writes `report.json` and `report.html` to `dir` and
/// records the report in the audit log (`eval.report`, by its SHA-256) as `actor`: what the
/// dashboard's and the API's runs do, and what a model version's approval checks
/// (`policies::validation::approval_evidence`). Returns the report and its SHA-256.
pub fn run_recorded(
    a: &assistant::Assistant,
    actor: &assistant::store::Actor,
    name: &str,
    ctx: &EvalContext,
    dir: &std::path::Path,
) -> Result<(report::Report, String), EvalError> {
    let r = run_suite(name, ctx)?;
    report::write(&r, dir)?;
    let sha = report::json_sha256(&r);
    record(a, actor, &r, &sha)
        .map_err(|e| EvalError::Run(format!("recording the report in the audit log: {e}")))?;
    Ok((r, sha))
}

/// Records report `r` (its `report.json`'s SHA-256 is `sha`) in `a`'s audit log as `actor`
/// (`eval.report`); a passed validation run's cases become its chain's drift baseline
/// (`Assistant::record_validation`). Returns the audit entry's sequence number.
pub fn record(
    a: &assistant::Assistant,
    actor: &assistant::store::Actor,
    r: &report::Report,
    sha: &str,
) -> assistant::Result<u64> {
    a.record_validation(
        actor,
        &r.suite,
        r.passed,
        sha,
        serde_json::to_value(&r.metrics).unwrap_or_default(),
        r.baseline
            .as_ref()
            .map(|b| (b.chain.as_str(), b.cases.as_slice())),
    )
}

/// A validation run's cases as the monitoring reads a chain's production calls (computed by the
/// same `assistant::model_risk::CallFeatures` functions): the drift figures' baseline once the
/// run passed and was recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationBaseline {
    /// The chain (`assistant::model_risk::CHAINS`).
    pub chain: String,
    /// One entry per case (embeddings are left out of the report, not of the record).
    pub cases: Vec<assistant::model_risk::CallFeatures>,
}

/// How a metric is judged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "op", content = "value", rename_all = "snake_case")]
pub enum Threshold {
    /// Passes when the value is at least this.
    AtLeast(f64),
    /// Passes when the value is at most this.
    AtMost(f64),
}

impl Threshold {
    /// Whether `value` passes.
    pub fn passes(self, value: f64) -> bool {
        match self {
            Threshold::AtLeast(t) => value >= t,
            Threshold::AtMost(t) => value <= t,
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Stable name (`detection_rate`).
    pub name: String,
    /// The value.
    pub value: f64,
    /// Its unit (`ratio`, `entries/s`, `ms`).
    pub unit: String,
    /// The threshold, when the metric gates the suite.
    pub threshold: Option<Threshold>,
    /// Whether it passes its threshold (`None` when it has none).
    pub passed: Option<bool>,
}

impl Metric {
    /// A metric judged against `threshold`.
    pub fn gated(name: &str, value: f64, unit: &str, threshold: Threshold) -> Metric {
        Metric {
            name: name.into(),
            value,
            unit: unit.into(),
            threshold: Some(threshold),
            passed: Some(threshold.passes(value)),
        }
    }

    /// An informational metric.
    pub fn info(name: &str, value: f64, unit: &str) -> Metric {
        Metric {
            name: name.into(),
            value,
            unit: unit.into(),
            threshold: None,
            passed: None,
        }
    }
}

/// One case of a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was expected and what happened.
    pub detail: String,
}

/// What a suite returns.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SuiteOutput {
    /// Metrics.
    pub metrics: Vec<Metric>,
    /// Cases.
    pub cases: Vec<CaseResult>,
    /// Notes for the reader (method, caveats).
    pub notes: Vec<String>,
    /// Line charts for the HTML report (drawn as SVG).
    pub plots: Vec<Plot>,
    /// A chain validation's cases as production calls are monitored (the drift baseline).
    pub baseline: Option<ValidationBaseline>,
}

/// A line chart: one or more series over a shared x axis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Plot {
    /// The title.
    pub title: String,
    /// The x axis label, with its unit.
    pub x_label: String,
    /// The y axis label, with its unit.
    pub y_label: String,
    /// The series.
    pub series: Vec<Series>,
}

/// One named series of (x, y) points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// The points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// A suite failed to run at all (not: it ran and measured a failure).
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// No suite of that name.
    #[error("unknown suite {name:?}; available: {available}")]
    UnknownSuite {
        /// Asked for.
        name: String,
        /// Registered suites.
        available: String,
    },
    /// The suite's data is missing or unreadable.
    #[error("suite data: {0}")]
    Data(String),
    /// Something the suite needs failed.
    #[error("suite failed to run: {0}")]
    Run(String),
    /// Writing the report failed.
    #[error("cannot write report to {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// An evaluation suite.
pub trait Suite: Send + Sync {
    /// The name used on the command line.
    fn name(&self) -> &'static str;
    /// One line on what it measures.
    fn description(&self) -> &'static str;
    /// Runs it.
    fn run(&self, ctx: &EvalContext) -> Result<SuiteOutput, EvalError>;
}

/// Every registered suite. Later features add theirs here.
pub fn suites() -> Vec<Box<dyn Suite>> {
    vec![
        Box::new(suites::audit::AuditChainSuite::default()),
        Box::new(suites::rfq::RfqSuite),
        Box::new(suites::extraction::ExtractionSuite),
        Box::new(suites::drafting::DraftingSuite),
        Box::new(suites::drafting_free::DraftingFreeTextSuite),
        Box::new(suites::compliance::ComplianceSuite),
        Box::new(suites::retrieval::RetrievalSuite),
        Box::new(suites::injection::InjectionSuite),
        Box::new(suites::abstention::AbstentionSuite),
        Box::new(suites::redteam::RedTeamSuite),
        Box::new(suites::bias::BiasSuite),
        Box::new(suites::bias_content::BiasContentSuite),
        Box::new(suites::validate::ValidatePricing),
        Box::new(suites::validate::ValidateRfq),
        Box::new(suites::validate_rfq_model::ValidateRfqModel),
        Box::new(suites::validate_extraction::ValidateExtraction),
        Box::new(suites::validate_answers::ValidateAnswers),
    ]
}

/// The shared data set (`shared/data`): `DESKMATE_SHARED_DATA` if set, else `shared/data` or
/// `../shared/data` from the working directory, else beside the source tree this was built from.
pub fn shared_data() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DESKMATE_SHARED_DATA").map(PathBuf::from),
        Some(PathBuf::from("shared/data")),
        Some(PathBuf::from("../shared/data")),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data"
        ))),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("MANIFEST.md").is_file())
}

/// Runs the suite `name` and builds its report.
pub fn run_suite(name: &str, ctx: &EvalContext) -> Result<report::Report, EvalError> {
    let all = suites();
    let suite = all
        .iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| EvalError::UnknownSuite {
            name: name.into(),
            available: all.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "),
        })?;
    let started = time::OffsetDateTime::now_utc();
    let t0 = Instant::now();
    let out = suite.run(ctx)?;
    let elapsed = t0.elapsed();
    Ok(report::Report::new(
        suite.name(),
        suite.description(),
        started,
        elapsed,
        ctx,
        out,
    ))
}
