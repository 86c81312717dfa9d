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
use policies::DataClass;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `deskmate ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders (searched recursively for .md, .markdown, .txt, .text, .html, .htm, .pdf,
    /// .docx).
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
    /// An API token for going through the running server when it holds the knowledge base
    /// (a user with `documents.write`); default: `DESKMATE_TOKEN`.
    #[arg(long, env = "DESKMATE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The running server's base URL; default: `http://` + `server.bind`.
    #[arg(long)]
    pub server: Option<String>,
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

const EXTENSIONS: [&str; 8] = [
    "md", "markdown", "txt", "text", "html", "htm", "pdf", "docx",
];

/// Opens the knowledge base of the assistant's data dir as `holder`.
pub fn open_knowledge(a: &assistant::Assistant, holder: &str) -> anyhow::Result<Knowledge> {
    Knowledge::open_for(a, holder).context("opening the knowledge base")
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
                        replaces: None,
                        declassify: false,
                    },
                )
                .map_err(anyhow::Error::from)
            });
        let result = result.map(|rec| serde_json::to_value(rec).unwrap_or_default());
        if report_file(i, files.len(), f, t, &result, json) {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    (ok, failed)
}

/// Reports one file of an ingest (a JSON line, or a progress line on stderr); `true` when it
/// was ingested. `result` holds the document record as JSON.
fn report_file(
    i: usize,
    n: usize,
    f: &Path,
    started: Instant,
    result: &anyhow::Result<serde_json::Value>,
    json: bool,
) -> bool {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(doc) if json => println!(
            "{}",
            serde_json::json!({"file": f, "ok": true, "document": doc, "ms": ms})
        ),
        Ok(doc) => eprintln!(
            "[{}/{n}] {} {} v{} ({} chunks, {ms:.0} ms): {}",
            i + 1,
            doc["status"].as_str().unwrap_or(""),
            doc["id"].as_str().unwrap_or(""),
            doc["version"],
            doc["chunks"],
            f.display()
        ),
        Err(e) if json => println!(
            "{}",
            serde_json::json!({"file": f, "ok": false, "error": format!("{e:#}")})
        ),
        Err(e) => eprintln!("[{}/{n}] failed: {e:#}", i + 1),
    }
    result.is_ok()
}

/// Runs `deskmate ingest`: directly on the data dir, or through the running server when it
/// holds the knowledge base (with a token).
pub fn ingest(args: IngestArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let class: DataClass = args.classification.parse()?;
    let files = files_under(&args.paths)?;
    let a = open(&loaded)?;
    let t = Instant::now();
    let (ok, failed) = match assistant::documents::Knowledge::open_for(&a, "deskmate ingest") {
        Ok(k) => ingest_files(&a, &k, &files, &args.collection, class, args.json),
        Err(assistant::AssistantError::Knowledge(knowledge::KnowledgeError::Locked {
            holder,
            ..
        })) => {
            let Some(token) = args.token.as_deref() else {
                anyhow::bail!(
                    "the knowledge base is in use by {holder}; to ingest through the running \
                     server, pass --token or set DESKMATE_TOKEN (a user with documents.write)"
                );
            };
            let base = args.server.clone().unwrap_or_else(|| {
                format!(
                    "http://{}",
                    loaded.config.server.bind.replace("0.0.0.0", "127.0.0.1")
                )
            });
            eprintln!("the knowledge base is held by {holder}: ingesting through {base}");
            ingest_via_server(&base, token, &files, &args.collection, class, args.json)?
        }
        Err(e) => return Err(anyhow::Error::from(e).context("opening the knowledge base")),
    };
    eprintln!(
        "{ok} ingested, {failed} failed, in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    if failed > 0 {
        anyhow::bail!("{failed} of {} files failed", files.len());
    }
    Ok(())
}

/// Uploads `files` one by one to `POST {base}/v1/documents` and waits for each job; reports
/// like [`ingest_files`]. Returns (ingested, failed).
fn ingest_via_server(
    base: &str,
    token: &str,
    files: &[PathBuf],
    collection: &str,
    class: DataClass,
    json: bool,
) -> anyhow::Result<(usize, usize)> {
    let http = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(600))
        .build()?;
    let base = base.trim_end_matches('/');
    let (mut ok, mut failed) = (0, 0);
    for (i, f) in files.iter().enumerate() {
        let t = Instant::now();
        let result = upload_one(&http, base, token, f, collection, class);
        if report_file(i, files.len(), f, t, &result, json) {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    Ok((ok, failed))
}

/// One file through the server: upload, then poll its job until it ends.
fn upload_one(
    http: &reqwest::blocking::Client,
    base: &str,
    token: &str,
    file: &Path,
    collection: &str,
    class: DataClass,
) -> anyhow::Result<serde_json::Value> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let name = file.display().to_string();
    let form = reqwest::blocking::multipart::Form::new()
        .text("collection", collection.to_string())
        .text("classification", class.to_string())
        .part(
            "file",
            reqwest::blocking::multipart::Part::bytes(bytes).file_name(name.clone()),
        );
    let resp = http
        .post(format!("{base}/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .with_context(|| format!("uploading {name} to {base}"))?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!(
            "the server answered {status}: {}",
            body["error"]["message"].as_str().unwrap_or("no message")
        );
    }
    let job = body["job"]["id"]
        .as_str()
        .context("the server's answer names no job")?
        .to_string();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let j: serde_json::Value = http
            .get(format!("{base}/v1/jobs/{job}"))
            .bearer_auth(token)
            .send()
            .and_then(reqwest::blocking::Response::error_for_status)
            .with_context(|| format!("polling job {job}"))?
            .json()?;
        match j["state"].as_str() {
            Some("succeeded") => {
                let result = &j["result"];
                if let Some(e) = result["errors"].as_array().and_then(|e| e.first()) {
                    anyhow::bail!("{}", e["error"].as_str().unwrap_or("ingest failed"));
                }
                return result["documents"]
                    .as_array()
                    .and_then(|d| d.first())
                    .cloned()
                    .context("the job's result has no document");
            }
            Some("failed") | Some("cancelled") => {
                anyhow::bail!("{}", j["error"].as_str().unwrap_or("ingest failed"))
            }
            _ => {}
        }
    }
}

/// Runs `deskmate search` against the configured knowledge base as the operator.
pub fn search(args: super::search::SearchArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    let mut k = open_knowledge(&a, "deskmate search")?;
    if args.rerank {
        k.set_rerank(Some(knowledge::RerankOptions {
            candidates: a.config.knowledge.rerank_candidates as usize,
            ..Default::default()
        }));
    }
    let report = a.search_documents(
        &k,
        &super::admin::operator(),
        &args.query,
        args.k,
        args.retrievers,
        args.filters(),
    )?;
    super::search::print(&args, &report)
}

/// Runs `deskmate ask`.
pub fn ask(args: AskArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    let k = open_knowledge(&a, "deskmate ask")?;
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
