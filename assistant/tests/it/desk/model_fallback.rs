//! The desk with its model fallback on (`rfq.model_fallback`, the SmolLM2 fixture as the
//! default generator): the model is asked outside the write transaction, only about new,
//! addressed messages from known chats that the rules are not sure of, and each call leaves a
//! `model.call` audit entry by the desk.

use super::{approve_model, desk};
use assistant::approvals::ApprovalKind;
use assistant::desk::{QuoteStatus, desk_actor};

const VAGUE: &str = "呃 中证500 嗯 xyz 看涨 qwe 三个月 abc 一千万 平值 zzz 8 yyy 9 hmm";

fn model_calls(d: &super::TestDesk) -> Vec<policies::audit::AuditEntry> {
    d.a.store()
        .audit_entries(0, None, None, 10_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "model.call")
        .collect()
}

#[test]
fn unsure_messages_go_to_the_model_outside_the_transaction_and_are_audited() {
    models::runtime::set_threads(1);
    let d = desk(|c| {
        c.rfq.model_fallback = true;
        c.rfq.model_max_tokens = 96;
        // These tests are about the call and its audit, not its time limit (CI runs them beside
        // heavy tests on 2 cores, where a call can take longer than the 20-s default).
        c.rfq.model_timeout_ms = 600_000;
        c.models.generator = "smollm2-135m-instruct".into();
        c.models.dir = models::store::ModelStore::from_env()
            .root()
            .display()
            .to_string();
    });
    assert!(d.a.desk().has_model());
    // The configured model serves once model risk approved its version.
    approve_model(&d.a);
    // An unknown chat, then a confident request: no model call.
    d.say("-100", 1, VAGUE);
    d.map("-100", "C001");
    d.say(
        "-100",
        2,
        "中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少",
    );
    assert!(model_calls(&d).is_empty());
    // An unsure one: one call, by the desk, with hashes and counts; its outcome is recorded.
    let r = d.say("-100", 3, VAGUE);
    let calls = model_calls(&d);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let c = &calls[0];
    assert_eq!(c.actor, desk_actor().user);
    assert_eq!(c.object_id, "smollm2-135m-instruct");
    assert_eq!(c.details["workflow"], "rfq.parse");
    assert_eq!(c.details["prompt_sha256"].as_str().unwrap().len(), 64);
    assert!(c.details["prompt_tokens"].as_u64().unwrap() > 300);
    assert!(c.details["completion_tokens"].as_u64().unwrap() <= 96);
    let id = r.rfq_id.expect("the message became a request");
    let (path, problems, parse, model_fields): (String, String, String, String) =
        d.a.store()
            .read(|c| {
                c.query_row(
                    "SELECT path, problems, parse, model_fields FROM rfqs WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
            })
            .unwrap();
    assert!(
        path == "model" || problems.contains("model_rejected"),
        "{path} {problems}"
    );
    // Which fields the model supplied is kept: one list per request on the model path, none
    // on the rule path; each names a field the parse has.
    let model_fields: Vec<Vec<String>> = serde_json::from_str(&model_fields).unwrap();
    let parse: serde_json::Value = serde_json::from_str(&parse).unwrap();
    let requests = parse["requests"].as_array().unwrap();
    if path == "model" {
        assert_eq!(model_fields.len(), requests.len(), "{model_fields:?}");
        for (fields, r) in model_fields.iter().zip(requests) {
            for f in fields {
                assert!(!r[f].is_null(), "{f} in {r}");
            }
        }
    } else {
        assert!(model_fields.is_empty(), "{model_fields:?}");
    }
    // A redelivery of the same event is archived once and asks nothing.
    d.say("-100", 3, VAGUE);
    assert_eq!(model_calls(&d).len(), 1);
}

/// A request with every field null but those given (the shape the fallback schema asks for).
fn request(fields: serde_json::Value) -> serde_json::Value {
    let mut r = serde_json::json!({
        "underlying": null, "structure": null, "option_type": null, "exercise": null, "side": null,
        "strike_pct": null, "knock_out_pct": null, "knock_in_pct": null, "barrier_pct": null,
        "coupon_pct": null, "coupon_barrier_pct": null, "payout_pct": null, "participation_pct": null,
        "tenor_months": null, "notional": null, "currency": null, "solve_for": null
    });
    for (k, v) in fields.as_object().expect("fields") {
        r[k] = v.clone();
    }
    r
}

#[test]
fn a_model_parsed_request_is_marked_for_the_trader() {
    use assistant::approvals::ApprovalFilter;
    use policies::ApprovalState;
    // The model's answer is fixed here (a grounded one, as the default model gives for this
    // message): what is tested is the desk around it, validation, pricing and the queue.
    let d = desk(|c| c.rfq.model_fallback = true);
    approve_model(&d.a);
    let answer = serde_json::json!({"requests": [request(serde_json::json!({
        "underlying": "000905.SH", "structure": "vanilla", "option_type": "call",
        "strike_pct": 100, "tenor_months": 3, "notional": 10000000, "currency": "CNY"
    }))]})
    .to_string();
    d.a.desk()
        .set_model(Box::new(move |_: &str, _: &serde_json::Value| {
            Ok::<String, String>(answer.clone())
        }));
    d.map("g1", "C001");
    let by_model = d.say("g1", 1, VAGUE).rfq_id.expect("a request");
    let by_rules = d
        .say("g1", 2, "沪深300 12个月 平值看涨 名义本金1000万 期权费多少")
        .rfq_id
        .expect("a request");
    for id in [&by_model, &by_rules] {
        let q = d.a.rfq_price(id).unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].status, QuoteStatus::Pending, "{q:?}");
    }
    let (_, ta) = super::trader();
    let queue =
        d.a.list_approvals(
            &ta,
            &ApprovalFilter {
                kind: Some(ApprovalKind::Quote),
                state: Some(ApprovalState::Pending),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(queue.len(), 2);
    let of = |id: &str| {
        queue
            .iter()
            .find(|a| a.payload["rfq_id"] == id)
            .unwrap_or_else(|| panic!("no approval for {id}"))
    };
    let m = of(&by_model);
    assert_eq!(m.payload["parse"]["path"], "model", "{}", m.payload);
    assert!(m.title.starts_with("[model-parsed] "), "{}", m.title);
    assert!(m.payload["parse"]["confidence"].as_f64().unwrap() <= 0.75);
    assert_eq!(m.payload["request"]["underlying"], "000905.SH");
    let r = of(&by_rules);
    assert_eq!(r.payload["parse"]["path"], "rules", "{}", r.payload);
    assert!(!r.title.contains("model-parsed"), "{}", r.title);
}
