//! `web`'s integration tests, one binary: the API and its middleware, slow and greedy clients on a
//! real socket, documents, extraction, the OpenAI-compatible endpoints (local and remote) and the
//! RFQ desk over HTTP, the OpenAPI document, and the web application's pages (in-process, and in a real browser against
//! the real server).

mod api;
mod browser;
mod compliance;
mod documents;
mod drafting;
mod evals;
mod extraction;
mod hostile;
mod market;
mod openai;
mod openai_remote;
mod openapi;
mod pricing;
mod races;
mod rfq;
mod security;
mod slow_clients;
mod ui;
mod ui_knowledge;
mod ui_ops;
mod ui_research;
mod wecom;

/// Records every chain's approval evidence (`policies::validation::approval_evidence`) as
/// passed, now: stands for the validation, bias and red-team runs (which `evals`' own tests run
/// for real, and `evals`' `approval_needs_fresh_passing_evidence` end to end) so that tests of
/// other features can put a model in production.
pub(crate) fn record_evidence(a: &assistant::Assistant) {
    let system = assistant::store::Actor::system();
    let mut suites: Vec<&str> = assistant::model_risk::CHAINS
        .iter()
        .flat_map(|c| {
            policies::validation::approval_evidence(c.id)
                .iter()
                .copied()
        })
        .collect();
    suites.sort_unstable();
    suites.dedup();
    for suite in suites {
        a.record_evaluation(
            &system,
            suite,
            true,
            "test set-up: no report file",
            serde_json::json!([]),
        )
        .unwrap();
    }
}

/// Approves, as a model-risk user, every pending model version: the inventory proposes each
/// governed chain's configured model at open and it serves only once approved (issue #21).
pub(crate) fn approve_models(a: &assistant::Assistant) {
    use assistant::approvals::{ApprovalFilter, ApprovalKind};
    let p = policies::Principal {
        user: "mia".into(),
        role: policies::Role::ModelRisk,
    };
    let actor = assistant::store::Actor::user(&p, None);
    record_evidence(a);
    let pending = a
        .list_approvals(
            &actor,
            &ApprovalFilter {
                kind: Some(ApprovalKind::ModelChange),
                state: Some(policies::ApprovalState::Pending),
                ..Default::default()
            },
        )
        .unwrap();
    for x in pending {
        a.approve(&actor, &p, &x.id, Some("validated")).unwrap();
    }
}
