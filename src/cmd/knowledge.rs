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
    /// The classification: a level, optionally `+sensitive`.
    #[arg(long, value_enum, default_value_t = super::choice::Classification::General)]
    pub classification: super::choice::Classification,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    pub json: bool,
    /// How to reach the running server when it holds the knowledge base (a user with
    /// `documents.write`).
    #[command(flatten)]
    pub via: ServerArgs,
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
    /// How to reach the running server when it holds the knowledge base.
    #[command(flatten)]
    pub via: ServerArgs,
}

/// How a knowledge command reaches the running server when the server holds the knowledge base
/// (`deskmate up` or `serve` running on the same data dir).
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// An API token of a user who may read documents (write them, for `ingest`); default:
    /// `DESKMATE_TOKEN` (`deskmate up` prints an `export DESKMATE_TOKEN=…` line).
    #[arg(long, env = "DESKMATE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The running server's base URL; default: `http://` + `server.bind`.
    #[arg(long)]
    pub server: Option<String>,
}

impl ServerArgs {
    /// The running server's base URL, without a trailing `/`: `--server`, else `server.bind`
    /// (a wildcard bind reached on the loopback).
    fn base(&self, loaded: &LoadedConfig) -> String {
        let base = self.server.clone().unwrap_or_else(|| {
            format!(
                "http://{}",
                loaded.config.server.bind.replace("0.0.0.0", "127.0.0.1")
            )
        });
        base.trim_end_matches('/').to_string()
    }
}

/// The knowledge base a read command works on: opened here, or the running server's.
enum Kb {
    Local(Knowledge),
    Server {
        http: reqwest::blocking::Client,
        base: String,
        token: String,
    },
}

/// Opens the knowledge base here, or, when the server holds it, goes through the server with
/// the token (or says how to).
fn open_kb(
    a: &assistant::Assistant,
    loaded: &LoadedConfig,
    holder: &str,
    via: &ServerArgs,
) -> anyhow::Result<Kb> {
    match Knowledge::open_for(a, holder) {
        Ok(k) => Ok(Kb::Local(k)),
        Err(assistant::AssistantError::Knowledge(knowledge::KnowledgeError::Locked {
            holder: by,
            ..
        })) => {
            let Some(token) = via.token.clone() else {
                anyhow::bail!(
                    "the knowledge base is in use by {by}; to go through the running server, \
                     set DESKMATE_TOKEN (`deskmate up` prints the line) or pass --token"
                );
            };
            let base = via.base(loaded);
            Ok(Kb::Server {
                http: reqwest::blocking::Client::builder()
                    .timeout(std::time::Duration::from_secs(
                        loaded.config.models.generation_timeout_secs + 30,
                    ))
                    .build()?,
                base,
                token,
            })
        }
        Err(e) => Err(anyhow::Error::from(e).context("opening the knowledge base")),
    }
}

impl Kb {
    /// The collection of every document the caller can see.
    fn collections(&self) -> anyhow::Result<Vec<String>> {
        match self {
            Kb::Local(k) => Ok(k
                .kb()
                .documents()
                .into_iter()
                .map(|d| d.meta.collection)
                .collect()),
            Kb::Server { .. } => {
                let v = self.call(reqwest::Method::GET, "/v1/documents", None)?;
                Ok(v["documents"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d["collection"].as_str().map(str::to_string))
                    .collect())
            }
        }
    }

    /// One JSON call to the server; its error message when it refuses.
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        let Kb::Server { http, base, token } = self else {
            anyhow::bail!("not through a server");
        };
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .with_context(|| format!("calling the running server at {base}"))?;
        let status = resp.status();
        let v: serde_json::Value = resp.json().unwrap_or_default();
        if !status.is_success() {
            anyhow::bail!(
                "the server answered {status}: {}",
                v["error"]["message"].as_str().unwrap_or("no message")
            );
        }
        Ok(v)
    }
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
    let bar = super::progress::Bar::new(files.len() as u64, "files");
    for (i, f) in files.iter().enumerate() {
        bar.message(f.display().to_string());
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
        bar.inc();
        if bar.suspend(|| report_file(i, files.len(), f, t, &result, json)) {
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
        Ok(doc) => {
            let ui = super::ui::Ui::from_env();
            let status = doc["status"].as_str().unwrap_or("");
            let status = match status {
                "added" => ui.t("added", "已添加"),
                "replaced" => ui.t("replaced", "已替换"),
                "unchanged" => ui.t("unchanged", "未变"),
                other => other,
            };
            eprintln!(
                "[{}/{n}] {status} {} v{} ({} {}, {ms:.0} ms): {}",
                i + 1,
                doc["id"].as_str().unwrap_or(""),
                doc["version"],
                doc["chunks"],
                ui.t("chunks", "个片段"),
                f.display()
            )
        }
        Err(e) if json => println!(
            "{}",
            serde_json::json!({"file": f, "ok": false, "error": format!("{e:#}")})
        ),
        Err(e) => eprintln!(
            "[{}/{n}] {}: {e:#}",
            i + 1,
            super::ui::Ui::from_env().t("failed", "失败")
        ),
    }
    result.is_ok()
}

/// Runs `deskmate ingest`: directly on the data dir, or through the running server when it
/// holds the knowledge base (with a token).
pub fn ingest(args: IngestArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let class = DataClass::from(args.classification);
    let files = files_under(&args.paths)?;
    let a = open(&loaded)?;
    let t = Instant::now();
    let (ok, failed) = match assistant::documents::Knowledge::open_for(&a, "deskmate ingest") {
        Ok(k) => ingest_files(&a, &k, &files, &args.collection, class, args.json),
        Err(assistant::AssistantError::Knowledge(knowledge::KnowledgeError::Locked {
            holder,
            ..
        })) => {
            let Some(token) = args.via.token.as_deref() else {
                anyhow::bail!(
                    "the knowledge base is in use by {holder}; to ingest through the running \
                     server, pass --token or set DESKMATE_TOKEN (a user with documents.write)"
                );
            };
            let base = args.via.base(&loaded);
            eprintln!("the knowledge base is held by {holder}: ingesting through {base}");
            ingest_via_server(&base, token, &files, &args.collection, class, args.json)?
        }
        Err(e) => return Err(anyhow::Error::from(e).context("opening the knowledge base")),
    };
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "{}",
        super::ui::Ui::from_env().t(
            &format!("{ok} ingested, {failed} failed, in {secs:.1} s"),
            &format!("已导入 {ok} 个，失败 {failed} 个，用时 {secs:.1} 秒")
        )
    );
    if failed > 0 && ok > 0 {
        return Err(crate::Exit::error(
            crate::Status::Partial,
            format!("{failed} of {} files failed", files.len()),
        ));
    }
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
    let (mut ok, mut failed) = (0, 0);
    let bar = super::progress::Bar::new(files.len() as u64, "files");
    for (i, f) in files.iter().enumerate() {
        bar.message(f.display().to_string());
        let t = Instant::now();
        let result = upload_one(&http, base, token, f, collection, class);
        bar.inc();
        if bar.suspend(|| report_file(i, files.len(), f, t, &result, json)) {
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

/// Runs `deskmate search` against the configured knowledge base as the operator, or through
/// the running server (as the token's user) when it holds the knowledge base.
pub fn search(args: super::search::SearchArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    let kb = open_kb(&a, &loaded, "deskmate search", &args.via)?;
    if let Some(empty) = empty_knowledge(&kb.collections()?, &args.collection) {
        if args.json {
            println!("{}", serde_json::json!({"hits": [], "empty": empty.0.0}));
        }
        super::ui::Ui::from_env().empty(empty.0, empty.1);
        return Ok(());
    }
    let report = match kb {
        Kb::Local(mut k) => {
            if args.rerank {
                k.set_rerank(Some(knowledge::RerankOptions {
                    candidates: a.config.knowledge.rerank_candidates as usize,
                    ..Default::default()
                }));
            }
            a.search_documents(
                &k,
                &super::admin::operator(),
                &args.query,
                args.k,
                args.retrievers.into(),
                args.filters(),
            )?
        }
        ref server @ Kb::Server { .. } => {
            if args.rerank {
                anyhow::bail!(
                    "--rerank is not available through the running server; set `[knowledge] \
                     rerank = true` in its configuration instead"
                );
            }
            let v = server.call(
                reqwest::Method::POST,
                "/v1/search",
                Some(serde_json::json!({
                    "query": args.query,
                    "k": args.k,
                    "collections": args.collection,
                    "doc_ids": args.doc_ids,
                    "path_prefix": args.path_prefix,
                    "retrievers": knowledge::Retrievers::from(args.retrievers).as_str(),
                })),
            )?;
            serde_json::from_value(v).context("the server's search report")?
        }
    };
    super::search::print(&args, &report)
}

/// Runs `deskmate ask` (locally, or through the running server when it holds the knowledge
/// base): streams the answer, then lists the citations.
pub fn ask(args: AskArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    let kb = open_kb(&a, &loaded, "deskmate ask", &args.via)?;
    if let Some(empty) = empty_knowledge(&kb.collections()?, &args.collection) {
        let ui = super::ui::Ui::from_env();
        let (en, zh) = empty.0;
        anyhow::bail!("{}\n  {}", ui.t(&en, &zh), ui.t(&empty.1.0, &empty.1.1));
    }
    let json = args.json;
    let mut out = std::io::stdout();
    let mut on_delta = |d: &str| {
        if !json {
            let _ = out.write_all(d.as_bytes());
            let _ = out.flush();
        }
    };
    let answer: serde_json::Value = match &kb {
        Kb::Local(k) => {
            let filters = Filters {
                collections: args.collection.clone(),
                ..Filters::default()
            };
            let answer = a.ask(
                k,
                &super::admin::operator(),
                &args.question,
                filters,
                &mut |d| {
                    on_delta(d);
                    ControlFlow::Continue(())
                },
            )?;
            serde_json::to_value(answer)?
        }
        Kb::Server { http, base, token } => ask_via_server(
            http,
            base,
            token,
            &args.question,
            &args.collection,
            &mut on_delta,
        )?,
    };
    if json {
        print_json(&answer);
        return Ok(());
    }
    println!();
    for c in answer["citations"].as_array().into_iter().flatten() {
        let l = &c["location"];
        println!(
            "[{}] {} (p.{}, chars {}..{}; {})",
            c["n"],
            c["path"].as_str().unwrap_or(""),
            l["page_start"],
            l["char_start"],
            l["char_end"],
            c["chunk_id"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

/// `POST /v1/ask` with `stream: true`: hands each `delta` event's text to `on_delta` and
/// returns the `answer` event's JSON (or the `error` event's message as the error).
fn ask_via_server(
    http: &reqwest::blocking::Client,
    base: &str,
    token: &str,
    question: &str,
    collections: &[String],
    on_delta: &mut dyn FnMut(&str),
) -> anyhow::Result<serde_json::Value> {
    use std::io::BufRead;
    let resp = http
        .post(format!("{base}/v1/ask"))
        .bearer_auth(token)
        .json(
            &serde_json::json!({"question": question, "collections": collections, "stream": true}),
        )
        .send()
        .with_context(|| format!("calling the running server at {base}"))?;
    let status = resp.status();
    if !status.is_success() {
        let v: serde_json::Value = resp.json().unwrap_or_default();
        anyhow::bail!(
            "the server answered {status}: {}",
            v["error"]["message"].as_str().unwrap_or("no message")
        );
    }
    let (mut event, mut data) = (String::new(), Vec::<String>::new());
    for line in std::io::BufReader::new(resp).lines() {
        let line = line.context("reading the server's answer")?;
        if let Some(e) = line.strip_prefix("event:") {
            event = e.trim().to_string();
        } else if let Some(d) = line.strip_prefix("data:") {
            data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
        } else if line.is_empty() && !data.is_empty() {
            let text = data.join("\n");
            data.clear();
            match event.as_str() {
                "delta" => on_delta(&text),
                "answer" => return serde_json::from_str(&text).context("the server's answer"),
                "error" => {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    anyhow::bail!("{}", v["message"].as_str().unwrap_or(&text));
                }
                _ => {}
            }
        }
    }
    anyhow::bail!("the server's answer ended without a result")
}

/// When the knowledge base (or every collection asked for) holds no document: what is empty and
/// what fills it, in English and Chinese.
type Bilingual = (String, String);

fn empty_knowledge(present: &[String], collections: &[String]) -> Option<(Bilingual, Bilingual)> {
    let fill = (
        "Add documents with `deskmate ingest PATH --collection NAME` (files or folders: Markdown, text, HTML, PDF, DOCX), or upload them on the Knowledge page of the web app.".to_string(),
        "可用 `deskmate ingest 路径 --collection 名称` 导入文档（文件或文件夹：Markdown、文本、HTML、PDF、DOCX），或在网页版的“知识库”页面上传。".to_string(),
    );
    if present.is_empty() {
        return Some((
            (
                "The knowledge base is empty: there is nothing to search or cite yet.".to_string(),
                "知识库为空：还没有可检索或引用的文档。".to_string(),
            ),
            fill,
        ));
    }
    if collections.is_empty() || present.iter().any(|c| collections.contains(c)) {
        return None;
    }
    let mut have: Vec<String> = present.to_vec();
    have.sort();
    have.dedup();
    Some((
        (
            format!(
                "No documents in collection {}; the knowledge base has: {}.",
                collections.join(", "),
                have.join(", ")
            ),
            format!(
                "集合 {} 中没有文档；知识库现有集合：{}。",
                collections.join("、"),
                have.join("、")
            ),
        ),
        fill,
    ))
}

/// One collection of the first-run demo: its name, what it holds, and its files.
#[derive(Debug)]
pub struct DemoSource {
    /// The collection (named for its content).
    pub collection: &'static str,
    /// What it holds, in English and Chinese.
    pub about: (&'static str, &'static str),
    /// The documents.
    pub files: Vec<PathBuf>,
}

/// The demo documents `deskmate up` ingests once, from the shared data (`shared`: `../shared/data`
/// beside the working directory) when present: the PRC laws, regulations and judicial interpretations
/// (`regulation-zh`, collection `prc-laws`) and ESMA's EMIR Refit reporting guidelines
/// (`regulation-en/esma-emir-refit-guidelines`, collection `emir-guidelines`). Documents only:
/// licence and read-me files are left out, and a PDF whose Markdown conversion sits beside it
/// is ingested once, as the Markdown.
pub fn demo_sources(shared: &Path) -> Vec<DemoSource> {
    [
        (
            "regulation-zh",
            "prc-laws",
            (
                "PRC laws, regulations and judicial interpretations",
                "中国法律、行政法规和司法解释",
            ),
        ),
        (
            "regulation-en/esma-emir-refit-guidelines",
            "emir-guidelines",
            (
                "ESMA guidelines for reporting under EMIR Refit",
                "ESMA《EMIR Refit 报告指引》",
            ),
        ),
    ]
    .into_iter()
    .filter_map(|(dir, collection, about)| {
        let files = files_under(&[shared.join(dir)]).ok()?;
        let files = documents_only(files);
        (!files.is_empty()).then_some(DemoSource {
            collection,
            about,
            files,
        })
    })
    .collect()
}

/// Leaves out what is not a document (licence, notice, read-me and change-log files) and a
/// PDF whose Markdown conversion (same name, `.md`) is in the list.
pub fn documents_only(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let not_documents = [
        "license",
        "licence",
        "copying",
        "notice",
        "readme",
        "changelog",
    ];
    let stems_with_md: std::collections::HashSet<PathBuf> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x.eq_ignore_ascii_case("md")))
        .map(|f| f.with_extension(""))
        .collect();
    files
        .into_iter()
        .filter(|f| {
            let name = f
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            !not_documents.iter().any(|n| name.starts_with(n))
        })
        .filter(|f| {
            !(f.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf"))
                && stems_with_md.contains(&f.with_extension("")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_takes_documents_only() {
        let files: Vec<PathBuf> = [
            "d/LICENSE-ISDA-DRR.md",
            "d/README.md",
            "d/guidelines.pdf",
            "d/guidelines.md",
            "d/scan.pdf",
            "d/期货和衍生品法(2022-04-20).md",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let kept: Vec<String> = documents_only(files)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            kept,
            [
                "d/guidelines.md",
                "d/scan.pdf",
                "d/期货和衍生品法(2022-04-20).md"
            ]
        );
    }

    #[test]
    fn the_demo_sources_are_named_for_their_content() {
        // As `deskmate up` run from the repository root sees it.
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        let sources = demo_sources(&shared);
        let names: Vec<&str> = sources.iter().map(|s| s.collection).collect();
        assert_eq!(
            names,
            ["prc-laws", "emir-guidelines"],
            "is ../shared/data there?"
        );
        let all: Vec<String> = sources
            .iter()
            .flat_map(|s| s.files.iter().map(|f| f.display().to_string()))
            .collect();
        assert!(
            all.iter()
                .all(|f| !f.contains("LICENSE") && !f.ends_with(".json") && !f.ends_with(".pdf")),
            "{all:?}"
        );
        assert!(all.iter().any(|f| f.contains("期货和衍生品法")));
        assert_eq!(sources[1].files.len(), 1, "{:?}", sources[1].files);
    }
}
