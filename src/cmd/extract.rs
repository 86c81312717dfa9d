//! `deskmate extract FILE… [--cdm OUT] [--key-terms] [--json] [--submit]`: confirmations to key
//! terms and CDM, from the command line.
//!
//! By default (and with `--key-terms`) it prints, for each file in order, the key-terms object of
//! `shared/schemas/key-terms.md` as one compact JSON line (`{}` for a file with none): this exact
//! output is what evaluation compares. `--json` prints the full results instead (status, every
//! value with its evidence, conflicts, problems, notices, CDM report), as a JSON array.
//! `--cdm OUT` writes the CDM TradeState (and, when there is one, the extension object beside it
//! as `….extension.json`): to OUT for one file, into the directory OUT as `<file>.cdm.json` for
//! several. Statuses and problems go to standard error. `--submit` also records the results in
//! the data dir as an extraction job with one approval request per file for role ops.
//!
//! A TradeState mapped from FpML that lacks properties CDM requires and the message does not
//! give (an option's `exerciseProcedure.followUpConfirmation`) is written all the same,
//! incomplete, never with invented values; beside it, `….missing.json` lists what it lacks:
//! `{"schema": "deskmate.cdm-missing/1", "cdm_version", "file", "complete": false,
//! "missing_required": [{"pointer", "property", "in_source": "yes"|"no"|"not_known",
//! "source_element"}]}` (the same list is `cdm_report.missing_required` in `--json`). The values
//! are supplied in the ops review (`--submit`), whose export validates the whole document. A
//! `….missing.json` left by an earlier run is removed when the document comes out whole.
//!
//! The CDM document is built (and its schema compiled, a few seconds) only with `--cdm` or
//! `--json`.
//!
//! Exit status (the binary's table, `deskmate --help`): 0 when every file was read (whatever its
//! key terms) and every CDM document written is whole; 1 when no file could be read (or `--cdm`
//! could write a document for none of them); 6 (partial) when some files failed and others did
//! not, or when every document was written but at least one is incomplete (required CDM
//! properties missing; see its `….missing.json`).

use super::admin::operator;
use super::open;
use anyhow::Context;
use assistant::config::LoadedConfig;
use assistant::extraction_review::Upload;
use clap::Args;
use extraction::{Extractor, FileResult, FileStatus};
use std::path::{Path, PathBuf};

/// Arguments of `deskmate extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The files (PDF, scanned PDF, PNG/JPEG/TIFF, DOCX, HTML, text, FpML XML).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write the CDM TradeState here (a directory when several files are given).
    #[arg(long)]
    pub cdm: Option<PathBuf>,
    /// Print the key-terms object per file, one compact JSON line each (the default unless
    /// standard output is a terminal, which gets a table of the terms with their evidence).
    #[arg(long, conflicts_with = "json")]
    pub key_terms: bool,
    /// Print the full results (evidence, conflicts, problems, CDM report) as a JSON array.
    #[arg(long)]
    pub json: bool,
    /// Also record the results in the data dir as an extraction job with approval requests.
    #[arg(long)]
    pub submit: bool,
    /// The model asked for terms the rules do not find (overrides extract.model; "" = none). By
    /// default the extraction chain's approved model serves, as model risk allows; another model
    /// is a trial run, refused with --submit.
    #[arg(long)]
    pub model: Option<String>,
}

/// The model of the model step, as model risk allows (issue #21): the extraction chain's gate
/// (`assistant::model_risk::EXTRACTION_CHAIN`) decides, as for uploads in the server: its
/// approved version's model while the chain is in mode `model`, else rules and OCR only (said
/// on standard error). `--model` naming another model is a trial: allowed for printed results,
/// refused with `--submit` (submitted results are production data). `None`: rules only.
fn extraction_model(args: &ExtractArgs, loaded: &LoadedConfig) -> anyhow::Result<Option<String>> {
    let explicit = args
        .model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let wanted = match args.model.as_deref() {
        Some(m) => m.trim().to_owned(),
        None => loaded.config.extract.model.trim().to_owned(),
    };
    if wanted.is_empty() {
        return Ok(None);
    }
    let gate =
        open(loaded).and_then(|a| Ok(a.chain_gate(assistant::model_risk::EXTRACTION_CHAIN)?));
    let chain = assistant::model_risk::EXTRACTION_CHAIN;
    match (gate, explicit) {
        (Ok(g), _) if g.serves_model && explicit.is_none_or(|m| g.model.as_deref() == Some(m)) => {
            Ok(g.model)
        }
        (Ok(g), Some(m)) if args.submit => anyhow::bail!(
            "--model {m:?} with --submit: submitted results are production data, and the {chain} chain serves only its approved version ({}); leave out --model, or get {m:?} approved on the model-risk dashboard",
            if g.serves_model {
                g.model.unwrap_or_default()
            } else {
                format!("none now: {}", g.reason)
            }
        ),
        (_, Some(m)) => {
            eprintln!(
                "notice: {m:?} is not the approved model of the {chain} chain: a trial run, results not for production"
            );
            Ok(Some(m.to_owned()))
        }
        (Ok(g), None) => {
            eprintln!(
                "notice: the {chain} chain's model does not serve ({}): rules and OCR only",
                g.reason
            );
            Ok(None)
        }
        (Err(e), None) => {
            eprintln!(
                "notice: cannot read the model inventory ({e}): the model {wanted:?} is not known to be approved; rules and OCR only"
            );
            Ok(None)
        }
    }
}

/// Runs `deskmate extract`.
pub fn run(args: ExtractArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let config = &loaded.config;
    let mut settings = config.extract.settings();
    if args.cdm.is_some() && !config.extract.cdm {
        return Err(crate::Exit::error(
            crate::Status::Config,
            "--cdm needs extract.cdm = true (DESKMATE_EXTRACT_CDM)",
        ));
    }
    // Compiling the CDM validator takes seconds: only when a CDM document is shown or written.
    settings.cdm = config.extract.cdm && (args.cdm.is_some() || args.json);
    let extractor = Extractor::new(settings);
    if args.cdm.is_some() {
        // Fail early and clearly when validation is asked for and the schemas are missing.
        extractor.schemas()?;
    }
    if let Some(name) = extraction_model(&args, &loaded)? {
        if config.models.threads > 0 {
            models::runtime::set_threads(config.models.threads as usize);
        }
        let models = models::Models::new(
            models::store::ModelStore::new(config.models_dir()),
            models::GeneratorOptions::default(),
        );
        match models.generator(&name) {
            Ok(g) => extractor.set_model(g),
            Err(e) => eprintln!(
                "warning: model {name:?} is not available ({e}); extracting with rules only"
            ),
        }
    }
    let several = args.files.len() > 1;
    if let (Some(out), true) = (&args.cdm, several) {
        std::fs::create_dir_all(out)
            .with_context(|| format!("creating the CDM output directory {}", out.display()))?;
    }
    // Files that could not be read, or whose CDM document could not be written.
    let mut failed = 0usize;
    // A TradeState written incomplete (a partial outcome).
    let mut partial = false;
    let mut results: Vec<FileResult> = Vec::new();
    // Drawn while a file is read; hidden while its results are printed.
    let bar = super::progress::Bar::new(args.files.len() as u64, "files");
    for path in &args.files {
        bar.message(path.display().to_string());
        let r = extractor.extract_path(path);
        bar.inc();
        bar.suspend(|| -> anyhow::Result<()> {
            report(&r);
            let mut file_failed = !matches!(
                r.status,
                FileStatus::Extracted | FileStatus::NeedsReview | FileStatus::NotAConfirmation
            );
            if let Some(out) = &args.cdm
                && r.status.has_terms()
            {
                let target = if several {
                    out.join(format!("{}.cdm.json", file_stem(path)))
                } else {
                    out.clone()
                };
                match &r.cdm {
                    Some(doc) => {
                        write_json(&target, doc)?;
                        if let Some(ext) = &r.extension {
                            write_json(&extension_path(&target), ext)?;
                        }
                        let missing_path = beside(&target, "missing");
                        if r.cdm_report.missing_required.is_empty() {
                            if missing_path.is_file() {
                                std::fs::remove_file(&missing_path).with_context(|| {
                                    format!("removing the stale {}", missing_path.display())
                                })?;
                            }
                        } else {
                            partial = true;
                            write_json(
                                &missing_path,
                                &serde_json::json!({
                                    "schema": "deskmate.cdm-missing/1",
                                    "cdm_version": extraction::cdm::CDM_VERSION,
                                    "file": r.name,
                                    "complete": false,
                                    "missing_required": r.cdm_report.missing_required,
                                }),
                            )?;
                            eprintln!(
                                "{}: CDM TradeState written incomplete: {} required propert{} missing \
                                 (listed in {}; supply them in the ops review)",
                                r.name,
                                r.cdm_report.missing_required.len(),
                                if r.cdm_report.missing_required.len() == 1 {
                                    "y"
                                } else {
                                    "ies"
                                },
                                missing_path.display()
                            );
                        }
                    }
                    None => {
                        file_failed = true;
                        eprintln!(
                            "{}: no CDM document: {}",
                            r.name,
                            r.cdm_report.error.as_deref().unwrap_or("not built")
                        );
                    }
                }
            }
            if args.json {
            } else if !args.key_terms && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                // A person at a terminal: every term with where it was read (a pipe or a file gets
                // the key-terms JSON line, as with --key-terms).
                print_terms(&super::ui::Ui::from_env(), &r);
            } else {
                println!("{}", serde_json::to_string(&r.key_terms)?);
            }
            failed += usize::from(file_failed);
            results.push(r);
            Ok(())
        })?;
    }
    drop(bar);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    if args.submit {
        let a = open(&loaded)?;
        let actor = operator();
        let mut uploads = Vec::new();
        for path in &args.files {
            if let Ok(bytes) = std::fs::read(path) {
                uploads.push(Upload {
                    name: path.display().to_string(),
                    bytes,
                });
            }
        }
        let job = a.extraction_submit(&actor, uploads)?;
        a.extraction_run(&job.id)?;
        let view = a.extraction(&actor, &job.id)?;
        for f in &view.files {
            eprintln!(
                "submitted {}: {} (approval {})",
                f.name,
                f.status,
                f.approval_id.as_deref().unwrap_or("none")
            );
        }
        eprintln!("extraction job {}", job.id);
    }
    let total = args.files.len();
    if failed == total {
        anyhow::bail!(
            "{}",
            if total == 1 {
                "the file failed".to_string()
            } else {
                format!("all {total} files failed")
            }
        );
    }
    if failed > 0 {
        return Err(crate::Exit::error(
            crate::Status::Partial,
            format!("{failed} of {total} files failed"),
        ));
    }
    if partial {
        return Err(crate::Exit::error(
            crate::Status::Partial,
            "CDM documents written incomplete (see the `.missing.json` files)",
        ));
    }
    Ok(())
}

fn report(r: &FileResult) {
    let product = r.product_type.as_deref().unwrap_or("-");
    eprintln!(
        "{}: {} ({product}, {} page(s), {} OCR, {:.0} ms)",
        r.name,
        r.status.as_str(),
        r.pages,
        r.ocr_pages,
        r.timings.total_ms
    );
    if let Some(e) = &r.error {
        eprintln!("  {e}");
    }
    for c in &r.conflicts {
        let values: Vec<String> = c.values.iter().map(|v| v.value.to_string()).collect();
        eprintln!("  conflict {}: {}", c.field, values.join(" vs "));
    }
    for p in &r.problems {
        eprintln!("  problem ({}): {}", p.kind, p.message);
    }
}

fn file_stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "document".into())
}

fn extension_path(target: &Path) -> PathBuf {
    beside(target, "extension")
}

/// `<stem>.<what>.json` beside the CDM document `target` (`trade.cdm.json` → `trade.missing.json`).
fn beside(target: &Path, what: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".cdm.json")
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(&name);
    target.with_file_name(format!("{stem}.{what}.json"))
}

fn write_json(path: &Path, v: &serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(v)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// The terms of one file as a table: field, value, page, method and the text it was read from.
fn print_terms(ui: &super::ui::Ui, r: &FileResult) {
    let rows: Vec<Vec<String>> = r
        .fields
        .iter()
        .map(|f| {
            let value = match &f.value {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            let e = f.evidence.first();
            let snippet: String = e
                .map(|e| e.snippet.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            let snippet = if snippet.chars().count() > 60 {
                format!("{}…", snippet.chars().take(59).collect::<String>())
            } else {
                snippet
            };
            vec![
                f.field.clone(),
                value,
                e.map_or("-".into(), |e| e.page.to_string()),
                e.map_or("-".into(), |e| {
                    serde_json::to_value(e.method)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                }),
                snippet,
            ]
        })
        .collect();
    ui.table(
        &[
            ui.t("FIELD", "字段"),
            ui.t("VALUE", "值"),
            ui.t("PAGE", "页"),
            ui.t("BY", "方式"),
            ui.t("READ FROM", "原文"),
        ],
        &rows,
    );
    println!(
        "{}",
        ui.dim(ui.t(
            "(--key-terms: the key-terms JSON line; --json: everything, with evidence boxes)",
            "（--key-terms：要素 JSON 行；--json：全部结果，含证据位置）"
        ))
    );
}
