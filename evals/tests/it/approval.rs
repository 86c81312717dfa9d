//! Issue #21 items 1, 2, 5 and 7 end to end: a model version's approval rests on reports that
//! really ran. The key-term extraction's model step (`extract.model`, the fixture generator) is
//! proposed at open; approving it is refused until its evidence
//! (`policies::validation::approval_evidence`: `validate-extraction`, `bias-content`, `redteam`)
//! has run and passed since the request. The three suites run here through
//! `evals::run_recorded` (as the dashboard's Run now button does) on the deployment's own models
//! and answer settings, write their reports and sign them in the audit log, and each report's
//! own figures are checked (these are the CI runs of the three suites); then the approval goes
//! through.

use assistant::Assistant;
use assistant::approvals::{ApprovalFilter, ApprovalKind};
use assistant::config::Config;
use assistant::model_risk::EXTRACTION_CHAIN;
use assistant::store::Actor;
use evals::report::Report;
use policies::{ApprovalState, Principal, Role};

fn metric(r: &Report, name: &str) -> f64 {
    r.metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{}: no metric {name}", r.suite))
        .value
}

#[test]
fn a_model_version_is_approved_on_reports_that_ran_after_the_request() {
    if !crate::suites::fixtures() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().join("data");
    c.models.dir = models::store::default_cache_dir().display().to_string();
    c.extract.model = "smollm2-135m-instruct".into();
    c.knowledge.embedder = "all-minilm-l6-v2".into();
    c.knowledge.generator = "smollm2-135m-instruct".into();
    // The evidence bar of the fixture embedder (its similarities run lower than e5's).
    c.knowledge.answer_min_similarity = 0.45;
    let a = Assistant::open(c).unwrap();
    let mona = Principal {
        user: "mona".into(),
        role: Role::ModelRisk,
    };
    let actor = Actor::user(&mona, None);
    let change = a
        .list_approvals(
            &actor,
            &ApprovalFilter {
                kind: Some(ApprovalKind::ModelChange),
                state: Some(ApprovalState::Pending),
                ..Default::default()
            },
        )
        .unwrap()
        .into_iter()
        .find(|x| x.payload["chain"] == EXTRACTION_CHAIN)
        .expect("the extraction model step's version is proposed");
    let err = a
        .approve(&actor, &mona, &change.id, Some("looks fine"))
        .unwrap_err()
        .to_string();
    for suite in ["validate-extraction", "bias-content", "redteam"] {
        assert!(
            err.contains(&format!("{suite} has not run since the request")),
            "{err}"
        );
    }

    let mut reports = Vec::new();
    for suite in policies::validation::approval_evidence(EXTRACTION_CHAIN) {
        let ctx = evals::context_for(&a, suite);
        if *suite == "bias-content" {
            let p = ctx
                .production
                .as_ref()
                .expect("the deployment's models load");
            assert_eq!(p.generator.id(), "smollm2-135m-instruct");
            assert!(
                (p.ask.min_dense - 0.45).abs() < 1e-6,
                "the deployment's settings"
            );
        }
        let out = dir.path().join("data/evals").join(suite);
        let (report, sha) = evals::run_recorded(&a, &actor, suite, &ctx, &out).unwrap();
        for m in &report.metrics {
            eprintln!("{suite:<20} {:<44} {:.3} {}", m.name, m.value, m.unit);
        }
        let failed_cases: Vec<_> = report.cases.iter().filter(|c| !c.passed).collect();
        assert!(failed_cases.is_empty(), "{suite}: {failed_cases:#?}");
        assert!(report.passed, "{suite} failed its gates");
        // Signed: the file on disk is the one the audit log names.
        let bytes = std::fs::read(out.join("report.json")).unwrap();
        let on_disk = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(bytes))
        };
        assert_eq!(on_disk, sha);
        assert!(a.evaluation_recorded(suite, &sha).unwrap().is_some());
        reports.push(report);
    }
    // The figures each report rests on (issue #21 items 2, 5, 7).
    let (validation, bias, redteam) = (&reports[0], &reports[1], &reports[2]);
    assert!(metric(validation, "field_accuracy_lower_bound") >= 0.85);
    assert_eq!(metric(validation, "stability_traditional"), 1.0);
    assert_eq!(metric(validation, "cross_check_catch"), 1.0);
    assert!(
        metric(bias, "documents_pairs") >= 100.0,
        "five other names per confirmation"
    );
    assert!(metric(bias, "questions_pairs_fallback") >= 300.0);
    assert!(metric(bias, "questions_pairs_model") >= 12.0);
    assert!(redteam.cases.len() >= 200, "the red team's cases");

    assert!(
        a.approval_missing_evidence(&actor, &change)
            .unwrap()
            .is_empty()
    );
    a.approve(&actor, &mona, &change.id, Some("validated on its reports"))
        .unwrap();
    assert!(a.chain_serves_model(EXTRACTION_CHAIN).unwrap());
}
