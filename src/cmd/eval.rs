//! `deskmate eval`.

use assistant::config::LoadedConfig;
use clap::Args;
use evals::EvalContext;
use std::path::PathBuf;
use std::process::ExitCode;

/// `deskmate eval SUITE`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The suite to run (`--list` shows them).
    #[arg(required_unless_present = "list")]
    pub suite: Option<String>,
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

/// Runs a suite; exits 1 if it fails its thresholds.
pub fn run(args: EvalArgs, _loaded: LoadedConfig) -> anyhow::Result<ExitCode> {
    if args.list {
        for s in evals::suites() {
            println!("{:16} {}", s.name(), s.description());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let suite = args.suite.expect("clap requires it");
    let ctx = EvalContext {
        data: args.data,
        model_ids: Vec::new(),
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
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
