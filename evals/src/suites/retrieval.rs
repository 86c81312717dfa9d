//! Suite `retrieval`: the knowledge base's chunking and retrieval on the shared corpora.
//!
//! (a) **structure**: for every law in `regulation-zh`, the articles the chunker finds against
//! the `第X条` markers at line starts in the file (count, label and order all equal);
//! (b) **exact path**: for every law, questions `《title》第N条说了什么？` for up to 10 articles
//! spread over the law; the top hit must be that article of that law (exact lookup);
//! (c) **DISC recall**: the 30 DISC-FinLLM retriever dev questions over a knowledge base holding
//! their reference documents (one document each) among all shared laws, the English regulation
//! texts (`regulation-en/**/*.md`) and the CDM documentation (`cdm/docs`); recall@5 (a reference
//! document of the question among the top 5 hits) and MRR of the first reference document;
//! (c') the same with the optional rerank step (`DESKMATE_EVAL_RERANK` candidates, default 5,
//! 0 skips), so the report says whether it helps.
//! (d) **faithfulness**: cited answers from a local generator (`fast` by default,
//! `DESKMATE_EVAL_GENERATOR` overrides; `DESKMATE_EVAL_ANSWERS` questions, default 10, 0 skips)
//! to a spread of the exact-path and DISC questions; the fraction of answer sentences whose
//! citations support them (`knowledge::answer::faithfulness`).
//!
//! The embedder is `multilingual-e5-small` (`DESKMATE_EVAL_EMBEDDER` overrides it), loaded
//! from the model store (`DESKMATE_MODEL_CACHE` or `~/.cache/deskmate/models`).

use crate::{CaseResult, EvalContext, EvalError, Metric, Suite, SuiteOutput, Threshold};
use knowledge::chunk::{self, ChunkOptions, Format, SourceText, units};
use knowledge::{Filters, IngestRequest, KbConfig, KnowledgeBase, SearchRequest, SectionKind};
use models::{BertEmbedder, ModelStore};
use policies::{Clearance, DataClass, Role};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The retrieval suite.
#[derive(Debug, Clone, Default)]
pub struct RetrievalSuite;

fn run_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Run(e.to_string())
}

/// The Markdown files under `dir`, recursively, sorted (licence files left out).
fn markdown_under(dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in
            std::fs::read_dir(&d).map_err(|e| EvalError::Data(format!("{}: {e}", d.display())))?
        {
            let p = e.map_err(run_err)?.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("LICENSE"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn laws(root: &Path) -> Result<Vec<PathBuf>, EvalError> {
    markdown_under(&root.join("regulation-zh"))
}

/// The article labels at line starts of the law's body, in order.
fn markers(text: &str) -> Vec<String> {
    let art =
        Regex::new(r"^(第[零〇一二两三四五六七八九十百千]+条(?:之[一二三四五六七八九十]+)?)[\s　]")
            .expect("valid regex");
    let body = text.split("<!-- INFO END -->").last().unwrap_or(text);
    body.lines()
        .filter_map(|l| art.captures(l).map(|c| c[1].to_string()))
        .collect()
}

impl Suite for RetrievalSuite {
    fn name(&self) -> &'static str {
        "retrieval"
    }

    fn description(&self) -> &'static str {
        "Knowledge base: article structure of every shared law against its 第X条 markers, exact-path questions, recall@5/MRR on the DISC-FinLLM retriever dev set, and the faithfulness of cited answers."
    }

    fn run(&self, ctx: &EvalContext) -> Result<SuiteOutput, EvalError> {
        let root = match &ctx.data {
            Some(d) => d.clone(),
            None => crate::shared_data().ok_or_else(|| {
                EvalError::Data("cannot find shared/data; pass --data DIR".into())
            })?,
        };
        let mut out = SuiteOutput::default();
        let laws = laws(&root)?;

        // (a) Structure.
        let mut ok = 0;
        let mut texts = Vec::new();
        for p in &laws {
            let text = std::fs::read_to_string(p)
                .map_err(|e| EvalError::Data(format!("{}: {e}", p.display())))?;
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let chunked = chunk::chunk(
                &SourceText::new(text.clone(), Format::Markdown),
                &stem,
                &ChunkOptions::default(),
            );
            let got: Vec<String> = units(&chunked.outline)
                .iter()
                .filter(|(_, u)| u.kind == SectionKind::Article)
                .map(|(_, u)| u.label.clone())
                .collect();
            let want = markers(&text);
            let passed = got == want;
            ok += usize::from(passed);
            out.cases.push(CaseResult {
                id: format!("structure: {stem}"),
                passed,
                detail: format!(
                    "{} articles found, {} markers in the file",
                    got.len(),
                    want.len()
                ),
            });
            texts.push((p.clone(), chunked.title, want));
        }
        out.metrics.push(Metric::gated(
            "structure.laws_exact",
            ok as f64 / laws.len().max(1) as f64,
            "ratio",
            Threshold::AtLeast(1.0),
        ));

        // The knowledge base: every law, then the DISC reference documents.
        let name = std::env::var("DESKMATE_EVAL_EMBEDDER")
            .unwrap_or_else(|_| "multilingual-e5-small".into());
        let entry = ModelStore::from_env().get(&name).map_err(run_err)?;
        let embedder = Arc::new(BertEmbedder::load(&entry).map_err(run_err)?);
        let tmp = tempfile::tempdir().map_err(run_err)?;
        let (kb, _) =
            KnowledgeBase::open(tmp.path(), embedder, KbConfig::default()).map_err(run_err)?;
        let t = Instant::now();
        let mut chunks = 0;
        // Every law, then the other shared corpora as distractors for (c): the English
        // regulation texts and the CDM documentation.
        let mut corpus: Vec<(PathBuf, &str)> = texts
            .iter()
            .map(|(p, _, _)| (p.clone(), "regulation-zh"))
            .collect();
        for (dir, collection) in [("regulation-en", "regulation-en"), ("cdm/docs", "cdm-docs")] {
            for p in markdown_under(&root.join(dir))? {
                corpus.push((p, collection));
            }
        }
        for (p, collection) in &corpus {
            let bytes = std::fs::read(p).map_err(run_err)?;
            let r = kb
                .ingest_bytes(
                    &IngestRequest {
                        source: p.display().to_string(),
                        collection: collection.to_string(),
                        classification: DataClass::GENERAL,
                        doc_id: None,
                        title: None,
                    },
                    &bytes,
                )
                .map_err(run_err)?;
            chunks += r.chunks;
        }
        let disc_path = root.join("qa/disc-finllm/retriever_dev.json");
        let disc: Vec<serde_json::Value> = serde_json::from_str(
            &std::fs::read_to_string(&disc_path)
                .map_err(|e| EvalError::Data(format!("{}: {e}", disc_path.display())))?,
        )
        .map_err(|e| EvalError::Data(format!("{}: {e}", disc_path.display())))?;
        let mut refs: Vec<Vec<String>> = Vec::new();
        for (qi, q) in disc.iter().enumerate() {
            let mut ids = Vec::new();
            for (ri, r) in q["reference"].as_array().into_iter().flatten().enumerate() {
                let Some(text) = r.get(0).and_then(|t| t.as_str()) else {
                    continue;
                };
                let id = format!("disc-q{qi:02}-r{ri}");
                let doc = knowledge::DocId::new(&id).ok_or_else(|| run_err("bad doc id"))?;
                let rep = kb
                    .ingest_text(
                        &IngestRequest {
                            source: format!("{id}.txt"),
                            collection: "disc".into(),
                            classification: DataClass::GENERAL,
                            doc_id: Some(doc),
                            title: None,
                        },
                        &SourceText::new(text.to_string(), Format::Plain),
                    )
                    .map_err(run_err)?;
                chunks += rep.chunks;
                ids.push(rep.doc_id);
            }
            refs.push(ids);
        }
        let ingest_s = t.elapsed().as_secs_f64();
        out.metrics
            .push(Metric::info("index.chunks", chunks as f64, "chunks"));
        out.metrics
            .push(Metric::info("index.ingest_seconds", ingest_s, "s"));

        let search = |q: &str, k: usize| {
            kb.search(&SearchRequest {
                query: q.to_string(),
                k,
                filters: Filters::default(),
                clearance: Clearance::of(Role::Admin),
            })
        };

        // (b) Exact path.
        let (mut asked, mut right) = (0, 0);
        for (p, title, want) in &texts {
            let step = (want.len() / 10).max(1);
            for label in want.iter().step_by(step).take(10) {
                let q = format!("《{title}》{label}说了什么？");
                let hits = search(&q, 1).map_err(run_err)?.hits;
                let top = hits.first();
                let passed = top.is_some_and(|h| {
                    h.exact
                        && h.title == *title
                        && h.path
                            .segments
                            .iter()
                            .any(|s| s.kind == SectionKind::Article && s.label == *label)
                });
                asked += 1;
                right += usize::from(passed);
                if !passed {
                    out.cases.push(CaseResult {
                        id: format!("exact: {q}"),
                        passed,
                        detail: format!(
                            "{}: top hit {:?}",
                            p.display(),
                            top.map(|h| h.path.display(&h.title))
                        ),
                    });
                }
            }
        }
        out.metrics.push(Metric::gated(
            "exact_path.accuracy",
            right as f64 / asked.max(1) as f64,
            "ratio",
            Threshold::AtLeast(1.0),
        ));
        out.metrics.push(Metric::info(
            "exact_path.questions",
            asked as f64,
            "questions",
        ));

        // (c) DISC recall@5 and MRR.
        let (mut found, mut rr) = (0usize, 0.0f64);
        let mut latencies = Vec::new();
        for (qi, q) in disc.iter().enumerate() {
            let question = q["question"].as_str().unwrap_or_default();
            let t = Instant::now();
            let hits = search(question, 5).map_err(run_err)?.hits;
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            let rank = hits.iter().position(|h| refs[qi].contains(&h.doc_id));
            if let Some(r) = rank {
                found += 1;
                rr += 1.0 / (r + 1) as f64;
            }
            out.cases.push(CaseResult {
                id: format!("disc {qi:02}: {question}"),
                passed: rank.is_some(),
                detail: format!(
                    "first reference at rank {}; top hit {}",
                    rank.map_or("-".into(), |r| (r + 1).to_string()),
                    hits.first().map_or("none".into(), |h| h.doc_id.clone())
                ),
            });
        }
        let n = disc.len().max(1) as f64;
        out.metrics.push(Metric::gated(
            "disc.recall_at_5",
            found as f64 / n,
            "ratio",
            Threshold::AtLeast(0.9),
        ));
        out.metrics.push(Metric::info("disc.mrr", rr / n, "ratio"));
        latencies.sort_by(f64::total_cmp);
        out.metrics.push(Metric::info(
            "disc.query_p50_ms",
            latencies.get(latencies.len() / 2).copied().unwrap_or(0.0),
            "ms",
        ));
        let answers = std::env::var("DESKMATE_EVAL_ANSWERS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(10);
        let rerank_candidates = std::env::var("DESKMATE_EVAL_RERANK")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(5);
        let gen_name = std::env::var("DESKMATE_EVAL_GENERATOR").unwrap_or_else(|_| "fast".into());
        let models =
            models::Models::new(ModelStore::from_env(), models::GeneratorOptions::default());
        let load_generator = || {
            models
                .generator(&gen_name)
                .map_err(|e| EvalError::Run(format!("generator {gen_name}: {e}")))
        };

        // (c') The optional rerank step on the same questions: the first stage's best
        // `rerank_candidates` graded by the generator, then recall@5 and MRR again.
        let mut rerank_note = "Rerank: not measured (DESKMATE_EVAL_RERANK=0).".to_string();
        if rerank_candidates > 0 {
            let generator = load_generator()?;
            let options = knowledge::RerankOptions {
                candidates: rerank_candidates,
                ..Default::default()
            };
            let (mut found, mut rr, mut ms, mut changed) = (0usize, 0.0f64, 0.0f64, 0usize);
            for (qi, q) in disc.iter().enumerate() {
                let question = q["question"].as_str().unwrap_or_default();
                let first = search(question, knowledge::rerank::first_stage_k(5, &options))
                    .map_err(run_err)?;
                let before = first.hits.iter().position(|h| refs[qi].contains(&h.doc_id));
                let after = knowledge::rerank::rerank_results(
                    generator.as_ref(),
                    question,
                    first,
                    5,
                    &options,
                )
                .map_err(run_err)?;
                ms += after.rerank_ms;
                let rank = after.hits.iter().position(|h| refs[qi].contains(&h.doc_id));
                if let Some(r) = rank {
                    found += 1;
                    rr += 1.0 / (r + 1) as f64;
                }
                if rank != before.filter(|&b| b < 5) {
                    changed += 1;
                    out.cases.push(CaseResult {
                        id: format!("rerank disc {qi:02}: {question}"),
                        passed: rank.is_some(),
                        detail: format!(
                            "first reference at rank {} before the rerank (of {}), {} after",
                            before.map_or("-".into(), |r| (r + 1).to_string()),
                            options.candidates,
                            rank.map_or("-".into(), |r| (r + 1).to_string()),
                        ),
                    });
                }
            }
            out.metrics.push(Metric::info(
                "disc.rerank.recall_at_5",
                found as f64 / n,
                "ratio",
            ));
            out.metrics
                .push(Metric::info("disc.rerank.mrr", rr / n, "ratio"));
            out.metrics
                .push(Metric::info("disc.rerank.ms_mean", ms / n, "ms"));
            out.metrics.push(Metric::info(
                "disc.rerank.rank_changed",
                changed as f64,
                "questions",
            ));
            rerank_note = format!(
                "Rerank: the first stage's best {} hits of each DISC question graded 0-3 by `{}` (knowledge::rerank, constrained JSON), re-ordered by (exact, grade, fused); recall@5 and MRR as in (c). DESKMATE_EVAL_RERANK sets the candidates (0 skips). It is off by default in the product ([knowledge] rerank).",
                options.candidates,
                generator.id()
            );
        }

        // (d) Answer faithfulness: cited answers from a local generator to a spread of the
        // exact-path and DISC questions, judged by `knowledge::answer::faithfulness`.
        let mut faith_note = "Faithfulness: not measured (DESKMATE_EVAL_ANSWERS=0).".to_string();
        if answers > 0 {
            let generator = load_generator()?;
            let mut questions: Vec<String> = Vec::new();
            for (i, (_, title, want)) in texts.iter().enumerate() {
                if let Some(label) = want.get(want.len() / 3 + i % 3) {
                    questions.push(format!("《{title}》{label}说了什么？"));
                }
            }
            let half = answers.div_ceil(2);
            let mut picked: Vec<String> = questions
                .iter()
                .step_by((questions.len() / half.max(1)).max(1))
                .take(half)
                .cloned()
                .collect();
            picked.extend(
                disc.iter()
                    .step_by((disc.len() / (answers - picked.len()).max(1)).max(1))
                    .filter_map(|q| q["question"].as_str().map(str::to_string))
                    .take(answers - picked.len()),
            );
            // Every corpus here is a reference text (regulations, the CDM documentation, the
            // DISC laws): all of them may state policy.
            let options = knowledge::AskOptions {
                authoritative_collections: vec![
                    "regulation-*".into(),
                    "cdm-docs".into(),
                    "disc".into(),
                ],
                ..Default::default()
            };
            let (mut sentences, mut supported, mut found, mut gen_ms) =
                (0usize, 0usize, 0usize, 0.0);
            let (mut model_cited, mut attributed) = (0usize, 0usize);
            for q in &picked {
                let a = knowledge::answer::ask(
                    &kb,
                    generator.as_ref(),
                    &knowledge::AskRequest {
                        question: q.clone(),
                        filters: Filters::default(),
                        clearance: Clearance::of(Role::Admin),
                    },
                    &options,
                    &mut |_| std::ops::ControlFlow::Continue(()),
                )
                .map_err(run_err)?;
                let f = knowledge::answer::faithfulness(&a);
                sentences += f.sentences;
                supported += f.supported;
                found += usize::from(a.found);
                gen_ms += a.generation_ms;
                model_cited += usize::from(!a.attributed && !a.citations.is_empty());
                attributed += usize::from(a.attributed);
                out.cases.push(CaseResult {
                    id: format!("answer: {q}"),
                    passed: !a.found || f.ratio() >= 0.5,
                    detail: format!(
                        "found {}, {} of {} sentences supported by their citations, {} citations{}: {}",
                        a.found,
                        f.supported,
                        f.sentences,
                        a.citations.len(),
                        if a.attributed { " (attributed)" } else { "" },
                        a.text.chars().take(160).collect::<String>()
                    ),
                });
            }
            out.metrics.push(Metric::info(
                "answers.faithfulness",
                if sentences == 0 {
                    0.0
                } else {
                    supported as f64 / sentences as f64
                },
                "ratio",
            ));
            out.metrics.push(Metric::info(
                "answers.asked",
                picked.len() as f64,
                "questions",
            ));
            out.metrics
                .push(Metric::info("answers.found", found as f64, "questions"));
            out.metrics.push(Metric::info(
                "answers.cited_by_model",
                model_cited as f64,
                "questions",
            ));
            out.metrics.push(Metric::info(
                "answers.citations_attributed",
                attributed as f64,
                "questions",
            ));
            out.metrics.push(Metric::info(
                "answers.generation_s_mean",
                gen_ms / 1000.0 / picked.len().max(1) as f64,
                "s",
            ));
            faith_note = format!(
                "Faithfulness: {} questions (exact-path and DISC, spread) answered by `{}`; a sentence is supported when at least half of its character bigrams (words for non-CJK text) occur in the chunks it cites; sentences without a citation count as unsupported (knowledge::answer::faithfulness). When the model cites nothing, citations are attributed by the same overlap rule (knowledge::answer::attribute) and the answer is counted under answers.citations_attributed; answers.cited_by_model counts the answers whose markers are the model's own. DESKMATE_EVAL_ANSWERS sets the count (0 skips), DESKMATE_EVAL_GENERATOR the model.",
                picked.len(),
                generator.id()
            );
        }

        out.notes = vec![
            format!("Embedder: {name}. Laws: {}. DISC questions: {}.", laws.len(), disc.len()),
            rerank_note,
            faith_note,
            "Structure: article labels and order must equal the 第X条 markers at line starts after the header block.".into(),
            "Exact path: questions name the law by its title and the article by its Chinese numeral; the top hit must be that article, found by exact lookup.".into(),
            "DISC: each reference text is one document (collection `disc`) beside all shared laws, the English regulation texts and the CDM documentation; a question counts as recalled when any of its reference documents is among the top 5 fused hits.".into(),
        ];
        Ok(out)
    }
}
