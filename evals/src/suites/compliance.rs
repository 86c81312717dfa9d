//! Suite `compliance`: one trade, every reporting regime (issue #19).
//!
//! (a) **Reports**: for each development trade of `regulation-en/drr-reports/` (ISDA DRR 6.10's
//! test inputs, a CDM ReportableEvent each), every regime's generated report against the
//! expected one: field-level accuracy over the expected report's reportable fields (DRR's own
//! `nonReportable` working block left out), values equal after normalising numbers and
//! timestamps; per regime and overall (gated: ≥ 0.95 overall, ≥ 0.90 per regime). Fields we
//! generate that the expected report lacks are counted too (field precision, informational).
//! (b) **Differences**: the comparison's difference list (only in some regimes, different
//! value, different format) against the list computed the same way from the expected reports
//! themselves; precision and recall (gated ≥ 0.95).
//! (c) **Speed**: the whole comparison of one trade across every regime with the catalogue
//! cached, median over the trades (gated < 200 ms).
//! (d) **Rule Q&A** (`evals/data/compliance/rule-qa.jsonl`, development and held-out apart, per
//! language): retrieval over a knowledge base holding the rule corpus (the DRR provisions, one
//! section each; JR/T 0294.3; the ESMA EMIR Refit guidelines; the Chinese laws), restricted to
//! those collections as the product restricts it: recall@5 of the expected provisions (gated ≥
//! 0.9 on development). With answers on (`DESKMATE_EVAL_ANSWERS`: a number of questions, `all`,
//! default 0), each answer from the generator (`DESKMATE_EVAL_GENERATOR`, default `default`):
//! citation correctness (every cited provision is an expected one or on the same field of the
//! same regime; gated ≥ 0.9, 0 when nothing is cited), the same over the model's own sentences
//! alone (after the quoted lead), refusal of the questions the corpus does not cover, time to
//! the first streamed token (gated < 3 s: the quoted lead of the named fields' provisions when
//! there is one) and, separately, time to the model's first kept sentence (informational: on
//! a CPU it is the prompt's prefill and the first sentence's decoding).
//!
//! All six trades are development data (the rules were written looking at them); the
//! maintainers hold further trades back. The embedder is `multilingual-e5-small`
//! (`DESKMATE_EVAL_EMBEDDER` overrides it); `DESKMATE_EVAL_KB_DIR` keeps the rule corpus's index
//! between runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use compliance::catalogue::Catalogue;
use compliance::elements::RunFacts;
use compliance::{cdm, compare, elements, regime, score};
use knowledge::chunk::{Format, SourceText};
use knowledge::{IngestRequest, KbConfig, KnowledgeBase};
use models::{BertEmbedder, ModelStore};
use policies::{Clearance, DataClass, Role};
use serde::Deserialize;
use serde_json::Value;

use crate::{CaseResult, EvalContext, EvalError, Metric, Suite, SuiteOutput, Threshold};

/// The compliance suite.
#[derive(Debug, Clone, Default)]
pub struct ComplianceSuite;

/// The rule questions (`evals/data/compliance/README.md`).
const QA: &str = include_str!("../../data/compliance/rule-qa.jsonl");

#[derive(Debug, Deserialize)]
struct Question {
    id: String,
    lang: String,
    split: String,
    question: String,
    expected: Vec<String>,
    #[serde(default)]
    also_ok: Vec<String>,
    covered: bool,
}

fn run_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Run(e.to_string())
}

fn data_err(p: &Path, e: impl std::fmt::Display) -> EvalError {
    EvalError::Data(format!("{}: {e}", p.display()))
}

/// The catalogue of the shared data.
pub fn shared_catalogue(root: &Path) -> Result<Catalogue, EvalError> {
    let p = root.join("regulation-en/drr-field-provisions.jsonl");
    let j = root.join("regulation-zh/jr-t-0294.3-2024/JR_T_0294.3-2024_other_CDE_elements.json");
    let prov = std::fs::read_to_string(&p).map_err(|e| data_err(&p, e))?;
    let jrt = std::fs::read_to_string(&j).map_err(|e| data_err(&j, e))?;
    Catalogue::from_sources("drr-6.10.0+jrt-0294.3-2024", &prov, &jrt).map_err(|e| data_err(&p, e))
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

impl Suite for ComplianceSuite {
    fn name(&self) -> &'static str {
        "compliance"
    }

    fn description(&self) -> &'static str {
        "Trade reporting across nine regimes: generated reports vs ISDA DRR's expected ones, the difference list, speed, and rule Q&A retrieval (and optionally cited answers)"
    }

    fn run(&self, ctx: &EvalContext) -> Result<SuiteOutput, EvalError> {
        let root = ctx
            .data
            .clone()
            .or_else(crate::shared_data)
            .ok_or_else(|| {
                EvalError::Data("the shared data folder (shared/data) was not found".into())
            })?;
        let mut out = SuiteOutput::default();
        let catalogue = shared_catalogue(&root)?;
        reports(&root, &catalogue, &mut out)?;
        rule_qa(&root, &catalogue, &mut out)?;
        Ok(out)
    }
}

/// (a), (b), (c).
fn reports(root: &Path, catalogue: &Catalogue, out: &mut SuiteOutput) -> Result<(), EvalError> {
    let dir = root.join("regulation-en/drr-reports");
    let mut trades: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| data_err(&dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    trades.sort();
    let mut per_regime: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new(); // right, expected, generated-and-expected
    let (mut extra, mut generated_total) = (0usize, 0usize);
    let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
    let mut timings = Vec::new();
    for tdir in &trades {
        let name = tdir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let p = tdir.join("input.cdm.json");
        let input: Value = serde_json::from_slice(&std::fs::read(&p).map_err(|e| data_err(&p, e))?)
            .map_err(|e| data_err(&p, e))?;
        let run = RunFacts {
            reporting_timestamp: "2024-04-29T00:00:00Z".into(),
        };
        let t = match cdm::read(&input, None) {
            Ok(t) => t,
            Err(e) => {
                out.cases.push(CaseResult {
                    id: format!("{name}: read"),
                    passed: false,
                    detail: e.to_string(),
                });
                continue;
            }
        };
        let e = elements::elements(&t, &run);
        let mut regs = Vec::new();
        let mut expected_cols = Vec::new();
        for r in regime::regimes() {
            let ep = tdir.join(format!("{}.json", r.id));
            let Ok(bytes) = std::fs::read(&ep) else {
                continue;
            };
            let expected: Value = serde_json::from_slice(&bytes).map_err(|e| data_err(&ep, e))?;
            let generated = regime::report(r, &t, &e);
            let outcomes = score::score(&expected, &generated);
            let right = outcomes.iter().filter(|o| o.correct).count();
            let entry = per_regime.entry(r.id).or_default();
            entry.0 += right;
            entry.1 += outcomes.len();
            let flat = score::flatten(&expected);
            let gen_values = generated
                .iter()
                .filter(|(_, c)| c.value().is_some())
                .count();
            generated_total += gen_values;
            extra += generated
                .iter()
                .filter(|(k, c)| c.value().is_some() && !flat.contains_key(*k))
                .count();
            for o in outcomes.iter().filter(|o| !o.correct) {
                out.cases.push(CaseResult {
                    id: format!("{name} {} {}", r.id, o.field),
                    passed: false,
                    detail: format!(
                        "expected {}, generated {}",
                        o.expected,
                        o.got.as_ref().map_or("nothing".into(), |g| g.to_string())
                    ),
                });
            }
            expected_cols.push((r.id.to_owned(), flat));
            regs.push((r, regime::Role::Requested));
        }
        // (c) the whole comparison, catalogue cached: best of 3 runs of read + fields + matrix.
        let mut best = f64::MAX;
        let all: Vec<_> = regime::regimes()
            .iter()
            .map(|r| (r, regime::Role::Requested))
            .collect();
        for _ in 0..3 {
            let t0 = Instant::now();
            let t2 = cdm::read(&input, None).map_err(run_err)?;
            let e2 = elements::elements(&t2, &run);
            let cmp = compare::compare(&t2, &e2, &all, catalogue);
            std::hint::black_box(&cmp);
            best = best.min(t0.elapsed().as_secs_f64() * 1000.0);
        }
        timings.push(best);
        // (b) differences against the expected reports' own.
        let cmp = compare::compare(&t, &e, &regs, catalogue);
        let want: BTreeSet<_> = compare::differences(&expected_cols).into_iter().collect();
        let got: BTreeSet<_> = cmp.differences.iter().cloned().collect();
        tp += got.intersection(&want).count();
        for d in got.difference(&want) {
            fp += 1;
            out.cases.push(CaseResult {
                id: format!(
                    "{name} difference not in the expected reports: {} ({:?})",
                    d.key, d.kind
                ),
                passed: false,
                detail: format!("{:?}", d.groups),
            });
        }
        for d in want.difference(&got) {
            fneg += 1;
            out.cases.push(CaseResult {
                id: format!("{name} difference missed: {} ({:?})", d.key, d.kind),
                passed: false,
                detail: format!("{:?}", d.groups),
            });
        }
    }
    let (right, total): (usize, usize) = per_regime
        .values()
        .fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
    out.metrics.push(Metric::gated(
        "reports.field_accuracy",
        ratio(right, total),
        "ratio",
        Threshold::AtLeast(0.95),
    ));
    out.metrics.push(Metric::info(
        "reports.expected_fields",
        total as f64,
        "fields",
    ));
    for (r, (ok, n, _)) in &per_regime {
        out.metrics.push(Metric::gated(
            &format!("reports.field_accuracy.{r}"),
            ratio(*ok, *n),
            "ratio",
            Threshold::AtLeast(0.90),
        ));
    }
    out.metrics.push(Metric::info(
        "reports.field_precision",
        ratio(generated_total - extra, generated_total),
        "ratio",
    ));
    out.metrics.push(Metric::info(
        "reports.fields_not_in_expected",
        extra as f64,
        "fields",
    ));
    out.metrics.push(Metric::gated(
        "differences.precision",
        ratio(tp, tp + fp),
        "ratio",
        Threshold::AtLeast(0.95),
    ));
    out.metrics.push(Metric::gated(
        "differences.recall",
        ratio(tp, tp + fneg),
        "ratio",
        Threshold::AtLeast(0.95),
    ));
    timings.sort_by(f64::total_cmp);
    let median = timings.get(timings.len() / 2).copied().unwrap_or(0.0);
    out.metrics.push(Metric::gated(
        "compare.median_ms",
        median,
        "ms",
        Threshold::AtMost(200.0),
    ));
    out.notes.push(format!(
        "Reports: {} development trades × the regimes each has an expected report for ({} reports), {} expected fields. All six trades were looked at while writing the rules; the maintainers' held-back trades are the unseen test.",
        trades.len(),
        per_regime.values().count(),
        total
    ));
    out.notes.push("Speed: read + fields + the matrix of all ten columns (nine regimes and JR/T 0294.3), catalogue in memory, best of three per trade, median over trades; this machine's CPU, one thread.".into());
    Ok(())
}

/// One document of the rule corpus: (collection, source, title, Markdown).
type CorpusDoc = (String, String, Option<String>, String);

/// The corpus a rule question is answered from.
fn corpus(root: &Path, catalogue: &Catalogue) -> Result<Vec<CorpusDoc>, EvalError> {
    let mut docs = Vec::new();
    for (regime, title, text) in assistant::reporting::corpus_documents(catalogue) {
        let collection = if regime == "jrt" {
            assistant::reporting::JRT_COLLECTION
        } else {
            assistant::reporting::DRR_COLLECTION
        };
        docs.push((
            collection.to_owned(),
            format!("compliance-{regime}.md"),
            Some(title),
            text,
        ));
    }
    let g = root.join("regulation-en/esma-emir-refit-guidelines/esma74-362-2281_final_report_guidelines_emir_refit.md");
    docs.push((
        "regulation-en".into(),
        g.display().to_string(),
        None,
        std::fs::read_to_string(&g).map_err(|e| data_err(&g, e))?,
    ));
    let mut stack = vec![root.join("regulation-zh")];
    let mut laws = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .map_err(|e| data_err(&d, e))?
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                laws.push(p);
            }
        }
    }
    laws.sort();
    for p in laws {
        docs.push((
            "regulation-zh".into(),
            p.display().to_string(),
            None,
            std::fs::read_to_string(&p).map_err(|e| data_err(&p, e))?,
        ));
    }
    Ok(docs)
}

/// Whether a cited provision is on topic for a question: one of its expected provisions (or
/// their alternatives), or a provision of the same regime on the same field as one of them.
fn on_topic(cited: &str, q: &Question, catalogue: &Catalogue) -> bool {
    if q.expected.iter().chain(&q.also_ok).any(|e| e == cited) {
        return true;
    }
    let Some(c) = catalogue.provision(cited) else {
        return false;
    };
    q.expected
        .iter()
        .chain(&q.also_ok)
        .filter_map(|e| catalogue.provision(e))
        .any(|e| {
            e.regime == c.regime
                && compliance::catalogue::bare_key(&e.field_key)
                    == compliance::catalogue::bare_key(&c.field_key)
        })
}

/// (d).
fn rule_qa(root: &Path, catalogue: &Catalogue, out: &mut SuiteOutput) -> Result<(), EvalError> {
    let questions: Vec<Question> = QA
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| EvalError::Data(format!("rule-qa.jsonl: {e}")))?;
    let name =
        std::env::var("DESKMATE_EVAL_EMBEDDER").unwrap_or_else(|_| "multilingual-e5-small".into());
    let entry = ModelStore::from_env().get(&name).map_err(|e| {
        EvalError::Run(format!(
            "embedder {name}: {e} (install it with `deskmate models install`)"
        ))
    })?;
    let embedder = Arc::new(BertEmbedder::load(&entry).map_err(run_err)?);
    // `DESKMATE_EVAL_KB_DIR` keeps the index between runs (ingesting unchanged text again is a
    // no-op); a temporary one otherwise.
    let tmp = tempfile::tempdir().map_err(run_err)?;
    let dir = std::env::var_os("DESKMATE_EVAL_KB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let (kb, _) = KnowledgeBase::open(&dir, embedder, KbConfig::default()).map_err(run_err)?;
    let t = Instant::now();
    let mut chunks = 0;
    for (collection, source, title, text) in corpus(root, catalogue)? {
        let r = kb
            .ingest_text(
                &IngestRequest {
                    source,
                    collection,
                    classification: DataClass::GENERAL,
                    doc_id: None,
                    title,
                },
                &SourceText::new(text, Format::Markdown),
            )
            .map_err(run_err)?;
        chunks += r.chunks;
    }
    out.metrics
        .push(Metric::info("qa.index.chunks", chunks as f64, "chunks"));
    out.metrics.push(Metric::info(
        "qa.index.ingest_seconds",
        t.elapsed().as_secs_f64(),
        "s",
    ));
    let collections: Vec<String> = [
        assistant::reporting::DRR_COLLECTION,
        assistant::reporting::JRT_COLLECTION,
        "regulation-en",
        "regulation-zh",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let clearance = Clearance::of(Role::Compliance);
    // recall@5 by split and language.
    let mut groups: BTreeMap<(String, String), (f64, usize)> = BTreeMap::new();
    for q in questions.iter().filter(|q| q.covered) {
        let hits = assistant::reporting::rule_hits(
            &kb,
            catalogue,
            &q.question,
            clearance,
            &collections,
            5,
        )
        .map_err(run_err)?;
        let found: Vec<String> = hits
            .hits
            .iter()
            .filter_map(|h| {
                assistant::reporting::provision_of_path(
                    &h.collection,
                    &h.title,
                    &h.path.display(&h.title),
                )
            })
            .collect();
        let hit = |e: &String| found.iter().any(|f| f == e);
        let recalled = q
            .expected
            .iter()
            .filter(|e| hit(e) || (q.expected.len() == 1 && q.also_ok.iter().any(hit)))
            .count();
        let r = ratio(recalled, q.expected.len());
        for key in [
            (q.split.clone(), q.lang.clone()),
            (q.split.clone(), "all".into()),
        ] {
            let g = groups.entry(key).or_default();
            g.0 += r;
            g.1 += 1;
        }
        if r < 1.0 {
            out.cases.push(CaseResult {
                id: format!("qa {} ({}, {})", q.id, q.split, q.lang),
                passed: false,
                detail: format!("expected {:?}; top 5: {:?}", q.expected, found),
            });
        }
    }
    for ((split, lang), (sum, n)) in &groups {
        let value = sum / *n as f64;
        let metric = format!("qa.recall_at_5.{split}.{lang}");
        if split == "dev" && lang == "all" {
            out.metrics.push(Metric::gated(
                &metric,
                value,
                "ratio",
                Threshold::AtLeast(0.9),
            ));
        } else {
            out.metrics.push(Metric::info(&metric, value, "ratio"));
        }
    }
    answers(&kb, &collections, &questions, catalogue, out)?;
    Ok(())
}

/// Cited answers with the generator, when asked for.
fn answers(
    kb: &KnowledgeBase,
    collections: &[String],
    questions: &[Question],
    catalogue: &Catalogue,
    out: &mut SuiteOutput,
) -> Result<(), EvalError> {
    let wanted = std::env::var("DESKMATE_EVAL_ANSWERS").unwrap_or_else(|_| "0".into());
    let n = if wanted.trim() == "all" {
        questions.len()
    } else {
        wanted.trim().parse::<usize>().unwrap_or(0)
    };
    if n == 0 {
        out.notes.push("Rule Q&A answers: not run (DESKMATE_EVAL_ANSWERS=0); set it to a number or `all` to measure citation correctness and time to first token with the generator.".into());
        return Ok(());
    }
    let gen_name = std::env::var("DESKMATE_EVAL_GENERATOR").unwrap_or_else(|_| "default".into());
    let models = models::Models::new(ModelStore::from_env(), models::GeneratorOptions::default());
    let generator = models
        .generator(&gen_name)
        .map_err(|e| EvalError::Run(format!("generator {gen_name}: {e}")))?;
    // A spread: every k-th question so both languages and splits are in.
    let step = (questions.len() / n.min(questions.len()).max(1)).max(1);
    // `DESKMATE_EVAL_QA_IDS` (comma-separated ids) answers those questions instead.
    let ids: Vec<String> = std::env::var("DESKMATE_EVAL_QA_IDS")
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    let chosen: Vec<&Question> = if ids.is_empty() {
        questions.iter().step_by(step).take(n).collect()
    } else {
        questions.iter().filter(|q| ids.contains(&q.id)).collect()
    };
    let options = knowledge::AskOptions::default();
    let (
        mut cited_ok,
        mut cited_n,
        mut refused_right,
        mut uncovered,
        mut answered,
        mut with_expected,
        mut with_lead,
    ) = (0usize, 0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut model_cited_ok, mut model_cited_n) = (0usize, 0usize);
    let mut first_token = Vec::new();
    let mut first_model = Vec::new();
    for q in chosen {
        let t0 = Instant::now();
        let mut times: Vec<f64> = Vec::new();
        let mut deltas: Vec<String> = Vec::new();
        let answer = assistant::reporting::answer_rule(
            kb,
            catalogue,
            &assistant::reporting::RuleQuestion {
                question: &q.question,
                clearance: Clearance::of(Role::Compliance),
                collections,
            },
            generator.as_ref(),
            &options,
            &mut |d| {
                times.push(t0.elapsed().as_secs_f64());
                deltas.push(d.to_owned());
                std::ops::ControlFlow::Continue(())
            },
        )
        .map_err(run_err)?;
        if let Some(f) = times.first() {
            first_token.push(*f);
        }
        // The first delta after the quoted lead is the model's first kept sentence.
        if let Some(f) = times.get(usize::from(answer.lead > 0)) {
            first_model.push(*f);
        }
        if !q.covered {
            uncovered += 1;
            if !answer.found {
                refused_right += 1;
            }
            out.cases.push(CaseResult {
                id: format!("answer {} (not covered)", q.id),
                passed: !answer.found,
                detail: answer.text.chars().take(300).collect(),
            });
            continue;
        }
        if !answer.found {
            out.cases.push(CaseResult {
                id: format!("answer {} refused", q.id),
                passed: false,
                detail: format!(
                    "the corpus covers it; evidence {:?}; dropped by the check: {:?}",
                    answer
                        .evidence
                        .iter()
                        .filter_map(assistant::reporting::provision_of)
                        .collect::<Vec<_>>(),
                    answer.dropped
                ),
            });
            continue;
        }
        answered += 1;
        with_lead += usize::from(answer.lead > 0);
        let cited: Vec<String> = answer
            .citations
            .iter()
            .filter_map(assistant::reporting::provision_of)
            .collect();
        let ok = cited.iter().filter(|c| on_topic(c, q, catalogue)).count();
        cited_ok += ok;
        cited_n += cited.len();
        if cited
            .iter()
            .any(|c| q.expected.contains(c) || q.also_ok.contains(c))
        {
            with_expected += 1;
        }
        // The model's own citations: those in the deltas after the quoted lead.
        let model_text: String = deltas
            .iter()
            .skip(usize::from(answer.lead > 0))
            .cloned()
            .collect();
        let (_, model_ns, _) =
            knowledge::answer::resolve_citations(&model_text, answer.evidence.len());
        for n in model_ns {
            if let Some(p) = assistant::reporting::provision_of(&answer.evidence[n - 1]) {
                model_cited_n += 1;
                model_cited_ok += usize::from(on_topic(&p, q, catalogue));
            }
        }
        out.cases.push(CaseResult {
            id: format!("answer {} ({}, {})", q.id, q.split, q.lang),
            passed: ok == cited.len() && !cited.is_empty(),
            detail: format!(
                "cited {cited:?}; expected {:?}; {}",
                q.expected,
                answer.text.chars().take(1500).collect::<String>()
            ),
        });
    }
    // No citation at all is no evidence of correctness.
    let correctness = |ok: usize, n: usize| if n == 0 { 0.0 } else { ratio(ok, n) };
    out.metrics.push(Metric::gated(
        "qa.citation_correctness",
        correctness(cited_ok, cited_n),
        "ratio",
        Threshold::AtLeast(0.9),
    ));
    out.metrics
        .push(Metric::info("qa.citations", cited_n as f64, "citations"));
    out.metrics.push(Metric::info(
        "qa.citation_correctness.model_sentences",
        correctness(model_cited_ok, model_cited_n),
        "ratio",
    ));
    out.metrics.push(Metric::info(
        "qa.citations.model_sentences",
        model_cited_n as f64,
        "citations",
    ));
    out.metrics.push(Metric::info(
        "qa.answers_citing_an_expected_provision",
        ratio(with_expected, answered),
        "ratio",
    ));
    out.metrics.push(Metric::info(
        "qa.refusal_of_uncovered",
        ratio(refused_right, uncovered),
        "ratio",
    ));
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    out.metrics.push(Metric::gated(
        "qa.first_token_median_s",
        median(&mut first_token),
        "s",
        Threshold::AtMost(3.0),
    ));
    out.metrics.push(Metric::info(
        "qa.first_model_sentence_median_s",
        median(&mut first_model),
        "s",
    ));
    out.metrics.push(Metric::info(
        "qa.answers_with_a_quoted_lead",
        ratio(with_lead, answered),
        "ratio",
    ));
    out.notes.push(format!(
        "Rule Q&A answers: {} questions with generator {gen_name} on this machine's CPU.",
        first_token.len()
    ));
    Ok(())
}
