//! `deskmate proofread FILE [--trade T] [--template ID|FILE.md] [--language en|zh]
//! [--holiday YYYY-MM-DD]… [--output text|json]`: the proofreader (`drafting::proofread`) on a
//! confirmation or agreement (text, Markdown, PDF — OCR'd where it has no text layer — or
//! DOCX).
//!
//! With `--trade` the document's terms are checked against the trade (read by the extraction
//! pipeline, as an upload is) and the template is chosen by the trade's product type unless
//! `--template` names one; with neither, only the document's own consistency and style are
//! checked. Each finding is printed with its severity, kind, section, clause and the text at
//! fault; `--output json` prints the whole report (findings with byte spans, the sections read
//! and the key terms read).

use super::draft::{LanguageArg, pick_template, read_trade};
use anyhow::Context;
use clap::{Args, ValueEnum};
use drafting::Language;
use drafting::proofread::{Request, Severity, proofread};
use std::path::PathBuf;

/// What `deskmate proofread` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    /// One line per finding.
    Text,
    /// The report as JSON.
    Json,
}

/// Arguments of `deskmate proofread`.
#[derive(Debug, Args)]
pub struct ProofreadArgs {
    /// The document: text, Markdown, PDF or DOCX.
    pub file: PathBuf,
    /// The trade it confirms: key-terms JSON, `{"key_terms", "cdm"}` JSON, or an FpML file.
    #[arg(long)]
    pub trade: Option<PathBuf>,
    /// A demo-library template id or a template file; chosen by the trade's product type and
    /// the document's language when absent (and a trade is given).
    #[arg(long)]
    pub template: Option<String>,
    /// The document's language (messages are written in it); detected when absent.
    #[arg(long, value_enum)]
    pub language: Option<LanguageArg>,
    /// A closure besides weekends for the business-day check; repeatable.
    #[arg(long = "holiday", value_name = "YYYY-MM-DD")]
    pub holidays: Vec<String>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Runs `deskmate proofread`.
pub fn run(args: ProofreadArgs) -> anyhow::Result<()> {
    for h in &args.holidays {
        kernels::dates::Date::parse(h)
            .with_context(|| format!("--holiday {h}: expected a date as YYYY-MM-DD"))?;
    }
    let doc =
        connectors::document::extract_text(&args.file, &connectors::document::Limits::default())
            .with_context(|| format!("reading {}", args.file.display()))?;
    let text = doc.text();
    let language = match args.language {
        Some(LanguageArg::En) => Language::En,
        Some(LanguageArg::Zh) => Language::Zh,
        None if cjk::is_mostly_chinese(&text) => Language::Zh,
        None => Language::En,
    };
    let trade = args.trade.as_deref().map(read_trade).transpose()?;
    let template = if args.template.is_some() || trade.is_some() {
        Some(pick_template(
            args.template.as_deref(),
            trade.as_ref(),
            language,
        )?)
    } else {
        None
    };
    let report = proofread(&Request {
        text: &text,
        language,
        template: template.as_ref(),
        trade: trade.as_ref(),
        holidays: &args.holidays,
    });
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => {
            let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
            println!(
                "{}: {} finding(s) — {} error(s), {} warning(s), {} info{}",
                args.file.display(),
                report.findings.len(),
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info),
                template
                    .as_ref()
                    .map(|t| format!("; template {}", t.id))
                    .unwrap_or_default()
            );
            for f in &report.findings {
                println!(
                    "{:<7} {:<16} {} [{}] {}: {}{}",
                    format!("{:?}", f.severity).to_lowercase(),
                    serde_json::to_value(f.kind)?.as_str().unwrap_or_default(),
                    f.section,
                    f.clause.as_deref().unwrap_or("-"),
                    f.message,
                    f.evidence.lines().next().unwrap_or_default(),
                    f.suggestion
                        .as_ref()
                        .filter(|s| !s.is_empty() && s.len() < 120)
                        .map(|s| format!(" → {s}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

/// Arguments of `deskmate negotiate`.
#[derive(Debug, Args)]
pub struct NegotiateArgs {
    /// Our draft (text, Markdown, PDF or DOCX).
    pub ours: PathBuf,
    /// The counterparty's marked-up copy (text, PDF — OCR'd where scanned — or DOCX, whose
    /// tracked changes read as accepted).
    pub theirs: PathBuf,
    /// The trade the draft confirms.
    #[arg(long)]
    pub trade: PathBuf,
    /// A demo-library template id or a template file; chosen by the trade's product type and
    /// the draft's language when absent.
    #[arg(long)]
    pub template: Option<String>,
    /// Print the changes as JSON instead of the issues list.
    #[arg(long)]
    pub json: bool,
}

fn read_text(path: &std::path::Path) -> anyhow::Result<String> {
    Ok(
        connectors::document::extract_text(path, &connectors::document::Limits::default())
            .with_context(|| format!("reading {}", path.display()))?
            .text(),
    )
}

/// Runs `deskmate negotiate`: the issues list with talking points (Markdown), or the changes.
pub fn negotiate(args: NegotiateArgs) -> anyhow::Result<()> {
    let ours = read_text(&args.ours)?;
    let theirs = read_text(&args.theirs)?;
    let language = if cjk::is_mostly_chinese(&ours) {
        Language::Zh
    } else {
        Language::En
    };
    let trade = read_trade(&args.trade)?;
    let template = pick_template(args.template.as_deref(), Some(&trade), language)?;
    let n = drafting::negotiate::compare(&ours, &theirs, language, &template, &trade)
        .with_context(|| format!("{} against {}", args.theirs.display(), args.ours.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&n)?);
    } else {
        print!("{}", n.issues_list(&template.title, language));
    }
    Ok(())
}
