//! `assistant`'s integration tests, one binary (each module was a binary of its own): the
//! approval queue, the audit log on a real SQLite file, the RFQ desk, the documents workflow, the
//! Telegram bot end to end, the extraction jobs with their ops review, the validation of
//! approval payloads at creation and at every edit, and stored statuses (triggers, SQL literals,
//! corrupt values).

mod approvals;
mod audit_log;
mod compat;
mod desk;
mod documents;
mod edit_validation;
mod explain;
mod extraction_review;
mod market;
mod model_risk;
mod reporting;
mod stored_values;
mod telegram;

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

/// Approves, as a model-risk user, the pending model versions of `chains` (every governed chain
/// when empty): the inventory proposes each chain's configured model at open and it serves only
/// once approved (issue #21). Returns how many were approved.
pub fn approve_models(a: &assistant::Assistant, chains: &[&str]) -> usize {
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
    let mut n = 0;
    for x in pending {
        let chain = x.payload["chain"].as_str().unwrap_or_default();
        if chains.is_empty() || chains.contains(&chain) {
            a.approve(&actor, &p, &x.id, Some("validated")).unwrap();
            n += 1;
        }
    }
    n
}
