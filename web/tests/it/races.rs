//! The hostile suite's concurrency category (issue #15, items 8 and 10): requests raced against
//! each other through the HTTP API on a multi-threaded runtime, each race with its expected safe
//! outcome. Counted per race kind; the total is printed as the category's count.
//!
//! - **Four-eyes**: the maker, two approvers and a rejecter decide one four-eyes request at
//!   once: exactly one decision takes effect, the maker's never, and the audit log holds exactly
//!   one decision for it.
//! - **Approve vs edit**: an approver approves the version they reviewed while another user
//!   edits it: either the approval lands first (the edit is refused) or the edit does (the
//!   approval is refused with 409 `conflict`); never an approval of a payload nobody reviewed.
//! - **Repeated decisions**: one approver's six identical approvals at once (within the
//!   per-user concurrency limit of 8): one change, five idempotent repeats.
//! - **Upload vs delete**: a replacement upload raced with a delete of the same document: the
//!   document list and the indexes agree afterwards (listed ⇔ searchable, never old text
//!   under a new version), and the job ends (succeeded or failed with a reason), never stuck.
//! - **Revoke vs use**: a token revoked while requests use it: each request is 200 or 401, and
//!   every request after the revocation is 401.

use super::documents::{Api, api};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use policies::Role;
use serde_json::{Value, json};

impl Api {
    /// A user of `role` with a fresh token.
    fn user(&self, name: &str, role: Role) -> String {
        let a = &self.state.assistant;
        a.create_user(&assistant::store::Actor::system(), name, role)
            .unwrap();
        a.issue_token(&assistant::store::Actor::system(), name, "test", None)
            .unwrap()
            .token
    }

    /// A JSON request with a raw token.
    async fn as_token(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    /// The ids of the documents whose searchable chunks contain `word`.
    async fn docs_with(&self, word: &str) -> Vec<String> {
        let (s, r) = self
            .json(
                Method::POST,
                "/v1/search",
                Role::Legal,
                Some(json!({"query": word, "k": 10})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["text"].as_str().unwrap_or("").contains(word))
            .map(|h| h["doc_id"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn decisions_in_audit(&self, id: &str) -> usize {
        self.state
            .assistant
            .store()
            .audit_entries(0, None, None, 100_000)
            .unwrap()
            .iter()
            .filter(|e| {
                e.object_id == id
                    && (e.action == "approval.approve" || e.action == "approval.reject")
            })
            .count()
    }
}

fn draft(n: usize) -> Value {
    json!({
        "kind": "term_sheet", "title": format!("Race draft {n}"),
        "required_role": "ops", "four_eyes": true, "payload": {"premium_pct": 3.2},
        "expires_in_secs": 600
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_concurrency() {
    let api = api();
    let maker = api.user("ops-maker", Role::Ops);
    let second = api.user("ops-second", Role::Ops);
    let admin = api.tokens[&Role::Admin].clone();
    let mut counts: Vec<(&str, usize)> = Vec::new();

    // Four-eyes: maker, two approvers and a rejecter at once.
    let mut n = 0;
    for i in 0..25 {
        let (s, created) = api
            .as_token(&maker, Method::POST, "/v1/approvals", Some(draft(i)))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        let approve = format!("/v1/approvals/{id}/approve");
        let reject = format!("/v1/approvals/{id}/reject");
        let (m, a1, a2, r) = tokio::join!(
            api.as_token(&maker, Method::POST, &approve, None),
            api.as_token(&second, Method::POST, &approve, None),
            api.as_token(&admin, Method::POST, &approve, None),
            api.as_token(
                &admin,
                Method::POST,
                &reject,
                Some(json!({"reason": "race"}))
            ),
        );
        assert_eq!(m.0, StatusCode::FORBIDDEN, "the maker decided: {}", m.1);
        let outcomes = [&a1, &a2, &r];
        for (s, b) in outcomes {
            assert!(
                *s == StatusCode::OK || *s == StatusCode::CONFLICT,
                "{s}: {b}"
            );
        }
        let changed: Vec<&Value> = outcomes
            .iter()
            .filter(|(s, b)| *s == StatusCode::OK && b["changed"] == true)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(changed.len(), 1, "{a1:?} {a2:?} {r:?}");
        let get = format!("/v1/approvals/{id}");
        let (_, now) = api.as_token(&admin, Method::GET, &get, None).await;
        assert_eq!(now["state"], changed[0]["approval"]["state"], "{now}");
        assert_ne!(now["decided_by"], "ops-maker");
        assert_eq!(api.decisions_in_audit(&id), 1);
        n += 1;
    }
    counts.push(("four-eyes", n));

    // Approve the reviewed version vs an edit by someone else.
    let mut n = 0;
    let (mut approved_first, mut edited_first) = (0, 0);
    for i in 0..25 {
        let (_, created) = api
            .as_token(&maker, Method::POST, "/v1/approvals", Some(draft(100 + i)))
            .await;
        let id = created["id"].as_str().unwrap().to_string();
        let (approve, edit) = (
            format!("/v1/approvals/{id}/approve"),
            format!("/v1/approvals/{id}/edit"),
        );
        let (ap, ed) = tokio::join!(
            async {
                // Vary who starts first.
                tokio::time::sleep(std::time::Duration::from_micros((i as u64 % 5) * 700)).await;
                api.as_token(&admin, Method::POST, &approve, Some(json!({"version": 1})))
                    .await
            },
            api.as_token(
                &second,
                Method::POST,
                &edit,
                Some(json!({"payload": {"premium_pct": 3.3}, "version": 1, "note": "race"}))
            ),
        );
        let get = format!("/v1/approvals/{id}");
        let (_, now) = api.as_token(&admin, Method::GET, &get, None).await;
        match (ap.0, ed.0) {
            (StatusCode::OK, StatusCode::CONFLICT) => {
                approved_first += 1;
                assert_eq!(
                    (&now["state"], &now["version"]),
                    (&json!("approved"), &json!(1))
                );
            }
            (StatusCode::CONFLICT, StatusCode::OK) => {
                edited_first += 1;
                assert_eq!(ap.1["error"]["code"], "conflict", "{}", ap.1);
                assert_eq!(
                    (&now["state"], &now["version"]),
                    (&json!("pending"), &json!(2))
                );
            }
            other => panic!("unsafe outcome {other:?}: {} / {}", ap.1, ed.1),
        }
        n += 1;
    }
    eprintln!("approve vs edit: approval first {approved_first}, edit first {edited_first}");
    counts.push(("approve-vs-edit", n));

    // One approver's six identical approvals at once.
    let mut n = 0;
    let (_, created) = api
        .as_token(&maker, Method::POST, "/v1/approvals", Some(draft(200)))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("/v1/approvals/{id}/approve");
    let replies =
        futures::future::join_all((0..6).map(|_| api.as_token(&second, Method::POST, &path, None)))
            .await;
    let mut changed = 0;
    for (s, b) in &replies {
        assert_eq!(*s, StatusCode::OK, "{b}");
        changed += usize::from(b["changed"] == true);
        n += 1;
    }
    assert_eq!(changed, 1);
    assert_eq!(api.decisions_in_audit(&id), 1);
    counts.push(("repeated-decisions", n));

    // A replacement upload raced with a delete of the same document.
    let mut n = 0;
    let (mut deleted, mut kept) = (0, 0);
    let mut delete_statuses = Vec::new();
    for i in 0..8 {
        let name = format!("race-{i}.md");
        let v1 = format!("# Race {i}\n\nThe old wording mentions quokka{i} only.\n");
        let v2 = format!("# Race {i}\n\nThe new wording mentions narwhal{i} only.\n");
        let fields = [("collection", "races"), ("classification", "general")];
        let (s, b) = api.upload_with(Role::Legal, &name, &v1, &fields).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let job = api
            .wait_job(b["job"]["id"].as_str().unwrap(), Role::Legal)
            .await;
        let doc_id = job["result"]["documents"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let delete = format!("/v1/documents/{doc_id}");
        let ((us, ub), (ds, db)) =
            tokio::join!(api.upload_with(Role::Legal, &name, &v2, &fields), async {
                // Spread the delete over the replacement job's life: before it starts, while
                // it embeds and indexes, after it commits.
                tokio::time::sleep(std::time::Duration::from_millis(i * 25)).await;
                api.json(Method::DELETE, &delete, Role::Legal, None).await
            },);
        delete_statuses.push(ds.as_u16());
        assert_eq!(us, StatusCode::ACCEPTED, "{ub}");
        assert!(
            ds.is_success() || ds == StatusCode::NOT_FOUND || ds == StatusCode::CONFLICT,
            "{ds}: {db}"
        );
        let job = api
            .wait_job(ub["job"]["id"].as_str().unwrap(), Role::Legal)
            .await;
        assert!(
            job["state"] == "succeeded"
                || (job["state"] == "failed"
                    && job["error"].as_str().is_some_and(|e| !e.is_empty())),
            "{job}"
        );
        let (_, list) = api
            .json(
                Method::GET,
                "/v1/documents?collection=races",
                Role::Legal,
                None,
            )
            .await;
        let listed: Vec<&Value> = list["documents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["source"] == name.as_str() || d["id"] == doc_id.as_str())
            .collect();
        assert!(listed.len() <= 1, "{list}");
        let old = api.docs_with(&format!("quokka{i}")).await;
        let new = api.docs_with(&format!("narwhal{i}")).await;
        assert!(old.is_empty(), "old text still searchable: {old:?} {list}");
        match listed.first() {
            Some(d) => {
                kept += 1;
                let id = d["id"].as_str().unwrap();
                assert_eq!(new, vec![id.to_string()], "listed but not searchable: {d}");
            }
            None => {
                deleted += 1;
                assert!(new.is_empty(), "searchable but not listed: {new:?}");
            }
        }
        n += 1;
    }
    eprintln!(
        "upload vs delete: kept {kept}, deleted {deleted}, delete statuses {delete_statuses:?}"
    );
    counts.push(("upload-vs-delete", n));

    // A token revoked while it is being used.
    let mut n = 0;
    for i in 0..4 {
        let name = format!("revokee{i}");
        let a = &api.state.assistant;
        a.create_user(&assistant::store::Actor::system(), &name, Role::Risk)
            .unwrap();
        let t = a
            .issue_token(&assistant::store::Actor::system(), &name, "test", None)
            .unwrap();
        let uses = futures::future::join_all(
            (0..8).map(|_| api.as_token(&t.token, Method::GET, "/v1/approvals", None)),
        );
        let revoke_path = format!("/v1/tokens/{}", t.id);
        let revoke = api.as_token(&admin, Method::DELETE, &revoke_path, None);
        let (uses, (rs, rb)) = tokio::join!(uses, revoke);
        assert!(rs.is_success(), "{rs}: {rb}");
        for (s, b) in uses {
            assert!(
                s == StatusCode::OK || s == StatusCode::UNAUTHORIZED,
                "{s}: {b}"
            );
            n += 1;
        }
        for _ in 0..3 {
            let (s, _) = api
                .as_token(&t.token, Method::GET, "/v1/approvals", None)
                .await;
            assert_eq!(s, StatusCode::UNAUTHORIZED);
            n += 1;
        }
    }
    counts.push(("revoke-vs-use", n));

    assert!(api.state.assistant.store().verify_audit().unwrap().ok());
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    eprintln!("hostile suite: concurrency = {total} cases {counts:?}");
    assert!(total >= 100, "{total}");
}
