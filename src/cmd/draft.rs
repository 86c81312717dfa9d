//! `deskmate draft --trade FILE [--template ID|FILE.md] [--language en|zh] [--set LEAF=VALUE]…
//! [--output text|markdown|json]`:
//! a confirmation drafted from a trade on a template of the clause library, every value written
//! deterministically from the trade (`drafting`).
//!
//! The trade is a key-terms JSON object (`shared/schemas/key-terms.md`; what `deskmate extract
//! FILE` prints), an object with `key_terms` (and optionally `cdm`), or an FpML message (read by
//! the extraction pipeline, whose CDM TradeState also serves `cdm:` placeholders). The template is
//! chosen by the trade's product type and `--language` unless `--template` names one of the demo
//! library's ids or a template file. A trade that lacks a term the template needs is refused with
//! every missing field and the clauses that need it (exit status 1), never drafted with a blank;
//! `--set leaf=value` supplies (or overrides) a term, checked as a reviewer's correction is.
//!
//! `deskmate draft --check-template FILE.md` reads a template as an import would and prints its
//! clause tree, or refuses it naming the clause and placeholder at fault.

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use drafting::{Language, Template, Trade};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The document's language.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LanguageArg {
    /// English.
    En,
    /// Chinese.
    Zh,
}

/// What `deskmate draft` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    /// The confirmation as plain text.
    Text,
    /// The confirmation as Markdown (headings by clause level).
    Markdown,
    /// The draft as JSON: every clause with its text and the spans of the values filled in.
    Json,
}

/// Arguments of `deskmate draft`.
#[derive(Debug, Args)]
pub struct DraftArgs {
    /// The trade: key-terms JSON, `{"key_terms", "cdm"}` JSON, a CDM TradeState (6.x legacy
    /// JSON layout), or an FpML file.
    #[arg(long, required_unless_present = "check_template")]
    pub trade: Option<PathBuf>,
    /// A demo-library template id (`equity-option.en`) or a template file (Markdown with TOML
    /// front matter); chosen by product type and language when absent.
    #[arg(long)]
    pub template: Option<String>,
    /// The language of the template chosen by product type.
    #[arg(long, value_enum, default_value_t = LanguageArg::En)]
    pub language: LanguageArg,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Supply or override a key term, `leaf=value` (`strike.currency=EUR`,
    /// `notional.amount=1000000`), checked like a reviewer's correction; repeatable.
    #[arg(long = "set", value_name = "LEAF=VALUE")]
    pub set: Vec<String>,
    /// Also render the draft as PDF and DOCX into this folder (`<template>.pdf`, `.docx`), with
    /// a signature page per party: a preview of the final documents, which are made from an
    /// approved version in the workspace (`POST /v1/drafts/{id}/finalise`).
    #[arg(long, value_name = "DIR")]
    pub render: Option<PathBuf>,
    /// Check a template file and print its clause tree instead of drafting.
    #[arg(long, value_name = "FILE", conflicts_with = "trade")]
    pub check_template: Option<PathBuf>,
}

pub(crate) fn read_template(path: &Path) -> anyhow::Result<Template> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    drafting::template::parse(&text).with_context(|| format!("template {}", path.display()))
}

/// Reads the trade file in any of its accepted forms.
pub(crate) fn read_trade(path: &Path) -> anyhow::Result<Trade> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    if extraction::fpml::is_fpml(&text) {
        let r = extraction::Extractor::new(extraction::Settings {
            cdm: true,
            ..Default::default()
        })
        .extract(&bytes, &path.display().to_string());
        if r.key_terms.as_object().is_none_or(|o| o.is_empty()) {
            bail!(
                "{}: no key terms could be read from the FpML message",
                path.display()
            );
        }
        return Ok(Trade {
            key_terms: r.key_terms,
            cdm: r.cdm,
        });
    }
    let v: Value = serde_json::from_str(text.trim()).with_context(|| {
        format!(
            "{}: neither JSON (key terms, or an object with key_terms) nor an FpML message",
            path.display()
        )
    })?;
    // A CDM TradeState (6.x legacy layout), read back as key terms.
    if v.get("key_terms").is_none()
        && (v.get("trade").is_some_and(Value::is_object)
            || v.as_object()
                .is_some_and(|o| o.keys().any(|k| k.starts_with('@'))))
    {
        let key_terms = extraction::cdm_read::key_terms(&v, None)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        return Ok(Trade {
            key_terms,
            cdm: Some(v),
        });
    }
    let (key_terms, cdm) = match v.get("key_terms") {
        Some(kt) => (kt.clone(), v.get("cdm").cloned()),
        None => (v, None),
    };
    let Some(obj) = key_terms.as_object() else {
        bail!("{}: the key terms must be a JSON object", path.display());
    };
    for (leaf, value) in extraction::terms::leaves_of(&key_terms) {
        extraction::terms::check_leaf(&leaf, &value)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    if obj.is_empty() {
        bail!("{}: the trade has no key terms", path.display());
    }
    Ok(Trade { key_terms, cdm })
}

/// Applies `--set leaf=value`: a number when it reads as one, else a string; checked as the
/// leaf's value.
fn set_leaf(key_terms: &mut Value, assignment: &str) -> anyhow::Result<()> {
    let (leaf, raw) = assignment
        .split_once('=')
        .with_context(|| format!("--set {assignment}: expected LEAF=VALUE"))?;
    let leaf = leaf.trim();
    if !extraction::terms::is_leaf(leaf) {
        bail!("--set {assignment}: `{leaf}` is not a key-terms field");
    }
    let raw = raw.trim();
    let value = raw
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| serde_json::json!(v))
        .unwrap_or_else(|| Value::from(raw));
    let value = extraction::terms::check_leaf(leaf, &value)
        .or_else(|_| extraction::terms::check_leaf(leaf, &Value::from(raw)))
        .map_err(|e| anyhow::anyhow!("--set {assignment}: {e}"))?;
    let mut node = key_terms;
    let parts: Vec<&str> = leaf.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        if !node.get(*part).is_some_and(Value::is_object) {
            node[*part] = serde_json::json!({});
        }
        node = &mut node[*part];
    }
    node[parts[parts.len() - 1]] = value;
    Ok(())
}

fn print_tree(t: &Template) {
    println!(
        "{} v{} ({}; {}): {}",
        t.id,
        t.version,
        t.language.as_str(),
        t.families.join(", "),
        t.title
    );
    for (c, parents) in t.walk() {
        let indent = "  ".repeat(parents.len() + 1);
        let mut line = format!("{indent}{} {} {}", c.id, c.number, c.heading);
        if let Some(w) = &c.when {
            line.push_str(&format!(
                " [when {}{}]",
                w.field,
                w.equals
                    .as_ref()
                    .map(|v| format!("={v}"))
                    .unwrap_or_default()
            ));
        }
        if !c.fallbacks.is_empty() {
            line.push_str(&format!(
                " — fallbacks: {}",
                c.fallbacks
                    .iter()
                    .map(|f| f.position.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        println!("{}", line.trim_end());
    }
    let bindings: Vec<String> = t.bindings().iter().map(|b| b.written()).collect();
    println!("placeholders bound to: {}", bindings.join(", "));
}

/// Runs `deskmate draft`.
pub fn run(args: DraftArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.check_template {
        print_tree(&read_template(path)?);
        return Ok(());
    }
    let trade_path = args.trade.as_deref().context("--trade is required")?;
    let mut trade = read_trade(trade_path)?;
    for s in &args.set {
        set_leaf(&mut trade.key_terms, s)?;
    }
    let language = match args.language {
        LanguageArg::En => Language::En,
        LanguageArg::Zh => Language::Zh,
    };
    let template = pick_template(args.template.as_deref(), Some(&trade), language)?;
    let mut draft = drafting::draft(&template, &trade)?;
    // The passages a template leaves to the local model are written in the workspace (the
    // prompt chain, audited); here they are left for legal, visibly.
    for slot in draft.free_slots(&template, &trade) {
        let text = assistant::draft_free::placeholder(
            template.language,
            &slot.spec.goal,
            match template.language {
                Language::En => "`deskmate draft` does not run the model; draft in the workspace",
                Language::Zh => "命令行起草不调用模型，请在起草工作台中起草",
            },
        );
        draft.fill_free(&slot.clause, &slot.spec.id, &text, "");
        eprintln!(
            "note: clause {} has a passage for the model ({}); left for legal",
            slot.clause, slot.spec.id
        );
    }
    if let Some(dir) = &args.render {
        let fonts = drafting::render::Fonts::load(&drafting::render::FontPaths::default())?;
        let options = drafting::render::Options::for_trade(
            format!("{} (preview, not approved)", template.id),
            &trade,
            template.language,
        )
        .map_err(anyhow::Error::msg)?;
        let r = drafting::render::render(&draft.to_text(), template.language, &options, &fonts)?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (ext, bytes) in [("pdf", &r.pdf), ("docx", &r.docx)] {
            let path = dir.join(format!("{}.{ext}", template.id));
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
        }
    }
    match args.output {
        Output::Text => print!("{}", draft.to_text()),
        Output::Markdown => print!("{}", draft.to_markdown()),
        Output::Json => println!("{}", serde_json::to_string_pretty(&draft)?),
    }
    Ok(())
}

/// The template named by `--template` (a demo-library id or a file), else the library's
/// template for the trade's product type in `language`.
pub(crate) fn pick_template(
    named: Option<&str>,
    trade: Option<&Trade>,
    language: Language,
) -> anyhow::Result<Template> {
    let library = drafting::library::demo().context("the demo library")?;
    let template = match named {
        Some(t) if Path::new(t).is_file() => return read_template(Path::new(t)),
        Some(id) => library.iter().find(|x| x.id == id).with_context(|| {
            format!(
                "no template `{id}` (the demo library has {}; or give a file)",
                library
                    .iter()
                    .map(|x| x.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?,
        None => {
            let product = trade
                .and_then(|t| t.leaf("product_type"))
                .and_then(Value::as_str)
                .context("the trade states no product_type: name a template with --template")?;
            drafting::library::choose(&library, product, language).with_context(|| {
                format!(
                    "no {} template for {product} in the library (it has {})",
                    language.as_str(),
                    library
                        .iter()
                        .map(|x| x.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?
        }
    };
    Ok(template.clone())
}
