//! Explainability by impact (issue #21 item 6): every high-impact decision kind of
//! `policies::explain::Decision` is triggered once through the public API, and its audit entry
//! must carry an explanation that `Explanation::problems` finds adequate: a specific reason in
//! Chinese and in English and the facts behind it.

use crate::desk::{desk, trader};
use assistant::config::Config;
use assistant::documents::Knowledge;
use assistant::extraction_review::Upload;
use assistant::store::Actor;
use assistant::{Assistant, AssistantError};
use models::remote::{RemoteConfig, RemoteGenerator};
use models::{ChatRequest, GeneratorOptions, ModelStore, Models};
use policies::explain::{Decision, Impact};
use policies::{DataClass, Principal, Role};
use serde_json::Value;
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// Every explanation in `a`'s audit log, with the action that carries it, checked.
fn explanations(a: &Assistant) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for e in a.store().audit_entries(0, None, None, 100_000).unwrap() {
        let mut found: Vec<Value> = Vec::new();
        if let Some(x) = e.details.get("explanation").filter(|x| !x.is_null()) {
            found.push(x.clone());
        }
        if let Some(xs) = e.details["payload"]["limits"]["explanations"].as_array() {
            found.extend(xs.iter().cloned());
        }
        if let Some(xs) = e.details["limits"]["explanations"].as_array() {
            found.extend(xs.iter().cloned());
        }
        out.extend(found.into_iter().map(|x| (e.action.clone(), x)));
    }
    out
}

fn check(action: &str, x: &Value) -> Decision {
    let decision = Decision::ALL
        .into_iter()
        .find(|d| x["decision"] == d.as_str())
        .unwrap_or_else(|| panic!("{action}: unknown decision in {x}"));
    let facts = x["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["value"].as_str().unwrap().to_string(),
            )
        })
        .collect::<Vec<_>>();
    let rebuilt = policies::explain::Explanation::new(
        decision,
        x["reason_zh"].as_str().unwrap(),
        x["reason_en"].as_str().unwrap(),
        facts.iter().map(|(n, v)| (n.as_str(), v.clone())).collect(),
    );
    assert_eq!(
        x["impact"],
        serde_json::to_value(decision.impact()).unwrap(),
        "{action}: {x}"
    );
    assert!(
        rebuilt.problems().is_empty(),
        "{action}: {:?} in {x}",
        rebuilt.problems()
    );
    decision
}

#[test]
fn every_high_impact_refusal_carries_a_specific_bilingual_reason() {
    let mut seen: BTreeSet<Decision> = BTreeSet::new();

    // The desk: a request over client C002's limits (blocked), one on an underlying without
    // market data (not priced).
    let d = desk(|c| c.rfq.throttle_messages = 100);
    d.map("g2", "C002");
    for (i, text) in [
        "@desk_bot 沪深300 12个月 平值看涨 名义本金1000万 期权费多少",
        "@desk_bot 中证1000 3个月 平值看涨 名义本金300万 期权费多少",
    ]
    .iter()
    .enumerate()
    {
        let r = d.say("g2", i as u32 + 1, text);
        if let Some(id) = r.rfq_id.as_deref().filter(|_| r.needs_pricing) {
            d.a.rfq_price(id).unwrap();
        }
    }
    let _ = trader();
    for (action, x) in explanations(&d.a) {
        seen.insert(check(&action, &x));
    }

    // Extraction: a PDF cut short.
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().to_path_buf();
    c.knowledge.embedder = "all-minilm-l6-v2".into();
    c.knowledge.generator = "smollm2-135m-instruct".into();
    let a = Assistant::open(c.clone()).unwrap();
    a.create_user(&Actor::system(), "ops1", Role::Ops).unwrap();
    let ops = Actor::user(
        &Principal {
            user: "ops1".into(),
            role: Role::Ops,
        },
        None,
    );
    let job = a
        .extraction_submit(
            &ops,
            vec![Upload {
                name: "broken.pdf".into(),
                bytes: b"%PDF-1.4 cut".to_vec(),
            }],
        )
        .unwrap();
    a.extraction_run(&job.id).unwrap();

    // Knowledge: a question nothing in an empty knowledge base answers.
    let models = Models::new(ModelStore::from_env(), GeneratorOptions::default());
    let k = Knowledge::open_with_models(&c, &models, "test").unwrap();
    let legal = Actor::user(
        &Principal {
            user: "lena".into(),
            role: Role::Legal,
        },
        None,
    );
    let ans = a
        .ask(
            &k,
            &legal,
            "What haircut applies to equity collateral?",
            knowledge::Filters::default(),
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap();
    assert!(!ans.found);

    // A remote backend allowed general data only, asked with important data: refused before
    // anything is sent (nothing listens on the address).
    let mut rc = RemoteConfig::new("http://127.0.0.1:9/v1", "remote-model");
    rc.max_class = DataClass::GENERAL;
    rc.retries = 0;
    let g = RemoteGenerator::new(rc).unwrap();
    let req = ChatRequest::user("summarise the trade").holding(DataClass::IMPORTANT);
    let err = assistant::inference::chat(a.store(), &legal, "test", &g, &req, &mut |_| {
        ControlFlow::Continue(())
    })
    .unwrap_err();
    assert!(matches!(err, AssistantError::Model(_)), "{err}");

    for (action, x) in explanations(&a) {
        seen.insert(check(&action, &x));
    }
    let high: BTreeSet<Decision> = Decision::ALL
        .into_iter()
        .filter(|d| d.impact() == Impact::High)
        .collect();
    assert_eq!(seen, high, "every high-impact decision kind was walked");
}
