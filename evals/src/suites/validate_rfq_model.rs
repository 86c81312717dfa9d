//! Independent validation of the RFQ chain's model version (`deskmate eval validate rfq-model`,
//! suite `validate-rfq-model`; issue #21 item 2), each figure judged against
//! `policies::validation::RFQ_MODEL`. `validate-rfq` validates the rule path; this suite asks
//! the model itself, exactly as the desk does (`RfqParser::parse_with_model_below` with the
//! deployment's fallback threshold, through `assistant::inference::JsonModel` with its token and
//! time limits).
//!
//! The model is asked only about messages the rules are not sure of (below the threshold, not
//! flagged), and the rules are sure of every golden message as written. So the model's set is
//! the golden messages made hard the way chat makes them hard, kept where the rules become
//! unsure, each with its golden parse as the label: filler words between the fields (Latin
//! junk as from a phone keyboard; Chinese interjections 呃 嗯 那个 就是), and clipped words
//! (`cal`, `pt`, `mnth`). On that set:
//! - **Gain**: message exact match of the chain with the model minus the rules alone, each with
//!   its 95% Wilson interval, in all, per language and per split (`dev`: the sets the parser was
//!   developed on; `held_out`: the robustness, second held-out and slang held-out sets), and the
//!   same for the share of expected fields right (gated: the model must not make the chain
//!   worse, neither in whole messages nor in fields).
//! - **Wrong answers accepted**: the model's answer passed the lexicon's checks but is not the
//!   expected parse (gated: a share of the set); the trader's approval of every quote is the
//!   control behind it.
//! - **Grounded**: every accepted answer, validated again, has no value the message does not
//!   support and no code the lexicon does not know (gated: all).
//! - **Stability**: on a sample of the set, the chain's parse unchanged by full-width characters
//!   and by chatter around the request.
//! - **Latency** of a model call, p50 and p95 (gated: p95 within `rfq.model_timeout_ms`, past
//!   which the desk keeps the rule parse), and the share of calls that failed (gated: a model
//!   that does not answer is not validated by the rules standing in for it).
//!
//! The chain's outcome on every golden message as written (what production looks like) is the
//! drift baseline of `rfq.parse` once the report passes (`crate::ValidationBaseline`). Data: the
//! shared dev set and the parser's robustness, held-out and desk-slang sets; with `--data DIR`,
//! `DIR/dev.jsonl` alone (split `dev`). The model is the deployment's ([`crate::context_for`]),
//! else `DESKMATE_EVAL_GENERATOR` or the SmolLM2-135M fixture. With the default 1.5B model on two
//! CPU cores, expect tens of minutes (about 100 messages, each up to `rfq.model_timeout_ms`).

use std::sync::Arc;
use std::time::Instant;

use assistant::inference::JsonModel;
use assistant::model_risk::{CallFeatures, RFQ_CHAIN};
use policies::validation::RFQ_MODEL;
use rfq::eval::{
    EvalCase, HOLDOUT_JSONL, ROBUSTNESS_JSONL, SLANG_HOLDOUT_JSONL, SLANG_JSONL, evaluate,
    load_cases,
};
use rfq::{ParseContext, ParseOutcome, ParsePath, Problem, RfqParser};

use super::validate::{percentile, perturbations, wilson};
use crate::{
    CaseResult, EvalContext, EvalError, Metric, Suite, SuiteOutput, Threshold, ValidationBaseline,
};

/// Messages of the model's set whose stability is measured (each costs two model calls).
const STABILITY_SAMPLE: usize = 20;

/// The RFQ model validation suite.
#[derive(Debug, Clone, Default)]
pub struct ValidateRfqModel;

/// The RFQ chain's model as a deployment serves it (see [`crate::context_for`]).
#[derive(Debug, Clone)]
pub struct RfqModel {
    /// The model, with the deployment's token and time limits.
    pub model: Arc<JsonModel>,
    /// Its name in the model store.
    pub name: String,
    /// `rfq.model_fallback_threshold`: the rules' confidence below which the model is asked.
    pub threshold: f32,
    /// `rfq.model_timeout_ms`.
    pub timeout_ms: u64,
}

impl RfqModel {
    /// The model of `a`'s RFQ chain: its configured model (or the default generator) with the
    /// desk's limits, not audited (validation traffic on golden data).
    pub fn of(a: &assistant::Assistant) -> RfqModel {
        let c = &a.config.rfq;
        let name = a
            .configured_model(RFQ_CHAIN)
            .map(|(name, _)| name)
            .unwrap_or_else(|| assistant::inference::default_generator_name(&a.config).to_owned());
        RfqModel {
            model: Arc::new(
                JsonModel::new(
                    a.models().clone(),
                    &name,
                    c.model_max_tokens as usize,
                    RFQ_CHAIN,
                )
                .within(std::time::Duration::from_millis(c.model_timeout_ms)),
            ),
            name,
            threshold: c.model_fallback_threshold as f32,
            timeout_ms: c.model_timeout_ms,
        }
    }

    /// Without a deployment: `DESKMATE_EVAL_GENERATOR` or the SmolLM2-135M fixture from the
    /// model store of the environment, with the desk's default limits.
    fn fixture() -> RfqModel {
        RfqModel::fixture_within(assistant::config::RfqConfig::default().model_timeout_ms)
    }

    /// [`RfqModel::fixture`] with another time limit for a model call, in milliseconds (a test
    /// on a loaded machine asks whether the model answers, not how fast).
    pub fn fixture_within(timeout_ms: u64) -> RfqModel {
        let name = std::env::var("DESKMATE_EVAL_GENERATOR")
            .unwrap_or_else(|_| "smollm2-135m-instruct".into());
        let defaults = assistant::config::RfqConfig {
            model_timeout_ms: timeout_ms,
            ..assistant::config::RfqConfig::default()
        };
        let models = Arc::new(models::Models::new(
            models::store::ModelStore::from_env(),
            models::GeneratorOptions::default(),
        ));
        RfqModel {
            model: Arc::new(
                JsonModel::new(models, &name, defaults.model_max_tokens as usize, RFQ_CHAIN)
                    .within(std::time::Duration::from_millis(defaults.model_timeout_ms)),
            ),
            name,
            threshold: defaults.model_fallback_threshold as f32,
            timeout_ms: defaults.model_timeout_ms,
        }
    }
}

fn run_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Run(e.to_string())
}

/// A golden message with its split (`dev` or `held_out`).
type Golden = (EvalCase, &'static str);

/// The golden messages (see the module doc).
fn cases(ctx: &EvalContext) -> Result<Vec<Golden>, EvalError> {
    let read = |p: std::path::PathBuf| {
        std::fs::read_to_string(&p)
            .map_err(|e| EvalError::Data(format!("cannot read {}: {e}", p.display())))
    };
    let tag = |cases: Vec<EvalCase>, split: &'static str| -> Vec<Golden> {
        cases.into_iter().map(|c| (c, split)).collect()
    };
    if let Some(dir) = &ctx.data {
        let dev = load_cases(&read(dir.join("dev.jsonl"))?, "dev.jsonl").map_err(run_err)?;
        return Ok(tag(dev, "dev"));
    }
    let shared = crate::shared_data().ok_or_else(|| {
        EvalError::Data("shared data not found (set DESKMATE_SHARED_DATA)".into())
    })?;
    let dev = load_cases(&read(shared.join("rfq/dev.jsonl"))?, "dev.jsonl").map_err(run_err)?;
    let mut out = tag(dev, "dev");
    for (text, name, split) in [
        (SLANG_JSONL, "slang.jsonl", "dev"),
        (ROBUSTNESS_JSONL, "robustness.jsonl", "held_out"),
        (HOLDOUT_JSONL, "holdout.jsonl", "held_out"),
        (SLANG_HOLDOUT_JSONL, "slang_holdout.jsonl", "held_out"),
    ] {
        out.extend(tag(load_cases(text, name).map_err(run_err)?, split));
    }
    Ok(out)
}

/// A named way chat makes a message hard for the rules without changing what it asks.
pub type Hardening = (&'static str, fn(&str) -> String);

/// The hardenings (see the module doc).
pub fn hardenings() -> Vec<Hardening> {
    vec![
        ("latin_filler", |s| {
            let junk = ["xyz", "qwe", "abc", "zzz", "hmm", "lol"];
            s.split(' ')
                .enumerate()
                .map(|(i, w)| format!("{w} {}", junk[i % junk.len()]))
                .collect::<Vec<_>>()
                .join(" ")
        }),
        ("interjections", |s| {
            let junk = ["呃", "嗯", "那个", "就是"];
            s.split(' ')
                .enumerate()
                .map(|(i, w)| format!("{} {w}", junk[i % junk.len()]))
                .collect::<Vec<_>>()
                .join(" ")
        }),
        ("clipped_words", |s| {
            s.replace("call", "cal")
                .replace("put", "pt")
                .replace("month", "mnth")
        }),
    ]
}

/// Whether `case` is parsed exactly as expected by `outcome`.
fn exact(case: &EvalCase, outcome: &ParseOutcome) -> bool {
    evaluate(std::slice::from_ref(case), |_| outcome.clone()).message_exact_match >= 1.0
}

/// The expected fields of `case` that `outcome` has right, and how many are expected.
fn fields_right(case: &EvalCase, outcome: &ParseOutcome) -> (usize, usize) {
    evaluate(std::slice::from_ref(case), |_| outcome.clone())
        .field_accuracy
        .values()
        .fold((0, 0), |(c, t), s| (c + s.correct, t + s.total))
}

/// Whether an accepted model answer, validated again, is grounded: no value the message does
/// not support, no code the lexicon does not know.
fn grounded(parser: &RfqParser, message: &str, ctx: &ParseContext, o: &ParseOutcome) -> bool {
    let Ok((_, problems, _)) = rfq::model::validate(parser, message, ctx, &o.parse.to_json())
    else {
        return false;
    };
    !problems
        .iter()
        .any(|p| matches!(p, Problem::ModelFieldUngrounded { .. }))
        && o.parse.requests.iter().all(|r| {
            r.underlying
                .as_ref()
                .is_none_or(|u| parser.lexicon().is_known_code(u))
        })
}

/// Runs the RFQ model validation (see the module doc).
pub fn validate_rfq_model(ctx: &EvalContext) -> Result<SuiteOutput, EvalError> {
    let th = RFQ_MODEL;
    let m = match &ctx.rfq_model {
        Some(m) => m.clone(),
        None => RfqModel::fixture(),
    };
    let parser = RfqParser::builtin();
    let cases = cases(ctx)?;
    let mut out = SuiteOutput::default();
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    // The chain as the desk runs it: the rules, then the model below the threshold.
    let mut chain = |message: &str, pctx: &ParseContext| -> ParseOutcome {
        let mut called = None;
        let mut ask = |prompt: &str, schema: &serde_json::Value| {
            let t = Instant::now();
            let r = m
                .model
                .generate(prompt, schema)
                .map(|r| r.text)
                .map_err(|e| e.to_string());
            called = Some((
                t.elapsed().as_secs_f64() * 1000.0,
                r.as_ref().err().cloned(),
            ));
            r
        };
        let o = parser.parse_with_model_below(message, pctx, m.threshold, &mut ask);
        if let Some((ms, err)) = called {
            latencies.push(ms);
            if let Some(e) = err {
                errors.push(format!("{message:?}: {e}"));
            }
        }
        o
    };
    // The baseline: every golden message as written, through the chain.
    let mut baseline = Vec::new();
    for (case, _) in &cases {
        let o = chain(&case.message, &ParseContext::new(case.today));
        baseline.push(CallFeatures::of_rfq(&case.message, &o));
    }
    // The model's set: golden messages made hard, kept where the rules are unsure.
    let mut hard: Vec<(EvalCase, &'static str, &'static str, ParseOutcome)> = Vec::new();
    for (case, split) in &cases {
        let pctx = ParseContext::new(case.today);
        for (how, f) in hardenings() {
            let message = f(&case.message);
            if message == case.message {
                continue;
            }
            let rules = parser.parse(&message, &pctx);
            let too_long = rules
                .problems
                .iter()
                .any(|p| matches!(p, Problem::TooLong { .. }));
            if rules.confidence < m.threshold && !rules.flagged() && !too_long {
                let mut c = case.clone();
                c.message = message;
                hard.push((c, split, how, rules));
            }
        }
    }
    let (mut unsure, mut rules_right, mut chain_right) = (0usize, 0usize, 0usize);
    let (mut accepted, mut wrong_accepted, mut ungrounded) = (0usize, 0usize, Vec::new());
    // (right with the model, right by the rules alone) per group.
    let mut groups: std::collections::BTreeMap<String, (usize, usize, usize)> =
        std::collections::BTreeMap::new();
    let mut unsure_cases = Vec::new();
    // Expected fields right with the model, by the rules alone, expected.
    let mut fields = (0usize, 0usize, 0usize);
    for (i, (case, split, how, rules)) in hard.iter().enumerate() {
        let pctx = ParseContext::new(case.today);
        let o = chain(&case.message, &pctx);
        ctx.on_progress.report(i + 1, hard.len());
        unsure += 1;
        let (r_ok, c_ok) = (exact(case, rules), exact(case, &o));
        let (rf, total_fields) = fields_right(case, rules);
        let (cf, _) = fields_right(case, &o);
        fields.0 += cf;
        fields.1 += rf;
        fields.2 += total_fields;
        rules_right += usize::from(r_ok);
        chain_right += usize::from(c_ok);
        let language = match rules.language {
            rfq::Language::Zh => "zh",
            rfq::Language::En => "en",
        };
        for g in [format!("lang_{language}"), format!("split_{split}")] {
            let e = groups.entry(g).or_default();
            e.0 += usize::from(c_ok);
            e.1 += usize::from(r_ok);
            e.2 += 1;
        }
        if o.path == ParsePath::Model {
            accepted += 1;
            if !c_ok {
                wrong_accepted += 1;
            }
            if !grounded(parser, &case.message, &pctx, &o) {
                ungrounded.push(case.message.clone());
            }
        }
        out.cases.push(CaseResult {
            id: format!("{split}/{how}/{unsure}"),
            // A case fails when the model made it worse than the rules alone: a message the
            // rules had right, or fields they had right, lost.
            passed: (c_ok || !r_ok) && cf >= rf,
            detail: format!(
                "{:?} (rule confidence {:.2}): rules {} ({rf} of {total_fields} fields), chain {} ({cf} fields) via {}; got {}",
                case.message,
                rules.confidence,
                if r_ok { "right" } else { "wrong" },
                if c_ok { "right" } else { "wrong" },
                if o.path == ParsePath::Model {
                    "the model's accepted answer"
                } else {
                    "the rules (the model's answer rejected or failed)"
                },
                o.parse.to_json()
            ),
        });
        unsure_cases.push((case, o));
    }
    let n = unsure.max(1);
    let (rl, rh) = wilson(rules_right, unsure);
    let (cl, ch) = wilson(chain_right, unsure);
    out.metrics
        .push(Metric::info("messages", cases.len() as f64, "messages"));
    out.metrics
        .push(Metric::info("model_set", unsure as f64, "messages"));
    out.metrics.push(Metric::info(
        "exact_match_rules_alone",
        rules_right as f64 / n as f64,
        "ratio",
    ));
    out.metrics.push(Metric::info(
        "exact_match_with_model",
        chain_right as f64 / n as f64,
        "ratio",
    ));
    out.metrics.push(Metric::gated(
        "gain",
        (chain_right as f64 - rules_right as f64) / n as f64,
        "ratio",
        Threshold::AtLeast(th.min_gain),
    ));
    let field_share = |k: usize| k as f64 / fields.2.max(1) as f64;
    out.metrics.push(Metric::info(
        "field_accuracy_rules_alone",
        field_share(fields.1),
        "ratio",
    ));
    out.metrics.push(Metric::info(
        "field_accuracy_with_model",
        field_share(fields.0),
        "ratio",
    ));
    out.metrics.push(Metric::gated(
        "field_gain",
        field_share(fields.0) - field_share(fields.1),
        "ratio",
        Threshold::AtLeast(th.min_gain),
    ));
    out.notes.push(format!(
        "The model's set: {unsure} messages from {} golden ones made hard by filler words or clipped words, where the rules' confidence fell below {:.2}. Exact match there: rules alone {rules_right}/{unsure}, 95% interval [{rl:.3}, {rh:.3}]; with the model {chain_right}/{unsure}, [{cl:.3}, {ch:.3}].",
        cases.len(),
        m.threshold
    ));
    for (group, (c_right, r_right, total)) in &groups {
        let (lo, hi) = wilson(*c_right, *total);
        out.metrics.push(Metric::info(
            &format!("exact_match_with_model_{group}"),
            *c_right as f64 / (*total).max(1) as f64,
            "ratio",
        ));
        out.metrics.push(Metric::info(
            &format!("exact_match_rules_alone_{group}"),
            *r_right as f64 / (*total).max(1) as f64,
            "ratio",
        ));
        out.notes.push(format!(
            "{group}: with the model {c_right}/{total}, 95% interval [{lo:.3}, {hi:.3}]; rules alone {r_right}/{total}"
        ));
    }
    out.metrics
        .push(Metric::info("accepted", accepted as f64, "answers"));
    let (_, wh) = wilson(wrong_accepted, unsure);
    out.metrics.push(Metric::gated(
        "wrong_accepted_rate",
        wrong_accepted as f64 / n as f64,
        "ratio",
        Threshold::AtMost(th.max_wrong_accepted),
    ));
    out.metrics
        .push(Metric::info("wrong_accepted_upper_bound", wh, "ratio"));
    let grounded_share = if accepted == 0 {
        1.0
    } else {
        (accepted - ungrounded.len()) as f64 / accepted as f64
    };
    out.metrics.push(Metric::gated(
        "grounded",
        grounded_share,
        "ratio",
        Threshold::AtLeast(th.grounded),
    ));
    if !ungrounded.is_empty() {
        out.cases.push(CaseResult {
            id: "grounded".into(),
            passed: false,
            detail: format!("accepted answers not grounded: {}", ungrounded.join("; ")),
        });
    }
    // Stability of the chain on a sample of the model's set (evenly spread over it).
    let step = unsure_cases.len().div_ceil(STABILITY_SAMPLE).max(1);
    let sample: Vec<_> = unsure_cases.iter().step_by(step).collect();
    for (name, f) in perturbations()
        .into_iter()
        .filter(|(n, _)| matches!(*n, "full_width" | "chatter"))
    {
        let (mut same, mut changed) = (0usize, Vec::new());
        for (case, o) in &sample {
            let perturbed = f(&case.message);
            let got = chain(&perturbed, &ParseContext::new(case.today));
            if got.parse == o.parse {
                same += 1;
            } else if changed.len() < 5 {
                changed.push(format!("{perturbed:?}"));
            }
        }
        let s = if sample.is_empty() {
            1.0
        } else {
            same as f64 / sample.len() as f64
        };
        let t = Threshold::AtLeast(th.stability);
        out.metrics
            .push(Metric::gated(&format!("stability_{name}"), s, "ratio", t));
        out.cases.push(CaseResult {
            id: format!("stability/{name}"),
            passed: t.passes(s),
            detail: format!(
                "{same} of {} parses unchanged{}",
                sample.len(),
                if changed.is_empty() {
                    String::new()
                } else {
                    format!("; changed, e.g. {}", changed.join(", "))
                }
            ),
        });
    }
    out.metrics
        .push(Metric::info("model_calls", latencies.len() as f64, "calls"));
    out.metrics.push(Metric::gated(
        "model_error_rate",
        errors.len() as f64 / latencies.len().max(1) as f64,
        "ratio",
        Threshold::AtMost(th.max_error_rate),
    ));
    if !errors.is_empty() {
        out.notes.push(format!(
            "The model failed {} of {} calls (the desk keeps the rule parse then), e.g. {}",
            errors.len(),
            latencies.len(),
            errors
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let p95 = percentile(&mut latencies, 0.95);
    out.metrics.push(Metric::info(
        "model_p50_ms",
        percentile(&mut latencies, 0.5),
        "ms",
    ));
    out.metrics.push(Metric::gated(
        "model_p95_ms",
        p95,
        "ms",
        Threshold::AtMost(m.timeout_ms as f64),
    ));
    out.notes.push(format!(
        "Model `{}`. Thresholds (policies::validation::RFQ_MODEL): gain ≥ {} (messages and fields), wrong answers accepted ≤ {}, grounded {}, stability {}, failed calls ≤ {}; p95 of a model call within rfq.model_timeout_ms = {} ms.",
        m.name, th.min_gain, th.max_wrong_accepted, th.grounded, th.stability, th.max_error_rate, m.timeout_ms
    ));
    out.baseline = Some(ValidationBaseline {
        chain: RFQ_CHAIN.into(),
        cases: baseline,
    });
    Ok(out)
}

impl Suite for ValidateRfqModel {
    fn name(&self) -> &'static str {
        "validate-rfq-model"
    }
    fn description(&self) -> &'static str {
        "Validation of the RFQ chain's model version, asked as the desk asks it about golden messages made hard (filler and clipped words) where the rules are unsure: gain over the rules alone per language and split, wrong answers accepted, grounding, stability, latency"
    }
    fn run(&self, ctx: &EvalContext) -> Result<SuiteOutput, EvalError> {
        validate_rfq_model(ctx)
    }
}
