//! Model risk on the RFQ desk (issue #21 items 1, 3 and 4): a configured model is a version
//! that serves only after a model-risk approval; monitoring records every parse; a drifted
//! input stream and a failing model each switch the chain to its rule fallback, within the
//! window, without losing a request; the chain goes back to its model only by a second model-risk
//! user's approval.

use crate::desk::{desk, msg};
use assistant::approvals::{ApprovalFilter, ApprovalKind};
use assistant::desk::desk_actor;
use assistant::model_risk::{
    AlertState, Baseline, CallFeatures, ChainMode, RFQ_CHAIN, VersionStatus,
};
use assistant::store::{Actor, DB_FILE};
use assistant::{Assistant, AssistantError};
use policies::{ApprovalState, Principal, Role};

/// A message the rules are unsure of (the model is asked about it when it may be).
const VAGUE: &str = "呃 中证500 嗯 xyz 看涨 qwe 三个月 abc 一千万 平值 zzz 8 yyy 9 hmm";

fn model_risk(user: &str) -> (Principal, Actor) {
    let p = Principal {
        user: user.into(),
        role: Role::ModelRisk,
    };
    let a = Actor::user(&p, None);
    (p, a)
}

/// The pending `model_change` approvals of the RFQ chain (the other governed chains propose
/// their models too).
fn pending_changes(a: &Assistant) -> Vec<assistant::approvals::Approval> {
    let (_, mr) = model_risk("mia");
    a.list_approvals(
        &mr,
        &ApprovalFilter {
            kind: Some(ApprovalKind::ModelChange),
            state: Some(ApprovalState::Pending),
            ..Default::default()
        },
    )
    .unwrap()
    .into_iter()
    .filter(|x| x.payload["chain"] == RFQ_CHAIN)
    .collect()
}

/// How many times the desk's model was asked.
fn asked(counter: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> usize {
    counter.load(std::sync::atomic::Ordering::SeqCst)
}

/// A desk with `rfq.model_fallback` on, whose model answers with `answer` (or fails) and counts
/// the calls.
fn desk_with_model(
    fail: bool,
) -> (
    crate::desk::TestDesk,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let d = desk(|c| {
        c.rfq.model_fallback = true;
        c.rfq.throttle_messages = 100_000;
    });
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = counter.clone();
    let answer = serde_json::json!({"requests": [{
        "underlying": "000905.SH", "structure": "vanilla", "option_type": "call", "exercise": null,
        "side": null, "strike_pct": 100, "knock_out_pct": null, "knock_in_pct": null,
        "barrier_pct": null, "coupon_pct": null, "coupon_barrier_pct": null, "payout_pct": null,
        "participation_pct": null, "tenor_months": 3, "notional": 10000000, "currency": "CNY",
        "solve_for": null
    }]})
    .to_string();
    d.a.desk()
        .set_model(Box::new(move |_: &str, _: &serde_json::Value| {
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if fail {
                Err::<String, String>("the model process was killed".into())
            } else {
                Ok(answer.clone())
            }
        }));
    d.map("g1", "C001");
    (d, counter)
}

/// Approves the one pending model change as `user` (its evidence recorded as passed first).
fn approve_pending(a: &Assistant, user: &str) -> Result<(), AssistantError> {
    crate::record_evidence(a);
    let changes = pending_changes(a);
    assert_eq!(changes.len(), 1, "{changes:?}");
    let (p, actor) = model_risk(user);
    a.approve(&actor, &p, &changes[0].id, Some("validated"))
        .map(|_| ())
}

/// Backdated calls of the chain (the baseline a drift is measured against): `n` short Chinese
/// requests spread over the day before.
fn baseline(d: &crate::desk::TestDesk, n: usize) {
    let c = rusqlite::Connection::open(d.a.config.storage.data_dir.join(DB_FILE)).unwrap();
    let now = time::OffsetDateTime::now_utc();
    for i in 0..n {
        let t = now - time::Duration::hours(2) - time::Duration::minutes(i as i64);
        c.execute(
            "INSERT INTO chain_calls (chain, time, outcome, mode, confidence, latency_ms,
                 input_chars, language)
             VALUES ('rfq.parse', ?1, 'rules', 'model', 0.9, 0.2, ?2, 'zh')",
            rusqlite::params![assistant::store::time::fmt(t), 15 + (i % 20) as i64],
        )
        .unwrap();
    }
}

/// Issue #21 items 1, 2, 5 and 7: a version goes live only on its evidence: the chain's
/// validation, the bias audit and the red team (`policies::validation::approval_evidence`),
/// each passed and recorded after the approval was asked for. Missing, failed or stale reports
/// refuse the approval by name, and nothing changes.
#[test]
fn a_version_is_approved_only_on_fresh_passing_evidence() {
    let (d, _) = desk_with_model(false);
    let system = Actor::system();
    let (p, mia) = model_risk("mia");
    // A report from before the request does not count.
    let change = pending_changes(&d.a).remove(0);
    let approve = || d.a.approve(&mia, &p, &change.id, Some("validated"));
    let refusal = |e: AssistantError| match e {
        AssistantError::Conflict(m) => m,
        other => panic!("expected a conflict, got {other:?}"),
    };
    let m = refusal(approve().unwrap_err());
    for suite in ["validate-rfq", "validate-rfq-model", "bias", "redteam"] {
        assert!(
            m.contains(&format!("{suite} has not run since the request")),
            "{m}"
        );
    }
    assert_eq!(
        d.a.approval_missing_evidence(&mia, &change).unwrap().len(),
        4
    );
    // A failed bias audit refuses it by name; the others passed.
    for (suite, passed) in [
        ("validate-rfq", true),
        ("validate-rfq-model", true),
        ("bias", false),
        ("redteam", true),
    ] {
        d.a.record_evaluation(&system, suite, passed, "sha", serde_json::json!([]))
            .unwrap();
    }
    let m = refusal(approve().unwrap_err());
    assert!(m.contains("bias failed its thresholds"), "{m}");
    assert!(!m.contains("validate-rfq"), "{m}");
    assert!(!d.a.chain_serves_model(RFQ_CHAIN).unwrap());
    let got = d.a.get_approval(&mia, &change.id).unwrap();
    assert_eq!(got.state, ApprovalState::Pending, "nothing half-done");
    // A later passing run is the latest: approved.
    d.a.record_evaluation(&system, "bias", true, "sha2", serde_json::json!([]))
        .unwrap();
    assert!(
        d.a.approval_missing_evidence(&mia, &change)
            .unwrap()
            .is_empty()
    );
    approve().unwrap();
    assert!(d.a.chain_serves_model(RFQ_CHAIN).unwrap());
}

#[test]
fn a_version_serves_after_approval_drift_falls_back_and_only_a_second_approval_restores() {
    let (d, counter) = desk_with_model(false);
    // The configured model is version 1, proposed: the desk runs on its rules.
    let (_, mia) = model_risk("mia");
    let inv = d.a.model_inventory(&mia).unwrap();
    let rfq = inv.iter().find(|e| e.chain.id == RFQ_CHAIN).unwrap();
    assert_eq!(rfq.versions.len(), 1);
    assert_eq!(rfq.versions[0].status, VersionStatus::Proposed);
    assert!(!rfq.serves_model);
    assert!(inv.iter().any(|e| e.chain.id == "pricing"));
    d.say("g1", 1, VAGUE);
    assert_eq!(asked(&counter), 0, "an unapproved version never serves");
    // A trader may not approve a model change; model risk may.
    let trader = Principal {
        user: "tina".into(),
        role: Role::Trader,
    };
    let id = pending_changes(&d.a)[0].id.clone();
    assert!(
        d.a.approve(&Actor::user(&trader, None), &trader, &id, None)
            .is_err()
    );
    approve_pending(&d.a, "mia").unwrap();
    assert!(d.a.chain_serves_model(RFQ_CHAIN).unwrap());
    d.say("g1", 2, VAGUE);
    assert_eq!(asked(&counter), 1);

    // Drift: a day of short requests, then an hour of long ones.
    baseline(&d, 120);
    let long = format!(
        "老师好，麻烦帮忙看一下这个结构，客户比较着急，今天下午之前需要回复：中证500 3个月 平值看涨 名义本金1000万 期权费多少？{}",
        "另外请注意我们的交割安排和结算账户信息，谢谢。".repeat(4)
    );
    for i in 0..40 {
        d.say("g1", 100 + i, &long);
    }
    let opened = d.a.monitor(time::OffsetDateTime::now_utc()).unwrap();
    let drift = opened
        .iter()
        .find(|a| a.metric == "psi_length")
        .unwrap_or_else(|| panic!("no drift alert: {opened:?}"));
    assert!(drift.value > 0.25, "{drift:?}");
    assert_eq!(d.a.chain_mode(RFQ_CHAIN).unwrap(), ChainMode::Fallback);
    // A second run does not open the same alert twice.
    assert!(
        d.a.monitor(time::OffsetDateTime::now_utc())
            .unwrap()
            .iter()
            .all(|a| a.metric != "psi_length")
    );
    let before = asked(&counter);
    d.say("g1", 200, VAGUE);
    assert_eq!(asked(&counter), before, "the fallback asks no model");
    // Going back: not by a mode switch, only by a request and another user's approval.
    assert!(matches!(
        d.a.set_chain_mode(&mia, RFQ_CHAIN, ChainMode::Model, "fixed"),
        Err(AssistantError::Conflict(_))
    ));
    d.a.request_restore(
        &mia,
        RFQ_CHAIN,
        "the long messages were a client's template",
    )
    .unwrap();
    assert!(
        approve_pending(&d.a, "mia").is_err(),
        "four eyes: the requester may not approve"
    );
    assert_eq!(d.a.chain_mode(RFQ_CHAIN).unwrap(), ChainMode::Fallback);
    approve_pending(&d.a, "max").unwrap();
    assert_eq!(d.a.chain_mode(RFQ_CHAIN).unwrap(), ChainMode::Model);
    d.say("g1", 201, VAGUE);
    assert_eq!(asked(&counter), before + 1);
    // The alert is acknowledged, then resolved with a note.
    d.a.update_alert(&mia, &drift.id, AlertState::Acknowledged, "")
        .unwrap();
    assert!(
        d.a.update_alert(&mia, &drift.id, AlertState::Resolved, "")
            .is_err()
    );
    let r =
        d.a.update_alert(&mia, &drift.id, AlertState::Resolved, "template confirmed")
            .unwrap();
    assert_eq!(r.state, AlertState::Resolved);
    let actions: Vec<String> =
        d.a.store()
            .audit_entries(0, None, None, 100_000)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
    for a in [
        "model.version",
        "model.alert",
        "model.mode",
        "model.alert_update",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} missing");
    }
    assert!(d.a.store().verify_audit().unwrap().ok());
}

/// Short Chinese requests of the kind the desk validated on (all parsed by the rules).
fn short_request(i: usize) -> String {
    let (u, months, notional) = [
        ("中证500", 3, 1000),
        ("沪深300", 6, 2000),
        ("上证50", 1, 500),
    ][i % 3];
    format!("{u} {months}个月 平值看涨 {notional}万")
}

/// Issue #21 item 3: drift is measured against the validation baseline, the cases of the chain's
/// latest passed validation run computed as production calls are: from the first hour of
/// production (no earlier calls needed), a stream like the validation's raises nothing, a shifted
/// one raises the alert and the fallback; a failed run leaves the baseline as it was.
#[test]
fn drift_is_measured_against_the_validation_baseline() {
    let (d, _) = desk_with_model(false);
    approve_pending(&d.a, "mia").unwrap();
    let system = Actor::system();
    let ctx = rfq::ParseContext::new(time::OffsetDateTime::now_utc().date());
    let features = |texts: &[String]| -> Vec<CallFeatures> {
        texts
            .iter()
            .map(|t| CallFeatures::of_rfq(t, &rfq::parse(t, &ctx)))
            .collect()
    };
    let validated: Vec<String> = (0..90).map(short_request).collect();
    d.a.record_validation(
        &system,
        "validate-rfq-model",
        true,
        "sha-validated",
        serde_json::json!([]),
        Some((RFQ_CHAIN, &features(&validated))),
    )
    .unwrap();
    // A failed run is recorded as evidence but does not become the baseline.
    let other: Vec<String> = (0..90)
        .map(|i| format!("{} 谢谢老师", short_request(i)))
        .collect();
    d.a.record_validation(
        &system,
        "validate-rfq-model",
        false,
        "sha-failed",
        serde_json::json!([]),
        Some((RFQ_CHAIN, &features(&other))),
    )
    .unwrap();
    for i in 0..30 {
        d.say("g1", 300 + i, &short_request(i as usize + 1));
    }
    let now = time::OffsetDateTime::now_utc();
    let length =
        d.a.chain_metrics(now)
            .unwrap()
            .into_iter()
            .find(|m| m.rule.chain == RFQ_CHAIN && m.rule.metric == "psi_length")
            .unwrap();
    assert_eq!(
        length.baseline,
        Some(Baseline::Validation {
            suite: "validate-rfq-model".into(),
            report_sha256: "sha-validated".into(),
            cases: 90,
        }),
        "{length:?}"
    );
    assert!(length.value.is_some_and(|v| v < 0.1), "{length:?}");
    let opened = d.a.monitor(now).unwrap();
    assert!(
        opened
            .iter()
            .all(|a| !(a.chain == RFQ_CHAIN && a.metric.starts_with("psi_"))),
        "like the validation: no drift: {opened:?}"
    );
    assert_eq!(d.a.chain_mode(RFQ_CHAIN).unwrap(), ChainMode::Model);
    // The shift: long messages with chatter.
    let long = format!(
        "老师好，麻烦帮忙看一下这个结构，客户比较着急：中证500 3个月 平值看涨 名义本金1000万 期权费多少？{}",
        "另外请注意我们的交割安排和结算账户信息，谢谢。".repeat(4)
    );
    for i in 0..30 {
        d.say("g1", 400 + i, &long);
    }
    let opened = d.a.monitor(time::OffsetDateTime::now_utc()).unwrap();
    let drift = opened
        .iter()
        .find(|a| a.chain == RFQ_CHAIN && a.metric == "psi_length")
        .unwrap_or_else(|| panic!("no drift alert: {opened:?}"));
    assert!(drift.value > 0.25, "{drift:?}");
    assert_eq!(d.a.chain_mode(RFQ_CHAIN).unwrap(), ChainMode::Fallback);
    // The alert's audit entry names the baseline it was measured against.
    let entry =
        d.a.store()
            .audit_entries(0, None, None, 100_000)
            .unwrap()
            .into_iter()
            .rfind(|e| e.action == "model.alert" && e.details["metric"] == "psi_length")
            .unwrap();
    assert_eq!(entry.details["baseline"]["kind"], "validation", "{entry:?}");
    assert_eq!(entry.details["baseline"]["report_sha256"], "sha-validated");
    assert!(
        d.a.store()
            .audit_entries(0, None, None, 100_000)
            .unwrap()
            .iter()
            .any(|e| e.action == "model.baseline" && e.details["cases"] == 90)
    );
}

#[test]
fn a_failing_model_falls_back_per_request_and_then_for_the_chain_losing_nothing() {
    let (d, counter) = desk_with_model(true);
    approve_pending(&d.a, "mia").unwrap();
    // A stream of requests, a third of them vague; the monitor runs every 50 messages (as the
    // server's ticker would), switching the chain to its fallback once failures pass the
    // threshold. Every message is archived and handled, whichever path it took.
    let mut switched_at = None;
    for i in 0..300u32 {
        let text = if i % 3 == 0 {
            VAGUE
        } else {
            "中证500 3个月 平值看涨 名义本金1000万 期权费多少"
        };
        let r =
            d.a.chat_receive(&desk_actor(), msg("g1", 1000 + i, text))
                .unwrap();
        assert!(r.new);
        if i % 50 == 49 {
            let opened = d.a.monitor(time::OffsetDateTime::now_utc()).unwrap();
            if switched_at.is_none() && opened.iter().any(|a| a.metric == "model_rejected_rate") {
                switched_at = Some(i);
            }
        }
    }
    let switched_at = switched_at.expect("the failing model switched the chain");
    assert_eq!(d.a.chain_mode(RFQ_CHAIN).unwrap(), ChainMode::Fallback);
    // Within one window (the first run with enough calls), and the model was not asked again.
    assert_eq!(switched_at, 49, "switched at message {switched_at}");
    assert_eq!(asked(&counter), 17, "vague messages before the switch");
    let (archived, unhandled): (i64, i64) =
        d.a.store()
            .read(|c| {
                c.query_row(
                    "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'received')
                     FROM chat_messages WHERE direction = 'in'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .unwrap();
    assert_eq!(
        (archived, unhandled),
        (300, 0),
        "nothing lost, nothing left half-done"
    );
    let calls: i64 =
        d.a.store()
            .read(|c| c.query_row("SELECT COUNT(*) FROM chain_calls", [], |r| r.get(0)))
            .unwrap();
    assert_eq!(calls, 300);
}
