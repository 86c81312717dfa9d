//! `deskmate eval`.

use assistant::config::LoadedConfig;
use clap::Args;
use evals::EvalContext;
use std::path::PathBuf;

/// `deskmate eval SUITE` (`deskmate eval validate CHAIN` runs the validation suite
/// `validate-CHAIN`).
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The suite to run (`--list` describes them), or `validate` followed by a chain.
    #[arg(required_unless_present = "list", value_parser = suite_names())]
    pub suite: Option<String>,
    /// With `validate`: the chain.
    #[arg(value_enum)]
    pub chain: Option<super::choice::Chain>,
    /// Data directory for the suite (default: the shared data set).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where to write report.json and report.html (default: eval-reports/SUITE).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// List the suites.
    #[arg(long)]
    pub list: bool,
    /// Print JSON instead of the summary: the report (as report.json holds it) with where it
    /// was written and recorded; with `--list`, the suites.
    #[arg(long)]
    pub json: bool,
}

/// The names `deskmate eval` accepts: every suite, `validate` (followed by a chain) and
/// the bias audit over the blotter.
fn suite_names() -> clap::builder::PossibleValuesParser {
    let mut names: Vec<clap::builder::PossibleValue> = evals::suites()
        .iter()
        .map(|s| clap::builder::PossibleValue::new(s.name()))
        .collect();
    names.push(clap::builder::PossibleValue::new("validate"));
    names.push(clap::builder::PossibleValue::new(BIAS_HISTORY));
    clap::builder::PossibleValuesParser::new(names)
}

/// Runs a suite; fails (exit status 1) if the suite fails its thresholds. The report is
/// recorded in the data dir's audit log by its SHA-256 (`eval.report`) when the data dir can be
/// opened.
pub fn run(args: EvalArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    if args.list && args.json {
        let suites: Vec<serde_json::Value> = evals::suites()
            .iter()
            .map(|s| serde_json::json!({"name": s.name(), "description": s.description()}))
            .collect();
        super::print_json(&suites);
        return Ok(());
    }
    if args.list {
        for s in evals::suites() {
            println!("{:16} {}", s.name(), s.description());
        }
        return Ok(());
    }
    let suite = match (args.suite.expect("clap requires it"), args.chain) {
        (s, Some(chain)) if s == "validate" => chain.suite(),
        (s, None) if s == "validate" => {
            anyhow::bail!(
                "name the chain to validate: `deskmate eval validate pricing|rfq|rfq-model|extraction|answers`"
            )
        }
        (s, Some(_)) => {
            anyhow::bail!("a chain follows `validate` only, not the suite {s:?}")
        }
        (s, None) => s,
    };
    if suite == BIAS_HISTORY {
        // On the data dir's own blotter (the server runs it nightly).
        let a = super::open(&loaded)?;
        let out = args
            .out
            .unwrap_or_else(|| PathBuf::from("eval-reports").join(BIAS_HISTORY));
        let bar = super::progress::Bar::spinner(BIAS_HISTORY);
        let done = bias_history(&a, &out);
        drop(bar);
        let (report, sha) = done?;
        if args.json {
            super::print_json(&serde_json::json!({
                "report": report,
                "out": out,
                "sha256": sha,
            }));
            return passed(&report);
        }
        for m in &report.metrics {
            println!("{:28} {:>14} {:10}", m.name, m.value, m.unit);
        }
        println!(
            "{}: {} ({} comparisons) in {} ms; reports in {}; recorded in the audit log (report.json sha256 {sha})",
            report.suite,
            if report.passed { "PASS" } else { "FAIL" },
            report.cases.len(),
            report.duration_ms,
            out.display()
        );
        return passed(&report);
    }
    // The data dir's deployment: its models for the suites that validate a chain as it serves,
    // and its audit log for the record.
    let opened = super::open(&loaded);
    let ctx = EvalContext {
        data: args.data,
        ..match &opened {
            Ok(a) => evals::context_for(a, &suite),
            Err(_) => EvalContext::default(),
        }
    };
    // A spinner with the elapsed time; a bar over the cases where the suite reports them.
    let bar = super::progress::Bar::spinner(&suite);
    let ctx = EvalContext {
        on_progress: evals::OnProgress::new(bar.hook()),
        ..ctx
    };
    let report = evals::run_suite(&suite, &ctx);
    drop(bar);
    let report = report?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("eval-reports").join(&suite));
    let (json, html) = evals::report::write(&report, &out)?;
    let sha = evals::report::json_sha256(&report);
    let recorded = opened.and_then(|a| {
        evals::record(&a, &assistant::store::Actor::system(), &report, &sha)
            .map_err(anyhow::Error::from)
    });
    if let Err(e) = &recorded {
        eprintln!("warning: the report was not recorded in the audit log: {e}");
    }
    if args.json {
        super::print_json(&serde_json::json!({
            "report": report,
            "files": {"json": json, "html": html},
            "sha256": sha,
            "audit_seq": recorded.ok(),
        }));
        return passed(&report);
    }
    for m in &report.metrics {
        let verdict = match m.passed {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "",
        };
        println!("{:28} {:>14} {:10} {verdict}", m.name, m.value, m.unit);
    }
    let failed = report.cases.iter().filter(|c| !c.passed).count();
    println!(
        "{}: {} ({} cases, {failed} failed) in {} ms",
        report.suite,
        if report.passed { "PASS" } else { "FAIL" },
        report.cases.len(),
        report.duration_ms
    );
    println!("reports: {} {}", json.display(), html.display());
    if let Ok(seq) = recorded {
        println!("recorded in the audit log as entry {seq} (report.json sha256 {sha})");
    }
    passed(&report)
}

/// Fails (exit status 1) when the suite failed its thresholds.
fn passed(report: &evals::report::Report) -> anyhow::Result<()> {
    if report.passed {
        Ok(())
    } else {
        anyhow::bail!("{} failed its thresholds", report.suite)
    }
}

/// The bias audit over the production blotter (`deskmate eval bias-history`, and nightly in the
/// server).
pub const BIAS_HISTORY: &str = "bias-history";

/// How far back the bias audit over the blotter looks, in days.
pub const BIAS_HISTORY_DAYS: u32 = 30;

/// Runs the bias audit over `a`'s blotter of the last [`BIAS_HISTORY_DAYS`] days, writes
/// report.json and report.html to `out` and records the report in the audit log
/// (`eval.report`). Returns the report and its SHA-256.
pub fn bias_history(
    a: &assistant::Assistant,
    out: &std::path::Path,
) -> anyhow::Result<(evals::report::Report, String)> {
    let started = time::OffsetDateTime::now_utc();
    let t0 = std::time::Instant::now();
    let output =
        evals::suites::bias::history(a, BIAS_HISTORY_DAYS, evals::suites::bias::HISTORY_MIN_GROUP)?;
    let report = evals::report::Report::new(
        BIAS_HISTORY,
        "Bias audit over the production blotter: quote and rejection rates by client region, industry and size with the four-fifths ratio and a two-proportion z-test",
        started,
        t0.elapsed(),
        &EvalContext::default(),
        output,
    );
    evals::report::write(&report, out)?;
    let sha = evals::report::json_sha256(&report);
    a.record_evaluation(
        &assistant::store::Actor::system(),
        &report.suite,
        report.passed,
        &sha,
        serde_json::to_value(&report.metrics)?,
    )?;
    Ok((report, sha))
}
