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
}

/// A line chart: one or more series over a shared x axis.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
        Box::new(suites::validate::ValidatePricing),
        Box::new(suites::validate::ValidateRfq),
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
