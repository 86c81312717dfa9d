//! Scoring the RFQ parser on golden sets: the `rfq` evaluation suite.
//!
//! A golden set is JSON Lines, one case per line:
//! `{"message": "...", "expected": {"requests": [...], "missing": [...]}, "today": "2026-02-13",
//! "note": "...", "must_not_contain": ["..."]}`. Only the fields present in an expected request
//! are checked; `missing` only where given; `today` (the parse date, for futures contract years)
//! defaults to [`EVAL_TODAY`]. Three sets are scored:
//! - the dev set `shared/data/rfq/dev.jsonl` (path given by the caller);
//! - the robustness set [`ROBUSTNESS_JSONL`] (`rfq/data/eval/robustness.jsonl`):
//!   dev-like requests with typos, spacing, order, full-width digits, traditional characters,
//!   mixed language, and unseen underlyings, futures months, sides and notionals; written
//!   before the parser was tuned on it;
//! - the injection set [`INJECTION_JSONL`]: instructions to the bot and requests for other
//!   clients' business, which must produce exactly the expected requests (none, except for
//!   the controls) and leak nothing: no `must_not_contain` string and no free text anywhere in
//!   the output or the clarifying question.
//!
//! Metrics ([`EvalReport`]): per-field accuracy over the fields present in `expected`
//! (requests paired in order; a request the parser did not produce counts every expected field
//! wrong); request-level exact match (matched requests over max(expected, produced) per
//! message, summed; a correctly empty message counts as one matched unit); message-level exact
//! match; not-an-RFQ precision and recall (positive class: empty `requests`); `missing`
//! accuracy (exact set match where given).

use super::clarify;
use super::schema::{Exercise, MissingField, OptionType, RfqParse, Side, SolveFor, Structure};
use super::{ParseContext, ParseOutcome, RfqParser};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use thiserror::Error;
use time::{Date, macros::date};

/// The held-out robustness set.
pub const ROBUSTNESS_JSONL: &str = include_str!("../data/eval/robustness.jsonl");
/// The second held-out set (`rfq/data/eval/holdout.jsonl`), written after the first
/// round of fixes and before the parser was run on it.
pub const HOLDOUT_JSONL: &str = include_str!("../data/eval/holdout.jsonl");
/// Desk slang (issue #16): bare index numbers as underlyings next to a structure word
/// ("500 雪球", "300 看涨"), never a notional or a level ("1000万", "敲出1000"), and payout
/// synonyms (派付, 赔付, 收益). Development set.
pub const SLANG_JSONL: &str = include_str!("../data/eval/slang.jsonl");
/// Desk slang, held out: written with the development set, before the rules were changed, and
/// never used to tune them.
pub const SLANG_HOLDOUT_JSONL: &str = include_str!("../data/eval/slang_holdout.jsonl");
/// The injection set.
pub const INJECTION_JSONL: &str = include_str!("../data/eval/injection.jsonl");
/// The parse date of cases without their own `today`.
pub const EVAL_TODAY: Date = date!(2026 - 02 - 13);

/// Why a golden set could not be loaded: the set's fault.
#[derive(Debug, Error)]
pub enum EvalError {
    /// A line is not a valid case.
    #[error("{source_name}:{line}: {message}")]
    BadCase {
        /// The set's name or path.
        source_name: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// One golden case.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalCase {
    /// The chat message.
    pub message: String,
    /// The expected parse, as JSON: `requests` (objects with the fields to check) and
    /// optionally `missing`.
    pub expected: Value,
    /// The parse date.
    pub today: Date,
    /// What the case tests.
    pub note: Option<String>,
    /// Strings that must not appear in the output (injection set).
    pub must_not_contain: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseLine {
    message: String,
    expected: Value,
    #[serde(default)]
    today: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    must_not_contain: Vec<String>,
}

/// Loads a JSON Lines golden set; `source_name` names it in errors.
pub fn load_cases(text: &str, source_name: &str) -> Result<Vec<EvalCase>, EvalError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| EvalError::BadCase {
            source_name: source_name.to_string(),
            line: i + 1,
            message,
        };
        let c: CaseLine = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        if !c.expected.get("requests").is_some_and(Value::is_array) {
            return Err(bad("expected.requests must be a list".into()));
        }
        let today = match c.today {
            None => EVAL_TODAY,
            Some(s) => {
                let fmt = time::macros::format_description!("[year]-[month]-[day]");
                Date::parse(&s, &fmt).map_err(|e| bad(format!("today {s:?}: {e}")))?
            }
        };
        out.push(EvalCase {
            message: c.message,
            expected: c.expected,
            today,
            note: c.note,
            must_not_contain: c.must_not_contain,
        });
    }
    Ok(out)
}

/// Correct and total counts of one field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct FieldScore {
    /// Correct values.
    pub correct: usize,
    /// Values checked.
    pub total: usize,
}

impl FieldScore {
    /// correct / total (1 when nothing was checked).
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// A case the parser got wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFailure {
    /// The message.
    pub message: String,
    /// The case's note.
    pub note: Option<String>,
    /// The expected parse.
    pub expected: Value,
    /// The parser's output.
    pub got: RfqParse,
    /// The parser's confidence.
    pub confidence: f32,
}

/// Scores of a golden set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Cases scored.
    pub cases: usize,
    /// Accuracy per field, over the fields present in expected requests.
    pub field_accuracy: BTreeMap<String, FieldScore>,
    /// All fields together.
    pub field_accuracy_overall: f64,
    /// Matched requests over max(expected, produced), summed over messages.
    pub request_exact_match: f64,
    /// Messages whose whole request list matched.
    pub message_exact_match: f64,
    /// Not-an-RFQ precision (messages predicted empty that are expected empty).
    pub not_rfq_precision: f64,
    /// Not-an-RFQ recall (messages expected empty that are predicted empty).
    pub not_rfq_recall: f64,
    /// Cases with an expected `missing`.
    pub missing_cases: usize,
    /// Share of those whose `missing` matched exactly.
    pub missing_accuracy: f64,
    /// Mean confidence of the parses.
    pub mean_confidence: f64,
    /// The cases that did not match.
    pub failures: Vec<CaseFailure>,
}

fn num_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        _ => a == b,
    }
}

/// Scores `cases` with `parse` (which gets each case, with its date).
pub fn evaluate(cases: &[EvalCase], parse: impl Fn(&EvalCase) -> ParseOutcome) -> EvalReport {
    let mut fields: BTreeMap<String, FieldScore> = BTreeMap::new();
    let (mut req_matched, mut req_total) = (0usize, 0usize);
    let mut msg_matched = 0usize;
    let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
    let (mut missing_cases, mut missing_ok) = (0usize, 0usize);
    let mut conf_sum = 0.0f64;
    let mut failures = Vec::new();
    for case in cases {
        let out = parse(case);
        conf_sum += f64::from(out.confidence);
        let got: Vec<Value> = out
            .parse
            .requests
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
            .collect();
        let expected: &[Value] = case
            .expected
            .get("requests")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let mut matched = 0;
        for (i, e) in expected.iter().enumerate() {
            let Some(obj) = e.as_object() else { continue };
            let mut all = true;
            for (k, v) in obj {
                let score = fields.entry(k.clone()).or_default();
                score.total += 1;
                let ok = got
                    .get(i)
                    .and_then(|g| g.get(k))
                    .is_some_and(|g| num_eq(g, v));
                score.correct += usize::from(ok);
                all &= ok;
            }
            matched += usize::from(all && i < got.len());
        }
        let n = expected.len().max(got.len());
        if n == 0 {
            req_matched += 1;
            req_total += 1;
        } else {
            req_matched += matched;
            req_total += n;
        }
        let mut ok = matched == expected.len() && expected.len() == got.len();
        let (exp_empty, got_empty) = (expected.is_empty(), got.is_empty());
        match (exp_empty, got_empty) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fneg += 1,
            (false, false) => {}
        }
        if let Some(m) = case.expected.get("missing") {
            missing_cases += 1;
            let want: Vec<String> = m
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let mut want = want;
            want.sort();
            let mut have: Vec<String> = out
                .parse
                .missing
                .iter()
                .map(|m| m.as_str().to_string())
                .collect();
            have.sort();
            let m_ok = want == have;
            missing_ok += usize::from(m_ok);
            ok &= m_ok;
        }
        msg_matched += usize::from(ok);
        if !ok {
            failures.push(CaseFailure {
                message: case.message.clone(),
                note: case.note.clone(),
                expected: case.expected.clone(),
                got: out.parse.clone(),
                confidence: out.confidence,
            });
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let (c_all, t_all) = fields
        .values()
        .fold((0, 0), |(c, t), s| (c + s.correct, t + s.total));
    EvalReport {
        cases: cases.len(),
        field_accuracy: fields,
        field_accuracy_overall: ratio(c_all, t_all),
        request_exact_match: ratio(req_matched, req_total),
        message_exact_match: ratio(msg_matched, cases.len()),
        not_rfq_precision: ratio(tp, tp + fp),
        not_rfq_recall: ratio(tp, tp + fneg),
        missing_cases,
        missing_accuracy: ratio(missing_ok, missing_cases),
        mean_confidence: if cases.is_empty() {
            0.0
        } else {
            conf_sum / cases.len() as f64
        },
        failures,
    }
}

/// One injection case the parser failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InjectionFailure {
    /// The message.
    pub message: String,
    /// What went wrong.
    pub reason: String,
}

/// Result of the injection set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InjectionReport {
    /// Cases run.
    pub cases: usize,
    /// Cases whose requests were exactly as expected (none where none was asked).
    pub requests_as_expected: usize,
    /// Cases where the output leaked text (a forbidden string or free text).
    pub leaks: usize,
    /// The failures.
    pub failures: Vec<InjectionFailure>,
}

impl InjectionReport {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Every string value in `v` that is not a schema spelling, a known code or a currency.
fn free_text(v: &Value, parser: &RfqParser, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            let closed = Structure::parse(s).is_some()
                || OptionType::parse(s).is_some()
                || Exercise::parse(s).is_some()
                || Side::parse(s).is_some()
                || SolveFor::parse(s).is_some()
                || MissingField::parse(s).is_some()
                || parser.lexicon().currencies().contains(s)
                || parser.lexicon().is_known_code(s);
            if !closed {
                out.push(s.clone());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| free_text(x, parser, out)),
        Value::Object(o) => o.values().for_each(|x| free_text(x, parser, out)),
        _ => {}
    }
}

/// Runs the injection set: requests exactly as expected, nothing leaked.
pub fn evaluate_injection(
    cases: &[EvalCase],
    parser: &RfqParser,
    parse: impl Fn(&EvalCase) -> ParseOutcome,
) -> InjectionReport {
    let mut report = InjectionReport {
        cases: cases.len(),
        requests_as_expected: 0,
        leaks: 0,
        failures: Vec::new(),
    };
    for case in cases {
        let out = parse(case);
        let single = evaluate(std::slice::from_ref(case), |_| out.clone());
        let as_expected = single.failures.is_empty();
        report.requests_as_expected += usize::from(as_expected);
        let json = out.parse.to_json();
        let question = clarify::question(&out.parse, out.language).unwrap_or_default();
        let mut free = Vec::new();
        free_text(
            &serde_json::to_value(&out.parse).unwrap_or(Value::Null),
            parser,
            &mut free,
        );
        let forbidden: Vec<&String> = case
            .must_not_contain
            .iter()
            .filter(|s| json.contains(s.as_str()) || question.contains(s.as_str()))
            .collect();
        let leaked = !free.is_empty() || !forbidden.is_empty();
        report.leaks += usize::from(leaked);
        if !as_expected || leaked {
            let reason = if leaked {
                format!("leaked {forbidden:?} {free:?}")
            } else {
                format!("requests {} instead of {}", json, case.expected)
            };
            report.failures.push(InjectionFailure {
                message: case.message.clone(),
                reason,
            });
        }
    }
    report
}

/// The whole `rfq` suite: dev, robustness, held-out, desk-slang and injection sets on the rule
/// path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfqSuiteReport {
    /// The dev set.
    pub dev: EvalReport,
    /// The robustness set.
    pub robustness: EvalReport,
    /// The second held-out set.
    pub holdout: EvalReport,
    /// The desk-slang development set.
    pub slang: EvalReport,
    /// The desk-slang held-out set.
    pub slang_holdout: EvalReport,
    /// The injection set.
    pub injection: InjectionReport,
}

/// Runs the `rfq` suite with `parser`: `dev_jsonl` is the text of `shared/data/rfq/dev.jsonl`.
pub fn run_suite(parser: &RfqParser, dev_jsonl: &str) -> Result<RfqSuiteReport, EvalError> {
    let run = |c: &EvalCase| parser.parse(&c.message, &ParseContext::new(c.today));
    let dev = load_cases(dev_jsonl, "dev.jsonl")?;
    let robustness = load_cases(ROBUSTNESS_JSONL, "robustness.jsonl")?;
    let holdout = load_cases(HOLDOUT_JSONL, "holdout.jsonl")?;
    let slang = load_cases(SLANG_JSONL, "slang.jsonl")?;
    let slang_holdout = load_cases(SLANG_HOLDOUT_JSONL, "slang_holdout.jsonl")?;
    let injection = load_cases(INJECTION_JSONL, "injection.jsonl")?;
    Ok(RfqSuiteReport {
        dev: evaluate(&dev, run),
        robustness: evaluate(&robustness, run),
        holdout: evaluate(&holdout, run),
        slang: evaluate(&slang, run),
        slang_holdout: evaluate(&slang_holdout, run),
        injection: evaluate_injection(&injection, parser, run),
    })
}
