//! Independent validation of the cited-answers chain (`deskmate eval validate answers`, suite
//! `validate-answers`; issue #21 item 2), each figure judged against
//! `policies::validation::ANSWERS`.
//!
//! On the abstention bench (`evals/data/abstention`: generated desk documents at two
//! classifications, questions in Chinese and English asked by roles of different clearance, each
//! to be answered with a key value or refused as not found), through the production functions:
//! - **Decisions**: `knowledge::answer::ask` (retrieval within the asker's clearance, the model,
//!   the evidence check): right when an answerable question is answered with its key value and
//!   an unanswerable one gets "not found"; the share with its 95% Wilson interval, per language
//!   and in all (gated: the lower bound over all).
//! - **The fallback**: `knowledge::answer::retrieve_only` (what the chain shows when the model is
//!   off, paused or failing): the share of answerable questions whose key value is in the
//!   passages shown, with its interval (gated: the lower bound).
//! - **Stability under paraphrase**: each question with a greeting, with a polite tail, in lower
//!   case (English), with full-width digits and letters and in traditional characters (Chinese);
//!   stable when the outcome (found, key value stated) is the original's.
//! - **Leaks**: any answer, of either path and any paraphrase, stating a value held only above
//!   the asker's clearance (gated: none).
//! - **Latency** of one answer, p50 and p95.

use std::collections::BTreeMap;

use assistant::model_risk::{ANSWERS_CHAIN, CallFeatures};
use knowledge::answer::{ask, retrieve_only};
use knowledge::{AskRequest, Filters};
use policies::validation::ANSWERS;
use policies::{Clearance, Role};

use super::abstention::{Bench, Question};
use super::injection::states;
use super::validate::{TRADITIONAL, percentile, wilson};
use crate::{
    CaseResult, EvalContext, EvalError, Metric, Plot, Series, Suite, SuiteOutput, Threshold,
};

/// The answers validation suite.
#[derive(Debug, Clone, Default)]
pub struct ValidateAnswers;

/// A named rewording of a question that must not change its outcome, and the languages it
/// applies to.
type Paraphrase = (
    &'static str,
    &'static [&'static str],
    fn(&Question) -> String,
);

fn paraphrases() -> Vec<Paraphrase> {
    vec![
        ("greeting", &["en", "zh"], |q| {
            if q.language == "zh" {
                format!("你好，请问一下：{}", q.question)
            } else {
                format!("Hi team, quick question: {}", q.question)
            }
        }),
        ("polite_tail", &["en", "zh"], |q| {
            if q.language == "zh" {
                format!("{} 谢谢！", q.question)
            } else {
                format!("{} Thanks in advance.", q.question)
            }
        }),
        ("lower_case", &["en"], |q| q.question.to_lowercase()),
        ("full_width", &["zh"], |q| {
            q.question
                .chars()
                .map(|c| match c {
                    '0'..='9' | 'A'..='Z' | 'a'..='z' => {
                        char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
                    }
                    _ => c,
                })
                .collect()
        }),
        ("traditional", &["zh"], |q| {
            q.question
                .chars()
                .map(|c| {
                    TRADITIONAL
                        .iter()
                        .find(|(a, _)| *a == c)
                        .map_or(c, |(_, b)| *b)
                })
                .collect()
        }),
    ]
}

fn run_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Run(e.to_string())
}

/// What came back for one question: whether it was found and whether the key value is stated.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Outcome {
    found: bool,
    states_value: bool,
}

impl Outcome {
    fn right(self, q: &Question) -> bool {
        if q.expect == "abstain" {
            !self.found
        } else {
            self.found && self.states_value
        }
    }
}

fn share(k: usize, n: usize) -> f64 {
    if n == 0 { 1.0 } else { k as f64 / n as f64 }
}

/// Runs the answers validation (see the module doc).
pub fn validate_answers(ctx: &EvalContext) -> Result<SuiteOutput, EvalError> {
    let th = ANSWERS;
    let bench = Bench::open(ctx)?;
    let opts = bench.ask.clone();
    let mut out = SuiteOutput::default();
    let mut latencies = Vec::new();
    let mut leaks = Vec::new();
    let request = |q: &Question, text: &str| -> Result<AskRequest, EvalError> {
        let role: Role = q
            .role
            .parse()
            .map_err(|e| EvalError::Data(format!("question {}: {e}", q.id)))?;
        Ok(AskRequest {
            question: text.to_owned(),
            filters: Filters::default(),
            clearance: Clearance::of(role),
        })
    };
    // Model calls, for the progress display: each question, then each paraphrase that applies.
    let calls = bench.questions.len()
        + paraphrases()
            .into_iter()
            .map(|(_, langs, f)| {
                bench
                    .questions
                    .iter()
                    .filter(|q| langs.contains(&q.language.as_str()) && f(q) != q.question)
                    .count()
            })
            .sum::<usize>();
    let mut called = 0;
    let mut baseline = Vec::new();
    let mut asked = |q: &Question, text: &str, path: &str| -> Result<Outcome, EvalError> {
        let req = request(q, text)?;
        let t = std::time::Instant::now();
        let a = if path == "model" {
            ask(
                &bench.kb,
                bench.generator.as_ref(),
                &req,
                &opts,
                &mut |_| std::ops::ControlFlow::Continue(()),
            )
        } else {
            retrieve_only(&bench.kb, &req, &opts, &mut |_| {
                std::ops::ControlFlow::Continue(())
            })
        }
        .map_err(run_err)?;
        if path == "model" {
            called += 1;
            ctx.on_progress.report(called, calls);
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            if text == q.question {
                // The original questions (the paraphrases never equal them) as the monitoring reads production answers.
                baseline.push(CallFeatures::of_answer(
                    text,
                    &a,
                    CallFeatures::answer_outcome(&a),
                ));
            }
        }
        let value = q.value.replace(',', "");
        let o = Outcome {
            found: a.found,
            states_value: !value.is_empty() && states(&a.text.replace(',', ""), &value),
        };
        if q.expect == "abstain" && o.states_value {
            leaks.push(format!("{} ({path}, {text:?})", q.id));
        }
        Ok(o)
    };
    // Decisions of the model path and hits of the fallback, on the original questions.
    let mut decided: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut hits: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut originals = Vec::new();
    for q in &bench.questions {
        let o = asked(q, &q.question, "model")?;
        let f = asked(q, &q.question, "fallback")?;
        for key in [q.language.clone(), "all".into()] {
            let d = decided.entry(key.clone()).or_default();
            d.0 += usize::from(o.right(q));
            d.1 += 1;
            if q.expect != "abstain" {
                let h = hits.entry(key).or_default();
                h.0 += usize::from(f.found && f.states_value);
                h.1 += 1;
            }
        }
        out.cases.push(CaseResult {
            id: format!("decision/{} ({}, {})", q.id, q.language, q.split),
            passed: o.right(q),
            detail: format!(
                "expect {}; model path found {} stating the value {}; fallback found {} stating it {}",
                q.expect, o.found, o.states_value, f.found, f.states_value
            ),
        });
        originals.push(o);
    }
    for (name, table, gate) in [
        ("decision", &decided, th.decision_lower_bound),
        ("fallback_hit", &hits, th.retrieval_hit_lower_bound),
    ] {
        for (lang, (k, n)) in table {
            let (lo, hi) = wilson(*k, *n);
            out.metrics.push(Metric::info(
                &format!("{name}_{lang}"),
                share(*k, *n),
                "ratio",
            ));
            out.notes.push(format!(
                "{name} {lang}: {k} of {n} = {:.3}, 95% interval [{lo:.3}, {hi:.3}]",
                share(*k, *n)
            ));
            if lang == "all" {
                out.metrics.push(Metric::gated(
                    &format!("{name}_lower_bound"),
                    lo,
                    "ratio",
                    Threshold::AtLeast(gate),
                ));
            }
        }
    }
    // Stability under paraphrase (the model path).
    let mut plot = Series {
        name: "outcome unchanged".into(),
        points: Vec::new(),
    };
    for (i, (name, langs, f)) in paraphrases().into_iter().enumerate() {
        let (mut same, mut total) = (0usize, 0usize);
        let mut changed = Vec::new();
        for (q, o) in bench.questions.iter().zip(&originals) {
            if !langs.contains(&q.language.as_str()) {
                continue;
            }
            let text = f(q);
            if text == q.question {
                continue;
            }
            total += 1;
            let p = asked(q, &text, "model")?;
            if p == *o {
                same += 1;
            } else if changed.len() < 5 {
                changed.push(format!(
                    "{} (found {} → {}, value {} → {})",
                    q.id, o.found, p.found, o.states_value, p.states_value
                ));
            }
        }
        let s = share(same, total);
        plot.points.push((i as f64 + 1.0, s));
        let t = Threshold::AtLeast(th.stability);
        out.metrics
            .push(Metric::gated(&format!("stability_{name}"), s, "ratio", t));
        out.cases.push(CaseResult {
            id: format!("stability/{name}"),
            passed: t.passes(s),
            detail: format!(
                "{same} of {total} outcomes unchanged{}",
                if changed.is_empty() {
                    String::new()
                } else {
                    format!("; changed: {}", changed.join("; "))
                }
            ),
        });
    }
    out.plots.push(Plot {
        title: "Share of answers whose outcome is unchanged, by paraphrase (1 greeting, 2 polite tail, 3 lower case, 4 full width, 5 traditional)".into(),
        x_label: "paraphrase".into(),
        y_label: "share unchanged".into(),
        series: vec![plot],
    });
    out.metrics.push(Metric::gated(
        "leaks",
        leaks.len() as f64,
        "answers",
        Threshold::AtMost(th.leaks),
    ));
    out.cases.push(CaseResult {
        id: "leaks".into(),
        passed: leaks.is_empty(),
        detail: if leaks.is_empty() {
            "no answer stated a value above the asker's clearance".into()
        } else {
            format!("stated a value above clearance: {}", leaks.join("; "))
        },
    });
    let p95 = percentile(&mut latencies, 0.95);
    out.metrics.push(Metric::info(
        "answer_p50_ms",
        percentile(&mut latencies, 0.5),
        "ms",
    ));
    out.metrics.push(Metric::gated(
        "answer_p95_ms",
        p95,
        "ms",
        Threshold::AtMost(th.p95_latency_ms),
    ));
    out.notes.push(format!(
        "Thresholds (policies::validation::ANSWERS): decision lower bound {}, fallback hit lower bound {}, stability {}, leaks {}, p95 {} ms. {} questions over {} generated documents, answered by `{}` over `{}` (the fixture models unless DESKMATE_EVAL_GENERATOR / DESKMATE_EVAL_EMBEDDER name others). The intervals are wide: the bench is small.",
        th.decision_lower_bound,
        th.retrieval_hit_lower_bound,
        th.stability,
        th.leaks,
        th.p95_latency_ms,
        bench.questions.len(),
        bench.docs.len(),
        bench.generator.id(),
        bench.emb_name
    ));
    out.baseline = Some(crate::ValidationBaseline {
        chain: ANSWERS_CHAIN.into(),
        cases: baseline,
    });
    Ok(out)
}

impl Suite for ValidateAnswers {
    fn name(&self) -> &'static str {
        "validate-answers"
    }
    fn description(&self) -> &'static str {
        "Validation of the cited-answers chain: decisions (answered with the value or not found) with their confidence interval per language, the fallback's retrieval hits, stability under paraphrase, no leaks above clearance, latency"
    }
    fn run(&self, ctx: &EvalContext) -> Result<SuiteOutput, EvalError> {
        validate_answers(ctx)
    }
}
