//! The approval queue through its public API: maker-checker, idempotency, expiry, edits with
//! versions and diffs, clearance, supersession, and an audit entry for every transition.

use assistant::approvals::{ApprovalFilter, NewApproval};
use assistant::config::Config;
use assistant::store::Actor;
use assistant::{Assistant, AssistantError};
use policies::{ApprovalState, DataClass, Denial, Principal, Role};
use serde_json::json;

struct Desk {
    a: Assistant,
    _dir: tempfile::TempDir,
}

fn desk() -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_path_buf();
    Desk {
        a: Assistant::open(config).unwrap(),
        _dir: dir,
    }
}

fn who(user: &str, role: Role) -> (Principal, Actor) {
    let p = Principal {
        user: user.into(),
        role,
    };
    let a = Actor::user(&p, Some(format!("req-{user}")));
    (p, a)
}

/// A request of a kind no workflow acts on (a term sheet for a trader to sign off), so only
/// the generic payload checks apply (`quote` and `extraction` payloads are typed: see
/// `edit_validation`).
fn term_sheet(four_eyes: bool) -> NewApproval {
    NewApproval {
        kind: "term_sheet".parse().unwrap(),
        title: "000905.SH snowball 12M".into(),
        payload: json!({"price": {"coupon_pct": 15.2}, "notional": 10_000_000}),
        required_role: Role::Trader,
        four_eyes,
        expires_in: None,
        class: DataClass::IMPORTANT,
        supersedes: None,
        idempotency_key: None,
    }
}

fn actions(a: &Assistant) -> Vec<String> {
    a.store()
        .audit_entries(1, None, None, 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[test]
fn four_eyes_is_enforced_even_for_admins() {
    let d = desk();
    let (alice, alice_a) = who("alice", Role::Trader);
    let (_, root_a) = who("root", Role::Admin);
    let created = d.a.create_approval(&alice_a, term_sheet(true)).unwrap();
    let err =
        d.a.approve(&alice_a, &alice, &created.id, None)
            .unwrap_err();
    assert!(
        matches!(err, AssistantError::Denied(Denial::FourEyes { .. })),
        "{err}"
    );
    // An admin who made the request cannot approve it either.
    let (root, _) = who("root", Role::Admin);
    let by_admin = d.a.create_approval(&root_a, term_sheet(true)).unwrap();
    let err = d.a.approve(&root_a, &root, &by_admin.id, None).unwrap_err();
    assert!(err.to_string().contains("four-eyes"), "{err}");
    // Someone else with the role can.
    let (bob, bob_a) = who("bob", Role::Trader);
    let done = d.a.approve(&bob_a, &bob, &created.id, Some("ok")).unwrap();
    assert!(done.changed);
    assert_eq!(done.approval.state, ApprovalState::Approved);
    assert_eq!(done.approval.decided_by.as_deref(), Some("bob"));
    // A role that is not the required one cannot.
    let (olga, olga_a) = who("olga", Role::Ops);
    let other = d.a.create_approval(&alice_a, term_sheet(false)).unwrap();
    let err = d.a.approve(&olga_a, &olga, &other.id, None).unwrap_err();
    assert!(err.to_string().contains("needs role trader"), "{err}");
}

#[test]
fn policy_forces_four_eyes_for_configured_kinds() {
    let d = desk();
    let (olga, olga_a) = who("olga", Role::Ops);
    let mut new = term_sheet(false);
    new.kind = "report".parse().unwrap();
    new.required_role = Role::Ops;
    let created = d.a.create_approval(&olga_a, new).unwrap();
    assert!(created.four_eyes);
    let err = d.a.approve(&olga_a, &olga, &created.id, None).unwrap_err();
    assert!(err.to_string().contains("four-eyes"));
}

#[test]
fn decisions_are_idempotent() {
    let d = desk();
    let (_, alice_a) = who("alice", Role::Trader);
    let (bob, bob_a) = who("bob", Role::Trader);
    let id = d.a.create_approval(&alice_a, term_sheet(true)).unwrap().id;
    assert!(d.a.approve(&bob_a, &bob, &id, None).unwrap().changed);
    let before = actions(&d.a).len();
    let again = d.a.approve(&bob_a, &bob, &id, None).unwrap();
    assert!(!again.changed);
    assert_eq!(again.approval.state, ApprovalState::Approved);
    // Only the read of the approval is audited on a repeat, no second approve entry.
    let after = actions(&d.a);
    assert_eq!(
        after[before..]
            .iter()
            .filter(|a| *a == "approval.approve")
            .count(),
        0
    );
    // The opposite decision is a conflict, not a no-op.
    let err =
        d.a.reject(&bob_a, &bob, &id, "changed my mind")
            .unwrap_err();
    assert!(
        matches!(err, AssistantError::Denied(Denial::NotPending { .. })),
        "{err}"
    );

    let id = d.a.create_approval(&alice_a, term_sheet(true)).unwrap().id;
    let err = d.a.reject(&bob_a, &bob, &id, "  ").unwrap_err();
    assert!(matches!(
        err,
        AssistantError::Denied(Denial::ReasonRequired)
    ));
    assert!(d.a.reject(&bob_a, &bob, &id, "stale vol").unwrap().changed);
    let again = d.a.reject(&bob_a, &bob, &id, "stale vol").unwrap();
    assert!(!again.changed);
    assert_eq!(again.approval.reason.as_deref(), Some("stale vol"));

    // Creation with an idempotency key returns the first request on retry.
    let mut keyed = term_sheet(true);
    keyed.idempotency_key = Some("msg-42".into());
    let first = d.a.create_approval(&alice_a, keyed.clone()).unwrap();
    let second = d.a.create_approval(&alice_a, keyed).unwrap();
    assert_eq!(first.id, second.id);
}

#[test]
fn requests_expire_and_can_no_longer_be_decided() {
    let d = desk();
    let (_, alice_a) = who("alice", Role::Trader);
    let (bob, bob_a) = who("bob", Role::Trader);
    let mut short = term_sheet(true);
    short.expires_in = Some(time::Duration::seconds(1));
    let a1 = d.a.create_approval(&alice_a, short.clone()).unwrap();
    let a2 = d.a.create_approval(&alice_a, short).unwrap();
    assert_eq!(a1.state, ApprovalState::Pending);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // Shown as expired before any sweep ran.
    let listed = d.a.list_approvals(
        &bob_a,
        &ApprovalFilter {
            state: Some(ApprovalState::Expired),
            ..Default::default()
        },
    );
    assert_eq!(listed.unwrap().len(), 2);
    let err = d.a.approve(&bob_a, &bob, &a1.id, None).unwrap_err();
    assert!(
        matches!(err, AssistantError::Denied(Denial::Expired)),
        "{err}"
    );
    // The refusal recorded the expiry; the sweep records the other one.
    assert_eq!(d.a.expire_due().unwrap(), 1);
    assert_eq!(d.a.expire_due().unwrap(), 0);
    let acts = actions(&d.a);
    assert_eq!(acts.iter().filter(|a| *a == "approval.expire").count(), 2);
    assert_eq!(
        d.a.get_approval(&bob_a, &a2.id).unwrap().state,
        ApprovalState::Expired
    );
}

#[test]
fn edits_keep_every_version_and_the_diff() {
    let d = desk();
    let (_, alice_a) = who("alice", Role::Trader);
    let (bob, bob_a) = who("bob", Role::Trader);
    let (carol, carol_a) = who("carol", Role::Trader);
    let id = d.a.create_approval(&alice_a, term_sheet(true)).unwrap().id;
    let edited = json!({"price": {"coupon_pct": 14.8}, "notional": 10_000_000, "note": "widened"});
    let r =
        d.a.edit_approval(&bob_a, &bob, &id, edited.clone(), Some("margin"))
            .unwrap();
    assert!(r.changed);
    let a = r.approval;
    assert_eq!(a.version, 2);
    assert_eq!(a.last_editor.as_deref(), Some("bob"));
    assert_eq!(a.payload, edited);
    assert_eq!(a.versions.len(), 2);
    assert_eq!(a.versions[0].payload["price"]["coupon_pct"], json!(15.2));
    let paths: Vec<&str> = a.versions[1].diff.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, vec!["/price/coupon_pct", "/note"]);
    // The same edit again changes nothing.
    assert!(
        !d.a.edit_approval(&bob_a, &bob, &id, edited, None)
            .unwrap()
            .changed
    );
    // The editor may not approve their own edit under four eyes; a third trader may.
    let err = d.a.approve(&bob_a, &bob, &id, None).unwrap_err();
    assert!(err.to_string().contains("last edited"), "{err}");
    assert!(d.a.approve(&carol_a, &carol, &id, None).unwrap().changed);
    let err =
        d.a.edit_approval(&carol_a, &carol, &id, json!({}), None)
            .unwrap_err();
    assert!(err.to_string().contains("only pending"), "{err}");
}

#[test]
fn clearance_hides_requests_above_the_callers_level() {
    let d = desk();
    let (_, legal_a) = who("lena", Role::Legal);
    let mut secret = term_sheet(false);
    secret.class = DataClass::CORE;
    secret.required_role = Role::Legal;
    let id = d.a.create_approval(&legal_a, secret).unwrap().id;
    let (_, trader_a) = who("tom", Role::Trader);
    let err = d.a.get_approval(&trader_a, &id).unwrap_err();
    assert!(matches!(err, AssistantError::NotFound { .. }));
    assert!(
        d.a.list_approvals(&trader_a, &ApprovalFilter::default())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        d.a.list_approvals(&legal_a, &ApprovalFilter::default())
            .unwrap()
            .len(),
        1
    );
    // Reads of core data are audited.
    assert!(actions(&d.a).contains(&"approval.list".to_string()));
    // A trader cannot create core data.
    let mut core = term_sheet(false);
    core.class = DataClass::CORE;
    assert!(matches!(
        d.a.create_approval(&trader_a, core),
        Err(AssistantError::Forbidden(_))
    ));
}

#[test]
fn a_new_request_supersedes_a_pending_one() {
    let d = desk();
    let (_, alice_a) = who("alice", Role::Trader);
    let (bob, bob_a) = who("bob", Role::Trader);
    let old = d.a.create_approval(&alice_a, term_sheet(false)).unwrap().id;
    let mut newer = term_sheet(false);
    newer.supersedes = Some(old.clone());
    let new = d.a.create_approval(&alice_a, newer).unwrap();
    assert_eq!(new.supersedes.as_deref(), Some(old.as_str()));
    let old_a = d.a.get_approval(&bob_a, &old).unwrap();
    assert_eq!(old_a.state, ApprovalState::Superseded);
    assert_eq!(old_a.superseded_by.as_deref(), Some(new.id.as_str()));
    let err = d.a.approve(&bob_a, &bob, &old, None).unwrap_err();
    assert!(err.to_string().contains("superseded"), "{err}");
    // Someone else's request cannot be superseded.
    let mut hijack = term_sheet(false);
    hijack.supersedes = Some(new.id.clone());
    assert!(matches!(
        d.a.create_approval(&bob_a, hijack),
        Err(AssistantError::Forbidden(_))
    ));
}

#[test]
fn every_transition_is_audited_with_the_request_id() {
    let d = desk();
    let (_, alice_a) = who("alice", Role::Trader);
    let (bob, bob_a) = who("bob", Role::Trader);
    let id = d.a.create_approval(&alice_a, term_sheet(true)).unwrap().id;
    d.a.edit_approval(&bob_a, &bob, &id, json!({"x": 1}), None)
        .unwrap();
    d.a.reject(&bob_a, &bob, &id, "no").unwrap();
    let entries = d.a.store().audit_entries(1, None, None, 100).unwrap();
    let mine: Vec<(&str, &str, Option<&str>)> = entries
        .iter()
        .filter(|e| e.object_id == id && !e.action.ends_with(".read"))
        .map(|e| (e.action.as_str(), e.actor.as_str(), e.request_id.as_deref()))
        .collect();
    assert_eq!(
        mine,
        vec![
            ("approval.create", "alice", Some("req-alice")),
            ("approval.edit", "bob", Some("req-bob")),
            ("approval.reject", "bob", Some("req-bob")),
        ]
    );
    assert!(d.a.store().verify_audit().unwrap().ok());
}
