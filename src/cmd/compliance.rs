//! `deskmate compare` and `deskmate compliance …`: trade reporting across regimes from the
//! command line (the same workflow as `/v1/compliance/…`, run as the local operator).

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::Context;
use assistant::reporting::{CompareRequest, TradeInput};
use clap::{Args, Subcommand, ValueEnum};

use super::{LoadedConfig, open, print_json};

/// Output of `deskmate compare`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompareFormat {
    /// The comparison as JSON (columns, rows with provisions, differences, missing, summary).
    Json,
    /// The summary of the differences that matter, as sentences.
    Text,
    /// The matrix as CSV.
    Csv,
    /// A workbook: matrix, differences, missing facts, deadlines, each regime's report.
    Xlsx,
}

/// `deskmate compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The trade: a CDM ReportableEvent or TradeState (JSON), or an FpML message (XML).
    #[arg(long)]
    pub trade: PathBuf,
    /// Reporting facts (JSON: reporting_party_lei, counterparty_lei, reporting_party_regimes,
    /// counterparty_regimes, cleared, ccp_lei, execution_timestamp, …).
    #[arg(long)]
    pub facts: Option<PathBuf>,
    /// Regimes to compare (comma-separated ids, or `all`); default: those that apply.
    #[arg(long, value_delimiter = ',')]
    pub regimes: Vec<String>,
    /// The reporting timestamp (ISO 8601 UTC); default: now.
    #[arg(long)]
    pub timestamp: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CompareFormat,
    /// Write to this file instead of standard output (required for xlsx).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Chinese sentences for `--format text` (the default under a Chinese locale).
    #[arg(long)]
    pub zh: bool,
}

/// `deskmate compliance …`.
#[derive(Debug, Subcommand)]
pub enum ComplianceCmd {
    /// Validate a report the firm already has (JSON or CSV) against a regime and the trade.
    Validate {
        /// The trade (CDM JSON or FpML XML).
        #[arg(long)]
        trade: PathBuf,
        /// Reporting facts (JSON), as for `deskmate compare`.
        #[arg(long)]
        facts: Option<PathBuf>,
        /// The regime id (`esma-emir-trade`, `cftc-part45`, …).
        #[arg(long)]
        regime: String,
        /// The report (JSON, or CSV with a field,value header or one header row).
        #[arg(long)]
        report: PathBuf,
        /// Print the validation as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The catalogue's versions, newest first (a table; `--json` for machines).
    Versions {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load a full new catalogue (a DRR release's provisions and the JR/T elements).
    Load {
        /// The DRR field provisions (JSON lines).
        #[arg(long)]
        provisions: PathBuf,
        /// The JR/T 0294.3 elements (JSON).
        #[arg(long)]
        jrt: PathBuf,
        /// Why (kept with the version and in the audit log).
        #[arg(long)]
        note: String,
        /// Print the new version as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add the firm's own provisions (JSON lines: id, regime, field, text, number, name,
    /// reference) as the next catalogue version.
    Add {
        /// The provisions file.
        #[arg(long)]
        provisions: PathBuf,
        /// Why (kept with the version and in the audit log).
        #[arg(long)]
        note: String,
        /// Print the new version as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put the rule corpus (the catalogue's provisions, JR/T 0294.3) into the knowledge base.
    Ingest {
        /// Print `{"documents", "collections"}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ask a rule question: a cited answer from the provisions, the guidelines and the laws.
    Ask {
        /// The question (Chinese questions get Chinese answers).
        question: String,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn read_trade(path: &PathBuf) -> anyhow::Result<TradeInput> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    if text.trim_start().starts_with('<') {
        return Ok(TradeInput::Fpml(text));
    }
    let v = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not JSON (a CDM document) nor XML (FpML)",
            path.display()
        )
    })?;
    Ok(TradeInput::Cdm(v))
}

fn read_facts(path: Option<&PathBuf>) -> anyhow::Result<Option<compliance::cdm::GivenFacts>> {
    path.map(|p| {
        let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: reporting facts", p.display()))
    })
    .transpose()
}

/// `deskmate compare`.
pub fn compare(args: CompareArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    let actor = super::admin::operator();
    let req = CompareRequest {
        trade: read_trade(&args.trade)?,
        facts: read_facts(args.facts.as_ref())?,
        regimes: args.regimes,
        reporting_timestamp: args.timestamp,
    };
    let cmp = a.compliance_compare(&actor, &req)?;
    let bytes: Vec<u8> = match args.format {
        CompareFormat::Json => serde_json::to_vec_pretty(&cmp)?,
        CompareFormat::Csv => compliance::export::csv(&cmp).into_bytes(),
        CompareFormat::Xlsx => {
            anyhow::ensure!(
                args.out.is_some(),
                "--format xlsx writes a file: give --out FILE.xlsx"
            );
            compliance::export::xlsx(&cmp, a.compliance_catalogue()?.as_ref())?
        }
        CompareFormat::Text => {
            let zh = args.zh || super::ui::Lang::from_env() == super::ui::Lang::Zh;
            let mut s = String::new();
            for c in &cmp.columns {
                let name = if zh { c.name_zh } else { c.name };
                let rule = if zh {
                    c.deadline.rule_zh
                } else {
                    c.deadline.rule
                };
                s.push_str(&format!(
                    "{name} [{}] — {}: {rule} ({})\n",
                    c.id, c.deadline.short, c.deadline.source
                ));
            }
            s.push('\n');
            for line in if zh { &cmp.summary_zh } else { &cmp.summary } {
                s.push_str(&format!("- {line}\n"));
            }
            s.into_bytes()
        }
    };
    match &args.out {
        Some(p) => std::fs::write(p, &bytes).with_context(|| format!("{}", p.display()))?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

/// `deskmate compliance …`.
pub fn run(cmd: ComplianceCmd, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    let actor = super::admin::operator();
    match cmd {
        ComplianceCmd::Validate {
            trade,
            facts,
            regime,
            report,
            json,
        } => {
            let req = CompareRequest {
                trade: read_trade(&trade)?,
                facts: read_facts(facts.as_ref())?,
                regimes: Vec::new(),
                reporting_timestamp: None,
            };
            let bytes = std::fs::read(&report).with_context(|| format!("{}", report.display()))?;
            let v = a.compliance_validate(&actor, &req, &regime, &bytes)?;
            if json {
                print_json(&v);
                return Ok(());
            }
            for f in &v.findings {
                println!(
                    "{:?} {} [{}]: {} {}",
                    f.severity,
                    f.field,
                    f.code,
                    f.message,
                    f.provisions.join(" ")
                );
            }
            if v.findings.is_empty() {
                println!("{} fields checked: no findings", v.fields);
            }
        }
        ComplianceCmd::Versions { json } => {
            let versions = a.compliance_versions()?;
            if json {
                print_json(&versions);
            } else {
                let ui = super::ui::Ui::from_env();
                let rows: Vec<Vec<String>> = versions
                    .iter()
                    .map(|v| {
                        vec![
                            v.version.clone(),
                            v.origin.clone(),
                            v.provisions.to_string(),
                            v.firm_provisions.to_string(),
                            v.loaded_at
                                .get(..19)
                                .unwrap_or(&v.loaded_at)
                                .replace('T', " "),
                            v.loaded_by.clone(),
                            v.note.clone(),
                        ]
                    })
                    .collect();
                ui.table(
                    &[
                        ui.t("VERSION", "版本"),
                        ui.t("ORIGIN", "来源"),
                        ui.t("PROVISIONS", "条款数"),
                        ui.t("FIRM'S", "本公司条款"),
                        ui.t("LOADED (UTC)", "载入时间（UTC）"),
                        ui.t("BY", "操作人"),
                        ui.t("NOTE", "说明"),
                    ],
                    &rows,
                );
            }
        }
        ComplianceCmd::Load {
            provisions,
            jrt,
            note,
            json,
        } => {
            let p = std::fs::read_to_string(&provisions)
                .with_context(|| format!("{}", provisions.display()))?;
            let j = std::fs::read_to_string(&jrt).with_context(|| format!("{}", jrt.display()))?;
            let v = a.compliance_load(
                &actor,
                &p,
                &j,
                &format!("file:{}", provisions.display()),
                &note,
            )?;
            print_version(&v, json);
        }
        ComplianceCmd::Add {
            provisions,
            note,
            json,
        } => {
            let p = std::fs::read_to_string(&provisions)
                .with_context(|| format!("{}", provisions.display()))?;
            let v = a.compliance_add(&actor, &p, &note)?;
            print_version(&v, json);
        }
        ComplianceCmd::Ingest { json } => {
            let k = super::knowledge::open_knowledge(&a, "deskmate compliance ingest")?;
            let n = a.compliance_ingest_corpus(&k, &actor)?;
            if json {
                print_json(&serde_json::json!({
                    "documents": n,
                    "collections": [
                        assistant::reporting::DRR_COLLECTION,
                        assistant::reporting::JRT_COLLECTION
                    ],
                }));
                return Ok(());
            }
            println!(
                "{n} rule documents in the knowledge base ({} and {})",
                assistant::reporting::DRR_COLLECTION,
                assistant::reporting::JRT_COLLECTION
            );
        }
        ComplianceCmd::Ask { question, json } => {
            let k = super::knowledge::open_knowledge(&a, "deskmate compliance ask")?;
            let mut out = std::io::stdout();
            let r = a.compliance_ask(&k, &actor, &question, &mut |d| {
                if !json {
                    let _ = out.write_all(d.as_bytes());
                    let _ = out.flush();
                }
                ControlFlow::Continue(())
            })?;
            if json {
                print_json(&r);
            } else {
                println!();
                for (n, id) in &r.provisions {
                    println!("[{n}] {id}");
                }
            }
        }
    }
    Ok(())
}

/// A new catalogue version in one line (`--json`: the version).
fn print_version(v: &assistant::reporting::CatalogueVersion, json: bool) {
    if json {
        print_json(v);
        return;
    }
    let ui = super::ui::Ui::from_env();
    println!(
        "{}",
        ui.t(
            &format!(
                "rule catalogue {}: {} provisions ({} the firm's own), from {}",
                v.version, v.provisions, v.firm_provisions, v.origin
            ),
            &format!(
                "规则目录 {}：{} 条条款（其中本公司 {} 条），来源 {}",
                v.version, v.provisions, v.firm_provisions, v.origin
            )
        )
    );
}
