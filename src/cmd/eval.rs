//! `deskmate eval`.

use assistant::config::LoadedConfig;
use clap::Args;
use evals::EvalContext;
use std::path::PathBuf;
use std::process::ExitCode;

/// `deskmate eval SUITE` (`deskmate eval validate CHAIN` runs the validation suite
/// `validate-CHAIN`).
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The suite to run (`--list` shows them), or `validate` followed by a chain.
    #[arg(required_unless_present = "list")]
    pub suite: Option<String>,
    /// With `validate`: the chain (`pricing`, `rfq`, `rfq-model`, `extraction`, `answers`).
    pub chain: Option<String>,
    /// Data directory for the suite (default: the shared data set).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where to write report.json and report.html (default: eval-reports/SUITE).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// List the suites.
    #[arg(long)]
    pub list: bool,
}

/// Runs a suite; exits 1 if it fails its thresholds. The report is recorded in the data dir's
/// audit log by its SHA-256 (`eval.report`) when the data dir can be opened.
pub fn run(args: EvalArgs, loaded: LoadedConfig) -> anyhow::Result<ExitCode> {
    if args.list {
        for s in evals::suites() {
            println!("{:16} {}", s.name(), s.description());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let suite = match (args.suite.expect("clap requires it"), args.chain) {
        (s, Some(chain)) if s == "validate" => format!("validate-{chain}"),
        (s, None) if s == "validate" => {
            anyhow::bail!(
                "name the chain to validate: `deskmate eval validate pricing|rfq|rfq-model|extraction|answers`"
            )
        }
        (s, Some(extra)) => anyhow::bail!("unexpected argument {extra:?} after suite {s:?}"),
        (s, None) => s,
    };
    if suite == BIAS_HISTORY {
        // On the data dir's own blotter (the server runs it nightly).
        let a = super::open(&loaded)?;
        let out = args
            .out
            .unwrap_or_else(|| PathBuf::from("eval-reports").join(BIAS_HISTORY));
        let (report, sha) = bias_history(&a, &out)?;
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
        return Ok(if report.passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
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
    let report = evals::run_suite(&suite, &ctx)?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("eval-reports").join(&suite));
    let (json, html) = evals::report::write(&report, &out)?;
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
    let sha = evals::report::json_sha256(&report);
    match opened.and_then(|a| {
        evals::record(&a, &assistant::store::Actor::system(), &report, &sha)
            .map_err(anyhow::Error::from)
    }) {
        Ok(seq) => println!("recorded in the audit log as entry {seq} (report.json sha256 {sha})"),
        Err(e) => eprintln!("warning: the report was not recorded in the audit log: {e}"),
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
