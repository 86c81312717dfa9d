//! The figures of issue #15 items 4 and 5, gated: each suite's gated metrics must pass.

use evals::suites::validate_rfq_model::RfqModel;
use evals::{EvalContext, run_suite};
use models::ModelStore;

/// Whether the fixture models are installed; without them the test says what to install, and
/// fails where `DESKMATE_REQUIRE_ALL` is set (`./x test`, CI).
pub(crate) fn fixtures() -> bool {
    let store = ModelStore::from_env();
    for name in ["all-minilm-l6-v2", "smollm2-135m-instruct"] {
        if let Err(e) = store.get(name) {
            let why = format!(
                "fixture model {name} missing ({e}); install it with `./x setup` (or set DESKMATE_MODEL_CACHE)"
            );
            // `./x test` (CI) sets DESKMATE_REQUIRE_ALL: there a missing fixture fails the test.
            assert!(std::env::var_os("DESKMATE_REQUIRE_ALL").is_none(), "{why}");
            eprintln!("skipped: {why}");
            return false;
        }
    }
    true
}

fn check(suite: &str) -> evals::report::Report {
    let report = run_suite(suite, &EvalContext::default()).expect("suite runs");
    let json = serde_json::to_string_pretty(&report).expect("report serialises");
    eprintln!("{json}");
    let failed: Vec<_> = report
        .metrics
        .iter()
        .filter(|m| m.passed == Some(false))
        .collect();
    assert!(failed.is_empty(), "{suite}: gates failed: {failed:#?}");
    report
}

#[test]
fn injection_screen_and_harmful_answers_meet_their_gates() {
    if fixtures() {
        check("injection");
    }
}

#[test]
fn abstention_meets_its_gates() {
    if fixtures() {
        check("abstention");
    }
}

/// The screen's figures alone (no model): quick, and printed per split and language.
#[test]
fn injection_detection_figures() {
    use evals::suites::injection::{Corpus, detection};
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/injection"));
    let corpus = Corpus::load(dir).expect("injection corpus loads");
    assert!(corpus.split("blind").count() >= 60);
    let out = detection(&corpus);
    for m in &out.metrics {
        eprintln!("{:<28} {:.3} {}", m.name, m.value, m.unit);
    }
    for c in &out.cases {
        eprintln!("{}", c.id);
    }
    let failed: Vec<_> = out
        .metrics
        .iter()
        .filter(|m| m.passed == Some(false))
        .collect();
    assert!(failed.is_empty(), "gates failed: {failed:#?}");
}

/// Issue #18's drafting figures, gated (no model): the round trip (F1 = 1.00 on text PDFs),
/// seeded errors (recall ≥ 0.95 over ≥ 300 mutations, ≤ 0.1 false findings per clean draft)
/// and mark-ups (≥ 30, change recall 1.00, classification ≥ 0.9).
#[test]
fn drafting_meets_its_gates() {
    let report = check("drafting");
    let metric = |name: &str| {
        report
            .metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} reported"))
            .value
    };
    assert!(metric("seeded.mutations") >= 300.0);
    assert!(metric("markups.count") >= 30.0);
}

/// Issue #21 item 5: counterfactual pairs (seven whole requests, a snowball among them, with
/// every counterfactual client) and the group statistics, all consistent.
#[test]
fn bias_pairs_are_consistent() {
    use evals::suites::bias::{COUNTERFACTUALS, run_pairs};
    let out = run_pairs(7 * COUNTERFACTUALS, 5_000).expect("suite runs");
    for m in &out.metrics {
        eprintln!("{:<44} {:.3} {}", m.name, m.value, m.unit);
    }
    let failed_cases: Vec<_> = out.cases.iter().filter(|c| !c.passed).collect();
    assert!(failed_cases.is_empty(), "inconsistent: {failed_cases:#?}");
    let failed: Vec<_> = out
        .metrics
        .iter()
        .filter(|m| m.passed == Some(false))
        .collect();
    assert!(failed.is_empty(), "gates failed: {failed:#?}");
    let explained = out
        .metrics
        .iter()
        .find(|m| m.name == "pairs_differing_by_a_policy_rule")
        .unwrap();
    assert!(
        explained.value >= 1.0,
        "the smaller-limit client differs somewhere"
    );
    assert!(
        out.cases
            .iter()
            .any(|c| c.detail.contains("clients.L01.max_notional"))
    );
    // The nightly audit over the blotter (evals::suites::bias::history) saw every request and
    // compared every attribute.
    let value = |name: &str| {
        out.metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no metric {name}"))
            .value
    };
    assert_eq!(value("history_requests"), 7.0 * 19.0);
    for dim in ["region", "industry", "size"] {
        assert!(value(&format!("history_four_fifths_quote_rate_{dim}")) >= 0.8);
    }
}

#[test]
fn two_proportion_test_matches_known_values() {
    use evals::suites::bias::two_proportion_p;
    // 45/100 vs 60/100: z = 2.1237, two-sided p = 0.0337.
    assert!((two_proportion_p(45, 100, 60, 100) - 0.0337).abs() < 5e-4);
    assert!((two_proportion_p(50, 100, 50, 100) - 1.0).abs() < 1e-9);
}

/// Issue #21 item 2: the pricing chain's validation report passes its thresholds.
#[test]
fn pricing_validation_passes_its_thresholds() {
    check("validate-pricing");
}

/// Issue #21 item 2: the RFQ chain's validation report passes its thresholds.
#[test]
fn rfq_validation_passes_its_thresholds() {
    check("validate-rfq");
}

/// Issue #21 item 2: the answers chain's validation on a part of its bench (CI time: the whole
/// bench takes minutes with the fixture generator; `deskmate eval validate answers` runs it, and
/// SmolLM2-135M does not pass its decision figure there, as a model that small should not). The
/// report's figures are there, nothing leaks above clearance, and the paraphrases leave most
/// outcomes as they were.
#[test]
fn answers_validation_reports_its_figures() {
    if !fixtures() {
        return;
    }
    let bench = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/abstention"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        bench.join("documents.jsonl"),
        dir.path().join("documents.jsonl"),
    )
    .unwrap();
    let questions: Vec<&str> = include_str!("../../data/abstention/questions.jsonl")
        .lines()
        .filter(|l| {
            ["\"a-en-01\"", "\"a-zh-01\"", "\"x-en-06\"", "\"a-zh-05\""]
                .iter()
                .any(|id| l.contains(id))
        })
        .collect();
    assert_eq!(questions.len(), 4);
    std::fs::write(dir.path().join("questions.jsonl"), questions.join("\n")).unwrap();
    let progress = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = progress.clone();
    let ctx = EvalContext {
        data: Some(dir.path().to_path_buf()),
        on_progress: evals::OnProgress::new(move |done, total| {
            seen.lock().unwrap().push((done, total));
        }),
        ..EvalContext::default()
    };
    let report = run_suite("validate-answers", &ctx).expect("suite runs");
    // Every model call was reported, the last one completing the count.
    let progress = progress.lock().unwrap().clone();
    let (done, total) = *progress.last().expect("progress reported");
    assert_eq!(done, total, "{progress:?}");
    assert!(total > 4, "the paraphrases are counted too: {progress:?}");
    let value = |name: &str| {
        report
            .metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no metric {name}"))
            .clone()
    };
    for m in &report.metrics {
        eprintln!("{:<28} {:.3} {}", m.name, m.value, m.unit);
    }
    assert_eq!(value("leaks").passed, Some(true));
    for name in [
        "decision_lower_bound",
        "fallback_hit_lower_bound",
        "stability_greeting",
        "stability_traditional",
        "answer_p95_ms",
    ] {
        assert!(
            value(name).passed.is_some(),
            "{name} is judged against its threshold"
        );
    }
    assert!(value("stability_greeting").value >= 0.5);
}

/// Issue #21 item 2: the RFQ chain's model version asked as the desk asks it (the fixture
/// generator here; `deskmate eval validate rfq-model` runs the deployment's model on every golden
/// set) on a part of the golden messages: one desk-slang request, which the hardenings (filler
/// words) make unsure for the rules, and one they leave sure. Every figure is judged; whatever
/// the model says, an accepted answer is grounded in the message; the chain's outcome on each
/// golden message as written is the drift baseline of `rfq.parse`.
#[test]
fn rfq_model_validation_asks_the_model_and_records_a_baseline() {
    use evals::suites::validate_rfq_model::hardenings;
    if !fixtures() {
        return;
    }
    let ctx = rfq::ParseContext::new(rfq::eval::EVAL_TODAY);
    let parser = rfq::RfqParser::builtin();
    let unsure_after = |message: &str| {
        hardenings()
            .iter()
            .filter(|(_, f)| {
                let o = parser.parse(&f(message), &ctx);
                f(message) != message
                    && o.confidence < rfq::DEFAULT_FALLBACK_THRESHOLD
                    && !o.flagged()
            })
            .count()
    };
    let mut picked: Vec<(&str, usize)> = Vec::new();
    for line in rfq::eval::SLANG_JSONL
        .lines()
        .chain(rfq::eval::HOLDOUT_JSONL.lines())
        .filter(|l| !l.trim().is_empty())
    {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        if case.get("today").is_some() {
            continue;
        }
        let n = unsure_after(case["message"].as_str().unwrap());
        let wanted = if picked.is_empty() { n > 0 } else { n == 0 };
        if wanted {
            picked.push((line, n));
        }
        if picked.len() == 2 {
            break;
        }
    }
    assert_eq!(picked.len(), 2, "a message made unsure and one left sure");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dev.jsonl"),
        picked
            .iter()
            .map(|(l, _)| *l)
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let report = run_suite(
        "validate-rfq-model",
        &EvalContext {
            data: Some(dir.path().to_path_buf()),
            // CI's two cores run other tests beside this one: the fixture's calls can take longer
            // than the desk's 20 s limit there, and this test asks whether the model answers.
            rfq_model: Some(RfqModel::fixture_within(600_000)),
            ..EvalContext::default()
        },
    )
    .expect("suite runs");
    let value = |name: &str| {
        report
            .metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no metric {name}"))
            .clone()
    };
    for m in &report.metrics {
        eprintln!("{:<36} {:.3} {} {:?}", m.name, m.value, m.unit, m.passed);
    }
    for c in &report.cases {
        eprintln!("{} {} {}", c.id, c.passed, c.detail);
    }
    assert_eq!(value("messages").value, 2.0);
    assert_eq!(value("model_set").value, picked[0].1 as f64);
    assert_eq!(value("grounded").passed, Some(true), "{:#?}", report.cases);
    for name in [
        "gain",
        "field_gain",
        "wrong_accepted_rate",
        "stability_full_width",
        "stability_chatter",
        "model_p95_ms",
    ] {
        assert!(value(name).passed.is_some(), "{name} is judged");
    }
    assert_eq!(
        value("model_error_rate").passed,
        Some(true),
        "the fixture answers"
    );
    assert!(
        report
            .metrics
            .iter()
            .any(|m| m.name == "exact_match_with_model_lang_zh")
    );
    let baseline = report.baseline.as_ref().expect("a baseline");
    assert_eq!(baseline.chain, "rfq.parse");
    assert_eq!(baseline.cases.len(), 2, "the golden messages as written");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["baseline"]["cases"].as_array().unwrap().len(), 2);
}
