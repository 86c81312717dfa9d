//! `deskmate ingest`, `deskmate search` and `deskmate ask`: the knowledge base in the
//! configured data dir, worked on directly (as the operator, `cli-operator`, role admin) under
//! the knowledge base's single-writer lock; while a server holds it, these commands stop with
//! a message saying so (use `POST /v1/documents` and `POST /v1/ask` then).

use super::{open, print_json};
use anyhow::Context;
use assistant::config::LoadedConfig;
use assistant::documents::{Knowledge, NewDocument};
use clap::Args;
use knowledge::Filters;
use models::{GeneratorOptions, ModelStore, Models};
use policies::{DataClass, Role};
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `deskmate ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders (searched recursively for .md, .markdown, .txt, .text, .html, .htm).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The collection.
    #[arg(long, default_value = "default")]
    pub collection: String,
    /// The classification: general, important or core, optionally `+sensitive`.
    #[arg(long, default_value = "general")]
    pub classification: String,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `deskmate ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question (Chinese questions get Chinese answers).
    pub question: String,
    /// Only these collections (repeatable).
    #[arg(long)]
    pub collection: Vec<String>,
    /// Print the answer as JSON (`knowledge::Answer`) instead of streaming text.
    #[arg(long)]
    pub json: bool,
}

const EXTENSIONS: [&str; 6] = ["md", "markdown", "txt", "text", "html", "htm"];

/// The model registry of the configuration's model directory.
pub fn models(config: &assistant::Config) -> Models {
    let dir = &config.models.dir;
    let store = if dir.is_empty() {
        ModelStore::from_env()
    } else {
        ModelStore::new(assistant::config::expand_home(dir))
    };
    Models::new(store, GeneratorOptions::default())
}

/// Opens the knowledge base of the configured data dir as `holder`.
pub fn open_knowledge(loaded: &LoadedConfig, holder: &str) -> anyhow::Result<Knowledge> {
    Knowledge::open_with_models(&loaded.config, &models(&loaded.config), holder)
        .context("opening the knowledge base")
}

/// The files under `paths`, sorted, folders walked recursively.
pub fn files_under(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).with_context(|| format!("{}", p.display()))?;
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).with_context(|| format!("{}", p.display()))? {
                let path = e?.path();
                let wanted = path.is_dir()
                    || path
                        .extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| EXTENSIONS.contains(&x.to_lowercase().as_str()));
                if wanted {
                    stack.push(path);
                }
            }
        } else {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Ingests `files` one by one, reporting each; a failing file does not stop the batch.
/// Returns (ingested, failed).
pub fn ingest_files(
    a: &assistant::Assistant,
    k: &Knowledge,
    files: &[PathBuf],
    collection: &str,
    class: DataClass,
    json: bool,
) -> (usize, usize) {
    let actor = super::admin::operator();
    let (mut ok, mut failed) = (0, 0);
    for (i, f) in files.iter().enumerate() {
        let t = Instant::now();
        let result = std::fs::read(f)
            .with_context(|| format!("reading {}", f.display()))
            .and_then(|bytes| {
                a.ingest_document(
                    k,
                    &actor,
                    NewDocument {
                        source: f.display().to_string(),
                        bytes,
                        collection: collection.to_string(),
                        classification: class,
                        title: None,
                    },
                )
                .map_err(anyhow::Error::from)
            });
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(rec) => {
                ok += 1;
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"file": f, "ok": true, "document": rec, "ms": ms})
                    );
                } else {
                    eprintln!(
                        "[{}/{}] {} {} v{} ({} chunks, {:.0} ms): {}",
                        i + 1,
                        files.len(),
                        rec.status.as_deref().unwrap_or(""),
                        rec.id,
                        rec.version,
                        rec.chunks,
                        ms,
                        f.display()
                    );
                }
            }
            Err(e) => {
                failed += 1;
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"file": f, "ok": false, "error": format!("{e:#}")})
                    );
                } else {
                    eprintln!("[{}/{}] failed: {e:#}", i + 1, files.len());
                }
            }
        }
    }
    (ok, failed)
}

/// Runs `deskmate ingest`.
pub fn ingest(args: IngestArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let class: DataClass = args.classification.parse()?;
    let files = files_under(&args.paths)?;
    let a = open(&loaded)?;
    let k = open_knowledge(&loaded, "deskmate ingest")?;
    let t = Instant::now();
    let (ok, failed) = ingest_files(&a, &k, &files, &args.collection, class, args.json);
    eprintln!(
        "{ok} ingested, {failed} failed, in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    if failed > 0 {
        anyhow::bail!("{failed} of {} files failed", files.len());
    }
    Ok(())
}

/// Runs `deskmate search` against the configured knowledge base as the operator.
pub fn search(args: super::search::SearchArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let k = open_knowledge(&loaded, "deskmate search")?;
    super::search::run(args, k.kb(), Role::Admin)
}

/// Runs `deskmate ask`.
pub fn ask(args: AskArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    let k = open_knowledge(&loaded, "deskmate ask")?;
    let actor = super::admin::operator();
    let filters = Filters {
        collections: args.collection,
        ..Filters::default()
    };
    let json = args.json;
    let mut out = std::io::stdout();
    let answer = a.ask(&k, &actor, &args.question, filters, &mut |d| {
        if !json {
            let _ = out.write_all(d.as_bytes());
            let _ = out.flush();
        }
        ControlFlow::Continue(())
    })?;
    if json {
        print_json(&answer);
        return Ok(());
    }
    println!();
    for c in &answer.citations {
        println!(
            "[{}] {} (p.{}, chars {}..{}; {})",
            c.n,
            c.path,
            c.location.page_start,
            c.location.char_start,
            c.location.char_end,
            c.chunk_id
        );
    }
    Ok(())
}

/// The demo documents `deskmate up` ingests once: the shared Chinese and English regulations
/// beside the working directory, when present.
pub fn demo_sources() -> Vec<(PathBuf, &'static str)> {
    [
        "../shared/data/regulation-zh",
        "../shared/data/regulation-en",
    ]
    .iter()
    .zip(["regulation-zh", "regulation-en"])
    .map(|(p, c)| (Path::new(p).to_path_buf(), c))
    .filter(|(p, _)| p.is_dir())
    .collect()
}
