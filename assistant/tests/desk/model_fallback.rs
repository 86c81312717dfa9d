//! The desk with its model fallback on (`rfq.model_fallback`, the SmolLM2 fixture as the
//! default generator): the model is asked outside the write transaction, only about new,
//! addressed messages from known chats that the rules are not sure of, and each call leaves a
//! `model.call` audit entry by the desk.

use super::desk;
use assistant::rfq::desk::desk_actor;

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
        c.models.generator = "smollm2-135m-instruct".into();
        c.models.dir = models::store::ModelStore::from_env()
            .root()
            .display()
            .to_string();
    });
    assert!(d.a.desk().has_model());
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
    let (path, problems): (String, String) =
        d.a.store()
            .read(|c| {
                c.query_row(
                    "SELECT path, problems FROM rfqs WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .unwrap();
    assert!(
        path == "model" || problems.contains("model_rejected"),
        "{path} {problems}"
    );
    // A redelivery of the same event is archived once and asks nothing.
    d.say("-100", 3, VAGUE);
    assert_eq!(model_calls(&d).len(), 1);
}
